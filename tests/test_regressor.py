"""Functional tests of RNNRegressor: learning, padding, determinism, input forms,
parameters, early stopping, incremental training, output, devices and persistence.

Networks are tiny and epochs few so that the file runs in seconds on two cores.
"""

import os
import pickle
import subprocess
import sys
import textwrap
import threading
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import skorch
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import InconsistentVersionWarning
from skorch.callbacks import Callback
from torch import nn

import sklearn_rnn
from sklearn_rnn import RNNRegressor, SequenceWindower, make_supervised

TINY = dict(hidden_size=4, max_epochs=2, batch_size=16, random_state=0)


def make_sequences(n=40, n_steps=6, n_features=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_steps, n_features))
    y = X[:, -2:, 0].sum(axis=1) + 0.5 * X[:, -1, -1]
    return X, y


def sine_windows(n=160, window=8):
    series = np.sin(0.3 * np.arange(n + 1))
    X, y = make_supervised(series)
    return SequenceWindower(window=window).fit_transform(X), y


def pad_front(seq, n_pad):
    """``seq`` (T, F) with ``n_pad`` leading NaN steps, as the windower pads."""
    return np.concatenate([np.full((n_pad, seq.shape[1]), np.nan), seq])


class Recorder(nn.Module):
    """Linear head on the last step that keeps every input it is given."""

    def __init__(self, n_features, n_outputs, scale=1.0):
        super().__init__()
        self.head = nn.Linear(n_features, n_outputs)
        self.scale = scale
        self.calls = []

    def forward(self, X, lengths):
        self.calls.append((self.training, X.detach().clone(), lengths.clone()))
        return self.head(X[:, -1]) * self.scale


class RecorderNoLengths(nn.Module):
    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.head = nn.Linear(n_features, n_outputs)
        self.calls = []

    def forward(self, X):
        self.calls.append((self.training, X.detach().clone()))
        return self.head(X[:, -1])


class GradNorms(Callback):
    """Total gradient norm of every training step, as the optimizer sees it."""

    def on_train_begin(self, net, **kwargs):
        self.norms = []

    def on_grad_computed(self, net, named_parameters, **kwargs):
        grads = [p.grad.norm() for p in net.module_.parameters() if p.grad is not None]
        self.norms.append(float(torch.stack(grads).norm()))


class StartWeights(Callback):
    """The module's weights when training starts."""

    def on_train_begin(self, net, **kwargs):
        self.state = {k: v.clone() for k, v in net.module_.state_dict().items()}


# ---------------------------------------------------------------- learning


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_learns_sine_wave(cell):
    # The windower's NaN padding is left in: the first rows are shorter
    # sequences, so training also goes through mixed-length batches.
    X, y = sine_windows()
    # Without the linear skip, which would start at the least-squares fit of
    # a sine (exact): the recurrent layers themselves must learn.
    model = RNNRegressor(
        cell=cell,
        hidden_size=8,
        lr=1e-2,
        max_epochs=25,
        batch_size=32,
        random_state=0,
        linear_skip=False,
    )
    model.fit(X, y)
    assert model.loss_curve_[-1] < 0.1 * model.loss_curve_[0]
    assert model.score(X, y) > 0.9


# ------------------------------------------------------- padding equivalence


@pytest.fixture(
    scope="module",
    params=[
        dict(cell="lstm"),
        dict(cell="gru", bidirectional=True),
        dict(cell="rnn", num_layers=2, dropout=0.3),
        dict(cell="lstm", num_layers=2, bidirectional=True),
    ],
    ids=["lstm", "gru-bidirectional", "rnn-2-layers", "lstm-2-layers-bidirectional"],
)
def padded_model(request):
    X, y = make_sequences(n_steps=5)
    model = RNNRegressor(**{**TINY, **request.param, "hidden_size": 6}).fit(X, y)
    return model


def test_padded_sample_predicts_as_its_shorter_sequence(padded_model):
    rng = np.random.default_rng(1)
    seq = rng.normal(size=(4, 2))
    alone = padded_model.predict(seq[None])
    padded = padded_model.predict(pad_front(seq, 3)[None])
    assert_allclose(padded, alone, rtol=1e-5, atol=1e-7)
    # Sanity: the padding does matter if it is fed as observed zeros.
    zeros = padded_model.predict(np.concatenate([np.zeros((3, 2)), seq])[None])
    assert not np.allclose(zeros, alone, rtol=1e-5, atol=1e-7)


def test_padding_in_a_mixed_batch(padded_model):
    rng = np.random.default_rng(2)
    n_steps = 7
    observed = [7, 3, 7, 1, 5, 6, 3]
    seqs = [rng.normal(size=(k, 2)) for k in observed]
    batch = np.stack([pad_front(s, n_steps - len(s)) for s in seqs])
    expected = np.concatenate([padded_model.predict(s[None]) for s in seqs])
    assert_allclose(padded_model.predict(batch), expected, rtol=1e-5, atol=1e-7)


def test_batch_with_one_shared_padding(padded_model):
    rng = np.random.default_rng(3)
    seqs = rng.normal(size=(5, 4, 2))
    batch = np.stack([pad_front(s, 2) for s in seqs])
    assert_allclose(padded_model.predict(batch), padded_model.predict(seqs), rtol=1e-5, atol=1e-7)


# ---------------------------------------------------- bidirectional summary


def head_input(net, X, lengths=None):
    """What the head of a RecurrentNetwork reads for each sequence."""
    seen = []
    hook = net.head.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach()))
    try:
        with torch.no_grad():
            net(X, lengths)
    finally:
        hook.remove()
    return seen[0]


def padded_batch(seqs):
    n_steps = max(len(s) for s in seqs)
    X = torch.zeros(len(seqs), n_steps, seqs[0].shape[1])
    for i, s in enumerate(seqs):
        X[i, n_steps - len(s) :] = s
    return X, torch.tensor([len(s) for s in seqs])


LENGTH_MIXES = {
    "full-length": [7] * 5,
    "few-lengths": [7, 4, 4, 2, 7, 1],
    "many-lengths": list(range(1, 13)),  # more than are grouped in training
}


