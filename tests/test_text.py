"""Tests for :class:`sklearn_rnn.TextSequencer`.

scikit-learn's estimator checks skip estimators that take text
(``input_tags.two_d_array=False``, as for CountVectorizer), so the API checks
they would make (clone, params, pickling, idempotence, fit_transform) are
written out here. Expected outputs are hand-written arrays, a plain-Python
reference implementation of padding, CountVectorizer's vocabulary, or Hugging
Face tokenizers' own encoding.
"""

import pickle
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_rnn import TextSequencer
from sklearn_rnn._text import pad_sequences

DOCS = ["the cat sat", "the dog sat down", "a cat"]
# Counts: cat 2, sat 2, the 2, a 1, dog 1, down 1; ties in code-point order.
VOCAB = {"cat": 2, "sat": 3, "the": 4, "a": 5, "dog": 6, "down": 7}

PARAMS = {
    "max_len": None,
    "max_features": None,
    "min_df": 1,
    "max_df": 1.0,
    "lowercase": True,
    "token_pattern": r"(?u)\b\w+\b",
    "analyzer": "word",
    "tokenizer": None,
    "vocabulary": None,
    "padding": "pre",
    "truncating": "pre",
    "backend": None,
}


def reference_rows(sequences, max_len, padding, truncating):
    """Pad and truncate lists of ids one by one, as Keras' pad_sequences does."""
    rows = []
    for ids in sequences:
        kept = list(ids[-max_len:] if truncating == "pre" else ids[:max_len])
        pad = [0] * (max_len - len(kept))
        rows.append(pad + kept if padding == "pre" else kept + pad)
    return np.array(rows, dtype=np.int64).reshape(len(sequences), max_len)


# --- the basic contract ------------------------------------------------------


def test_vocabulary_ids_and_rows_by_hand():
    sequencer = TextSequencer(max_len=4).fit(DOCS)
    assert sequencer.vocabulary_ == VOCAB
    assert list(sequencer.vocabulary_) == list(VOCAB)  # dict order is id order
    assert sequencer.n_tokens_ == 8
    assert sequencer.max_len_ == 4
    assert sequencer.fixed_vocabulary_ is False
    ids = sequencer.transform(["the cat ran", "a dog sat down today"])
    np.testing.assert_array_equal(ids, [[0, 4, 2, 1], [6, 3, 7, 1]])


def test_output_is_int64_of_shape_n_samples_by_max_len():
    ids = TextSequencer(max_len=5).fit(DOCS).transform(DOCS + ["", "cat"])
    assert ids.dtype == np.int64
    assert ids.shape == (5, 5)
    # An empty document is all padding.
    np.testing.assert_array_equal(ids[3], [0, 0, 0, 0, 0])


def test_max_len_none_is_the_longest_fit_document():
    sequencer = TextSequencer().fit(DOCS)
    assert sequencer.max_len_ == 4
    assert sequencer.max_len is None  # the parameter is left as given
    # Longer documents at transform are truncated to the fitted length.
    assert sequencer.transform(["a a a a a a a a"]).shape == (1, 4)


def test_front_padding_and_truncation_by_default():
    sequencer = TextSequencer(max_len=3).fit(["a b c d e"])
    ids = sequencer.transform(["a b c d e", "d"])
    a, b, c, d, e = (sequencer.vocabulary_[t] for t in "abcde")
    # The most recent tokens are kept; the last column is the last token.
    np.testing.assert_array_equal(ids, [[c, d, e], [0, 0, d]])


@pytest.mark.parametrize(
    "padding, truncating, expected",
    [
        ("pre", "pre", [[4, 5, 6], [0, 0, 5]]),
        ("pre", "post", [[2, 3, 4], [0, 0, 5]]),
        ("post", "pre", [[4, 5, 6], [5, 0, 0]]),
        ("post", "post", [[2, 3, 4], [5, 0, 0]]),
    ],
)
def test_padding_and_truncating_options(padding, truncating, expected):
    sequencer = TextSequencer(max_len=3, padding=padding, truncating=truncating)
    ids = sequencer.fit(["a b c d e"]).transform(["a b c d e", "d"])
    np.testing.assert_array_equal(ids, expected)


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 12), min_size=1, max_size=12),
    max_len=st.integers(1, 8),
    padding=st.sampled_from(["pre", "post"]),
    truncating=st.sampled_from(["pre", "post"]),
)
def test_pad_sequences_matches_a_loop_over_sequences(lengths, max_len, padding, truncating):
    rng = np.random.default_rng(sum(lengths) + max_len)
    sequences = [rng.integers(1, 50, size=n) for n in lengths]
    flat = np.concatenate(sequences).astype(np.int64)
    out = pad_sequences(flat, np.array(lengths), max_len, padding, truncating)
    expected = reference_rows([s.tolist() for s in sequences], max_len, padding, truncating)
    np.testing.assert_array_equal(out, expected)


