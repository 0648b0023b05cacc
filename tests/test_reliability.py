"""Reliability: every bad input gets a clear error from the library itself, faults
(divergence, Ctrl-C, damaged files) lose nothing, and nothing is changed behind the
user's back (input arrays, random state, threads, default dtype, grad mode).

Networks are tiny (hidden_size=4) and epochs few, so the file runs in well under a
minute on two CPU cores.
"""

import contextlib
import io
import pickle
import re
import signal
import struct
import tracemalloc
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import InconsistentVersionWarning, NotFittedError
from skorch.callbacks import Callback
from torch import nn

import sklearn_rnn
from sklearn_rnn import RNNRegressor, SequenceWindower, make_supervised

RNG = np.random.default_rng(0)
X3 = RNG.normal(size=(12, 5, 2))  # 12 sequences of 5 steps with 2 features
X2 = X3[:, :, 0].copy()  # 12 univariate sequences of 5 steps
Y = X3[:, -1, 0] + 0.5 * X3[:, -2, 1]
TABLE = RNG.normal(size=(20, 2))  # a time-ordered table for the windower

LIBRARY_ROOTS = tuple(Path(m.__file__).resolve().parent for m in (sklearn_rnn, sklearn))


def tiny(**params):
    """A small, seeded regressor that trains in milliseconds."""
    defaults = dict(hidden_size=4, max_epochs=1, batch_size=8, random_state=0)
    defaults.update(params)
    return RNNRegressor(**defaults)


def replaced(array, index, value):
    """A copy of ``array`` with ``array[index] = value``."""
    out = np.array(array, dtype=float)
    out[index] = value
    return out


def assert_raised_by_library(excinfo):
    """The error was raised in sklearn_rnn (or scikit-learn's validation it calls),
    not deep inside torch, numpy, pandas or skorch."""
    entry = excinfo.traceback[-1]
    path = Path(str(entry.path)).resolve()
    assert any(root in path.parents for root in LIBRARY_ROOTS), (
        f"{excinfo.typename} escaped from {path}:{entry.lineno + 1}: {excinfo.value}"
    )


@pytest.fixture(scope="module")
def fitted3():
    return tiny().fit(X3, Y)


@pytest.fixture(scope="module")
def fitted2():
    return tiny().fit(X2, Y)


@pytest.fixture
def torch_globals():
    """Restore torch's global settings whatever a test does to them."""
    threads = torch.get_num_threads()
    dtype = torch.get_default_dtype()
    grad = torch.is_grad_enabled()
    yield
    torch.set_num_threads(threads)
    torch.set_default_dtype(dtype)
    torch.set_grad_enabled(grad)


class _Hang(BaseException):
    """Raised by the alarm of :func:`no_hang` (not an Exception: nothing catches it)."""