@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("mix", LENGTH_MIXES)
@pytest.mark.parametrize("cell, num_layers", [("lstm", 1), ("gru", 2), ("rnn", 1)])
def test_bidirectional_summary_is_each_direction_over_the_whole_sequence(
    cell, num_layers, mix, training
):
    # Independent truth: torch's own layer run on each sequence alone, without
    # padding. The forward direction has seen the sequence at its last step,
    # the backward direction at its first.
    from sklearn_rnn._modules import RecurrentNetwork

    torch.manual_seed(0)
    hidden = 5
    net = RecurrentNetwork(
        n_features=2,
        n_outputs=1,
        cell=cell,
        hidden_size=hidden,
        num_layers=num_layers,
        bidirectional=True,
    ).train(training)
    seqs = [torch.randn(k, 2) for k in LENGTH_MIXES[mix]]
    got = head_input(net, *padded_batch(seqs))
    for i, seq in enumerate(seqs):
        with torch.no_grad():
            out, _ = net.rnn(seq[None])
        expected = torch.cat([out[0, -1, :hidden], out[0, 0, hidden:]])
        assert_allclose(got[i].numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mix", LENGTH_MIXES)
def test_bidirectional_summary_sees_the_first_step_in_both_directions(mix):
    from sklearn_rnn._modules import RecurrentNetwork

    torch.manual_seed(0)
    net = RecurrentNetwork(n_features=1, n_outputs=1, hidden_size=4, bidirectional=True).eval()
    seqs = [torch.randn(k, 1) for k in LENGTH_MIXES[mix]]
    X, lengths = padded_batch(seqs)
    moved = X.clone()
    first = X.shape[1] - lengths
    moved[torch.arange(len(seqs)), first] += 1.0  # each sequence's first observed step
    before, after = head_input(net, X, lengths), head_input(net, moved, lengths)
    change = (after - before).abs()
    assert (change[:, :4].amax(dim=1) > 1e-6).all(), "forward half missed the first step"
    assert (change[:, 4:].amax(dim=1) > 1e-6).all(), "backward half missed the first step"


def test_bidirectional_network_learns_the_first_step_of_a_long_sequence():
    # The target is the first of 20 steps: the backward direction reads it
    # directly where it has seen the whole sequence.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 20, 1))
    X_test = rng.normal(size=(256, 20, 1))
    model = RNNRegressor(
        cell="gru",
        hidden_size=8,
        bidirectional=True,
        lr=1e-2,
        max_epochs=10,
        batch_size=32,
        random_state=0,
    ).fit(X, X[:, 0, 0])
    assert model.score(X_test, X_test[:, 0, 0]) > 0.9


def test_custom_module_gets_padding_as_zeros_and_lengths():
    rng = np.random.default_rng(4)
    X = np.stack([pad_front(rng.normal(size=(k, 2)), 5 - k) for k in [5, 2, 4, 1]])
    model = RNNRegressor(module=Recorder, max_epochs=1, random_state=0)
    model.fit(X, np.arange(4.0))
    module = model.module_
    module.calls.clear()
    model.predict(X)
    ((_, Xb, lengths),) = module.calls
    assert Xb.dtype == torch.float32
    assert Xb.shape == (4, 5, 2)
    assert not torch.isnan(Xb).any()
    assert_array_equal(Xb.numpy()[1, :3], 0.0)
    assert_array_equal(Xb.numpy()[3, :4], 0.0)
    assert_allclose(Xb.numpy()[1, 3:], X[1, 3:], rtol=1e-6)
    assert lengths.dtype == torch.int64
    assert lengths.device.type == "cpu"
    assert_array_equal(lengths.numpy(), [5, 2, 4, 1])


# ------------------------------------------------------------- determinism


def test_same_random_state_same_predictions():
    X, y = make_sequences()
    a = RNNRegressor(**TINY).fit(X, y).predict(X)
    b = RNNRegressor(**TINY).fit(X, y).predict(X)
    assert_array_equal(a, b)
    c = RNNRegressor(**{**TINY, "random_state": 1}).fit(X, y).predict(X)
    assert not np.allclose(a, c)


@pytest.mark.parametrize(
    "params",
    [
        dict(cell="rnn", hidden_size=8),
        dict(cell="gru", hidden_size=3),
        dict(cell="rnn", hidden_size=100, bidirectional=True),
    ],
    ids=["rnn-8", "gru-3", "rnn-100-bidirectional"],
)
def test_a_rows_prediction_does_not_depend_on_the_rows_beside_it(params):
    # Widths whose rows fall in a partial register tile of the CPU's matrix
    # kernels: where four rows do not round as sixteen do, every batch is
    # padded to sixteen.
    X, y = make_sequences(n=50)
    X[::7, :3] = np.nan  # padded windows too
    model = RNNRegressor(**{**TINY, **params}).fit(X, y)
    together = model.predict(X)
    alone = np.concatenate([model.predict(X[i : i + 1]) for i in range(len(X))])
    assert_array_equal(together, alone)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_unit_input_init_scales_only_the_weights_that_read_x(bidirectional):
    from sklearn_rnn._modules import RecurrentNetwork

    kw = dict(n_features=3, n_outputs=1, hidden_size=64, num_layers=2, bidirectional=bidirectional)
    torch.manual_seed(0)
    plain = dict(RecurrentNetwork(**kw).named_parameters())
    torch.manual_seed(0)
    unit = dict(RecurrentNetwork(**kw, input_init="unit").named_parameters())
    for name, weight in unit.items():
        if name.startswith("rnn.weight_ih_l0"):
            # Uniform in +-1 (PyTorch's +-1/sqrt(64), scaled), from the same draws.
            assert_allclose(weight.detach(), 8 * plain[name].detach(), rtol=1e-6)
            assert 0.99 < float(weight.detach().abs().max()) <= 1.0
        else:
            assert torch.equal(weight, plain[name]), name
    with pytest.raises(ValueError, match="input_init"):
        RecurrentNetwork(**kw, input_init="large")


def test_regressor_starts_with_unit_input_weights_and_the_classifier_with_torchs():
    from sklearn_rnn import RNNClassifier

    X, y = make_sequences()
    reg = RNNRegressor(**{**TINY, "max_epochs": 1, "lr": 1e-12}).fit(X, y)
    clf = RNNClassifier(**{**TINY, "max_epochs": 1, "lr": 1e-12}).fit(X, y > 0)
    # lr 1e-12 leaves the start as it was: +-1 against +-1/sqrt(4) = 0.5.
    assert float(reg.module_.rnn.weight_ih_l0.detach().abs().max()) > 0.9
    assert float(clf.module_.rnn.weight_ih_l0.detach().abs().max()) <= 0.5


def test_random_state_leaves_global_rng_alone():
    X, y = make_sequences()
    np.random.seed(123)
    torch.manual_seed(123)
    torch_before = torch.random.get_rng_state()
    numpy_before = np.random.get_state()
    model = RNNRegressor(
        **{**TINY, "shuffle": True, "dropout": 0.5, "num_layers": 2, "head_dropout": 0.3}
    )
    model.fit(X, y).predict(X)
    model.partial_fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), torch_before)
    numpy_after = np.random.get_state()
    assert numpy_after[0] == numpy_before[0]
    assert_array_equal(numpy_after[1], numpy_before[1])
    assert numpy_after[2:] == numpy_before[2:]


def test_head_dropout_acts_in_training_only():
    X, y = make_sequences()
    params = {**TINY, "max_epochs": 5}
    dropped = RNNRegressor(**params, head_dropout=0.5).fit(X, y)
    # Predictions read every recurrent feature: repeatable, and unchanged by
    # the draws of another training run.
    first = dropped.predict(X)
    assert_array_equal(dropped.predict(X), first)
    again = RNNRegressor(**params, head_dropout=0.5).fit(X, y)
    assert_array_equal(again.predict(X), first)  # the masks are seeded
    plain = RNNRegressor(**params, head_dropout=0.0).fit(X, y)
    assert not np.allclose(plain.predict(X), first)
    module = dropped.module_
    summary = torch.ones(4, module.head.in_features)
    module.train()
    assert (module.head_dropout(summary) == 0).any()
    module.eval()
    assert torch.equal(module.head_dropout(summary), summary)


def test_regressor_average_rejects_other_values():
    for bad in (1.5, -0.1, "half"):
        with pytest.raises(ValueError, match="'average' parameter of RNNRegressor"):
            RNNRegressor(**TINY, average=bad).fit(*make_sequences())


# ------------------------------------------------------------- input forms


@pytest.mark.parametrize(
    "y_shape, n_outputs", [((40,), 1), ((40, 1), 1), ((40, 2), 2), ((40, 3), 3)]
)
def test_prediction_shape_follows_y(y_shape, n_outputs):
    X, y = make_sequences()
    Y = np.column_stack([y, -y, 2 * y])[:, :n_outputs].reshape(y_shape)
    model = RNNRegressor(**TINY).fit(X, Y)
    assert model.n_outputs_ == n_outputs
    pred = model.predict(X)
    assert pred.shape == y_shape
    assert pred.dtype == np.float64


def test_multi_output_learns_each_column():
    X, y = sine_windows(n=120)
    Y = np.column_stack([y, -2 * y + 1])
    model = RNNRegressor(hidden_size=8, lr=1e-2, max_epochs=25, batch_size=32, random_state=0)
    model.fit(X, Y)
    pred = model.predict(X)
    for k in range(2):
        resid = np.mean((pred[:, k] - Y[:, k]) ** 2)
        assert resid < 0.1 * Y[:, k].var()


def test_2d_input_is_univariate_sequences():
    X, y = make_sequences(n_features=1)
    X2 = X[:, :, 0]
    model_2d = RNNRegressor(**TINY).fit(X2, y)
    model_3d = RNNRegressor(**TINY).fit(X, y)
    assert model_2d.n_features_in_ == X2.shape[1]
    assert model_3d.n_features_in_ == 1
    assert_allclose(model_2d.predict(X2), model_3d.predict(X), rtol=1e-6)


def test_3d_sequence_length_may_change_at_predict():
    X, y = make_sequences(n_steps=6)
    model = RNNRegressor(**TINY).fit(X, y)
    assert model.n_features_in_ == 2
    rng = np.random.default_rng(5)
    for n_steps in (1, 3, 9):
        assert model.predict(rng.normal(size=(7, n_steps, 2))).shape == (7,)
    # float32 windows (as the windower keeps them) still give float64 predictions.
    pred32 = model.predict(X.astype(np.float32))
    assert pred32.dtype == np.float64
    assert_allclose(pred32, model.predict(X), rtol=1e-5, atol=1e-7)
    longer = np.stack([pad_front(s, 3) for s in X])
    assert_allclose(model.predict(longer), model.predict(X), rtol=1e-5, atol=1e-7)