def test_unseen_tokens_become_1():
    ids = TextSequencer(max_len=3).fit(DOCS).transform(["zebra cat quokka"])
    np.testing.assert_array_equal(ids, [[1, 2, 1]])


def test_ids_follow_frequency_with_ties_broken_by_token_text():
    docs = ["b a c", "c b", "c", "d"]
    # c: 3, b: 2, then a and d once each: "a" before "d".
    expected = {"c": 2, "b": 3, "a": 4, "d": 5}
    assert TextSequencer().fit(docs).vocabulary_ == expected
    # Ties do not depend on the order the documents come in.
    assert TextSequencer().fit(docs[::-1]).vocabulary_ == expected


def test_counts_are_token_counts_not_document_counts():
    # "x" is in one document three times, "y" in two documents once each.
    vocabulary = TextSequencer().fit(["x x x", "y", "y"]).vocabulary_
    assert vocabulary == {"x": 2, "y": 3}


def test_max_features_keeps_the_most_frequent_tokens():
    docs = ["a a a b b c", "a b d"]
    sequencer = TextSequencer(max_features=2, max_len=4).fit(docs)
    assert sequencer.vocabulary_ == {"a": 2, "b": 3}
    assert sequencer.n_tokens_ == 4  # the two reserved ids included
    np.testing.assert_array_equal(sequencer.transform(["c a d b"]), [[1, 2, 1, 3]])


@pytest.mark.parametrize(
    "min_df, max_df",
    [(2, 1.0), (0.5, 1.0), (1, 2), (1, 0.7), (2, 3), (0.3, 0.9)],
)
def test_min_df_and_max_df_keep_the_tokens_count_vectorizer_keeps(min_df, max_df):
    docs = ["a b c", "a b", "a d", "a e e e", "b f"]
    pattern = r"(?u)\b\w+\b"
    ours = TextSequencer(min_df=min_df, max_df=max_df).fit(docs).vocabulary_
    theirs = CountVectorizer(token_pattern=pattern, min_df=min_df, max_df=max_df).fit(docs)
    assert set(ours) == set(theirs.vocabulary_)
    assert sorted(ours.values()) == list(range(2, len(ours) + 2))


def test_max_df_drops_corpus_wide_stop_words():
    docs = ["the cat", "the dog", "the cow"]
    assert "the" not in TextSequencer(max_df=0.9).fit(docs).vocabulary_
    assert "the" in TextSequencer().fit(docs).vocabulary_


def test_one_letter_words_are_kept():
    sequencer = TextSequencer().fit(["I saw a cat"])
    assert {"i", "a"} <= set(sequencer.vocabulary_)
    # CountVectorizer's default pattern would drop them.
    assert {"i", "a"}.isdisjoint(CountVectorizer().fit(["I saw a cat"]).vocabulary_)


def test_lowercase():
    assert set(TextSequencer().fit(["The THE the"]).vocabulary_) == {"the"}
    lowered = TextSequencer(lowercase=False).fit(["The THE the"])
    assert set(lowered.vocabulary_) == {"The", "THE", "the"}


def test_token_pattern_with_a_capturing_group_keeps_the_group():
    sequencer = TextSequencer(token_pattern=r"#(\w+)").fit(["#red and #blue"])
    assert set(sequencer.vocabulary_) == {"red", "blue"}


