"""What both networks share through the base: seeding, padding, lists of
sequences of different lengths, pickling, incremental training and verbosity.
Each test runs once for RNNRegressor and once for RNNClassifier."""

import pickle

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from skorch.callbacks import Callback
from torch import nn

from sklearn_rnn import RNNClassifier, RNNRegressor
from sklearn_rnn._inputs import pad_ragged

TINY = dict(hidden_size=4, max_epochs=2, batch_size=16, random_state=0)
ESTIMATORS = [RNNRegressor, RNNClassifier]


@pytest.fixture(params=ESTIMATORS, ids=lambda cls: cls.__name__)
def estimator(request):
    return request.param


def target(estimator, X):
    """A target of the estimator's kind, from the last step of each sequence."""
    last = np.array([x[-1, 0] for x in X])
    if estimator is RNNClassifier:
        return np.where(last > 0, "up", "down")
    return last


def outputs(model, X):
    """What the model predicts, as numbers (probabilities for a classifier)."""
    if isinstance(model, RNNClassifier):
        return model.predict_proba(X)
    return model.predict(X)


def ragged(n=30, n_features=2, seed=0, lengths=(1, 7)):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(rng.integers(*lengths), n_features)) for _ in range(n)]


def pad_front(seq, n_pad):
    return np.concatenate([np.full((n_pad, seq.shape[1]), np.nan), seq])


class Recorder(nn.Module):
    """Linear head on the last step that keeps every input it is given."""

    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.head = nn.Linear(n_features, n_outputs)
        self.calls = []

    def forward(self, X, lengths):
        self.calls.append((X.detach().clone(), lengths.clone()))
        return self.head(X[:, -1])


def test_same_random_state_same_model(estimator):
    X = np.random.default_rng(0).normal(size=(40, 5, 2))
    y = target(estimator, X)
    a = outputs(estimator(**TINY).fit(X, y), X)
    b = outputs(estimator(**TINY).fit(X, y), X)
    assert_array_equal(a, b)
    c = outputs(estimator(**{**TINY, "random_state": 1}).fit(X, y), X)
    assert not np.allclose(a, c)


def test_a_list_of_different_lengths_is_its_sequences_padded(estimator):
    seqs = ragged()
    y = target(estimator, seqs)
    longest = max(len(s) for s in seqs)
    padded = np.stack([pad_front(s, longest - len(s)) for s in seqs])
    from_list = estimator(**TINY).fit(seqs, y)
    from_array = estimator(**TINY).fit(padded, y)
    assert from_list.n_features_in_ == 2
    assert_array_equal(outputs(from_list, seqs), outputs(from_array, padded))
    # Each sequence predicts as itself, alone and unpadded.
    alone = np.concatenate([outputs(from_list, s[None]) for s in seqs])
    assert_allclose(outputs(from_list, seqs), alone, rtol=1e-5, atol=1e-7)
    # Other lengths than in training, and a list of one sequence.
    longer = ragged(n=5, seed=1, lengths=(8, 12))
    assert outputs(from_list, longer).shape[0] == 5
    assert_allclose(outputs(from_list, [seqs[0]]), alone[:1], rtol=1e-5, atol=1e-7)


def test_a_list_of_univariate_sequences(estimator):
    rng = np.random.default_rng(2)
    seqs = [rng.normal(size=k) for k in (3, 5, 2, 6, 4, 5, 1, 3)]
    y = target(estimator, [s[:, None] for s in seqs])
    model = estimator(**TINY).fit(seqs, y)
    assert model.n_features_in_ == 1
    as_2d = estimator(**TINY).fit([s[:, None] for s in seqs], y)
    assert_array_equal(outputs(model, seqs), outputs(as_2d, [s[:, None] for s in seqs]))
    # Once fitted on univariate sequences, a list of equal-length 1-D
    # sequences is read as univariate sequences too, not as a 2-D table.
    same = [rng.normal(size=4) for _ in range(3)]
    assert_allclose(outputs(model, same), outputs(model, np.stack(same)[:, :, None]), rtol=1e-6)


def test_padding_of_a_list_never_reaches_the_network(estimator):
    seqs = [
        sign * np.arange(1.0, 2 * k + 1).reshape(k, 2) for sign, k in [(1, 4), (-1, 1), (1, 3)]
    ]
    # The regressor's window_norm would hand the module normalised windows.
    extra = {"window_norm": None} if estimator is RNNRegressor else {}
    model = estimator(module=Recorder, max_epochs=1, random_state=0, **extra)
    model.fit(seqs, target(estimator, seqs))
    model.module_.calls.clear()
    outputs(model, seqs)
    ((Xb, lengths),) = model.module_.calls
    assert_array_equal(lengths.numpy(), [4, 1, 3])
    assert not torch.isnan(Xb).any()
    assert_array_equal(Xb.numpy()[1, :3], 0.0)
    assert_array_equal(Xb.numpy()[1, 3], seqs[1][0])
    assert_array_equal(Xb.numpy()[2, 1:], seqs[2])