def test_dataframe_input_sets_feature_names():
    X, y = make_sequences(n_features=1)
    frame = pd.DataFrame(X[:, :, 0], columns=[f"lag{k}" for k in range(X.shape[1])])
    model = RNNRegressor(**TINY).fit(frame, pd.Series(y))
    assert_array_equal(model.feature_names_in_, frame.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pred = model.predict(frame)
    assert_allclose(pred, RNNRegressor(**TINY).fit(X[:, :, 0], y).predict(X[:, :, 0]), rtol=1e-6)
    assert not hasattr(RNNRegressor(**TINY).fit(X, y), "feature_names_in_")


@pytest.mark.parametrize("ndim", [2, 3])
def test_list_input(ndim):
    X, y = make_sequences(n_features=1)
    if ndim == 2:
        X = X[:, :, 0]
    expected = RNNRegressor(**TINY).fit(X, y).predict(X)
    model = RNNRegressor(**TINY).fit(X.tolist(), y.tolist())
    assert_allclose(model.predict(X.tolist()), expected, rtol=1e-6)


def test_float16_input_is_read_as_float32():
    from sklearn_rnn._inputs import check_sequences

    X, y = make_sequences()
    X16 = X.astype(np.float16)
    model = RNNRegressor(**TINY)
    checked, _, _ = check_sequences(model, X16, reset=True)
    assert checked.dtype == np.float32
    model.fit(X16, y)
    checked, _, _ = check_sequences(model, X16, reset=False)
    assert checked.dtype == np.float32
    assert_allclose(model.predict(X16), model.predict(X16.astype(np.float32)), rtol=1e-6)


# ---------------------------------------------------------- other layouts


def test_time_axis_last_reads_panels_as_sktime_passes_them():
    # sktime's numpy3D panels are (n_instances, n_variables, n_timepoints).
    X, y = make_sequences(n_steps=6, n_features=3)
    X[:4, :2] = np.nan  # shorter sequences: leading NaN time points
    panel = X.transpose(0, 2, 1).copy()
    usual = RNNRegressor(**TINY).fit(X, y)
    transposed = RNNRegressor(**TINY, time_axis=-1).fit(panel, y)
    assert transposed.n_features_in_ == 3
    assert_array_equal(transposed.predict(panel), usual.predict(X))
    # The number of time points may change between fit and predict.
    assert transposed.predict(panel[:, :, 2:]).shape == (40,)
    with pytest.raises(ValueError, match="expecting 3 features"):
        transposed.predict(X)


def test_newest_first_reads_lag_columns_as_skforecast_passes_them():
    # skforecast's lag columns are lag_1 (the newest value), lag_2, ...
    X, y = make_sequences(n_steps=6, n_features=1)
    lags = X[:, ::-1, 0].copy()
    usual = RNNRegressor(**TINY).fit(X[:, :, 0], y)
    reversed_ = RNNRegressor(**TINY, newest_first=True).fit(lags, y)
    assert_array_equal(reversed_.predict(lags), usual.predict(X[:, :, 0]))
    # 3-D windows newest first: missing history is trailing NaN there.
    windows = X[:, ::-1].copy()
    windows[:5, -2:] = np.nan
    oldest_first = windows[:, ::-1]
    model = RNNRegressor(**TINY, newest_first=True).fit(windows, y)
    assert_array_equal(
        model.predict(windows), RNNRegressor(**TINY).fit(oldest_first, y).predict(oldest_first)
    )


def test_sktime_panel_data():
    datatypes = pytest.importorskip("sktime.datatypes")
    from sktime.utils._testing.panel import make_regression_problem

    X, y = make_regression_problem(n_instances=30, n_columns=2, n_timepoints=8, random_state=0)
    panel = datatypes.convert_to(X, to_type="numpy3D")
    assert panel.shape == (30, 2, 8)
    model = RNNRegressor(**TINY, time_axis=-1).fit(panel, y)
    expected = RNNRegressor(**TINY).fit(panel.transpose(0, 2, 1), y)
    assert model.n_features_in_ == 2
    assert_array_equal(model.predict(panel), expected.predict(panel.transpose(0, 2, 1)))


def test_skforecast_recursive_forecaster():
    recursive = pytest.importorskip("skforecast.recursive")
    series = pd.Series(np.sin(0.3 * np.arange(200)), name="y")
    regressor = RNNRegressor(
        cell="gru", hidden_size=8, lr=1e-2, max_epochs=20, random_state=0, newest_first=True
    )
    # skforecast 0.19 renamed its regressor argument and attribute "estimator".
    import inspect

    name = (
        "estimator"
        if "estimator" in inspect.signature(recursive.ForecasterRecursive).parameters
        else "regressor"
    )
    forecaster = recursive.ForecasterRecursive(**{name: regressor}, lags=8)
    forecaster.fit(y=series)
    X_train, y_train = forecaster.create_train_X_y(y=series)
    assert list(X_train.columns[:2]) == ["lag_1", "lag_2"]  # newest first
    lags = X_train.to_numpy()
    oldest_first = RNNRegressor(**{**regressor.get_params(), "newest_first": False})
    oldest_first.fit(lags[:, ::-1], y_train.to_numpy())
    fitted = getattr(forecaster, name)
    assert_allclose(fitted.predict(lags), oldest_first.predict(lags[:, ::-1]), rtol=1e-6)
    future = np.sin(0.3 * np.arange(200, 210))
    assert np.abs(forecaster.predict(steps=10).to_numpy() - future).max() < 0.2


# ------------------------------------------------------------ custom module


def test_custom_module_with_lengths():
    X, y = make_sequences(n=20)
    model = RNNRegressor(module=Recorder, batch_size=8, max_epochs=2, shuffle=False)
    model.fit(X, y)
    assert isinstance(model.module_, Recorder)
    calls = model.module_.calls
    # Two epochs of three batches (8 + 8 + 4 samples), all in training mode.
    assert [len(Xb) for _, Xb, _ in calls] == [8, 8, 4] * 2
    assert all(training for training, _, _ in calls)
    for _, Xb, lengths in calls:
        assert Xb.dtype == torch.float32
        assert Xb.shape[1:] == (6, 2)
        assert lengths.dtype == torch.int64
        assert lengths.device.type == "cpu"
        assert_array_equal(lengths.numpy(), 6)
    calls.clear()
    pred = model.predict(X)
    assert pred.shape == (20,)
    assert [training for training, _, _ in calls] == [False]


def test_custom_module_without_lengths():
    X, y = make_sequences(n=20)
    X[:3, :2] = np.nan
    model = RNNRegressor(module=RecorderNoLengths, batch_size=32, max_epochs=1, shuffle=False)
    model.fit(X, y)
    ((training, Xb),) = model.module_.calls
    assert training
    assert Xb.shape == (20, 6, 2)
    assert_array_equal(Xb.numpy()[:3, :2], 0.0)
    assert np.isfinite(model.predict(X)).all()


def test_module_kwargs_are_passed():
    X, y = make_sequences(n=20)
    model = RNNRegressor(module=Recorder, module_kwargs={"scale": 0.0}, max_epochs=1)
    model.fit(X, y)
    assert model.module_.scale == 0.0
    # A zero output scale makes every prediction the target mean.
    assert_allclose(model.predict(X), y.mean(), rtol=1e-6)


def test_custom_module_with_wrong_signature_is_a_clear_type_error():
    class NoSizes(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.head = nn.Linear(width, 1)

        def forward(self, X):
            return self.head(X[:, -1])

    X, y = make_sequences(n=20)
    with pytest.raises(TypeError, match="n_features"):
        RNNRegressor(module=NoSizes, module_kwargs={"width": 2}, max_epochs=1).fit(X, y)


# -------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    "name, cls",
    [
        ("adam", torch.optim.Adam),
        ("adamw", torch.optim.AdamW),
        ("sgd", torch.optim.SGD),
        ("rmsprop", torch.optim.RMSprop),
    ],
)
def test_optimizer_by_name(name, cls):
    X, y = make_sequences()
    model = RNNRegressor(**{**TINY, "optimizer": name, "lr": 0.05, "max_epochs": 5}).fit(X, y)
    assert type(model.net_.optimizer_) is cls
    assert model.net_.optimizer_.param_groups[0]["lr"] == 0.05
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_optimizer_subclass_is_used():
    class CountingSGD(torch.optim.SGD):
        steps = 0

        def step(self, closure=None):
            CountingSGD.steps += 1
            return super().step(closure)

    X, y = make_sequences(n=40)
    model = RNNRegressor(**{**TINY, "optimizer": CountingSGD, "batch_size": 16, "max_epochs": 3})
    model.fit(X, y)
    assert isinstance(model.net_.optimizer_, CountingSGD)
    assert CountingSGD.steps == 3 * 3


def test_torch_optimizer_without_weight_decay():
    # Rprop is a torch.optim.Optimizer subclass with no weight_decay argument.
    X, y = make_sequences()
    model = RNNRegressor(**{**TINY, "optimizer": torch.optim.Rprop}).fit(X, y)
    assert isinstance(model.net_.optimizer_, torch.optim.Rprop)


@pytest.mark.parametrize(
    "loss, cls",
    [
        ("squared_error", nn.MSELoss),
        ("absolute_error", nn.L1Loss),
        ("huber", nn.HuberLoss),
    ],
)
def test_each_loss(loss, cls):
    X, y = make_sequences()
    # Without the skip, which would start the model at the least-squares fit:
    # the recurrent layers alone must lower the loss.
    params = {**TINY, "loss": loss, "lr": 0.02, "max_epochs": 5, "linear_skip": False}
    model = RNNRegressor(**params).fit(X, y)
    assert isinstance(model.net_.criterion_, cls)
    assert model.loss_curve_[-1] < model.loss_curve_[0]


def test_absolute_error_is_the_training_loss():
    X, y = make_sequences(n=20)
    model = RNNRegressor(
        module=Recorder,
        module_kwargs={"scale": 0.0},
        loss="absolute_error",
        scale_y=False,
        max_epochs=1,
        batch_size=32,
        random_state=0,
    )
    model.fit(X, y)
    # The zero-scaled head predicts exactly 0 during the single training epoch.
    assert_allclose(model.loss_curve_[0], np.abs(y).mean(), rtol=1e-5)


def test_weight_decay_shrinks_weights():
    X, y = make_sequences()

    def weight_norm(weight_decay):
        model = RNNRegressor(
            **{
                **TINY,
                "optimizer": "sgd",
                "lr": 0.1,
                "weight_decay": weight_decay,
                "max_epochs": 10,
            }
        ).fit(X, y)
        assert model.net_.optimizer_.param_groups[0]["weight_decay"] == weight_decay
        return float(torch.cat([p.detach().ravel() for p in model.module_.parameters()]).norm())

    assert weight_norm(2.0) < 0.5 * weight_norm(0.0)


def test_max_grad_norm_clips_every_step():
    X, y = make_sequences()
    clipped, free = GradNorms(), GradNorms()
    # Without the skip, whose least-squares start leaves little gradient.
    params = {**TINY, "linear_skip": False}
    RNNRegressor(**{**params, "max_grad_norm": 1e-3, "callbacks": [clipped]}).fit(X, y)
    RNNRegressor(**{**params, "callbacks": [free]}).fit(X, y)
    assert len(clipped.norms) == len(free.norms) == 2 * 3
    assert max(clipped.norms) <= 1e-3 * (1 + 1e-4)
    assert min(free.norms) > 1e-2


def test_max_grad_norm_still_trains():
    X, y = make_sequences()
    model = RNNRegressor(**{**TINY, "max_grad_norm": 0.5, "lr": 0.02, "max_epochs": 8})
    model.fit(X, y)
    assert model.loss_curve_[-1] < 0.8 * model.loss_curve_[0]


def test_batch_size_is_capped_at_n_samples():
    X, y = make_sequences(n=13)
    model = RNNRegressor(module=Recorder, batch_size=1000, max_epochs=2).fit(X, y)
    assert [len(Xb) for _, Xb, _ in model.module_.calls] == [13, 13]


def _epoch_orders(model, n_epochs, n_batches):
    """Row ids (stored in feature 0) in the order each epoch saw them."""
    ids = [Xb[:, 0, 0].numpy().astype(int) for _, Xb, _ in model.module_.calls]
    return [np.concatenate(ids[e * n_batches : (e + 1) * n_batches]) for e in range(n_epochs)]


def test_shuffle():
    X, y = make_sequences(n=30)
    X[:, :, 0] = np.arange(30)[:, None]
    in_order = RNNRegressor(module=Recorder, batch_size=8, max_epochs=3, shuffle=False)
    for order in _epoch_orders(in_order.fit(X, y), 3, 4):
        assert_array_equal(order, np.arange(30))
    shuffled = RNNRegressor(
        module=Recorder, batch_size=8, max_epochs=3, shuffle=True, random_state=0
    )
    orders = _epoch_orders(shuffled.fit(X, y), 3, 4)
    for order in orders:
        assert_array_equal(np.sort(order), np.arange(30))
        assert not np.array_equal(order, np.arange(30))
    assert not np.array_equal(orders[0], orders[1])


def test_scale_y_standardises_inside_the_model():
    X, y = make_sequences()
    y_big = 1000.0 + 50.0 * y
    # Without the skip, whose least-squares start fits the target's level in
    # any units: the network alone.
    alone = {**TINY, "linear_skip": False}
    scaled = RNNRegressor(**{**alone, "lr": 0.02, "max_epochs": 10}).fit(X, y_big)
    # Trained on the standardised target, the loss starts near its variance, 1.
    assert scaled.loss_curve_[0] < 5
    assert scaled.score(X, y_big) > 0.3
    # Predictions come back in the target's units (its mean is about 973 here).
    assert abs(scaled.predict(X).mean() - y_big.mean()) < 25
    raw = RNNRegressor(**{**alone, "scale_y": False}).fit(X, y_big)
    assert raw.loss_curve_[0] > 1e5


@pytest.mark.parametrize("units", [1e-30, 1e-13, 1e160, 1e300])
def test_predictions_follow_the_units_of_y(units):
    # Standardised inside the model: a target that varies on a tiny scale is
    # not taken for a constant, and a huge one does not overflow.
    X, y = make_sequences()
    model = RNNRegressor(**TINY)
    base = model.fit(X, y).predict(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaled = model.fit(X, y * units).predict(X)
    assert_allclose(scaled / units, base, rtol=1e-5, atol=1e-7)


# scikit-learn's finiteness check of y sums it first, which overflows here.
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_a_constant_column_beside_a_varying_one_keeps_its_scale():
    from sklearn_rnn._regressor import _target_scaling

    # Summed with the other column, the constant's mean is rounded: it must
    # still read as a constant, not be divided by its rounding.
    y = np.column_stack([np.full(100_000, 0.1), np.arange(100_000.0)])
    mean, scale = _target_scaling(y, None, True)
    assert scale[0] == 1.0 and scale[1] > 1e4


def test_a_target_whose_spread_overflows_is_a_value_error():
    X, _ = make_sequences()
    y = np.where(np.arange(len(X)) % 2, 1.7e308, -1.7e308)
    with pytest.raises(ValueError, match="y holds values too large to standardise"):
        RNNRegressor(**TINY).fit(X, y)


@pytest.mark.parametrize("scale_y", [True, False])
def test_constant_target(scale_y):
    X, _ = make_sequences()
    y = np.full(len(X), 3.0)
    # Unscaled, the head must first travel from 0 to 3, and the linear skip
    # must unlearn what it picked up on the way: give it more steps.
    model = RNNRegressor(
        hidden_size=4,
        lr=0.05,
        max_epochs=40 if scale_y else 300,
        batch_size=40,
        scale_y=scale_y,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, y)
        pred = model.predict(X)
    assert np.isfinite(pred).all()
    assert_allclose(pred, 3.0, atol=0.1)


# Sample weights reach both the linear skip's least-squares start (seen after
# one step at a negligible rate) and the training loss (seen without the
# skip). Together they agree only to about 1e-2: from the start, whose
# intercept zeroes the mean residual, the head's bias has a gradient of
# rounding noise, which differs with the rows summed and which Adam's first
# steps scale up to the learning rate.
WEIGHT_PARTS = {
    "least-squares start": dict(lr=1e-12, max_epochs=1),
    # Without the head's dropout, whose masks follow the batches' shapes.
    "training": dict(lr=0.01, max_epochs=10, linear_skip=False, head_dropout=0.0),
    # The windows' statistics weigh each window as the loss does.
    "training, per-window normalisation": dict(
        lr=0.01,
        max_epochs=10,
        linear_skip=False,
        head_dropout=0.0,
        window_norm="last",
        target_features=0,
    ),
}


@pytest.mark.parametrize("part", WEIGHT_PARTS)
def test_zero_sample_weight_is_like_dropping_the_samples(part):
    X, y = make_sequences(n=40)
    keep = np.arange(40) % 4 != 0
    params = dict(hidden_size=4, batch_size=64, shuffle=False, random_state=0)
    params.update(WEIGHT_PARTS[part])
    weighted = RNNRegressor(**params).fit(X, y, sample_weight=keep.astype(float))
    dropped = RNNRegressor(**params).fit(X[keep], y[keep])
    assert_allclose(weighted.predict(X), dropped.predict(X), rtol=1e-3, atol=1e-4)
    unweighted = RNNRegressor(**params).fit(X, y)
    assert not np.allclose(unweighted.predict(X), dropped.predict(X), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("part", WEIGHT_PARTS)
def test_sample_weight_two_is_like_a_duplicated_row(part):
    X, y = make_sequences(n=30)
    weight = np.where(np.arange(30) % 3 == 0, 2.0, 1.0)
    repeat = np.repeat(np.arange(30), weight.astype(int))
    # Full batches in a fixed order: both fits take the same gradient steps
    # up to float32 rounding.
    params = dict(hidden_size=4, batch_size=64, shuffle=False, random_state=0)
    params.update(WEIGHT_PARTS[part])
    weighted = RNNRegressor(**params).fit(X, y, sample_weight=weight)
    repeated = RNNRegressor(**params).fit(X[repeat], y[repeat])
    assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-3, atol=1e-4)
    unweighted = RNNRegressor(**params).fit(X, y)
    assert not np.allclose(unweighted.predict(X), repeated.predict(X), rtol=1e-3, atol=1e-4)


# ---------------------------------------------------------- early stopping


def test_early_stopping_keeps_the_lowest_validation_loss_whatever_tol():
    # tol decides only when to stop: an epoch lower by less than tol is still
    # the best epoch, whose weights are kept.
    X, y = make_sequences(n=60)
    model = RNNRegressor(
        hidden_size=8,
        lr=1e-2,
        max_epochs=20,
        early_stopping=True,
        validation_fraction=0.25,
        n_iter_no_change=3,
        tol=1e9,
        scale_y=False,
        random_state=0,
    ).fit(X, y)
    curve = np.asarray(model.validation_loss_curve_)
    assert len(curve) == 4  # the first epoch, then three that improve by less than tol
    assert curve.argmin() > 0
    rows = slice(45, 60)  # the validation rows: the last quarter
    kept = np.mean((model.predict(X[rows]) - y[rows]) ** 2)
    assert kept == pytest.approx(curve.min(), rel=1e-5)


def test_early_stopping_validates_on_the_last_rows():
    X, y = make_sequences(n=40)
    X[:, :, 0] = np.arange(40)[:, None]
    model = RNNRegressor(
        module=Recorder,
        early_stopping=True,
        validation_fraction=0.25,
        batch_size=8,
        max_epochs=2,
        shuffle=True,
        random_state=0,
    )
    model.fit(X, y)
    seen = {True: set(), False: set()}
    for training, Xb, _ in model.module_.calls:
        seen[training].update(Xb[:, 0, 0].numpy().astype(int).tolist())
    assert seen[True] == set(range(30))
    assert seen[False] == set(range(30, 40))


def test_early_stopping_stops_on_a_plateau():
    X, y = make_sequences()
    # No later epoch can beat the first by tol, so training stops once the
    # patience of 3 epochs has run out.
    model = RNNRegressor(
        **{
            **TINY,
            "early_stopping": True,
            "n_iter_no_change": 3,
            "tol": 1e9,
            "max_epochs": 50,
        }
    ).fit(X, y)
    assert model.n_iter_ == 4
    assert len(model.loss_curve_) == len(model.validation_loss_curve_) == 4
    assert all(np.isfinite(model.validation_loss_curve_))


def test_early_stopping_keeps_the_best_epoch():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(60, 4, 2))
    y = rng.normal(size=60)
    model = RNNRegressor(
        hidden_size=8,
        lr=0.05,
        max_epochs=60,
        batch_size=16,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        tol=0.0,
        scale_y=False,
        random_state=0,
    )
    model.fit(X, y)
    curve = model.validation_loss_curve_
    assert model.n_iter_ < 60
    assert len(curve) == model.n_iter_
    assert np.argmin(curve) < len(curve) - 1
    tail = slice(48, 60)
    final_loss = np.mean((model.predict(X[tail]) - y[tail]) ** 2)
    assert_allclose(final_loss, min(curve), rtol=1e-4)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_early_stopping_scales_the_target_on_the_training_rows_only(weighted):
    # A zero-scaled head predicts 0 on the standardised scale, i.e. the mean
    # that the target scaling was fitted with.
    X, y = make_sequences(n=40)
    y = y + np.where(np.arange(40) >= 30, 100.0, 0.0)  # the validation rows lie far off
    weight = np.linspace(0.5, 2.0, 40) if weighted else None
    model = RNNRegressor(
        module=Recorder,
        module_kwargs={"scale": 0.0},
        early_stopping=True,
        validation_fraction=0.25,
        max_epochs=2,
        random_state=0,
    ).fit(X, y, sample_weight=weight)
    train_mean = np.average(y[:30], weights=None if weight is None else weight[:30])
    assert_allclose(model.predict(X[:3]), train_mean, rtol=1e-6)
    # The validation loss is then measured against the training rows' scale.
    train_std = np.sqrt(
        np.average((y[:30] - train_mean) ** 2, weights=weight[:30] if weighted else None)
    )
    expected = ((y[30:] - train_mean) / train_std) ** 2
    if weighted:
        expected = expected * weight[30:] / weight[:30].mean()
    assert_allclose(model.validation_loss_curve_[0], expected.mean(), rtol=1e-4)


def test_early_stopping_needs_two_samples():
    X, y = make_sequences(n=1)
    with pytest.raises(ValueError, match="at least 2 samples"):
        RNNRegressor(**{**TINY, "early_stopping": True}).fit(X, y)
    # Two samples are enough: one to train on and one to validate.
    X, y = make_sequences(n=2)
    model = RNNRegressor(**{**TINY, "early_stopping": True}).fit(X, y)
    assert len(model.validation_loss_curve_) == model.n_iter_


# ------------------------------------------------------ incremental training


def test_partial_fit_adds_one_epoch_per_call():
    X, y = make_sequences()
    model = RNNRegressor(**{**TINY, "max_epochs": 50})
    model.partial_fit(X, y)
    assert model.n_iter_ == 1
    assert len(model.loss_curve_) == 1
    first = model.predict(X)
    model.partial_fit(X, y)
    assert model.n_iter_ == 2
    assert len(model.loss_curve_) == 2
    assert not np.allclose(model.predict(X), first)


def test_partial_fit_continues_a_fit():
    X, y = make_sequences()
    model = RNNRegressor(**{**TINY, "max_epochs": 3}).fit(X, y)
    curve = list(model.loss_curve_)
    start = StartWeights()
    model.set_params(callbacks=[start])
    fitted = {k: v.clone() for k, v in model.module_.state_dict().items()}
    model.partial_fit(X, y)
    assert model.n_iter_ == 4
    assert model.loss_curve_[:3] == curve
    for k, v in fitted.items():
        assert torch.equal(start.state[k], v)


def test_warm_start_continues_and_accumulates():
    X, y = make_sequences()
    start = StartWeights()
    model = RNNRegressor(
        **{
            **TINY,
            "max_epochs": 3,
            "warm_start": True,
            "early_stopping": True,
            "callbacks": [start],
        }
    )
    model.fit(X, y)
    curve = list(model.loss_curve_)
    valid_curve = list(model.validation_loss_curve_)
    fitted = {k: v.clone() for k, v in model.module_.state_dict().items()}
    model.fit(X, y)
    assert model.n_iter_ == 6
    assert model.loss_curve_[:3] == curve
    assert len(model.loss_curve_) == 6
    assert model.validation_loss_curve_[:3] == valid_curve
    assert len(model.validation_loss_curve_) == 6
    for k, v in fitted.items():
        assert torch.equal(start.state[k], v)


def test_without_warm_start_fit_restarts():
    X, y = make_sequences()
    model = RNNRegressor(**{**TINY, "max_epochs": 3}).fit(X, y)
    first = model.predict(X)
    curve = list(model.loss_curve_)
    model.fit(X, y)
    assert model.n_iter_ == 3
    assert model.loss_curve_ == curve
    assert_array_equal(model.predict(X), first)


FIXED_ON_WARM_START = [
    ("cell", "gru"),
    ("hidden_size", 5),
    ("num_layers", 2),
    ("dropout", 0.3),
    ("head_dropout", 0.5),
    ("bidirectional", True),
    ("optimizer", "sgd"),
    ("optimizer", torch.optim.SGD),
    ("scale_y", False),
    ("module", Recorder),
]


@pytest.mark.parametrize("method", ["warm_start", "partial_fit"])
@pytest.mark.parametrize("name, value", FIXED_ON_WARM_START)
def test_continued_training_rejects_a_changed_architecture(name, value, method):
    X, y = make_sequences()
    model = RNNRegressor(**{**TINY, "warm_start": True}).fit(X, y)
    before = model.predict(X)
    model.set_params(**{name: value})
    with pytest.raises(ValueError, match=rf"(?s){name}=.*warm_start=False"):
        if method == "partial_fit":
            model.partial_fit(X, y)
        else:
            model.fit(X, y)
    assert model.n_iter_ == 2
    assert_array_equal(model.predict(X), before)
    # A new network takes it.
    model.set_params(warm_start=False).fit(X, y)


def test_continued_training_rejects_changed_module_kwargs():
    X, y = make_sequences()
    model = RNNRegressor(module=Recorder, module_kwargs={"scale": 1.0}, warm_start=True)
    model.set_params(max_epochs=1).fit(X, y)
    model.set_params(module_kwargs={"scale": 1.0})  # equal: fine
    model.fit(X, y)
    model.set_params(module_kwargs={"scale": 2.0})
    with pytest.raises(ValueError, match=r"module_kwargs=\{'scale': 2.0\}.*warm_start=False"):
        model.fit(X, y)


def test_continued_training_takes_the_same_device_by_another_name():
    X, y = make_sequences()
    model = RNNRegressor(**{**TINY, "warm_start": True, "device": "auto"}).fit(X, y)
    model.set_params(device=model.device_).fit(X, y)
    assert model.n_iter_ == 4


def test_warm_start_applies_a_changed_loss_and_keeps_the_optimizer_state():
    X, y = make_sequences(n=20)
    model = RNNRegressor(
        module=Recorder,
        module_kwargs={"scale": 0.0},
        scale_y=False,
        batch_size=32,
        max_epochs=1,
        warm_start=True,
        random_state=0,
    ).fit(X, y)
    steps = [s["step"].item() for s in model.net_.optimizer_.state.values()]
    model.set_params(loss="absolute_error").fit(X, y)
    assert isinstance(model.net_.criterion_, nn.L1Loss)
    # The zero-scaled head still predicts 0: the second epoch's loss is mean |y|.
    assert_allclose(model.loss_curve_[1], np.abs(y).mean(), rtol=1e-5)
    assert [s["step"].item() for s in model.net_.optimizer_.state.values()] == [
        v + 1 for v in steps
    ]


def test_predict_batches_follow_the_fitted_network_not_the_current_parameters():
    X, y = make_sequences(n=45)
    model = RNNRegressor(**TINY).fit(X, y)
    expected = model.predict(X)
    calls = []
    hook = model.module_.register_forward_hook(lambda m, args, out: calls.append(len(out)))
    try:
        model.set_params(hidden_size=50_000, cell="rnn", bidirectional=True)
        assert_array_equal(model.predict(X), expected)
    finally:
        hook.remove()
    assert len(calls) == 1


# ------------------------------------------------------------------- output


def test_verbose_0_is_silent_and_writes_nothing(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    X, y = make_sequences()
    model = RNNRegressor(**{**TINY, "early_stopping": True}).fit(X, y)
    model.partial_fit(X, y)
    model.predict(X)
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""
    assert list(tmp_path.iterdir()) == []


def test_verbose_1_shows_a_progress_bar(capfd):
    X, y = make_sequences()
    RNNRegressor(**{**TINY, "max_epochs": 3, "verbose": 1, "early_stopping": True}).fit(X, y)
    out, err = capfd.readouterr()
    assert "3/3" in err
    assert "train_loss" in err
    assert "valid_loss" in err
    assert "epoch " not in out + err.replace("epoch/s", "").replace("epochs/s", "")


def test_verbose_2_adds_a_line_per_epoch(capfd):
    X, y = make_sequences()
    RNNRegressor(**{**TINY, "max_epochs": 3, "verbose": 2}).fit(X, y)
    out, err = capfd.readouterr()
    assert "3/3" in err
    lines = [line for line in (out + err).splitlines() if line.startswith("epoch ")]
    assert len(lines) == 3


# --------------------------------------------------------------- divergence


def test_divergence_is_a_value_error_naming_lr():
    X, y = make_sequences()
    model = RNNRegressor(
        hidden_size=4,
        optimizer="sgd",
        lr=1e6,
        scale_y=False,
        max_epochs=20,
        random_state=0,
    )
    with pytest.raises(ValueError, match="lr"):
        model.fit(X, 1e6 * y)


def test_diverging_epoch_keeps_the_last_good_weights():
    X, y = make_sequences()
    model = RNNRegressor(**{**TINY, "scale_y": False}).fit(X, y)
    before = model.predict(X)
    with pytest.raises(ValueError, match="lr"):
        model.partial_fit(X, 1e30 * y)
    after = model.predict(X)
    assert np.isfinite(after).all()
    assert_array_equal(after, before)
    assert model.n_iter_ == 2


# ------------------------------------------------------------------ devices


def test_device_cpu():
    X, y = make_sequences(n=20)
    model = RNNRegressor(**{**TINY, "device": "cpu"}).fit(X, y)
    assert model.device_ == "cpu"
    assert all(p.device.type == "cpu" for p in model.module_.parameters())


@pytest.mark.skipif(
    torch.cuda.is_available() or torch.backends.mps.is_available(),
    reason="'auto' resolves to the CPU only where no accelerator is present",
)
def test_device_auto_without_accelerator_is_cpu():
    X, y = make_sequences(n=20)
    assert RNNRegressor(**TINY).fit(X, y).device_ == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_unavailable_cuda_is_a_clear_error(device):
    X, y = make_sequences(n=20)
    with pytest.raises(ValueError, match=f"device='{device}'.*CUDA is not available"):
        RNNRegressor(**{**TINY, "device": device}).fit(X, y)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_and_cpu_loading(tmp_path):
    X, y = sine_windows(n=120)
    model = RNNRegressor(
        hidden_size=8,
        lr=1e-2,
        max_epochs=20,
        batch_size=32,
        device="cuda",
        random_state=0,
    ).fit(X, y)
    assert model.device_.startswith("cuda")
    assert next(model.module_.parameters()).is_cuda
    pred = model.predict(X)
    assert np.isfinite(pred).all()
    assert model.score(X, y) > 0.8
    with open(tmp_path / "model.pkl", "wb") as f:
        pickle.dump(model, f)
    np.save(tmp_path / "X.npy", X)
    script = textwrap.dedent(
        """
        import pickle, sys, warnings
        import numpy as np
        import torch
        assert not torch.cuda.is_available()
        folder = sys.argv[1]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with open(folder + "/model.pkl", "rb") as f:
                model = pickle.load(f)
        assert any("cuda" in str(w.message).lower() for w in caught), caught
        assert model.device_ == "cpu", model.device_
        assert all(p.device.type == "cpu" for p in model.module_.parameters())
        np.save(folder + "/pred.npy", model.predict(np.load(folder + "/X.npy")))
        """
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, env=env, timeout=300)
    assert_allclose(np.load(tmp_path / "pred.npy"), pred, rtol=1e-4, atol=1e-5)


# -------------------------------------------------------------- persistence


@pytest.fixture(scope="module")
def fitted():
    X, y = make_sequences()
    X[:5, :2] = np.nan
    return RNNRegressor(**TINY).fit(X, y), X


def test_pickle_round_trip(fitted):
    model, X = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        loaded = pickle.loads(pickle.dumps(model))
    assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.n_iter_ == model.n_iter_
    assert loaded.loss_curve_ == model.loss_curve_


def test_joblib_round_trip(fitted, tmp_path):
    model, X = fitted
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    assert_array_equal(loaded.predict(X), model.predict(X))


def test_round_trip_in_a_new_process(fitted, tmp_path):
    model, X = fitted
    joblib.dump(model, tmp_path / "model.joblib")
    with open(tmp_path / "model.pkl", "wb") as f:
        pickle.dump(model, f)
    np.save(tmp_path / "X.npy", X)
    script = textwrap.dedent(
        """
        import pickle, sys
        import joblib
        import numpy as np
        folder = sys.argv[1]
        X = np.load(folder + "/X.npy")
        from_joblib = joblib.load(folder + "/model.joblib")
        np.save(folder + "/joblib.npy", from_joblib.predict(X))
        with open(folder + "/model.pkl", "rb") as f:
            np.save(folder + "/pickle.npy", pickle.load(f).predict(X))
        """
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, timeout=300)
    expected = model.predict(X)
    assert_array_equal(np.load(tmp_path / "joblib.npy"), expected)
    assert_array_equal(np.load(tmp_path / "pickle.npy"), expected)


def test_pickle_records_the_version(fitted, monkeypatch):
    model, X = fitted
    assert model.__getstate__()["_sklearn_rnn_version"] == sklearn_rnn.__version__
    monkeypatch.setattr("sklearn_rnn._version.__version__", "0.0.1")
    old = pickle.dumps(model)
    monkeypatch.undo()
    with pytest.warns(InconsistentVersionWarning, match="0.0.1") as record:
        loaded = pickle.loads(old)
    assert any(sklearn_rnn.__version__ in str(w.message) for w in record)
    assert_array_equal(loaded.predict(X), model.predict(X))


# --------------------------------------------------------- fitted attributes


def test_fitted_attributes():
    X, y = make_sequences()
    model = RNNRegressor(**{**TINY, "max_epochs": 3})
    assert not hasattr(model, "n_iter_")
    model.fit(X, y)
    assert isinstance(model.net_, skorch.NeuralNet)
    assert isinstance(model.module_, nn.Module)
    assert model.module_ is model.net_.module_
    assert model.n_features_in_ == 2
    assert model.n_outputs_ == 1
    assert model.n_iter_ == 3
    assert len(model.loss_curve_) == 3
    assert all(isinstance(v, float) and np.isfinite(v) for v in model.loss_curve_)
    assert isinstance(model.device_, str)
    assert next(model.module_.parameters()).device.type == torch.device(model.device_).type


@pytest.mark.parametrize("ndim", [2, 3])
def test_net_predict_and_forward_take_plain_arrays(ndim):
    # net_ gives the network's raw outputs: the standardised target when
    # scale_y=True, the target itself here.
    X, y = make_sequences(n_features=1)
    if ndim == 3:
        X[:5, :3] = np.nan  # shorter sequences
    else:
        X = X[:, :, 0]
    model = RNNRegressor(**{**TINY, "scale_y": False}).fit(X, y)
    expected = model.predict(X)
    raw = model.net_.predict(X)
    assert raw.shape == (40, 1)
    assert_allclose(raw[:, 0], expected, rtol=1e-6, atol=1e-7)
    out = model.net_.forward(torch.as_tensor(X, dtype=torch.float32))
    assert_allclose(out.numpy()[:, 0], expected, rtol=1e-6, atol=1e-7)
    scaled = RNNRegressor(**TINY).fit(X, 100 * y)
    assert abs(scaled.net_.predict(X).mean()) < 5  # standardised, not in y's units


# ---------------------------------------------------- user's skorch callbacks


def test_skorch_gradient_norm_clipping():
    from skorch.callbacks import GradientNormClipping

    X, y = make_sequences()
    norms = GradNorms()
    RNNRegressor(**{**TINY, "callbacks": [GradientNormClipping(1e-3), norms]}).fit(X, y)
    assert len(norms.norms) == 6
    assert max(norms.norms) <= 1e-3 * (1 + 1e-4)


def _neg_mse(net, X, y):
    return -float(np.mean((net.predict(X) - y) ** 2))


@pytest.mark.parametrize(
    "scoring", ["neg_mean_squared_error", _neg_mse], ids=["string", "callable"]
)
def test_skorch_epoch_scoring_on_train(scoring):
    from skorch.callbacks import EpochScoring

    X, y = make_sequences()
    score = EpochScoring(scoring, on_train=True, name="train_score", lower_is_better=False)
    model = RNNRegressor(**{**TINY, "max_epochs": 3, "callbacks": [score]}).fit(X, y)
    history = model.net_.history
    # The predictions cached over the epoch are those the mean squared error
    # loss was computed on.
    assert_allclose(history[:, "train_score"], [-v for v in history[:, "train_loss"]], rtol=1e-4)


def test_skorch_epoch_scoring_on_validation_rows():
    from skorch.callbacks import EpochScoring

    X, y = make_sequences()
    score = EpochScoring("neg_mean_squared_error", name="valid_score")
    model = RNNRegressor(
        **{**TINY, "max_epochs": 3, "early_stopping": True, "callbacks": [score]}
    ).fit(X, y)
    assert_allclose(
        model.net_.history[:, "valid_score"], [-v for v in model.validation_loss_curve_], rtol=1e-4
    )


def test_skorch_lr_scheduler():
    from skorch.callbacks import LRScheduler

    X, y = make_sequences()
    scheduler = LRScheduler(policy="StepLR", step_size=1, gamma=0.5)
    model = RNNRegressor(**{**TINY, "lr": 0.01, "max_epochs": 3, "callbacks": [scheduler]})
    model.fit(X, y)
    assert_allclose(model.net_.optimizer_.param_groups[0]["lr"], 0.01 * 0.5**3)


def test_skorch_checkpoint(tmp_path):
    from skorch.callbacks import Checkpoint

    X, y = make_sequences()
    checkpoint = Checkpoint(dirname=tmp_path, monitor="train_loss_best")
    # A checkpoint holds an epoch's weights as trained: without averaging,
    # the last epoch's are the fitted ones.
    params = {**TINY, "max_epochs": 3, "average": 0.0}
    model = RNNRegressor(**params, callbacks=[checkpoint]).fit(X, y)
    assert (tmp_path / "params.pt").exists() and (tmp_path / "history.json").exists()
    best = int(np.argmin(model.loss_curve_))
    if best == 2:
        other = RNNRegressor(**params).fit(X, y)
        other.net_.load_params(f_params=tmp_path / "params.pt")
        assert_array_equal(other.predict(X), model.predict(X))


def test_skorch_early_stopping_stops_without_an_interruption_warning():
    from skorch.callbacks import EarlyStopping

    X, y = make_sequences()
    stop = EarlyStopping(monitor="train_loss", patience=2, threshold=1e9, sink=lambda *a: None)
    model = RNNRegressor(**{**TINY, "max_epochs": 20, "callbacks": [stop]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, y)
    # No epoch beats the first by the threshold: stop after epoch 1 + patience.
    assert model.n_iter_ == 3 == len(model.loss_curve_)


def test_skorch_progress_bar():
    from skorch.callbacks import ProgressBar

    class Recording(ProgressBar):
        def on_batch_end(self, net, **kwargs):
            super().on_batch_end(net, **kwargs)
            self.seen.append((self.pbar_.n, self.pbar_.total, self._get_postfix_dict(net)))

    X, y = make_sequences()  # 40 sequences in batches of 16: 3 batches an epoch
    bar = Recording()
    bar.seen = []
    RNNRegressor(**{**TINY, "max_epochs": 2, "callbacks": [bar]}).fit(X, y)
    assert [(n, total) for n, total, _ in bar.seen] == [(1, 3), (2, 3), (3, 3)] * 2
    assert all("train_loss" in postfix for _, _, postfix in bar.seen)


def test_user_callbacks_named_like_the_internal_ones():
    from skorch.callbacks import EarlyStopping, ProgressBar

    X, y = make_sequences()
    stop = EarlyStopping(monitor="train_loss", patience=2, threshold=1e9, sink=lambda *a: None)
    model = RNNRegressor(
        **{
            **TINY,
            "max_epochs": 20,
            "early_stopping": True,
            "n_iter_no_change": 50,
            "verbose": 1,
            "callbacks": [("early_stopping", stop), ("progress", ProgressBar())],
        }
    ).fit(X, y)
    assert model.n_iter_ == 3
    names = [name for name, _ in model.net_.callbacks_]
    assert {"early_stopping", "progress", "sklearn_rnn_early_stopping"} <= set(names)
    assert "sklearn_rnn_progress" in names


# ------------------------------------------------------- device-resident data


@pytest.mark.parametrize("shuffle_index", [True, False])
def test_device_resident_batches_equal_cpu_batches(shuffle_index):
    # Off the CPU the training data move to the device once, as a tensor with
    # the window view's strides. The same code runs with device="cpu" here, so
    # the layout logic that the GPU path relies on is checked without a GPU.
    from sklearn_rnn._inputs import observed_lengths
    from sklearn_rnn._training import SequenceData

    rng = np.random.default_rng(0)
    windows = SequenceWindower(window=7).fit_transform(rng.normal(size=(50, 3)))
    lengths = observed_lengths(windows)
    y = torch.from_numpy(rng.normal(size=(50, 1)).astype(np.float32))
    on_cpu = SequenceData(windows, lengths, y)
    resident = SequenceData(windows, lengths, y, device="cpu")
    assert resident.tensor is not None
    # The tensor spans the padded rows once, not window copies of each row.
    assert resident.tensor.untyped_storage().nbytes() == (50 + 6) * 3 * 4

    index = rng.permutation(35)[:9] if shuffle_index else slice(0, 9)
    for a, b in [(on_cpu, resident), (on_cpu.subset(slice(5, 40)), resident.subset(slice(5, 40)))]:
        xa, ya = a.batch(index)
        xb, yb = b.batch(index)
        assert torch.equal(xa["X"], xb["X"])
        assert torch.equal(xa["lengths"], xb["lengths"])
        assert torch.equal(ya, yb)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["one-way", "bidirectional"])
@pytest.mark.parametrize("padded", [False, True], ids=["full-length", "padded"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_prediction_does_not_depend_on_the_rows_batched_with_it(cell, padded, bidirectional):
    # predict(X)[i] must be predict(X[i:i+1])[i]: scoring a subset, or a
    # last row alone for a forecast, gives exactly the numbers of the full call.
    # Padded rows take the per-length paths (several lengths in one batch, and
    # more lengths than are grouped in training).
    X, y = make_sequences(n=45, n_steps=14)
    if padded:
        for i in range(0, 45, 2):
            X[i, : i % 13] = np.nan
    params = {**TINY, "cell": cell, "hidden_size": 16, "bidirectional": bidirectional}
    model = RNNRegressor(**params).fit(X, y)
    full = model.predict(X)
    for rows in [slice(0, 1), slice(3, 4), slice(5, 12), slice(7, 40), slice(44, 45)]:
        assert_array_equal(model.predict(X[rows]), full[rows])


@pytest.mark.parametrize("padded", [False, True], ids=["full-length", "padded"])
def test_predict_runs_in_eval_mode_on_one_thread_and_puts_both_back(padded, restore_torch_threads):
    # A prediction of one batch takes one of two routes (full-length windows
    # straight to the module; padded ones through the batching): both run
    # the module in eval and inference mode on one thread, and leave its
    # mode and torch's thread count as they found them.
    X, y = make_sequences(n=45, n_steps=14)
    if padded:
        X[0, :3] = np.nan
    model = RNNRegressor(**TINY).fit(X, y)
    torch.set_num_threads(2)
    seen = []
    model.module_.register_forward_pre_hook(
        lambda module, args: seen.append(
            (module.training, torch.is_inference_mode_enabled(), torch.get_num_threads())
        )
    )
    for training in (True, False):
        model.module_.train(training)
        seen.clear()
        model.predict(X)
        assert seen == [(False, True, 1)]
        assert model.module_.training is training
        assert torch.get_num_threads() == 2


# ------------------------------------------------------ threads and start-up


def drive(chooser, seconds, steps):
    """Run ``chooser`` over ``steps`` steps whose duration at ``count`` threads
    is ``seconds(count, step)``; the counts it ran them with."""
    used = []
    for step in range(steps):
        count = chooser.next()
        used.append(count)
        chooser.record(seconds(count, step))
    return used


def test_thread_chooser_keeps_more_threads_only_where_they_are_faster():
    from sklearn_rnn._runtime import ThreadChooser

    # Two threads a third faster (an idle machine, a wide network): chosen
    # after a few comparison steps and kept.
    used = drive(ThreadChooser(2), lambda n, _: {1: 3.0, 2: 2.0}[n], 400)
    assert used[0] == 1
    assert used[20:].count(2) >= 0.97 * len(used[20:])
    # Two threads much slower (another process on the second core): tried on
    # two steps (a first one and a timed one), then seldom.
    used = drive(ThreadChooser(2), lambda n, _: {1: 1.0, 2: 3.7}[n], 2000)
    assert used[:2] == [1, 1] and used[2:50].count(2) <= 2
    assert sum(3.7 - 1 for n in used if n == 2) <= 0.03 * len(used)
    # No gain: one thread, leaving the other core to other work.
    used = drive(ThreadChooser(2), lambda n, _: 1.0, 1000)
    assert used[100:].count(1) >= 0.9 * len(used[100:])
    # Never more than torch's setting; the best of several counts is found.
    used = drive(ThreadChooser(6), lambda n, _: {1: 4.0, 2: 2.2, 4: 1.5, 6: 1.9}[n], 400)
    assert max(used) == 6 and set(used) == {1, 2, 4, 6}
    assert used[100:].count(4) >= 0.9 * len(used[100:])
    assert set(drive(ThreadChooser(1), lambda n, _: 1.0, 50)) == {1}


def test_thread_chooser_follows_a_change_of_load():
    from sklearn_rnn._runtime import ThreadChooser

    # Two threads win until another job takes the second core at step 300.
    used = drive(ThreadChooser(2), lambda n, t: {1: 1.0, 2: 0.6 if t < 300 else 3.0}[n], 700)
    assert used[100:300].count(2) >= 190
    assert used[400:].count(1) >= 290
    # A step of another size (an epoch's last batch) is not compared.
    chooser = ThreadChooser(2)
    for _ in range(20):
        chooser.next()
        chooser.record(100.0, comparable=False)
    assert chooser.choice == 1
    drive(chooser, lambda n, _: {1: 1.0, 2: 0.5}[n], 30)
    assert chooser.choice == 2


def test_thread_chooser_uses_one_thread_while_other_fits_run_in_threads():
    from sklearn_rnn._runtime import ThreadChooser, threads_restored

    # torch's thread pools belong to the calling threads: two fits in two
    # threads of one process, each on two threads, would ask for four cores.
    # While another runs (inside threads_restored, as every fit and predict
    # is), steps run on one thread and are not compared, however fast two
    # would be alone.
    chooser = ThreadChooser(2)
    seen = threading.Event()
    done = threading.Event()

    def other_fit():
        with threads_restored():
            seen.set()
            done.wait(10)

    other = threading.Thread(target=other_fit)
    other.start()
    try:
        assert seen.wait(10)
        with threads_restored():
            used = drive(chooser, lambda n, _: {1: 1.0, 2: 0.3}[n], 200)
        assert set(used) == {1} and chooser.choice == 1
    finally:
        done.set()
        other.join()
    # Alone again: two threads are tried and kept.
    with threads_restored():
        used = drive(chooser, lambda n, _: {1: 1.0, 2: 0.3}[n], 100)
    assert used[50:].count(2) >= 45


@pytest.mark.parametrize("setting", [1, 2])
def test_fit_and_predict_use_at_most_torch_thread_setting(setting, fit_and_predict_threads):
    # Wide enough for the thread count to be timed (see _runtime.TUNED_WORK).
    rng = np.random.default_rng(0)
    X = SequenceWindower(window=30).fit_transform(rng.normal(size=(1200, 4)).astype("float32"))
    y = rng.normal(size=1200)
    fit, chunks, _ = fit_and_predict_threads(RNNRegressor, X, y, np.concatenate([X] * 15), setting)
    assert len(fit) == 2 * 19
    assert len(chunks) == 67  # 18,000 windows: 67 timed chunks


def test_small_fits_run_on_one_thread_and_repeat_exactly(threads_seen, restore_torch_threads):
    torch.set_num_threads(2)
    X, y = sine_windows(n=300)
    fits = []
    for _ in range(2):
        probe = threads_seen()
        model = RNNRegressor(hidden_size=16, max_epochs=5, random_state=0, callbacks=[probe])
        fits.append(model.fit(X, y).predict(X))
        assert set(probe.counts_) == {1}
    assert_array_equal(fits[0], fits[1])
    assert torch.get_num_threads() == 2


def test_predictions_do_not_depend_on_torch_threads(restore_torch_threads, monkeypatch):
    # A large predict may run some chunks on two threads: each row's
    # prediction is the same as on one thread. (Every predict here is timed.)
    from sklearn_rnn import _runtime

    monkeypatch.setattr("sklearn_rnn._training.TUNED_CHUNKS", 2)
    monkeypatch.setattr(_runtime, "TUNED_WORK", 1)
    rng = np.random.default_rng(0)
    X = SequenceWindower(window=30).fit_transform(rng.normal(size=(3000, 4)).astype("float32"))
    for cell in ["lstm", "gru", "rnn"]:
        model = RNNRegressor(cell=cell, hidden_size=64, max_epochs=1, random_state=0)
        model.fit(X[:200], rng.normal(size=200))
        torch.set_num_threads(1)
        one = model.predict(X)
        torch.set_num_threads(2)
        assert_array_equal(model.predict(X), one)
        assert_array_equal(model.predict(X[-5:]), one[-5:])


def test_predictions_of_eight_chunks_or_more_choose_their_threads(restore_torch_threads):
    # Their outputs are the same on any thread count (above), so a predict
    # of a few chunks is timed too, where a fit needs TUNED_STEPS batches.
    from sklearn_rnn._training import SequenceData, prediction_threads

    torch.set_num_threads(2)
    X = np.zeros((800, 30, 4), dtype=np.float32)
    model = RNNRegressor(hidden_size=64, max_epochs=1, random_state=0).fit(X[:50], np.zeros(50))
    data = SequenceData(X, np.full(800, 30))
    assert prediction_threads(model.net_, data, 100).counts == [1, 2]  # 8 chunks
    assert prediction_threads(model.net_, data, 115).counts == [1]  # 7 chunks


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd", "rmsprop"])
def test_optimizers_step_as_torch_does(name):
    from sklearn_rnn._runtime import OPTIMIZERS, eager_optimizer

    cls = OPTIMIZERS[name]
    torch.manual_seed(0)
    ours_net = nn.LSTM(3, 8)
    torch_net = nn.LSTM(3, 8)
    torch_net.load_state_dict(ours_net.state_dict())
    ours = eager_optimizer(cls, ours_net.parameters(), lr=0.01)
    theirs = cls(torch_net.parameters(), lr=0.01)
    hooked = []
    ours.register_step_post_hook(lambda *_: hooked.append(1))
    for _ in range(4):
        x = torch.randn(5, 2, 3)
        for net, optimizer in [(ours_net, ours), (torch_net, theirs)]:
            optimizer.zero_grad()
            net(x)[0].square().sum().backward()
            optimizer.step()
    for a, b in zip(ours_net.parameters(), torch_net.parameters(), strict=True):
        assert torch.equal(a, b)
    assert type(ours) is cls and hooked == [1] * 4
    assert str(ours.state_dict()) == str(theirs.state_dict())
    scheduler = torch.optim.lr_scheduler.StepLR(ours, step_size=1, gamma=0.5)
    ours.step()
    scheduler.step()
    assert ours.param_groups[0]["lr"] == 0.005
    # A pickled optimizer carries its state only, and gets torch's methods back.
    again = pickle.loads(pickle.dumps(ours))
    assert type(again) is cls and "step" not in vars(again)


def test_first_fit_in_a_process_does_not_import_dynamo():
    # torch.optim's wrappers import torch._dynamo (about 1.4 s) on their first
    # call; fit, predict, a warm start and early stopping never call them.
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        from sklearn_rnn import RNNRegressor
        X = np.random.default_rng(0).normal(size=(60, 5, 2))
        y = X[:, -1, 0]
        for optimizer in ["adam", "adamw", "sgd", "rmsprop"]:
            model = RNNRegressor(hidden_size=4, max_epochs=3, optimizer=optimizer,
                                 early_stopping=True, max_grad_norm=1.0, warm_start=True)
            model.fit(X, y).fit(X, y).partial_fit(X, y)
            model.predict(X)
        print("torch._dynamo" in sys.modules)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_padding_scan_memory_is_bounded_by_a_block(dtype):
    import tracemalloc

    from sklearn_rnn._inputs import SCAN_ELEMENTS, observed_lengths

    def scanned(X):
        tracemalloc.start()
        try:
            lengths = observed_lengths(X)
            return lengths, tracemalloc.get_traced_memory()[1] - lengths.nbytes
        finally:
            tracemalloc.stop()

    rng = np.random.default_rng(0)
    bound = 4 * SCAN_ELEMENTS * np.dtype(dtype).itemsize
    # The windower's view: 40,000 windows span 1.3 MB (2.6 MB as float64), and
    # would take 38 MB (77 MB) copied; padding in the first 29 only.
    windows = SequenceWindower(window=30).fit_transform(rng.normal(size=(40_000, 8)).astype(dtype))
    lengths, extra = scanned(windows)
    assert_array_equal(lengths[:30], np.arange(1, 31))
    assert (lengths[30:] == 30).all()
    assert extra < bound
    # Padding throughout: what the scan holds does not grow with the input.
    for n in (10_000, 40_000):
        X = rng.normal(size=(n, 30, 8)).astype(dtype)
        X[::3, :5] = np.nan
        lengths, extra = scanned(X)
        assert (lengths[::3] == 25).all() and lengths.sum() == 30 * n - 5 * len(X[::3])
        assert extra < bound