def test_char_analyzer_keeps_every_character_as_it_is():
    docs = ["ab  a\n", "Ba"]
    sequencer = TextSequencer(analyzer="char").fit(docs)
    # a: 4, b: 2, space: 2, newline: 1; ties in code-point order ("\n" < " ").
    assert sequencer.vocabulary_ == {"a": 2, " ": 3, "b": 4, "\n": 5}
    assert sequencer.max_len_ == 6
    ids = sequencer.transform(docs)
    np.testing.assert_array_equal(ids, [[2, 4, 3, 3, 2, 5], [0, 0, 0, 0, 4, 2]])
    assert ["".join(tokens) for tokens in sequencer.inverse_transform(ids)] == ["ab  a\n", "ba"]


def test_token_lists_are_not_tokenised_again():
    docs = [["New York", "is", "Big"], ("is", "it"), []]
    sequencer = TextSequencer().fit(docs)
    # Used as given: no splitting, no lowercasing.
    assert sequencer.vocabulary_ == {"is": 2, "Big": 3, "New York": 4, "it": 5}
    np.testing.assert_array_equal(sequencer.transform([["it", "is", "New York"]]), [[5, 2, 4]])
    assert sequencer.transform(docs)[2].tolist() == [0, 0, 0]


def test_tokenizer_callable_replaces_token_pattern():
    sequencer = TextSequencer(tokenizer=str.split).fit(["Hello, world!", "hello"])
    # It gets the lowercased document.
    assert sequencer.vocabulary_ == {"hello": 2, "hello,": 3, "world!": 4}


@pytest.mark.parametrize(
    "params, unused",
    [
        (dict(analyzer="char", tokenizer=str.split), "'tokenizer' will not be used"),
        (dict(analyzer="char", token_pattern=r"\w+"), "'token_pattern' will not be used"),
        (dict(tokenizer=str.split, token_pattern=r"\w+"), "'token_pattern' will not be used"),
    ],
)
def test_a_setting_the_others_leave_unused_warns(params, unused):
    # As CountVectorizer warns.
    with pytest.warns(UserWarning, match=unused):
        TextSequencer(**params).fit(["Hello World"])


# --- a given vocabulary ------------------------------------------------------


def test_vocabulary_list_gets_ids_from_2_in_order():
    sequencer = TextSequencer(vocabulary=["dog", "cat"], max_features=1, min_df=5).fit(DOCS)
    # max_features and min_df are ignored, as in CountVectorizer.
    assert sequencer.vocabulary_ == {"dog": 2, "cat": 3}
    assert sequencer.fixed_vocabulary_ is True
    assert sequencer.n_tokens_ == 4
    np.testing.assert_array_equal(sequencer.transform(["the cat dog"]), [[0, 1, 3, 2]])


def test_vocabulary_mapping_keeps_its_ids():
    mapping = {"cat": 3, "dog": 2}
    sequencer = TextSequencer(vocabulary=mapping).fit(DOCS)
    assert sequencer.vocabulary_ == mapping
    assert sequencer.vocabulary is mapping  # the parameter is stored unchanged
    np.testing.assert_array_equal(sequencer.transform(["dog cat"]), [[0, 0, 2, 3]])


def test_vocabulary_set_is_sorted():
    assert TextSequencer(vocabulary={"b", "a"}).fit(DOCS).vocabulary_ == {"a": 2, "b": 3}


@pytest.mark.parametrize(
    "vocabulary, error, match",
    [
        ({"cat": 0}, ValueError, r"maps 'cat' to id 0.*reserved.*start at 2"),
        ({"cat": 1, "dog": 2}, ValueError, r"maps 'cat' to id 1.*reserved"),
        ({"cat": 2, "dog": 4}, ValueError, r"ids 2 to 3 once, but it maps 'dog' to 4"),
        ({"cat": 2, "dog": 2}, ValueError, "several tokens to the same id"),
        ({"cat": 2.0}, TypeError, "ids must be ints"),
        ({3: 2}, TypeError, "tokens must be strings"),
        (["cat", "cat"], ValueError, "Duplicate token in vocabulary: 'cat'"),
        ("cat", ValueError, r"got the string 'cat'.*list\(\.\.\.\)"),
        ([], ValueError, "Empty vocabulary passed to fit"),
        (iter(["cat"]), TypeError, r"one-pass iterator.*list\(\.\.\.\)"),
        ((t for t in ["cat"]), TypeError, "one-pass iterator generator"),
    ],
)
def test_bad_vocabulary_is_refused(vocabulary, error, match):
    with pytest.raises(error, match=match):
        TextSequencer(vocabulary=vocabulary).fit(DOCS)