def test_rectangular_lists_keep_their_meaning(estimator):
    rng = np.random.default_rng(3)
    X3 = rng.normal(size=(20, 4, 2))
    y = target(estimator, X3)
    # Equal-length 2-D sequences: a 3-D array.
    assert_array_equal(
        outputs(estimator(**TINY).fit(list(X3), y), X3),
        outputs(estimator(**TINY).fit(X3, y), X3),
    )
    # Equal-length 1-D rows: a 2-D table, one column per time step.
    X2 = X3[:, :, 0]
    model = estimator(**TINY).fit(X2.tolist(), y)
    assert model.n_features_in_ == 4
    assert_array_equal(outputs(model, X2), outputs(estimator(**TINY).fit(X2, y), X2))


def test_pad_ragged_is_one_array_of_the_longest_length():
    seqs = [np.ones((k, 3), dtype=np.float32) for k in (2, 5, 1)]
    padded = pad_ragged(seqs)
    assert padded.shape == (3, 5, 3)
    assert padded.dtype == np.float32
    assert np.isnan(padded[0, :3]).all() and (padded[0, 3:] == 1).all()
    assert pad_ragged([np.ones((2, 3)), np.ones((1, 3), dtype=np.int64)]).dtype == np.float64


@pytest.mark.parametrize(
    "seqs, message",
    [
        (
            [np.ones((3, 2)), np.ones((2, 3))],
            r"X\[1\] has 3 feature\(s\) per step but X\[0\] has 2",
        ),
        ([np.ones((3, 2)), np.ones((0, 2))], r"X\[1\] is an empty sequence"),
        ([np.ones((3, 2)), np.ones((2, 2, 2))], r"X\[1\] has shape \(2, 2, 2\)"),
        (
            [np.ones((3, 2)), np.array([[1.0, 2.0], [np.nan, np.nan], [1.0, 2.0]])],
            r"X\[1\] has a NaN step after an observed one",
        ),
        ([np.ones((3, 2)), np.array([[1.0, np.inf]])], "X contains infinity"),
        ([np.ones(3), np.array(["a", "b"])], "X must hold numbers"),
    ],
    ids=["features", "empty", "3-d item", "inner NaN", "inf", "text"],
)
def test_bad_sequences_in_a_list_are_value_errors(estimator, seqs, message):
    with pytest.raises(ValueError, match=message):
        estimator(**TINY).fit(seqs, target(estimator, [np.ones((1, 1))] * 2))


@pytest.mark.parametrize(
    "docs",
    [["good film", "bad film"], np.array(["good film", "bad film"], dtype=object)],
    ids=["list", "array"],
)
def test_text_without_embedding_dim_points_to_the_text_pipeline(estimator, docs):
    name = estimator.__name__
    with pytest.raises(ValueError, match=rf"X holds text .*{name}\(embedding_dim=32\)\)"):
        estimator(**TINY).fit(docs, target(estimator, [np.ones((1, 1))] * 2))


def test_dates_in_sequences_are_not_read_as_numbers(estimator):
    X = np.arange(12).astype("datetime64[D]").reshape(4, 3, 1)
    with pytest.raises(TypeError, match=r"X must hold numbers, but .*dates or durations"):
        estimator(**TINY).fit(X, target(estimator, [np.ones((1, 1))] * 4))


def test_leading_nan_steps_inside_a_list_are_padding(estimator):
    seqs = ragged(n=6, seed=4)
    y = target(estimator, seqs)
    model = estimator(**TINY).fit(seqs, y)
    padded_item = [pad_front(seqs[0], 2), *seqs[1:]]
    assert_allclose(outputs(model, padded_item), outputs(model, seqs), rtol=1e-5, atol=1e-7)


def test_pickle_round_trip_of_a_model_fitted_on_a_list(estimator):
    seqs = ragged()
    model = estimator(**TINY).fit(seqs, target(estimator, seqs))
    loaded = pickle.loads(pickle.dumps(model))
    assert_array_equal(outputs(loaded, seqs), outputs(model, seqs))


def test_partial_fit_accumulates_epochs_on_lists(estimator):
    seqs = ragged()
    y = target(estimator, seqs)
    kwargs = {"classes": np.unique(y)} if estimator is RNNClassifier else {}
    model = estimator(**TINY).partial_fit(seqs[:15], y[:15], **kwargs)
    model.partial_fit(seqs[15:], y[15:])
    assert model.n_iter_ == 2
    assert len(model.loss_curve_) == 2