@contextlib.contextmanager
def no_hang(seconds=30):
    """Fail instead of hanging when the block runs longer than ``seconds``."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def alarm(signum, frame):
        raise _Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---------------------------------------------------------------------------
# make_supervised: bad data and parameters
# ---------------------------------------------------------------------------

SERIES = np.arange(10.0)
FRAME = pd.DataFrame({"a": np.arange(10.0), "b": 1.0})

MAKE_SUPERVISED_CASES = [
    pytest.param(
        dict(data=np.empty(0)), ValueError, r"data has 0 time steps, too few", id="empty"
    ),
    pytest.param(dict(data=np.empty((0, 2))), ValueError, r"data has 0 time steps", id="empty-2d"),
    pytest.param(dict(data=np.empty((5, 0))), ValueError, r"data has no columns", id="no-columns"),
    pytest.param(
        dict(data=pd.DataFrame()), ValueError, r"data has no columns", id="empty-DataFrame"
    ),
    pytest.param(
        dict(data=np.zeros((5, 2, 1))),
        ValueError,
        r"data must be 1-D .* or 2-D .*got an array with 3 dimensions",
        id="3d",
    ),
    pytest.param(
        dict(data=np.float64(1.0)),
        ValueError,
        r"data must be 1-D .*got an array with 0 dimensions",
        id="scalar",
    ),
    pytest.param(
        dict(data=np.array(["a", "b", "c"])),
        TypeError,
        r"data must hold numbers; got an array of dtype <U1",
        id="strings",
    ),
    pytest.param(
        dict(data=np.array([1.0, None, 3.0], dtype=object)),
        TypeError,
        r"data must hold numbers; got an array of dtype object",
        id="objects",
    ),
    pytest.param(dict(data=None), TypeError, r"data must hold numbers; got .* object", id="None"),
    pytest.param(
        dict(data=np.arange(5.0) + 1j),
        TypeError,
        r"data must hold (real )?numbers; got an array of dtype complex128",
        id="complex",
    ),
    pytest.param(
        dict(data=np.arange(1.0)), ValueError, r"data has 1 time steps, too few", id="too-short"
    ),
    pytest.param(
        dict(data=SERIES, horizon=0), ValueError, r"horizon must be an int >= 1, got 0", id="h=0"
    ),
    pytest.param(
        dict(data=SERIES, horizon=-2), ValueError, r"horizon must be an int >= 1, got -2", id="h<0"
    ),
    pytest.param(
        dict(data=SERIES, horizon=1.5),
        TypeError,
        r"horizon must be an int >= 1, got 1.5 of type float",
        id="h-float",
    ),
    pytest.param(
        dict(data=SERIES, horizon="1"),
        TypeError,
        r"horizon must be an int >= 1, got '1' of type str",
        id="h-str",
    ),
    pytest.param(
        dict(data=SERIES, horizon=True),
        TypeError,
        r"horizon must be an int >= 1, got True of type bool",
        id="h-bool",
    ),
    pytest.param(
        dict(data=SERIES, horizon=10),
        ValueError,
        r"data has 10 time steps, too few for horizon=10 and n_steps=1",
        id="h-too-far",
    ),
    pytest.param(
        dict(data=SERIES, n_steps=0), ValueError, r"n_steps must be an int >= 1, got 0", id="k=0"
    ),
    pytest.param(
        dict(data=SERIES, n_steps=None),
        TypeError,
        r"n_steps must be an int >= 1, got None",
        id="k-None",
    ),
    pytest.param(
        dict(data=SERIES, n_steps=2.0),
        TypeError,
        r"n_steps must be an int >= 1, got 2.0 of type float",
        id="k-float",
    ),
    pytest.param(
        dict(data=SERIES, horizon=4, n_steps=7),
        ValueError,
        r"too few for horizon=4 and n_steps=7",
        id="k-too-many",
    ),
    pytest.param(
        dict(data=np.zeros((10, 2)), target=2),
        ValueError,
        r"target index 2 is out of range for data with 2 column",
        id="target-out-of-range",
    ),
    pytest.param(
        dict(data=np.zeros((10, 2)), target=-3),
        ValueError,
        r"target index -3 is out of range",
        id="target-negative",
    ),
    pytest.param(
        dict(data=np.zeros((10, 2)), target="a"),
        ValueError,
        r"target 'a' must be a column index \(int\) for array data",
        id="target-name-for-array",
    ),
    pytest.param(
        dict(data=np.zeros((10, 2)), target=1.0),
        ValueError,
        r"target 1.0 must be a column index",
        id="target-float",
    ),
    pytest.param(
        dict(data=np.zeros((10, 2)), target=[]),
        ValueError,
        r"target is an empty list",
        id="target-empty",
    ),
    pytest.param(
        dict(data=FRAME, target="c"),
        ValueError,
        r"target 'c' is not a column of data; the columns are \['a', 'b'\]",
        id="target-unknown-column",
    ),
    pytest.param(
        dict(data=FRAME, target=["a", 0]),
        ValueError,
        r"target 0 is not a column of data",
        id="target-index-for-DataFrame",
    ),
]


@pytest.mark.parametrize("kwargs, error, match", MAKE_SUPERVISED_CASES)
def test_make_supervised_rejects(kwargs, error, match):
    with pytest.raises(error, match=match) as excinfo:
        make_supervised(**kwargs)
    assert_raised_by_library(excinfo)


# ---------------------------------------------------------------------------
# SequenceWindower: bad parameters and data
# ---------------------------------------------------------------------------

WINDOWER_PARAM_CASES = [
    pytest.param("window", 0, ValueError, r"'window' parameter .* Got 0", id="window=0"),
    pytest.param("window", -3, ValueError, r"'window' parameter .* Got -3", id="window<0"),
    pytest.param("window", 2.5, TypeError, r"'window' parameter .* Got 2.5", id="window-float"),
    pytest.param("window", "3", TypeError, r"'window' parameter .* Got '3'", id="window-str"),
    pytest.param("window", None, TypeError, r"'window' parameter .* Got None", id="window-None"),
    pytest.param("window", True, TypeError, r"window.*True", id="window-bool"),
    pytest.param(
        "padding", "mean", ValueError, r"'padding' parameter .* Got 'mean'", id="padding-unknown"
    ),
    pytest.param("padding", 0, TypeError, r"'padding' parameter .* Got 0", id="padding-int"),
    pytest.param(
        "flatten", "yes", TypeError, r"'flatten' parameter .* Got 'yes'", id="flatten-str"
    ),
    pytest.param("flatten", 1, TypeError, r"'flatten' parameter .* Got 1", id="flatten-int"),
]


@pytest.mark.parametrize("name, value, error, match", WINDOWER_PARAM_CASES)
def test_windower_rejects_parameter(name, value, error, match):
    with pytest.raises(error, match=match) as excinfo:
        SequenceWindower(**{name: value}).fit_transform(TABLE)
    assert_raised_by_library(excinfo)


WINDOWER_DATA_CASES = [
    pytest.param(TABLE[:0], ValueError, r"0 sample\(s\) \(shape=\(0, 2\)\)", id="empty"),
    pytest.param(TABLE[:, :0], ValueError, r"0 feature\(s\) \(shape=\(20, 0\)\)", id="no-columns"),
    pytest.param(TABLE[:, 0], ValueError, r"Expected 2D array, got 1D array", id="1d"),
    pytest.param(TABLE[:, :, None], ValueError, r"Found array with dim 3", id="3d"),
    pytest.param(TABLE[:, :, None, None], ValueError, r"Found array with dim 4", id="4d"),
    pytest.param(
        np.full((20, 2), "a"),
        ValueError,
        r"could not convert string to float: .*'a'",
        id="strings",
    ),
    pytest.param(
        np.array([[1.0, None]] * 20, dtype=object), ValueError, r"X contains NaN", id="objects"
    ),
    pytest.param(
        pd.DataFrame({"a": ["x"] * 20, "b": 1.0}),
        ValueError,
        r"could not convert string to float: 'x'",
        id="string-column",
    ),
    pytest.param(TABLE + 1j, ValueError, r"Complex data not supported", id="complex"),
    pytest.param(replaced(TABLE, (3, 1), np.nan), ValueError, r"X contains NaN", id="nan"),
    pytest.param(replaced(TABLE, (3, 1), np.inf), ValueError, r"X contains infinity", id="inf"),
]


@pytest.mark.parametrize("X, error, match", WINDOWER_DATA_CASES)
@pytest.mark.parametrize("method", ["fit", "transform"])
def test_windower_rejects_data(method, X, error, match):
    windower = SequenceWindower(window=3)
    if method == "transform":
        windower.fit(TABLE)
    with pytest.raises(error, match=match) as excinfo:
        getattr(windower, method)(X)
    assert_raised_by_library(excinfo)


def test_windower_transform_checks_feature_count_and_fit():
    with pytest.raises(NotFittedError, match="SequenceWindower instance is not fitted"):
        SequenceWindower(window=3).transform(TABLE)
    windower = SequenceWindower(window=3).fit(TABLE)
    with pytest.raises(ValueError, match=r"X has 1 features, but SequenceWindower is expecting 2"):
        windower.transform(TABLE[:, :1])


# ---------------------------------------------------------------------------
# RNNRegressor: every parameter with a wrong type and an out-of-range value
# ---------------------------------------------------------------------------


def _param(name, value, error, match=None, id=None):
    match = match or rf"'{name}' parameter of RNNRegressor must be .* Got .* instead"
    return pytest.param(name, value, error, match, id=id or f"{name}={value!r}")


REGRESSOR_PARAM_CASES = [
    _param("cell", 1, TypeError),
    _param("cell", "transformer", ValueError),
    _param("hidden_size", "64", TypeError),
    _param("hidden_size", 2.5, TypeError),
    _param("hidden_size", True, TypeError, r"hidden_size.*True"),
    _param("hidden_size", 0, ValueError),
    _param("num_layers", "2", TypeError),
    _param("num_layers", True, TypeError, r"num_layers.*True"),
    _param("num_layers", 0, ValueError),
    _param("dropout", "0.1", TypeError),
    _param("dropout", 1.0, ValueError),
    _param("dropout", -0.1, ValueError),
    _param("dropout", float("nan"), ValueError),
    _param("head_dropout", 1.0, ValueError),
    _param("head_dropout", -0.1, ValueError),
    _param("bidirectional", "yes", TypeError),
    _param("bidirectional", 2, TypeError),
    _param("module", "lstm", TypeError),
    _param("module", nn.LSTM(1, 1), TypeError, id="module=instance"),
    _param("module", int, TypeError, r"module must be a torch.nn.Module subclass .*int"),
    _param("module_kwargs", [("width", 3)], TypeError),
    _param(
        "module_kwargs",
        {"width": 3},
        ValueError,
        r"module_kwargs=\{'width': 3\} was given without module",
        id="module_kwargs-without-module",
    ),
    _param("loss", 2, TypeError),
    _param("loss", "l1", ValueError),
    _param("optimizer", 0.1, TypeError),
    _param("optimizer", "lbfgs", ValueError),
    _param("optimizer", dict, TypeError, r"optimizer must be one of .*Optimizer subclass.*dict"),
    _param("lr", "0.01", TypeError),
    _param("lr", 0.0, ValueError),
    _param("lr", -1e-3, ValueError),
    _param("lr", float("nan"), ValueError),
    _param("lr", float("inf"), ValueError),
    _param("weight_decay", "0", TypeError),
    _param("weight_decay", -1.0, ValueError),
    _param("weight_decay", float("inf"), ValueError),
    _param("max_grad_norm", "1", TypeError),
    _param("max_grad_norm", 0.0, ValueError),
    _param("max_grad_norm", float("nan"), ValueError),
    _param("batch_size", "64", TypeError),
    _param("batch_size", 32.0, TypeError),
    _param("batch_size", True, TypeError, r"batch_size.*True"),
    _param("batch_size", 0, ValueError),
    _param("max_epochs", "10", TypeError),
    _param("max_epochs", True, TypeError, r"max_epochs.*True"),
    _param("max_epochs", 0, ValueError),
    _param("shuffle", "yes", TypeError),
    _param("shuffle", None, TypeError),
    _param("early_stopping", "yes", TypeError),
    _param("validation_fraction", "0.1", TypeError),
    _param("validation_fraction", 0.0, ValueError),
    _param("validation_fraction", 1.0, ValueError),
    _param("n_iter_no_change", "10", TypeError),
    _param("n_iter_no_change", True, TypeError, r"n_iter_no_change.*True"),
    _param("n_iter_no_change", 0, ValueError),
    _param("tol", "1e-4", TypeError),
    _param("tol", -1e-4, ValueError),
    _param("tol", float("nan"), ValueError),
    _param("scale_y", "yes", TypeError),
    _param("device", 0, TypeError),
    _param(
        "device", "tpu", ValueError, r"device='tpu' is not supported; use 'auto', 'cpu', 'cuda'"
    ),
    _param("device", "cuda:x", ValueError, r"device='cuda:x' is not a valid CUDA device"),
    _param("device", "CPU", ValueError, r"device='CPU' is not supported"),
    _param("random_state", "seed", TypeError),
    _param("random_state", -1, ValueError),
    _param("random_state", 2**32, ValueError),
    _param("verbose", "high", TypeError),
    _param("verbose", -1, ValueError),
    _param("warm_start", "yes", TypeError),
    _param("callbacks", "progress", TypeError),
    _param("time_axis", 2, ValueError),
    _param("time_axis", True, TypeError, r"time_axis.*True"),
    _param("newest_first", "yes", TypeError),
    _param("callbacks", [1], TypeError, r"callbacks.*1", id="callbacks=[int]"),
    _param("callbacks", [("named", "x")], TypeError, r"callbacks.*'x'", id="callbacks=[(n, str)]"),
]


@pytest.mark.parametrize("name, value, error, match", REGRESSOR_PARAM_CASES)
def test_regressor_rejects_parameter(name, value, error, match):
    model = tiny(**{name: value})
    with pytest.raises(error, match=match) as excinfo:
        model.fit(X3, Y)
    assert_raised_by_library(excinfo)
    assert not hasattr(model, "net_")


@pytest.mark.parametrize(
    "name, value", [("hidden_size", 0), ("lr", -1.0), ("device", "tpu"), ("callbacks", [1])]
)
def test_partial_fit_validates_parameters_too(name, value):
    with pytest.raises((ValueError, TypeError), match=name) as excinfo:
        tiny(**{name: value}).partial_fit(X3, Y)
    assert_raised_by_library(excinfo)


@pytest.mark.parametrize("optimizer", [torch.optim.LBFGS, torch.optim.Adadelta])
def test_any_torch_optimizer_class_trains(optimizer):
    # LBFGS re-evaluates the loss: its step() needs a closure.
    model = tiny(optimizer=optimizer, lr=0.1).fit(X3, Y)
    assert np.isfinite(model.predict(X3)).all()


def test_weight_decay_for_an_optimizer_without_it_is_a_clear_error():
    with pytest.raises(ValueError, match=r"weight_decay=0.1 .*optimizer LBFGS takes no") as exc:
        tiny(optimizer=torch.optim.LBFGS, weight_decay=0.1).fit(X3, Y)
    assert_raised_by_library(exc)


@pytest.mark.parametrize("device", ["cuda", "cuda:7", "mps"])
def test_unavailable_device_is_a_clear_error(device):
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    if device == "cuda:7" and torch.cuda.device_count() > 7:
        pytest.skip("eight CUDA devices are visible here")
    mps = getattr(torch.backends, "mps", None)
    if device == "mps" and mps is not None and mps.is_available():
        pytest.skip("MPS is available here")
    with pytest.raises(ValueError, match=rf"device='{device}' was requested but") as excinfo:
        tiny(device=device).fit(X3, Y)
    assert_raised_by_library(excinfo)


# ---------------------------------------------------------------------------
# RNNRegressor: custom modules that do not fit the contract
# ---------------------------------------------------------------------------


class LastStep(nn.Module):
    """A valid custom module: linear head on the last step."""

    def __init__(self, n_features, n_outputs, scale=1.0):
        super().__init__()
        self.head = nn.Linear(n_features, n_outputs)
        self.scale = scale

    def forward(self, X):
        return self.head(X[:, -1]) * self.scale


class NoSizes(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(2, 1)

    def forward(self, X):
        return self.head(X[:, -1])


class NoForward(nn.Module):
    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.head = nn.Linear(n_features, n_outputs)


class NoParameters(nn.Module):
    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.n_outputs = n_outputs

    def forward(self, X):
        return X[:, -1, : self.n_outputs] * 2.0


class EveryStep(LastStep):
    """Returns (batch, n_steps, n_outputs): one output per step, not per sequence."""

    def forward(self, X):
        return self.head(X)


class Flat(LastStep):
    """Returns (batch,) instead of (batch, 1)."""

    def forward(self, X):
        return self.head(X[:, -1])[:, 0]


class NoOutputs(LastStep):
    """Returns (batch, 0)."""

    def forward(self, X):
        return self.head(X[:, -1])[:, :0]


class FirstTwo(LastStep):
    """Returns 2 rows whatever the batch size."""

    def forward(self, X):
        return self.head(X[:2, -1])


class PairOut(LastStep):
    """Returns a tuple instead of a tensor."""

    def forward(self, X):
        return self.head(X[:, -1]), None


class NumpyOut(LastStep):
    """Returns a numpy array instead of a tensor."""

    def forward(self, X):
        return self.head(X[:, -1]).detach().numpy()


MODULE_CASES = [
    pytest.param(
        dict(module=LastStep, module_kwargs={"width": 3}),
        TypeError,
        r"Could not build module 'LastStep'.*'width'",
        id="unknown-module_kwargs",
    ),
    pytest.param(
        dict(module=NoSizes),
        TypeError,
        r"Could not build module 'NoSizes'.*n_features",
        id="no-n_features-argument",
    ),
    pytest.param(
        dict(module=LastStep, module_kwargs={"n_features": 3}),
        TypeError,
        r"module_kwargs.*n_features",
        id="module_kwargs-sets-n_features",
    ),
    pytest.param(
        dict(module=LastStep, module_kwargs={"n_outputs": 3}),
        TypeError,
        r"module_kwargs.*n_outputs",
        id="module_kwargs-sets-n_outputs",
    ),
    pytest.param(dict(module=NoForward), TypeError, r"NoForward.*forward", id="no-forward"),
    pytest.param(
        dict(module=NoParameters),
        ValueError,
        r"NoParameters.*parameters",
        id="no-parameters",
    ),
    pytest.param(
        dict(module=EveryStep),
        ValueError,
        r"(?s)EveryStep.*forward.*shape.*\(8, 5, 1\).*\(8, 1\)",
        id="forward-3d",
    ),
    pytest.param(
        dict(module=Flat),
        ValueError,
        r"(?s)Flat.*forward.*shape.*\(8,\).*\(8, 1\)",
        id="forward-1d",
    ),
    pytest.param(
        dict(module=NoOutputs),
        ValueError,
        r"(?s)NoOutputs.*forward.*shape.*\(8, 0\).*\(8, 1\)",
        id="forward-no-columns",
    ),
    pytest.param(
        dict(module=FirstTwo),
        ValueError,
        r"(?s)FirstTwo.*forward.*shape.*\(2, 1\).*\(8, 1\)",
        id="forward-wrong-batch",
    ),
    pytest.param(dict(module=PairOut), TypeError, r"PairOut.*forward.*tuple", id="forward-tuple"),
    pytest.param(
        dict(module=NumpyOut), TypeError, r"NumpyOut.*forward.*ndarray", id="forward-ndarray"
    ),
]


@pytest.mark.parametrize("params, error, match", MODULE_CASES)
def test_custom_module_that_breaks_the_contract(params, error, match):
    with pytest.raises(error, match=match) as excinfo:
        tiny(**params).fit(X3, Y)
    assert_raised_by_library(excinfo)


def test_custom_module_that_keeps_the_contract_works():
    model = tiny(module=LastStep, module_kwargs={"scale": 2.0}).fit(X3, np.c_[Y, -Y])
    assert model.predict(X3).shape == (12, 2)


# ---------------------------------------------------------------------------
# RNNRegressor: bad data at fit, partial_fit and predict
# ---------------------------------------------------------------------------

_X3_LARGE = replaced(X3, (2, 3, 0), 1e39)  # finite in float64, inf in float32

FIT_DATA_CASES = [
    pytest.param(
        X3[:0], Y[:0], None, ValueError, r"0 sample\(s\) \(shape=\(0, 5, 2\)\)", id="empty"
    ),
    pytest.param(
        X2[:0], Y[:0], None, ValueError, r"0 sample\(s\) \(shape=\(0, 5\)\)", id="empty-2d"
    ),
    pytest.param(
        np.empty((12, 0, 2)),
        Y,
        None,
        ValueError,
        r"X has shape \(12, 0, 2\): each sample needs at least one time step",
        id="no-steps",
    ),
    pytest.param(
        np.empty((12, 5, 0)),
        Y,
        None,
        ValueError,
        r"X has shape \(12, 5, 0\).*one feature",
        id="no-features",
    ),
    pytest.param(X2[:, 0], Y, None, ValueError, r"Expected 2D array, got 1D array", id="1d-X"),
    pytest.param(
        X3[..., None],
        Y,
        None,
        ValueError,
        r"X must be 2-D .* or 3-D .*got 4 dimensions, shape \(12, 5, 2, 1\)",
        id="4d-X",
    ),
    pytest.param(
        np.full((12, 5), "a"),
        Y,
        None,
        ValueError,
        r"could not convert string to float: .*'a'",
        id="strings",
    ),
    pytest.param(
        pd.DataFrame({"a": ["x"] * 12, "b": 1.0}),
        Y,
        None,
        ValueError,
        r"could not convert string to float: 'x'",
        id="string-column",
    ),
    pytest.param(
        np.array([[1.0, [2.0]]] * 12, dtype=object),
        Y,
        None,
        ValueError,
        r"setting an array element with a sequence",
        id="objects",
    ),
    pytest.param(X3 + 1j, Y, None, ValueError, r"Complex data not supported", id="complex"),
    pytest.param(
        replaced(X2, (3, 2), np.nan),
        Y,
        None,
        ValueError,
        r"(?s)X contains NaN.*3-D",
        id="nan-in-2d",
    ),
    pytest.param(
        replaced(X2, (3, 2), np.inf), Y, None, ValueError, r"X contains infinity", id="inf-in-2d"
    ),
    pytest.param(
        replaced(X3, (3, 2, 0), np.inf), Y, None, ValueError, r"X contains infinity", id="inf-3d"
    ),
    pytest.param(
        replaced(X3, (3, 2, 1), -np.inf), Y, None, ValueError, r"X contains infinity", id="-inf-3d"
    ),
    pytest.param(
        replaced(X3, (3, 2), np.nan),
        Y,
        None,
        ValueError,
        r"X\[3\] has a NaN step after an observed one",
        id="nan-mid-sequence",
    ),
    pytest.param(
        replaced(X3, (3, -1), np.nan),
        Y,
        None,
        ValueError,
        r"X\[3\] has a NaN step after an observed one",
        id="nan-last-step",
    ),
    pytest.param(
        replaced(X3, (3, 0, 0), np.nan),
        Y,
        None,
        ValueError,
        r"X\[3\] has a time step with only some features NaN",
        id="nan-part-of-step",
    ),
    pytest.param(
        replaced(X3, 3, np.nan),
        Y,
        None,
        ValueError,
        r"X\[3\] has no observed time step",
        id="nan-whole-sample",
    ),
    pytest.param(_X3_LARGE, Y, None, ValueError, r"X .*float32", id="too-large-for-float32"),
    pytest.param(
        X3, replaced(Y, 2, np.nan), None, ValueError, r"Input y contains NaN", id="y-nan"
    ),
    pytest.param(
        X3, replaced(Y, 2, np.inf), None, ValueError, r"Input y contains infinity", id="y-inf"
    ),
    pytest.param(
        X3, np.c_[Y, replaced(Y, 2, np.nan)], None, ValueError, r"y contains NaN", id="y-2d-nan"
    ),
    pytest.param(X3, Y[:, None, None], None, ValueError, r"dim 3", id="y-3d"),
    pytest.param(
        X3, np.full(12, "a"), None, ValueError, r"could not convert string to float", id="y-str"
    ),
    pytest.param(X3, Y + 1j, None, ValueError, r"Complex data not supported", id="y-complex"),
    pytest.param(X3, np.zeros((12, 0)), None, ValueError, r"0 feature\(s\)", id="y-no-columns"),
    pytest.param(X3, None, None, ValueError, r"requires y to be passed", id="y-None"),
    pytest.param(
        X3,
        Y[:11],
        None,
        ValueError,
        r"inconsistent numbers of samples: \[12, 11\]",
        id="X-y-lengths",
    ),
    pytest.param(
        X3,
        Y,
        np.ones(11),
        ValueError,
        r"sample_weight.shape == \(11,\), expected \(12,\)",
        id="weight-length",
    ),
    pytest.param(
        X3,
        Y,
        -np.ones(12),
        ValueError,
        r"Negative values in data passed to `sample_weight`",
        id="weights-negative",
    ),
    pytest.param(
        X3,
        Y,
        replaced(np.ones(12), 4, -1.0),
        ValueError,
        r"Negative values in data passed to `sample_weight`",
        id="one-weight-negative",
    ),
    pytest.param(
        X3, Y, np.zeros(12), ValueError, r"sample_weight|non-zero", id="weights-all-zero"
    ),
    pytest.param(
        X3,
        Y,
        replaced(np.ones(12), 0, np.nan),
        ValueError,
        r"Input sample_weight contains NaN",
        id="weight-nan",
    ),
    pytest.param(
        X3, Y, np.ones((12, 1)), ValueError, r"Sample weights must be 1D", id="weights-2d"
    ),
]


@pytest.mark.parametrize("X, y, sample_weight, error, match", FIT_DATA_CASES)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_regressor_rejects_training_data(method, X, y, sample_weight, error, match):
    model = tiny()
    with pytest.raises(error, match=match) as excinfo:
        getattr(model, method)(X, y, sample_weight=sample_weight)
    assert_raised_by_library(excinfo)


def test_zero_weights_on_every_training_row_are_a_clear_error():
    # Early stopping trains on the first rows only: their weights must not all be 0.
    weight = np.r_[np.zeros(10), np.ones(2)]
    with pytest.raises(ValueError, match=r"sample_weight.*training") as excinfo:
        tiny(early_stopping=True, validation_fraction=0.2).fit(X3, Y, sample_weight=weight)
    assert_raised_by_library(excinfo)


def test_early_stopping_needs_two_samples():
    # "1 sample", as scikit-learn's check_fit2d_1sample asks of the message.
    with pytest.raises(
        ValueError, match=r"early_stopping=True needs at least 2 samples.*1 sample"
    ):
        tiny(early_stopping=True).fit(X3[:1], Y[:1])


PREDICT_CASES = [
    pytest.param(X3[:0], r"0 sample\(s\)", id="empty"),
    pytest.param(np.empty((12, 0, 2)), r"X has shape \(12, 0, 2\)", id="no-steps"),
    pytest.param(X3[:, :, 0].ravel(), r"Expected 2D array, got 1D array", id="1d-X"),
    pytest.param(X3[..., None], r"X must be 2-D .* or 3-D .*got 4 dimensions", id="4d-X"),
    pytest.param(np.full((12, 5, 2), "a"), r"could not convert string to float", id="strings"),
    pytest.param(X3 + 1j, r"Complex data not supported", id="complex"),
    pytest.param(replaced(X3, (3, 2, 0), np.inf), r"X contains infinity", id="inf"),
    pytest.param(
        replaced(X3, (3, 2), np.nan), r"X\[3\] has a NaN step after an observed one", id="nan-mid"
    ),
    pytest.param(
        replaced(X3, (3, 0, 1), np.nan), r"X\[3\] has a time step with only some", id="nan-part"
    ),
    pytest.param(replaced(X3, 3, np.nan), r"X\[3\] has no observed time step", id="nan-whole"),
    pytest.param(_X3_LARGE, r"X .*float32", id="too-large-for-float32"),
    pytest.param(
        X3[:, :, :1],
        r"X has 1 features, but RNNRegressor is expecting 2 features",
        id="fewer-features",
    ),
    pytest.param(
        np.concatenate([X3, X3], axis=2),
        r"X has 4 features, but RNNRegressor is expecting 2 features",
        id="more-features",
    ),
    pytest.param(X2, r"fitted on 3-D X with 2 feature\(s\).*got 2-D X", id="2d-for-3d-model"),
]


@pytest.mark.parametrize("X, match", PREDICT_CASES)
def test_predict_rejects(fitted3, X, match):
    with pytest.raises(ValueError, match=match) as excinfo:
        fitted3.predict(X)
    assert_raised_by_library(excinfo)


@pytest.mark.parametrize(
    "X, match",
    [
        pytest.param(X2[:, :3], r"X has 3 features, but RNNRegressor is expecting 5", id="cols"),
        pytest.param(X3[:, :, :1], r"fitted on 2-D X with 5 columns", id="3d-for-2d-model"),
        pytest.param(
            RNG.normal(size=(12, 4, 5)),
            r"fitted on 2-D X with 5 columns.*got 3-D X",
            id="3d-with-as-many-features-for-2d-model",
        ),
        pytest.param(replaced(X2, (0, 4), np.nan), r"(?s)X contains NaN.*3-D", id="nan"),
    ],
)
def test_predict_rejects_for_2d_model(fitted2, X, match):
    with pytest.raises(ValueError, match=match) as excinfo:
        fitted2.predict(X)
    assert_raised_by_library(excinfo)


def test_predict_before_fit_is_not_fitted_error():
    with pytest.raises(NotFittedError, match="RNNRegressor instance is not fitted yet"):
        tiny().predict(X3)


def test_partial_fit_rejects_a_change_of_shape(fitted3):
    model = tiny().fit(X3, Y)
    with pytest.raises(ValueError, match=r"X has 1 features, but RNNRegressor is expecting 2"):
        model.partial_fit(X3[:, :, :1], Y)
    with pytest.raises(ValueError, match=r"y has 2 output\(s\) but this model was fitted with 1"):
        model.partial_fit(X3, np.c_[Y, Y])
    assert model.n_iter_ == 1
    assert_array_equal(model.predict(X3), fitted3.predict(X3))


@pytest.mark.parametrize(
    "params, X, y",
    [
        pytest.param({}, X3, replaced(Y, 0, np.nan), id="bad-y"),
        pytest.param({"device": "tpu"}, X3, Y, id="bad-device"),
        pytest.param({"optimizer": "sgd", "lr": 1e30, "max_epochs": 3}, X3, Y, id="diverged"),
    ],
)
def test_failed_first_fit_leaves_the_model_unfitted(params, X, y):
    model = tiny(**params)
    with pytest.raises(ValueError):
        model.fit(X, y)
    with pytest.raises(NotFittedError):
        model.predict(X3)


@pytest.mark.parametrize(
    "params, X, y",
    [
        pytest.param({}, X3[:, :, :1], replaced(Y, 0, np.nan), id="other-features-bad-y"),
        pytest.param({"device": "tpu"}, X3, np.c_[Y, Y], id="two-outputs-bad-device"),
        pytest.param(
            {"optimizer": "sgd", "lr": 1e30, "max_epochs": 3},
            X3[:, :, :1],
            100 * Y + 50,
            id="diverged-on-other-data",
        ),
    ],
)
def test_failed_refit_keeps_the_previous_model(fitted3, params, X, y):
    model = tiny().fit(X3, Y)
    model.set_params(**params)
    with pytest.raises(ValueError):
        model.fit(X, y)
    assert model.n_features_in_ == 2
    assert model.n_outputs_ == 1
    assert_array_equal(model.predict(X3), fitted3.predict(X3))


# ---------------------------------------------------------------------------
# Hypothesis: random shapes, dtypes and NaN layouts
# ---------------------------------------------------------------------------

DTYPES = ["float32", "float64", "int64", "bool", "complex128", "object", "text"]


@st.composite
def any_arrays(draw):
    """Arrays of 1 to 4 dimensions (zero sizes included) and assorted dtypes."""
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim)))
    kind = draw(st.sampled_from(DTYPES))
    values = np.random.default_rng(draw(st.integers(0, 2**16))).normal(size=shape)
    if kind == "bool":
        array = values > 0
    elif kind == "complex128":
        array = values + 1j
    elif kind == "object":
        array = values.astype(object)
    elif kind == "text":
        array = values.astype(object)
        if array.size:
            array.flat[array.size // 2] = "n/a"
    else:
        array = (values * 10).astype(kind)
    return array, kind


def _real(kind):
    return kind in ("float32", "float64", "int64", "bool", "object")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_arrays())
def test_random_arrays_regressor_works_or_rejects(drawn):
    X, kind = drawn
    n = X.shape[0]
    valid = X.ndim in (2, 3) and X.size > 0 and (X.ndim == 2 or X.shape[2] > 0) and _real(kind)
    y = np.linspace(-1.0, 1.0, n)
    with no_hang():
        try:
            model = tiny().fit(X, y)
        except (ValueError, TypeError) as exc:
            assert not valid, f"valid {kind} X of shape {X.shape} rejected: {exc}"
            assert str(exc)
            return
        assert valid, f"{kind} X of shape {X.shape} accepted"
        pred = model.predict(X)
    assert pred.shape == (n,)
    assert np.isfinite(pred).all()


@settings(max_examples=30, deadline=None)
@given(any_arrays())
def test_random_arrays_windower_works_or_rejects(drawn):
    X, kind = drawn
    valid = X.ndim == 2 and X.size > 0 and _real(kind)
    with no_hang():
        try:
            out = SequenceWindower(window=3).fit_transform(X)
        except (ValueError, TypeError) as exc:
            assert not valid, f"valid {kind} X of shape {X.shape} rejected: {exc}"
            assert str(exc)
            return
    assert valid, f"{kind} X of shape {X.shape} accepted"
    assert out.shape == (X.shape[0], 3, X.shape[1])
    assert_array_equal(out[:, -1], X.astype(out.dtype))


@settings(max_examples=30, deadline=None)
@given(any_arrays(), st.integers(1, 3), st.integers(1, 3))
def test_random_arrays_make_supervised_works_or_rejects(drawn, horizon, n_steps):
    data, kind = drawn
    valid = (
        data.ndim in (1, 2)
        and kind in ("float32", "float64", "int64", "bool")
        and data.shape[0] >= horizon + n_steps
        and (data.ndim == 1 or data.shape[1] > 0)
    )
    with no_hang():
        try:
            X, y = make_supervised(data, horizon=horizon, n_steps=n_steps)
        except (ValueError, TypeError) as exc:
            assert not valid, f"valid {kind} data of shape {data.shape} rejected: {exc}"
            assert str(exc)
            return
    assert valid, f"{kind} data of shape {data.shape} accepted"
    assert X.shape[0] == y.shape[0] == data.shape[0] - horizon - n_steps + 1


@st.composite
def nan_layouts(draw):
    """3-D X whose samples are padded correctly, or broken in one way or another."""
    n = draw(st.integers(1, 4))
    n_steps = draw(st.integers(1, 6))
    n_features = draw(st.integers(1, 3))
    X = np.random.default_rng(draw(st.integers(0, 2**16))).normal(size=(n, n_steps, n_features))
    for i in range(n):
        layout = draw(st.sampled_from(["none", "leading", "leading", "random", "all"]))
        if layout == "leading":
            X[i, : draw(st.integers(0, n_steps - 1))] = np.nan
        elif layout == "all":
            X[i] = np.nan
        elif layout == "random":
            mask = draw(
                st.lists(
                    st.booleans(), min_size=n_steps * n_features, max_size=n_steps * n_features
                )
            )
            X[i][np.array(mask).reshape(n_steps, n_features)] = np.nan
    if draw(st.integers(0, 5)) == 0:
        X[draw(st.integers(0, n - 1)), draw(st.integers(0, n_steps - 1)), 0] = np.inf
    return X


def expected_lengths(X):
    """Observed steps per sample, or None when the layout must be rejected."""
    lengths = []
    for sample in X:
        if np.isinf(sample).any():
            return None
        missing = np.isnan(sample)
        whole = missing.all(axis=1)
        if (missing.any(axis=1) & ~whole).any():
            return None
        n_leading = int(np.argmin(whole)) if not whole.all() else len(whole)
        if n_leading == len(whole) or whole[n_leading:].any():
            return None
        lengths.append(len(whole) - n_leading)
    return lengths


@settings(max_examples=30, deadline=None)
@given(nan_layouts(), st.integers(0, 5))
def test_random_nan_layouts(X, cut):
    y = np.linspace(-1.0, 1.0, X.shape[0])
    lengths = expected_lengths(X)
    with no_hang():
        if lengths is None:
            with pytest.raises(ValueError, match=r"X\[\d+\] has|X contains infinity"):
                tiny().fit(X, y)
            return
        model = tiny().fit(X, y)
        pred = model.predict(X)
        # The padding never reaches the network: a padded sample predicts as
        # its observed steps alone.
        for i, length in enumerate(lengths):
            alone = model.predict(X[i : i + 1, X.shape[1] - length :])
            assert_allclose(alone, pred[i : i + 1], rtol=1e-5, atol=1e-6)
        # A shorter sequence than in training works too.
        shorter = X[:, min(cut, X.shape[1] - 1) :]
        assert np.isfinite(model.predict(shorter)).all()


# ---------------------------------------------------------------------------
# Divergence
# ---------------------------------------------------------------------------

DIVERGING = dict(optimizer="sgd", lr=1e30, max_epochs=3)


def test_divergence_is_a_clear_error_and_a_sane_refit_works():
    model = tiny(**DIVERGING)
    with pytest.raises(ValueError, match=r"(?s)diverged.*lr") as excinfo:
        model.fit(X3, Y)
    assert_raised_by_library(excinfo)
    assert "lr" in str(excinfo.value) and "1e+30" in str(excinfo.value)
    model.set_params(optimizer="adam", lr=1e-2)
    model.fit(X3, Y)
    assert model.n_iter_ == 3
    assert np.isfinite(model.loss_curve_).all()
    assert np.isfinite(model.predict(X3)).all()


@pytest.mark.parametrize("method", ["partial_fit", "warm_start"])
def test_divergence_in_incremental_training_keeps_the_model(method):
    # scale_y=False and a huge target make the very first loss overflow.
    model = tiny(scale_y=False, warm_start=method == "warm_start", max_epochs=2).fit(X3, Y)
    before = model.predict(X3)
    with pytest.raises(ValueError, match=r"diverged.*lr"):
        if method == "partial_fit":
            model.partial_fit(X3, Y * 1e30)
        else:
            model.fit(X3, Y * 1e30)
    assert model.n_iter_ == 2 == len(model.net_.history) == len(model.loss_curve_)
    assert_array_equal(model.predict(X3), before)
    model.partial_fit(X3, Y)
    assert model.n_iter_ == 3
    assert np.isfinite(model.predict(X3)).all()


def test_divergence_in_a_later_epoch_of_a_warm_start_keeps_the_model():
    # A linear model on X scaled by 1e3 grows ~1e4-fold per SGD step: the
    # first epoch of the call still has a finite loss, a later one does not.
    model = tiny(
        module=LastStep, optimizer="sgd", lr=1e-2, warm_start=True, max_epochs=3, batch_size=4
    ).fit(X3, Y)
    before = model.predict(X3)
    with pytest.raises(ValueError, match=r"diverged.*lr"):
        model.fit(X3 * 1e3, Y)
    # The failed call changed nothing: no extra epochs, no blown-up weights.
    assert model.n_iter_ == 3 == len(model.net_.history) == len(model.loss_curve_)
    assert_array_equal(model.predict(X3), before)


def test_warm_start_divergence_after_raising_lr_then_lowering_it():
    model = tiny(warm_start=True, optimizer="sgd", lr=1e-2, max_epochs=2).fit(X3, Y)
    model.set_params(**DIVERGING)
    with pytest.raises(ValueError, match=r"diverged.*lr \(now 1e\+30\)"):
        model.fit(X3, Y)
    assert model.n_iter_ == len(model.net_.history) == len(model.loss_curve_)
    assert np.isfinite(model.predict(X3)).all()
    # The error's advice, followed on the same estimator, takes effect.
    model.set_params(lr=1e-3, max_grad_norm=1.0)
    model.fit(X3, Y)
    assert np.isfinite(model.predict(X3)).all()


def test_warm_start_and_partial_fit_use_the_current_parameters():
    model = tiny(warm_start=True, optimizer="sgd", lr=1e-2).fit(X3, Y)
    model.set_params(lr=0.05, weight_decay=0.01, max_grad_norm=1.0, shuffle=False)
    model.fit(X3, Y)
    group = model.net_.optimizer_.param_groups[0]
    assert group["lr"] == 0.05
    assert group["weight_decay"] == 0.01
    assert dict(model.net_.callbacks_)["sklearn_rnn_grad_clip"].gradient_clip_value == 1.0
    assert model.net_.iterator_train__shuffle is False
    model.set_params(lr=0.02)
    model.partial_fit(X3, Y)
    assert model.net_.optimizer_.param_groups[0]["lr"] == 0.02


class RaiseAt(Callback):
    """Raise OSError (a full disk) at the end of epoch ``epoch`` of a training call
    (1-based), or in ``on_train_end`` with ``epoch=None``."""

    def __init__(self, epoch=2, message="No space left on device"):
        self.epoch = epoch
        self.message = message

    def on_train_begin(self, net, **kwargs):
        self.start_ = len(net.history)

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) - self.start_ == self.epoch:
            raise OSError(self.message)

    def on_train_end(self, net, **kwargs):
        if self.epoch is None:
            raise OSError(self.message)


def _training_state(model):
    net = model.net_
    optimizer = net.optimizer_.state_dict()
    moments = [v.clone() for s in optimizer["state"].values() for v in s.values()]
    return model.predict(X3), len(net.history), moments


@pytest.mark.parametrize(
    "method, epoch",
    [("partial_fit", 1), ("partial_fit", None), ("warm_start", 2), ("warm_start", None)],
    ids=["partial_fit-epoch", "partial_fit-train-end", "warm_start-epoch-2", "warm_start-end"],
)
def test_any_error_in_incremental_training_keeps_the_model(method, epoch):
    model = tiny(warm_start=method == "warm_start", max_epochs=3).fit(X3, Y)
    before = _training_state(model)
    model.set_params(callbacks=[RaiseAt(epoch)])
    with pytest.raises(OSError, match="No space left"):
        if method == "partial_fit":
            model.partial_fit(X3, Y)
        else:
            model.fit(X3, Y)
    pred, n_history, moments = _training_state(model)
    assert_array_equal(pred, before[0])
    assert n_history == before[1] == model.n_iter_ == len(model.loss_curve_) == 3
    for a, b in zip(moments, before[2], strict=True):
        assert torch.equal(a, b)
    model.set_params(callbacks=None)
    model.partial_fit(X3, Y)
    assert model.n_iter_ == 4


# ---------------------------------------------------------------------------
# Interruption (Ctrl-C)
# ---------------------------------------------------------------------------


class InterruptAt(Callback):
    """Ctrl-C after batch ``batch`` of epoch ``epoch`` of a training call (1-based)."""

    def __init__(self, epoch=2, batch=2, how="raise"):
        self.epoch = epoch
        self.batch = batch
        self.how = how

    def on_train_begin(self, net, **kwargs):
        self.start_ = len(net.history)
        self.batches_ = 0
        self.after_ = 0

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        if self.batches_ < 0:
            self.after_ += 1
            return
        if len(net.history) - self.start_ == self.epoch:
            self.batches_ += 1
            if self.batches_ == self.batch:
                self.batches_ = -1
                if self.how == "signal":
                    signal.raise_signal(signal.SIGINT)
                raise KeyboardInterrupt


@pytest.fixture
def default_sigint():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("how", ["raise", "signal"])
def test_ctrl_c_keeps_the_last_completed_epoch(how, default_sigint):
    stop = InterruptAt(epoch=2, batch=2, how=how)
    model = tiny(max_epochs=3, batch_size=4, shuffle=False, callbacks=[stop])
    with pytest.warns(UserWarning, match=r"interrupted.*last completed epoch \(1\)"):
        model.fit(X3, Y)
    assert stop.after_ == 0, "training went on after Ctrl-C"
    assert model.n_iter_ == 1 == len(model.loss_curve_)
    reference = tiny(max_epochs=1, batch_size=4, shuffle=False).fit(X3, Y)
    assert_array_equal(model.predict(X3), reference.predict(X3))
    # The model stays usable: it trains on.
    model.set_params(callbacks=None)
    model.partial_fit(X3, Y)
    assert model.n_iter_ == 2


def test_ctrl_c_keeps_the_last_completed_epoch_not_an_average():
    # The weights of epochs 1 and 2 would be averaged with all four's; an
    # interrupted fit keeps epoch 2's as they were trained.
    stop = InterruptAt(epoch=3, batch=1)
    model = tiny(max_epochs=4, batch_size=4, shuffle=False, average=1.0, callbacks=[stop])
    with pytest.warns(UserWarning, match=r"last completed epoch \(2\)"):
        model.fit(X3, Y)
    reference = tiny(max_epochs=2, batch_size=4, shuffle=False, average=0.0).fit(X3, Y)
    assert_array_equal(model.predict(X3), reference.predict(X3))
    averaged = tiny(max_epochs=2, batch_size=4, shuffle=False, average=1.0).fit(X3, Y)
    assert not np.allclose(averaged.predict(X3), reference.predict(X3))


def test_ctrl_c_in_partial_fit_and_warm_start():
    # No random draws in training (no shuffling, no head dropout): continued
    # training then takes the steps of one longer fit, the reference below.
    model = tiny(max_epochs=1, batch_size=4, shuffle=False, head_dropout=0.0).fit(X3, Y)
    before = model.predict(X3)
    model.set_params(callbacks=[InterruptAt(epoch=1, batch=2)])
    with pytest.warns(UserWarning, match=r"last completed epoch \(1\)"):
        model.partial_fit(X3, Y)
    assert model.n_iter_ == 1
    assert_array_equal(model.predict(X3), before)

    model.set_params(warm_start=True, max_epochs=3, callbacks=[InterruptAt(epoch=2, batch=1)])
    with pytest.warns(UserWarning, match=r"last completed epoch \(2\)"):
        model.fit(X3, Y)
    assert model.n_iter_ == 2
    # An interrupted call keeps its last completed epoch's weights, not an
    # average: the reference is two epochs' last weights.
    reference = tiny(max_epochs=2, batch_size=4, shuffle=False, head_dropout=0.0, average=0)
    reference.fit(X3, Y)
    assert_array_equal(model.predict(X3), reference.predict(X3))


# ---------------------------------------------------------------------------
# Nothing changed behind the user's back
# ---------------------------------------------------------------------------


def _padded_float32():
    X = X3.astype(np.float32)
    X[0, :2] = np.nan
    X[5, :4] = np.nan
    return X


@pytest.mark.parametrize(
    "X",
    [
        pytest.param(_padded_float32(), id="3d-float32-padded"),
        pytest.param(X3.copy(), id="3d-float64"),
        pytest.param(X2.copy(), id="2d"),
        pytest.param(SequenceWindower(window=4).fit_transform(TABLE[:12]), id="window-view"),
    ],
)
@pytest.mark.parametrize("shuffle", [True, False])
def test_read_only_inputs_are_used_and_never_modified(X, shuffle):
    y = Y.copy()
    weight = np.linspace(0.5, 2.0, 12)
    copies = [np.array(a, copy=True) for a in (X, y, weight)]
    for array in (X, y, weight):
        if array.flags.writeable:
            array.setflags(write=False)
    model = tiny(shuffle=shuffle, max_epochs=2).fit(X, y, sample_weight=weight)
    model.partial_fit(X, y, sample_weight=weight)
    model.predict(X)
    for array, copy in zip((X, y, weight), copies, strict=True):
        assert_array_equal(array, copy)


def test_dataframe_input_is_never_modified():
    X = pd.DataFrame(X2, columns=[f"t{k}" for k in range(5)])
    y = pd.Series(Y)
    X_copy, y_copy = X.copy(), y.copy()
    tiny().fit(X, y).predict(X)
    pd.testing.assert_frame_equal(X, X_copy)
    pd.testing.assert_series_equal(y, y_copy)


@pytest.mark.parametrize(
    "params",
    [
        pytest.param(dict(), id="small"),
        pytest.param(dict(num_layers=2, dropout=0.5), id="dropout"),
        # More parameters per step; the thread count is still set and given back.
        pytest.param(dict(hidden_size=160), id="wide"),
    ],
)
def test_global_state_is_left_as_it_was(params, torch_globals):
    torch.set_num_threads(3)
    np.random.seed(1)
    torch.manual_seed(1)
    numpy_state = np.random.get_state()[1].copy()
    torch_state = torch.get_rng_state().clone()
    model = tiny(**params).fit(X3[:6], Y[:6])
    model.partial_fit(X3[:6], Y[:6])
    model.predict(X3)
    assert torch.get_num_threads() == 3
    assert_array_equal(np.random.get_state()[1], numpy_state)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert torch.get_default_dtype() == torch.float32
    assert torch.is_grad_enabled()


def test_predict_leaves_torch_random_state_alone_without_random_state():
    model = tiny(random_state=None).fit(X3, Y)
    torch_state = torch.get_rng_state().clone()
    numpy_state = np.random.get_state()[1].copy()
    model.predict(X3)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert_array_equal(np.random.get_state()[1], numpy_state)


def test_works_under_float64_default_dtype(torch_globals):
    torch.set_default_dtype(torch.float64)
    model = tiny().fit(X3, Y)
    pred = model.predict(X3)
    assert torch.get_default_dtype() == torch.float64
    assert pred.dtype == np.float64
    assert np.isfinite(pred).all()


def test_works_under_no_grad(torch_globals):
    with torch.no_grad():
        model = tiny().fit(X3, Y)
        model.partial_fit(X3, Y)
        model.predict(X3)
        assert not torch.is_grad_enabled()
    assert torch.is_grad_enabled()
    assert np.isfinite(model.loss_curve_).all()


def test_works_under_inference_mode(torch_globals):
    with torch.inference_mode():
        model = tiny(max_epochs=2).fit(X3, Y)
        model.partial_fit(X3, Y)
        pred = model.predict(X3)
        assert torch.is_inference_mode_enabled()
    assert np.isfinite(pred).all()
    assert np.isfinite(model.loss_curve_).all()
    model.partial_fit(X3, Y)  # the weights made there train on outside it
    assert model.n_iter_ == 4
    with torch.inference_mode():
        loaded = pickle.loads(pickle.dumps(model))
    loaded.partial_fit(X3, Y)  # so do the weights of a model loaded there
    assert loaded.n_iter_ == 5


class DropoutHead(nn.Module):
    """A custom module that draws random numbers in training (dropout)."""

    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(n_features, n_outputs)

    def forward(self, X):
        return self.head(self.drop(X[:, -1]))


CONCURRENT = [
    pytest.param(dict(num_layers=2, dropout=0.5), id="dropout-between-layers"),
    pytest.param(dict(head_dropout=0.5), id="head-dropout"),
    pytest.param(dict(module=DropoutHead), id="custom-module-with-dropout"),
]


@pytest.mark.parametrize("params", CONCURRENT)
def test_seeded_fits_in_threads_give_the_model_of_a_fit_alone(params):
    # dask's threads and joblib's threading backend run fits side by side in
    # one process; torch draws weights and dropout masks from one process-wide
    # generator.
    def fit(seed):
        model = tiny(random_state=seed, max_epochs=4, batch_size=2, **params)
        return model.fit(X3, Y).predict(X3)

    alone = {seed: fit(seed) for seed in (0, 1)}
    torch.manual_seed(5)
    caller = torch.get_rng_state().clone()
    seeds = [0, 1, 0, 1, 0, 1, 0, 1]
    results = joblib.Parallel(n_jobs=2, backend="threading")(
        joblib.delayed(fit)(seed) for seed in seeds
    )
    for seed, pred in zip(seeds, results, strict=True):
        assert_array_equal(pred, alone[seed])
    assert torch.equal(torch.get_rng_state(), caller), "the caller's generator moved"


@pytest.mark.parametrize("params", CONCURRENT)
def test_seeded_fits_beside_unseeded_fits_in_threads(params):
    def fit(seed):
        model = tiny(random_state=seed, max_epochs=4, batch_size=2, **params)
        return model.fit(X3, Y).predict(X3)

    alone = fit(0)
    seeds = [0, None, 0, None, 0, None]
    results = joblib.Parallel(n_jobs=2, backend="threading")(
        joblib.delayed(fit)(seed) for seed in seeds
    )
    for seed, pred in zip(seeds, results, strict=True):
        if seed == 0:
            assert_array_equal(pred, alone)


def test_cpu_fit_seeds_and_restores_only_the_cpu_generator(monkeypatch):
    # torch.manual_seed would seed every CUDA and MPS generator too; a CPU fit
    # has no business with them.
    calls = []

    def spy(name):
        def record(*args, **kwargs):
            calls.append(name)

        return record

    for name in ("manual_seed", "manual_seed_all", "seed", "seed_all"):
        monkeypatch.setattr(torch.cuda, name, spy(f"torch.cuda.{name}"))
    for name in ("set_rng_state", "set_rng_state_all", "get_rng_state", "get_rng_state_all"):
        monkeypatch.setattr(torch.cuda, name, spy(f"torch.cuda.{name}"))
    monkeypatch.setattr(torch.mps, "manual_seed", spy("torch.mps.manual_seed"))
    model = tiny(device="cpu", num_layers=2, dropout=0.5, max_epochs=2).fit(X3, Y)
    model.partial_fit(X3, Y)
    pickle.loads(pickle.dumps(model)).predict(X3)
    assert calls == []


# ---------------------------------------------------------------------------
# Persistence integrity
# ---------------------------------------------------------------------------


def _saved(model, how):
    buffer = io.BytesIO()
    if how == "joblib":
        joblib.dump(model, buffer)
    else:
        pickle.dump(model, buffer)
    return buffer.getvalue()


def _load(data, how):
    if how == "joblib":
        return joblib.load(io.BytesIO(data))
    return pickle.loads(data)


def _flipped(data, at, n=64):
    return data[:at] + bytes(b ^ 0xFF for b in data[at : at + n]) + data[at + n :]


@pytest.mark.parametrize("how", ["joblib", "pickle"])
def test_truncated_file_fails_to_load(fitted3, how):
    data = _saved(fitted3, how)
    with pytest.raises((EOFError, pickle.UnpicklingError, ValueError)):
        _load(data[: len(data) // 2], how)


def _stored_values(model):
    """Byte strings that a saved model stores as they are: weights, a
    parameter, a loss in the history (pickle writes floats big-endian)."""
    weights = model.module_.state_dict()["rnn.weight_hh_l0"].numpy().tobytes()
    loss = model.net_.history[0, "batches"][0]["train_loss"]
    return {
        "weights": (weights[:64], None),
        "parameter": (b"squared_error", b"squared_errox"),
        "history": (struct.pack(">d", loss), struct.pack(">d", loss + 1e-3)),
    }


@pytest.mark.parametrize("where", ["weights", "parameter", "history"])
@pytest.mark.parametrize("how", ["joblib", "pickle"])
def test_corrupted_file_is_a_clear_error(fitted3, how, where):
    # The saved state is plain data, checksummed: bytes damaged inside any
    # stored value load as another value, which the checksum refuses. (Damage
    # to pickle's own framing is refused by pickle itself; see the test below.)
    data = _saved(fitted3, how)
    stored, altered = _stored_values(fitted3)[where]
    at = data.index(stored)
    if altered is None:
        damaged = _flipped(data, at, n=len(stored))
    else:
        damaged = data[:at] + altered + data[at + len(stored) :]
    with pytest.raises(ValueError, match=r"(?i)corrupt"):
        _load(damaged, how)


@pytest.mark.parametrize("how", ["joblib", "pickle"])
def test_corrupted_file_never_loads_silently(fitted3, how):
    data = _saved(fitted3, how)
    expected = fitted3.predict(X3)
    for fraction in np.linspace(0.1, 0.9, 9):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                loaded = _load(_flipped(data, int(len(data) * fraction), n=16), how)
            except Exception:
                continue
        pytest.fail(
            f"bytes flipped at {fraction:.0%} of the file loaded without error; predictions "
            f"{'unchanged' if np.array_equal(loaded.predict(X3), expected) else 'CHANGED'}"
        )


def test_version_mismatch_warns(fitted3, monkeypatch):
    data = _saved(fitted3, "joblib")
    monkeypatch.setattr(sklearn_rnn._version, "__version__", "999.0")
    saved_with = re.escape(sklearn_rnn.__version__)
    with pytest.warns(
        InconsistentVersionWarning, match=rf"sklearn_rnn version {saved_with} when using .*999.0"
    ):
        loaded = _load(data, "joblib")
    assert_array_equal(loaded.predict(X3), fitted3.predict(X3))


# ---------------------------------------------------------------------------
# Long and large input
# ---------------------------------------------------------------------------


def test_sequences_of_5000_steps():
    X = RNG.normal(size=(3, 5000, 1)).astype(np.float32)
    X[1, :1000] = np.nan  # one sample is shorter
    y = np.array([0.0, 1.0, -1.0])
    model = tiny(cell="rnn").fit(X, y)
    pred = model.predict(X)
    assert pred.shape == (3,) and np.isfinite(pred).all()
    assert np.isfinite(model.predict(X[:, -100:])).all()


def test_million_row_windows_predict_within_memory():
    series = RNG.normal(size=(1_000_000, 1))
    windower = SequenceWindower(window=64).fit(series)
    model = tiny(cell="rnn").fit(windower.transform(series[:200]), series[:200, 0])
    tracemalloc.start()
    try:
        pred = model.predict(windower.transform(series))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert pred.shape == (1_000_000,) and np.isfinite(pred).all()
    window_copy = 64 * series.nbytes
    assert peak < window_copy / 4, f"peak {peak / 2**20:.0f} MiB"


def test_verbose_1_shows_a_progress_bar_on_stderr(capsys):
    tiny(verbose=1, max_epochs=2).fit(X3, Y)
    captured = capsys.readouterr()
    assert "2/2" in captured.err
    assert "train_loss" in captured.err
    assert captured.out == ""