def test_uppercase_vocabulary_with_lowercase_warns():
    with pytest.warns(UserWarning, match="Upper case characters found in vocabulary"):
        TextSequencer(vocabulary=["Cat"]).fit(DOCS)


# --- inverse_transform -------------------------------------------------------


def test_inverse_transform_round_trip():
    docs = ["the cat sat", "a cat", "the dog sat down"]
    sequencer = TextSequencer(max_len=6).fit(docs)
    assert sequencer.inverse_transform(sequencer.transform(docs)) == [d.split() for d in docs]
    post = TextSequencer(max_len=6, padding="post").fit(docs)
    assert post.inverse_transform(post.transform(docs)) == [d.split() for d in docs]


def test_inverse_transform_shows_unknown_tokens_and_drops_padding():
    sequencer = TextSequencer(max_len=4).fit(DOCS)
    assert sequencer.inverse_transform([[0, 0, 1, 2], [4, 0, 3, 0]]) == [
        ["<unk>", "cat"],
        ["the", "sat"],
    ]
    # Integral floats (e.g. from a float pipeline step) are accepted.
    assert sequencer.inverse_transform(np.array([[0.0, 2.0]])) == [["cat"]]


@pytest.mark.parametrize(
    "ids, match",
    [
        ([[0, 8]], r"Token id 8 is outside the vocabulary: ids run from 0 to 7"),
        ([[-1, 2]], r"Token id -1 is outside"),
        ([[0.5, 2]], "expects integer token ids, got dtype float64"),
    ],
)
def test_inverse_transform_refuses_bad_ids(ids, match):
    with pytest.raises(ValueError, match=match):
        TextSequencer().fit(DOCS).inverse_transform(ids)


# --- bad input ---------------------------------------------------------------


def test_a_single_string_is_refused_as_count_vectorizer_does():
    message = "Iterable over raw text documents expected, string object received."
    sequencer = TextSequencer()
    with pytest.raises(ValueError, match=re.escape(message)):
        sequencer.fit("the cat sat")
    sequencer.fit(DOCS)
    with pytest.raises(ValueError, match=re.escape(message) + r" Wrap a single document"):
        sequencer.transform("the cat sat")


@pytest.mark.parametrize(
    "X, error, match",
    [
        (b"the cat", ValueError, "bytes object received.*decode"),
        (["a", None], ValueError, r"Document 1 is None, a missing value.*fillna"),
        (["a", np.nan], ValueError, r"Document 1 is nan, a missing value"),
        (pd.Series(["a", pd.NA], dtype="string"), ValueError, "Document 1 is pd.NA"),
        (["a", 3], TypeError, r"document 1 is int \(3\)"),
        (["a", b"b"], TypeError, "document 1 is bytes"),
        (["a", ["b"]], TypeError, "mix strings .* and token lists"),
        ([["a", 3]], TypeError, r"Tokens must be strings, but document 0 holds int"),
        (pd.DataFrame({"text": ["a"]}), ValueError, r"got a DataFrame.*X\[\"text\"\]"),
        (np.array([["a", "b"]]), ValueError, r"array of shape \(1, 2\).*ravel"),
        (5, TypeError, "expects an iterable of documents"),
    ],
)
def test_bad_documents_are_refused_with_the_fix(X, error, match):
    with pytest.raises(error, match=match):
        TextSequencer().fit(X)


def test_bad_documents_at_transform_too():
    sequencer = TextSequencer().fit(DOCS)
    with pytest.raises(ValueError, match="Document 0 is None"):
        sequencer.transform([None])


def test_empty_corpus_is_refused():
    with pytest.raises(ValueError, match="at least one document to fit, got an empty X"):
        TextSequencer().fit([])


def test_transform_of_no_documents_gives_no_rows():
    assert TextSequencer(max_len=3).fit(DOCS).transform([]).shape == (0, 3)


def test_documents_without_tokens_give_an_empty_vocabulary_error():
    with pytest.raises(ValueError, match="Empty vocabulary: the documents hold no tokens"):
        TextSequencer().fit(["...", "!?"])


def test_empty_token_lists_give_an_empty_vocabulary_error_that_names_them():
    with pytest.raises(ValueError, match="hold no tokens: every token list is empty") as info:
        TextSequencer().fit([[], []])
    assert "token_pattern" not in str(info.value)