def test_verbose_2_prints_a_line_per_epoch(estimator, capfd):
    seqs = ragged()
    estimator(**{**TINY, "verbose": 2}).fit(seqs, target(estimator, seqs))
    out, err = capfd.readouterr()
    assert err.count("epoch ") >= 2
    assert "train_loss=" in err


# ------------------------------------------------------- weight averaging


class EpochWeights(Callback):
    """The module's parameters at the end of every epoch of a call, as trained."""

    def on_train_begin(self, net, **kwargs):
        self.weights = []

    def on_epoch_end(self, net, **kwargs):
        self.weights.append([p.detach().clone() for p in net.module_.parameters()])


def epoch_mean(weights):
    """The mean, parameter by parameter, of epochs' recorded weights."""
    return [torch.stack(w).mean(0) for w in zip(*weights, strict=True)]


def weights_equal(module, expected):
    return all(
        np.allclose(param.detach().numpy(), value.numpy(), rtol=1e-5, atol=1e-7)
        for param, value in zip(module.parameters(), expected, strict=True)
    )


def assert_weights(module, expected):
    for param, value in zip(module.parameters(), expected, strict=True):
        assert_allclose(param.detach().numpy(), value.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("average, averaged", [(0.5, 2), (0.75, 3), (1.0, 4), (0.2, 1), (0.0, 1)])
def test_average_keeps_the_mean_of_the_last_epochs_weights(estimator, average, averaged):
    X = np.random.default_rng(0).normal(size=(40, 5, 2))
    y = target(estimator, X)
    seen = EpochWeights()
    params = {**TINY, "max_epochs": 4}
    model = estimator(**params, average=average, callbacks=[seen]).fit(X, y)
    assert len(seen.weights) == 4
    last = seen.weights[-averaged:]
    assert_weights(model.module_, epoch_mean(last))
    # Averaging changes what training ends with, not the training itself.
    plain = estimator(**params, average=0.0).fit(X, y)
    assert model.loss_curve_ == plain.loss_curve_
    if averaged > 1:
        assert not np.allclose(outputs(model, X), outputs(plain, X))
    else:
        assert_array_equal(outputs(model, X), outputs(plain, X))


def averaged_epochs(model, weights):
    """How many of the last epochs' weights the fitted weights are the mean of."""
    for count in range(1, len(weights) + 1):
        if weights_equal(model.module_, epoch_mean(weights[-count:])):
            return count
    return None


@pytest.mark.parametrize(
    "case, averaged",
    [
        ("one output", 3),
        ("one output, trending", 3),
        ("two outputs", 4),
        ("two outputs, per-window normalised", 4),
        ("two outputs, trending", 3),
        ("two outputs, trending, per-window normalised", 3),
    ],
)
def test_regressor_average_auto(case, averaged):
    # "auto" (the default) averages the last three quarters of the epochs, and every
    # epoch for several outputs (direct multi-step forecasts, whose far steps
    # the last epochs overfit) unless the target leaves its range (a trend,
    # still being learned in the last epochs). The classifier's default is
    # off (tests/test_classifier.py). The data: windows of a sine of period 8
    # (a second feature of noise) and its next values, a series that stays in
    # its range, or with a trend one that leaves it.
    t = np.arange(40)[:, None] + np.arange(8)[None, :]
    series = np.sin(2 * np.pi * t / 8) + (0.2 * t if "trending" in case else 0.0)
    X = np.stack([series[:, :6], np.random.default_rng(0).normal(size=(40, 6))], axis=2)
    y = series[:, 6] if "two" not in case else series[:, 6:]
    norm = {"window_norm": "standard", "target_features": 0} if "normalised" in case else {}
    seen = EpochWeights()
    params = {**TINY, "max_epochs": 4, "window_norm": None, **norm}
    model = RNNRegressor(**params, callbacks=[seen]).fit(X, y)
    assert model.average == "auto"
    assert (model.window_norm_ is not None) == ("normalised" in case)
    assert averaged_epochs(model, seen.weights) == averaged
    # An explicit share applies whatever the outputs.
    model = RNNRegressor(**params, average=0.5, callbacks=[seen]).fit(X, y)
    assert averaged_epochs(model, seen.weights) == 2


def test_average_applies_to_the_epochs_of_each_call(estimator):
    X = np.random.default_rng(0).normal(size=(40, 5, 2))
    y = target(estimator, X)
    seen = EpochWeights()
    model = estimator(**{**TINY, "max_epochs": 3}, average=1.0, warm_start=True, callbacks=[seen])
    model.fit(X, y).fit(X, y)
    assert model.n_iter_ == 6
    assert len(seen.weights) == 3  # the second call's epochs
    mean = epoch_mean(seen.weights)
    assert_weights(model.module_, mean)
    # partial_fit runs one epoch and keeps it.
    model.partial_fit(X, y)
    assert_weights(model.module_, seen.weights[-1])
