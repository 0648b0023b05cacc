"""Integer token ids through an embedding (``embedding_dim``) in both networks."""

import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline

from sklearn_rnn import RNNClassifier, RNNRegressor, TextSequencer

SMALL = dict(embedding_dim=8, hidden_size=16, lr=1e-2, random_state=0)


def token_rows(n=300, width=20, seed=0, marker=5):
    """Front-padded id rows of random lengths; the label says whether ``marker``
    occurs in the row."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, width), dtype=np.int64)
    lengths = rng.integers(1, width + 1, n)
    for i, length in enumerate(lengths):
        X[i, width - length :] = rng.integers(2, 12, length)
    y = (X == marker).any(axis=1).astype(int)
    return X, y, lengths


@pytest.fixture(scope="module")
def fitted():
    X, y, _ = token_rows()
    return RNNClassifier(cell="gru", max_epochs=25, **SMALL).fit(X, y), X, y


def test_classifier_learns_from_token_ids(fitted):
    clf, X, y = fitted
    X_test, y_test, _ = token_rows(seed=1)
    assert clf.loss_curve_[-1] < 0.2 * clf.loss_curve_[0]
    assert clf.score(X_test, y_test) > 0.9
    assert clf.n_features_in_ == 1
    assert clf.n_tokens_ == X.max() + 1


def test_padding_never_reaches_the_network(fitted):
    clf, X, _ = fitted
    module = clf.module_
    ids = np.array([7, 3, 5, 9])
    # The independent truth: the torch module on the sequence alone, unpadded.
    with torch.no_grad():
        alone = module(torch.tensor(ids[None]), lengths=torch.tensor([4])).numpy()
    alone = torch.softmax(torch.tensor(alone), 1).numpy()[0]
    front = np.concatenate([np.zeros(16, dtype=np.int64), ids])[None]
    back = np.concatenate([ids, np.zeros(5, dtype=np.int64)])[None]
    np.testing.assert_allclose(clf.predict_proba(front)[0], alone, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(back)[0], alone, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba([ids])[0], alone, rtol=1e-5, atol=1e-6)


def test_a_rows_prediction_does_not_depend_on_the_other_rows(fitted):
    clf, X, _ = fitted
    together = clf.predict_proba(X[:50])
    alone = np.vstack([clf.predict_proba(X[i : i + 1]) for i in range(50)])
    np.testing.assert_array_equal(together, alone)


def test_padding_row_is_never_trained(fitted):
    clf, _, _ = fitted
    weight = clf.module_.embedding.weight.detach()
    assert torch.count_nonzero(weight[0]) == 0
    assert torch.count_nonzero(weight[2:]) > 0


def test_an_empty_document_reads_as_the_initial_state(fitted):
    clf, _, _ = fitted
    # No token: the summary is the recurrent layer's zero initial state, so the
    # logits are the head's bias.
    bias = clf.module_.head.bias.detach()
    expected = torch.softmax(bias, 0).numpy()
    proba = clf.predict_proba(np.zeros((3, 20), dtype=np.int64))
    np.testing.assert_allclose(proba, np.tile(expected, (3, 1)), rtol=1e-5)


def test_ragged_lists_of_ids_match_the_padded_array(fitted):
    clf, X, _ = fitted
    ragged = [row[row > 0] for row in X[:40]]
    np.testing.assert_allclose(clf.predict_proba(ragged), clf.predict_proba(X[:40]), atol=1e-6)
    # An empty document may be written as [] (numpy reads it as float64).
    with_empty = [[], *ragged[1:]]
    expected = clf.predict_proba(np.vstack([np.zeros((1, 20), np.int64), X[1:40]]))
    np.testing.assert_allclose(clf.predict_proba(with_empty), expected, atol=1e-6)


def test_unseen_ids_at_predict_are_the_unknown_id(fitted):
    clf, _, _ = fitted
    row = np.array([[4, 1, 6]])
    unseen = np.array([[4, 10_000, 6]])
    np.testing.assert_array_equal(clf.predict_proba(unseen), clf.predict_proba(row))


def test_sequence_length_may_differ_at_predict(fitted):
    clf, _, _ = fitted
    assert clf.predict(np.full((2, 45), 5)).shape == (2,)
    assert clf.predict(np.array([[5], [6]])).shape == (2,)


def test_n_tokens_sets_the_embedding_rows():
    X, y, _ = token_rows(n=40)
    clf = RNNClassifier(n_tokens=50, max_epochs=1, **SMALL).fit(X, y)
    assert clf.n_tokens_ == 50
    assert clf.module_.embedding.num_embeddings == 50
    with pytest.raises(ValueError, match="n_tokens=5 rows"):
        RNNClassifier(n_tokens=5, max_epochs=1, **SMALL).fit(X, y)


@pytest.mark.parametrize(
    "X, match",
    [
        (np.ones((4, 3), dtype=np.float64), "embedding_dim=8 reads X as integer token ids"),
        (np.array([[0, 2, -1]] * 4), "negative token id -1"),
        (np.array([[2, 0, 3]] * 4), "padding id 0 between two tokens"),
        (np.ones((4, 3, 1), dtype=np.int64), r"\(n_samples, n_timesteps\)"),
        (["good film", "bad film"] * 2, "X holds text .* Put a TextSequencer before it"),
        (np.array(["good film", "bad film"] * 2), "X holds text"),
        (np.array(["good film", "bad film"] * 2, dtype=object), "X holds text"),
    ],
)
def test_bad_token_input_is_refused(X, match):
    with pytest.raises(ValueError, match=match):
        RNNClassifier(max_epochs=1, **SMALL).fit(X, [0, 1, 0, 1])


def test_regressor_learns_from_token_ids():
    X, _, lengths = token_rows(n=300)
    y = (X == 3).sum(axis=1).astype(float)
    reg = RNNRegressor(max_epochs=20, **SMALL).fit(X, y)
    assert reg.window_norm_ is None
    assert reg.loss_curve_[-1] < 0.3 * reg.loss_curve_[0]
    X_test, _, _ = token_rows(n=200, seed=3)
    assert reg.score(X_test, (X_test == 3).sum(axis=1)) > 0.7
    with pytest.raises(ValueError, match="window_norm='last'"):
        RNNRegressor(window_norm="last", max_epochs=1, **SMALL).fit(X, y)


def test_bidirectional_reads_each_sequence_alone():
    X, y, lengths = token_rows(n=120)
    clf = RNNClassifier(bidirectional=True, max_epochs=2, **SMALL).fit(X, y)
    ids = X[0][X[0] > 0]
    with torch.no_grad():
        logits = clf.module_(torch.tensor(ids[None]), lengths=torch.tensor([len(ids)]))
    expected = torch.softmax(logits, 1).numpy()[0]
    np.testing.assert_allclose(clf.predict_proba(X[:1])[0], expected, rtol=1e-5, atol=1e-6)


class Recorder(torch.nn.Module):
    """Mean of the embedded ids; records what each training batch looked like."""

    batches = []

    def __init__(self, n_features, n_outputs, n_tokens, embedding_dim):
        super().__init__()
        self.embedding = torch.nn.Embedding(n_tokens, embedding_dim, padding_idx=0)
        self.head = torch.nn.Linear(embedding_dim, n_outputs)
        self.init = (n_features, n_tokens, embedding_dim)

    def forward(self, X, lengths):
        if self.training:
            Recorder.batches.append((X.dtype, tuple(X.shape), lengths.clone()))
        summed = self.embedding(X).sum(1) / lengths.clamp(min=1).unsqueeze(1).to(X.device)
        return self.head(summed)


def test_custom_module_gets_ids_lengths_and_vocabulary_size():
    Recorder.batches = []
    X, y, lengths = token_rows(n=256, width=40)
    clf = RNNClassifier(module=Recorder, batch_size=16, max_epochs=1, **SMALL).fit(X, y)
    assert clf.module_.init == (1, X.max() + 1, 8)
    seen = torch.cat([batch[2] for batch in Recorder.batches])
    assert len(seen) == len(X)
    # Every sequence once per epoch, with its own length.
    np.testing.assert_array_equal(np.sort(seen.numpy()), np.sort(lengths))
    for dtype, shape, batch_lengths in Recorder.batches:
        assert dtype == torch.int64
        # Each batch is cut to its longest sequence...
        assert shape[1] == int(batch_lengths.max())
    # ...and bucketed by length: far less padding than random batches of
    # lengths uniform in 1..40 (about 40% of the steps).
    padded = sum(shape[0] * shape[1] for _, shape, _ in Recorder.batches)
    assert padded < 1.1 * lengths.sum()


def test_bucketed_training_is_repeatable_and_shuffles():
    X, y, _ = token_rows(n=200)
    first = RNNClassifier(max_epochs=3, **SMALL).fit(X, y)
    again = RNNClassifier(max_epochs=3, **SMALL).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), again.predict_proba(X))
    Recorder.batches = []
    RNNClassifier(module=Recorder, batch_size=20, max_epochs=2, **SMALL).fit(X, y)
    epochs = [Recorder.batches[:10], Recorder.batches[10:]]
    orders = [torch.cat([b[2] for b in epoch]).tolist() for epoch in epochs]
    assert orders[0] != orders[1]


def test_continued_training_keeps_the_embedding():
    X, y, _ = token_rows(n=60)
    clf = RNNClassifier(max_epochs=1, warm_start=True, **SMALL).fit(X, y)
    clf.fit(X, y)
    assert clf.n_iter_ == 2
    with pytest.raises(ValueError, match="embedding_dim=4"):
        clf.set_params(embedding_dim=4).fit(X, y)
    clf.set_params(embedding_dim=8)
    with pytest.raises(ValueError, match="fitted n_tokens_"):
        clf.partial_fit(X + 100, y)
    # A new vocabulary size would need a new embedding: an error, not ignored.
    with pytest.raises(ValueError, match=rf"n_tokens=500 \(fitted with {clf.n_tokens_}\)"):
        clf.set_params(n_tokens=500).partial_fit(X + 100, y)
    clf.set_params(n_tokens=clf.n_tokens_).partial_fit(X, y)
    assert clf.n_iter_ == 3


def test_text_pipeline_round_trips_in_a_new_process(tmp_path):
    docs = ["free prize call now", "see you at lunch", "win cash now", "lunch at noon?"] * 10
    labels = ["spam", "ham", "spam", "ham"] * 10
    model = make_pipeline(
        TextSequencer(max_len=6),
        RNNClassifier(cell="gru", max_epochs=3, **SMALL),
    ).fit(docs, labels)
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    expected = model.predict_proba(["call now to win", "see you"])
    code = textwrap.dedent(
        f"""
        import joblib, numpy as np
        model = joblib.load({str(path)!r})
        proba = model.predict_proba(["call now to win", "see you"])
        np.save({str(tmp_path / "proba.npy")!r}, proba)
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "proba.npy"), expected)