def test_pruning_everything_gives_an_empty_vocabulary_error():
    with pytest.raises(ValueError, match="Empty vocabulary.*Try a lower min_df or a higher"):
        TextSequencer(min_df=2, max_df=2).fit(["a b", "c d", "e"])


def test_min_df_above_the_number_of_documents():
    with pytest.raises(ValueError, match="min_df=5 keeps only tokens found in at least 5"):
        TextSequencer(min_df=5).fit(DOCS)


def test_max_df_below_min_df():
    with pytest.raises(ValueError, match=r"max_df=1 keeps tokens in at most 1 .* min_df=2"):
        TextSequencer(min_df=2, max_df=1).fit(DOCS)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"max_len": 0}, InvalidParameterError, "'max_len' parameter .* range \\[1, inf\\)"),
        ({"max_len": -3}, InvalidParameterError, "'max_len' parameter"),
        ({"max_len": 2.5}, InvalidParameterError, "'max_len' parameter"),
        ({"max_len": True}, TypeError, "'max_len' parameter .* must be an int, got True"),
        ({"max_features": 0}, InvalidParameterError, "'max_features' parameter"),
        ({"min_df": 1.5}, InvalidParameterError, "'min_df' parameter"),
        ({"padding": "both"}, InvalidParameterError, "'padding' parameter"),
        ({"analyzer": "char_wb"}, InvalidParameterError, "'analyzer' parameter"),
        ({"token_pattern": r"(a)(b)"}, ValueError, "2 capturing groups.*non-capturing"),
        ({"token_pattern": "("}, ValueError, "not a valid regular expression"),
        ({"token_pattern": None}, ValueError, "needs a token_pattern or a tokenizer"),
        ({"tokenizer": lambda d: [1]}, TypeError, "tokenizer's output for document 0 holds"),
    ],
)
def test_bad_parameters_are_refused_in_fit(params, error, match):
    sequencer = TextSequencer(**params)  # __init__ accepts anything
    with pytest.raises(error, match=match):
        sequencer.fit(DOCS)


def test_transform_before_fit():
    with pytest.raises(NotFittedError):
        TextSequencer().transform(DOCS)


# --- input containers --------------------------------------------------------


@pytest.mark.parametrize(
    "container",
    [
        list,
        tuple,
        lambda docs: np.array(docs, dtype=object),
        np.array,  # fixed-width unicode
        lambda docs: pd.Series(docs, index=[7, 3, 5]),
        lambda docs: pd.Series(docs, dtype="string"),
        iter,
    ],
)
def test_any_1d_collection_of_strings(container):
    expected = TextSequencer().fit(DOCS).transform(DOCS)
    sequencer = TextSequencer().fit(container(DOCS))
    assert sequencer.vocabulary_ == VOCAB
    assert all(type(token) is str for token in sequencer.vocabulary_)
    np.testing.assert_array_equal(sequencer.transform(container(DOCS)), expected)


# --- the scikit-learn API ----------------------------------------------------


def test_get_params_set_params_and_clone():
    sequencer = TextSequencer()
    assert sequencer.get_params() == PARAMS
    sequencer.set_params(max_len=2, max_features=3)
    assert sequencer.get_params()["max_len"] == 2
    assert sequencer.fit(DOCS).max_len_ == 2
    cloned = clone(sequencer)
    assert cloned.get_params() == sequencer.get_params()
    assert not hasattr(cloned, "vocabulary_")


def test_keyword_only_parameters():
    with pytest.raises(TypeError):
        TextSequencer(10)


def test_fit_is_idempotent_and_resets():
    sequencer = TextSequencer().fit(["x y z z"])
    sequencer.fit(DOCS)
    assert sequencer.vocabulary_ == VOCAB
    first = sequencer.transform(DOCS)
    np.testing.assert_array_equal(sequencer.fit(DOCS).transform(DOCS), first)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"max_len": 2},
        {"max_len": 6, "padding": "post", "truncating": "post"},
        {"max_features": 3, "min_df": 1, "max_df": 0.9},
        {"analyzer": "char"},
    ],
)
def test_fit_transform_equals_fit_then_transform(params):
    docs = DOCS + ["dog dog dog dog dog cat"]
    one_step = TextSequencer(**params).fit_transform(docs)
    two_steps = TextSequencer(**params).fit(docs).transform(docs)
    np.testing.assert_array_equal(one_step, two_steps)
    assert one_step.dtype == np.int64


