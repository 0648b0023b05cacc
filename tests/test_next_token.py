"""make_next_token (training pairs from a corpus) and generate (sampling text)."""

import numpy as np
import pytest

from sklearn_rnn import RNNClassifier, TextSequencer, generate, make_next_token


def test_pairs_hold_the_tokens_before_each_token():
    X, y = make_next_token([np.array([5, 6, 7, 8])], context=2)
    np.testing.assert_array_equal(X, [[0, 5], [5, 6], [6, 7]])
    np.testing.assert_array_equal(y, [6, 7, 8])
    assert X.dtype == np.int64 and y.dtype == np.int64


def test_pairs_never_cross_documents():
    docs = [np.arange(10, 20), np.arange(30, 33), np.array([40]), np.arange(50, 56)]
    X, y = make_next_token(docs, context=4)
    # Every token but each document's first is a target, once.
    np.testing.assert_array_equal(y, np.concatenate([d[1:] for d in docs]))
    for row, target in zip(X, y, strict=True):
        doc = next(d for d in docs if target in d)
        tokens = row[row > 0]
        position = int(np.flatnonzero(doc == target)[0])
        np.testing.assert_array_equal(tokens, doc[max(0, position - 4) : position])


def test_padded_rows_read_as_documents():
    docs = [np.array([2, 3, 4]), np.array([5, 6])]
    pre = np.array([[2, 3, 4], [0, 5, 6]])
    post = np.array([[2, 3, 4], [5, 6, 0]])
    expected = make_next_token(docs, context=3)
    for padded in (pre, post):
        got = make_next_token(padded, context=3)
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])
    # One 1-D array is one document, and so is one list of ids.
    np.testing.assert_array_equal(make_next_token(np.array([2, 3, 4]), context=3)[1], [3, 4])
    np.testing.assert_array_equal(make_next_token([2, 3, 4], context=3)[1], [3, 4])


def test_a_sequencer_with_pandas_output_gives_the_same_pairs_and_text():
    corpus = ["a b c d", "b c d a"]
    plain = TextSequencer(max_len=4).fit(corpus)
    frame = TextSequencer(max_len=4).fit(corpus).set_output(transform="pandas")
    ids = frame.transform(corpus)
    assert hasattr(ids, "columns")
    pairs = make_next_token(ids, context=3)
    expected_pairs = make_next_token(plain.transform(corpus), context=3)
    for got, expected in zip(pairs, expected_pairs, strict=True):
        np.testing.assert_array_equal(got, expected)
    text = generate(FixedModel(), frame, "a", 10, context=4, random_state=0)
    assert text == generate(FixedModel(), plain, "a", 10, context=4, random_state=0)


@pytest.mark.parametrize(
    "sequences, match",
    [
        ([np.array([1.5, 2.0])], "integer token ids"),
        ([np.array([2, -3, 4])], "negative token id -3"),
        ([np.array([2]), np.array([3])], "at least 2 tokens"),
    ],
)
def test_bad_corpora_are_refused(sequences, match):
    with pytest.raises(ValueError, match=match):
        make_next_token(sequences, context=3)


class FixedModel:
    """A next-token model with one fixed distribution over four token ids."""

    classes_ = np.array([2, 3, 4, 5])
    proba = np.array([0.5, 0.3, 0.15, 0.05])

    def predict_proba(self, X):
        assert X.shape == (1, 4) and X.dtype == np.int64
        return self.proba[None]


@pytest.fixture(scope="module")
def words():
    return TextSequencer().fit(["a b c d"])  # ids: a 2, b 3, c 4, d 5


def sampled(words, n, **kwargs):
    text = generate(FixedModel(), words, "a", n, context=4, **kwargs)
    return np.array(text.split()[1:])


def test_sampling_follows_the_model_distribution(words):
    tokens = sampled(words, 3000, random_state=0)
    frequencies = [np.mean(tokens == t) for t in "abcd"]
    np.testing.assert_allclose(frequencies, FixedModel.proba, atol=0.03)


def test_temperature_and_top_k_shape_the_distribution(words):
    assert set(sampled(words, 300, top_k=2, random_state=0)) == {"a", "b"}
    assert set(sampled(words, 50, temperature=0)) == {"a"}
    # Temperature 0.5 squares the probabilities (then renormalised).
    sharp = sampled(words, 3000, temperature=0.5, random_state=1)
    squared = FixedModel.proba**2 / (FixedModel.proba**2).sum()
    frequencies = [np.mean(sharp == t) for t in "abcd"]
    np.testing.assert_allclose(frequencies, squared, atol=0.03)


class TiedModel(FixedModel):
    proba = np.array([0.4, 0.3, 0.3, 0.0])


def test_top_k_keeps_exactly_k_tokens_when_probabilities_tie(words):
    text = generate(TiedModel(), words, "a", 300, context=4, top_k=2, random_state=0)
    assert set(text.split()[1:]) == {"a", "b"}  # c ties with b: the first of them


def test_a_tiny_temperature_is_greedy(words):
    assert set(sampled(words, 20, temperature=1e-310, random_state=0)) == {"a"}


def test_random_state_repeats_the_text(words):
    first = generate(FixedModel(), words, "a b", 30, context=4, random_state=3)
    again = generate(FixedModel(), words, "a b", 30, context=4, random_state=3)
    other = generate(FixedModel(), words, "a b", 30, context=4, random_state=4)
    assert first == again != other
    assert first.startswith("a b ") and len(first.split()) == 32


def test_a_character_model_learns_and_continues_a_pattern():
    corpus = ["abcdabcdabcdabcdabcd", "bcdabcdabcda"]
    sequencer = TextSequencer(analyzer="char").fit(corpus)
    X, y = make_next_token(sequencer.transform(corpus), context=3)
    model = RNNClassifier(
        embedding_dim=4, hidden_size=16, lr=1e-2, max_epochs=40, random_state=0
    ).fit(X, y)
    assert model.score(X[X[:, 0] > 0], y[X[:, 0] > 0]) == 1.0
    # The context length is the one the model was trained on.
    assert generate(model, sequencer, "ab", 6, temperature=0) == "abcdabcd"
    assert generate(model, sequencer, "ab", 0) == "ab"