def test_pickle_round_trip_keeps_the_fitted_vocabulary():
    sequencer = TextSequencer(max_len=5, max_features=4).fit(DOCS)
    restored = pickle.loads(pickle.dumps(sequencer))
    assert restored.vocabulary_ == sequencer.vocabulary_
    assert restored.n_tokens_ == sequencer.n_tokens_
    np.testing.assert_array_equal(restored.transform(DOCS), sequencer.transform(DOCS))


def test_skops_sees_only_plain_data():
    sio = pytest.importorskip("skops.io")
    sequencer = TextSequencer(max_len=5).fit(DOCS)
    data = sio.dumps(sequencer)
    assert sio.get_untrusted_types(data=data) == ["sklearn_rnn._text.TextSequencer"]
    restored = sio.loads(data, trusted=["sklearn_rnn._text.TextSequencer"])
    np.testing.assert_array_equal(restored.transform(DOCS), sequencer.transform(DOCS))


def test_tags_tell_the_truth():
    tags = TextSequencer().__sklearn_tags__()
    assert tags.input_tags.string
    assert not tags.input_tags.two_d_array
    assert tags.requires_fit
    assert tags.transformer_tags.preserves_dtype == []


def test_feature_names_out_are_positions():
    sequencer = TextSequencer(max_len=3).fit(DOCS)
    names = sequencer.get_feature_names_out()
    np.testing.assert_array_equal(names, ["textsequencer0", "textsequencer1", "textsequencer2"])


def test_set_output_pandas_keeps_the_series_index():
    docs = pd.Series(DOCS, index=[10, 20, 30])
    out = TextSequencer(max_len=3).set_output(transform="pandas").fit_transform(docs)
    assert isinstance(out, pd.DataFrame)
    assert list(out.index) == [10, 20, 30]
    assert list(out.columns) == ["textsequencer0", "textsequencer1", "textsequencer2"]
    np.testing.assert_array_equal(out.to_numpy(), [[4, 2, 3], [6, 3, 7], [0, 5, 2]])


# --- in a pipeline -----------------------------------------------------------


def labelled_by_first_word(n=80, seed=0):
    """Each document is a label word followed by three filler words: only a
    sequence long enough to reach the front of the document sees the label."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    filler = np.array(["w0", "w1", "w2", "w3", "w4", "w5"])
    docs = [
        " ".join([("good" if label else "bad"), *rng.choice(filler, size=3)]) for label in labels
    ]
    return docs, labels


def make_text_pipeline(**params):
    return make_pipeline(
        TextSequencer(**params),
        OneHotEncoder(handle_unknown="ignore"),
        LogisticRegression(),
    )


def test_grid_search_tunes_max_len_in_a_pipeline():
    docs, labels = labelled_by_first_word()
    search = GridSearchCV(
        make_text_pipeline(max_features=20),
        {"textsequencer__max_len": [1, 2, 4]},
        cv=StratifiedKFold(3),
    )
    search.fit(docs, labels)
    scores = dict(
        zip(
            [p["textsequencer__max_len"] for p in search.cv_results_["params"]],
            search.cv_results_["mean_test_score"],
            strict=True,
        )
    )
    # Only a sequence reaching back to the first token sees the label: the
    # last one or two (filler) say nothing.
    assert scores[4] == 1.0
    assert scores[1] < 0.8 and scores[2] < 0.8
    assert search.best_params_ == {"textsequencer__max_len": 4}
    assert search.best_estimator_[0].max_len_ == 4


def test_joblib_round_trip_of_a_fitted_pipeline_in_a_new_process(tmp_path):
    docs, labels = labelled_by_first_word()
    pipeline = make_text_pipeline(max_len=4).fit(docs, labels)
    path = tmp_path / "pipeline.joblib"
    joblib.dump(pipeline, path)
    expected = pipeline.predict_proba(docs)
    np.testing.assert_array_equal(joblib.load(path).predict_proba(docs), expected)
    np.save(tmp_path / "expected.npy", expected)
    code = (
        "import joblib, numpy as np, sys\n"
        f"pipeline = joblib.load({str(path)!r})\n"
        f"docs = {docs!r}\n"
        f"expected = np.load({str(tmp_path / 'expected.npy')!r})\n"
        "np.testing.assert_array_equal(pipeline.predict_proba(docs), expected)\n"
    )
    root = str(Path(__file__).resolve().parents[1])
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, env=_env_with(root))


def _env_with(root):
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


def test_text_module_does_not_import_torch():
    # Load the private modules as a bare package so that sklearn_rnn's
    # __init__ (which imports the networks) does not run.
    package_dir = Path(__file__).resolve().parents[1] / "sklearn_rnn"
    code = (
        "import sys, types\n"
        "package = types.ModuleType('sklearn_rnn')\n"
        f"package.__path__ = [{str(package_dir)!r}]\n"
        "sys.modules['sklearn_rnn'] = package\n"
        "import sklearn_rnn._text as text\n"
        "text.TextSequencer(max_len=3).fit_transform(['a b c d'])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_counting_matches_collections_counter_on_a_larger_corpus():
    rng = np.random.default_rng(1)
    words = np.array([f"w{i}" for i in range(300)])
    docs = [" ".join(rng.choice(words, size=rng.integers(0, 30))) for _ in range(500)]
    sequencer = TextSequencer(max_len=12, max_features=100, min_df=2).fit(docs)
    counts = Counter(w for d in docs for w in d.split())
    document_counts = Counter(w for d in docs for w in set(d.split()))
    kept = sorted((w for w in counts if document_counts[w] >= 2), key=lambda w: (-counts[w], w))[
        :100
    ]
    assert sequencer.vocabulary_ == {w: i for i, w in enumerate(kept, start=2)}
    expected = reference_rows(
        [[sequencer.vocabulary_.get(w, 1) for w in d.split()] for d in docs], 12, "pre", "pre"
    )
    np.testing.assert_array_equal(sequencer.transform(docs), expected)


# --- the Hugging Face tokenizers backend -------------------------------------

CORPUS = [
    "playing players played plays",
    "the player plays a game",
    "games and gaming",
    "replaying the played game",
] * 3


def test_backend_missing_gives_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "tokenizers", None)  # import now fails
    with pytest.raises(ImportError, match=re.escape('pip install "sklearn-rnn[text]"')):
        TextSequencer(backend="tokenizers").fit(CORPUS)


@pytest.mark.parametrize(
    "params", [{"min_df": 2}, {"max_df": 0.5}, {"analyzer": "char"}, {"vocabulary": ["a"]}]
)
def test_backend_refuses_word_level_options(params):
    with pytest.raises(ValueError, match=r"learns its own subword vocabulary"):
        TextSequencer(backend="tokenizers", **params).fit(CORPUS)


def test_backend_ids_are_the_tokenizers_own_encoding():
    tokenizers = pytest.importorskip("tokenizers")
    sequencer = TextSequencer(backend="tokenizers", max_features=40).fit(CORPUS)
    tokenizer = tokenizers.Tokenizer.from_str(sequencer.tokenizer_json_)
    assert tokenizer.token_to_id("<pad>") == 0
    assert tokenizer.token_to_id("<unk>") == 1
    docs = ["Replaying games", "the zebra plays", "a"]
    expected = [
        tokenizer.encode(d.lower().split(), is_pretokenized=True, add_special_tokens=False).ids
        for d in docs
    ]
    max_len = sequencer.max_len_
    np.testing.assert_array_equal(
        sequencer.transform(docs), reference_rows(expected, max_len, "pre", "pre")
    )
    # "z" never occurs in fit, so "zebra" is unknown.
    assert 1 in expected[1]


def test_backend_vocabulary_and_sizes():
    pytest.importorskip("tokenizers")
    sequencer = TextSequencer(backend="tokenizers", max_features=40).fit(CORPUS)
    assert "<pad>" not in sequencer.vocabulary_ and "<unk>" not in sequencer.vocabulary_
    assert sorted(sequencer.vocabulary_.values()) == list(range(2, sequencer.n_tokens_))
    assert sequencer.n_tokens_ <= 40 + 2
    assert any(token.startswith("##") for token in sequencer.vocabulary_)
    ids = sequencer.transform(["playing games"])
    pieces = sequencer.inverse_transform(ids)[0]
    assert "".join(p.removeprefix("##") for p in pieces) == "playinggames"
    assert ids.max() < sequencer.n_tokens_


def test_backend_fit_is_deterministic_and_fit_transform_matches():
    pytest.importorskip("tokenizers")
    first = TextSequencer(backend="tokenizers", max_features=30).fit(CORPUS)
    second = TextSequencer(backend="tokenizers", max_features=30).fit(CORPUS)
    assert first.tokenizer_json_ == second.tokenizer_json_
    assert first.vocabulary_ == second.vocabulary_
    fitted = TextSequencer(backend="tokenizers", max_features=30)
    np.testing.assert_array_equal(fitted.fit_transform(CORPUS), first.transform(CORPUS))
    # max_len=None counts subwords, not words.
    assert first.max_len_ == max(len(row[row != 0]) for row in first.transform(CORPUS))


def test_backend_pickles_as_plain_data():
    pytest.importorskip("tokenizers")
    sequencer = TextSequencer(backend="tokenizers", max_features=30, max_len=6).fit(CORPUS)
    assert isinstance(sequencer.tokenizer_json_, str)
    state = sequencer.__getstate__()
    assert not any(type(value).__module__.startswith("tokenizers") for value in state.values())
    restored = pickle.loads(pickle.dumps(sequencer))
    np.testing.assert_array_equal(restored.transform(CORPUS), sequencer.transform(CORPUS))


def test_backend_with_token_lists():
    pytest.importorskip("tokenizers")
    docs = [d.split() for d in CORPUS]
    from_lists = TextSequencer(backend="tokenizers", max_features=30).fit(docs)
    from_text = TextSequencer(backend="tokenizers", max_features=30).fit(CORPUS)
    np.testing.assert_array_equal(from_lists.transform(docs), from_text.transform(CORPUS))


def test_learn_subwords_by_hand():
    from sklearn_rnn._text import learn_subwords

    # Pieces: "ab" -> a ##b (x3), "abc" -> a ##b ##c, "b" -> b. Alphabet by
    # count (a and ##b 4 each: "##b" sorts first), then the merges: a+##b (4),
    # then ab+##c (1).
    assert learn_subwords({"ab": 3, "abc": 1, "b": 1}, 100) == [
        "##b",
        "a",
        "##c",
        "b",
        "ab",
        "abc",
    ]
    # The alphabet is always whole, even beyond n_pieces.
    assert learn_subwords({"ab": 3, "abc": 1, "b": 1}, 2) == ["##b", "a", "##c", "b"]


@pytest.mark.parametrize("word_counts", [{"ab": 1, "cd": 1}, {"cd": 1, "ab": 1}])
def test_learn_subwords_breaks_ties_by_text_not_by_order(word_counts):
    from sklearn_rnn._text import learn_subwords

    assert learn_subwords(word_counts, 5) == ["##b", "##d", "a", "c", "ab"]


def test_backend_with_a_large_vocabulary_keeps_every_fit_word_whole():
    pytest.importorskip("tokenizers")
    sequencer = TextSequencer(backend="tokenizers", max_features=10_000).fit(CORPUS)
    words = sorted({w for d in CORPUS for w in d.split()})
    assert set(words) <= set(sequencer.vocabulary_)
    ids = sequencer.transform([[w] for w in words])
    assert (ids[:, :-1] == 0).all() and (ids[:, -1] >= 2).all()


def test_backend_vocabulary_does_not_depend_on_the_hash_seed():
    pytest.importorskip("tokenizers")
    root = str(Path(__file__).resolve().parents[1])
    code = (
        "import hashlib\n"
        "from sklearn_rnn._text import TextSequencer\n"
        f"docs = {CORPUS!r}\n"
        "s = TextSequencer(backend='tokenizers', max_features=30).fit(docs)\n"
        "print(hashlib.sha256(s.tokenizer_json_.encode()).hexdigest())\n"
    )
    outputs = set()
    for seed in ["1", "2"]:
        env = _env_with(root)
        env["PYTHONHASHSEED"] = seed
        result = subprocess.run(
            [sys.executable, "-c", code], check=True, cwd=root, env=env, capture_output=True
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1


def test_feature_names_before_fit():
    with pytest.raises(NotFittedError):
        TextSequencer().get_feature_names_out()
