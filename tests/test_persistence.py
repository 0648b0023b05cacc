"""Persistence: the saved state is plain data (parameters, fitted attributes,
weights as numpy arrays; no pickle inside the pickle), so that process pools
pickle models of classes defined in ``__main__``, skops can list and load it, a
damaged file is refused, and the versions of every library it depends on are
checked on loading.
"""

import copy
import io
import pickle
import subprocess
import sys
import textwrap
import warnings
import zipfile

import numpy as np
import pytest
import sklearn
import skorch
import torch
from numpy.testing import assert_array_equal
from sklearn.exceptions import InconsistentVersionWarning
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

import sklearn_rnn
from sklearn_rnn import RNNRegressor, SequenceWindower

RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 5, 2))
X[:4, :2] = np.nan  # shorter sequences
Y = np.nan_to_num(X[:, -1, 0]) + 0.5 * X[:, -2, 1]


def tiny(**params):
    defaults = dict(hidden_size=4, max_epochs=2, batch_size=8, random_state=0)
    return RNNRegressor(**{**defaults, **params})


class LastStep(nn.Module):
    """A custom module defined at the top level of the test module."""

    def __init__(self, n_features, n_outputs, scale=1.0):
        super().__init__()
        self.head = nn.Linear(n_features, n_outputs)
        self.scale = scale

    def forward(self, X):
        return self.head(X[:, -1]) * self.scale


@pytest.fixture(scope="module")
def fitted():
    return tiny(early_stopping=True).fit(X, Y)


def _leaves(obj, path="state"):
    """Every leaf of a nested state with its path."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _leaves(value, f"{path}[{key!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from _leaves(value, f"{path}[{i}]")
    else:
        yield path, obj


# ------------------------------------------------------------- plain state


def test_saved_state_is_plain_data(fitted):
    state = fitted.__getstate__()
    kinds = {}
    for path, leaf in _leaves(state):
        assert not isinstance(leaf, (bytes, bytearray)), f"{path} is a pickled blob"
        assert not isinstance(leaf, (torch.Tensor, nn.Module, skorch.NeuralNet)), path
        kinds.setdefault(type(leaf), path)
    allowed = (type(None), bool, int, float, str, np.ndarray, np.generic)
    assert all(issubclass(kind, allowed) for kind in kinds), kinds
    weights = [path for path, leaf in _leaves(state) if isinstance(leaf, np.ndarray)]
    assert any("rnn.weight_ih_l0" in path for path in weights)
    assert "net_" not in state


@pytest.mark.parametrize("window_norm", [None, "standard", "log"])
def test_joblib_memory_mapped_load_predicts_identically_without_warnings(window_norm, tmp_path):
    import joblib

    series = np.cumsum(RNG.normal(size=120))
    if window_norm == "log":
        series = np.exp(series / 10)  # positive
    Xs, ys = sklearn_rnn.make_supervised(series)
    model = make_pipeline(
        StandardScaler(), SequenceWindower(6), tiny(window_norm=window_norm)
    ).fit(Xs, ys)
    joblib.dump(model, tmp_path / "model.joblib")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns of read-only arrays
        loaded = joblib.load(tmp_path / "model.joblib", mmap_mode="r")
        assert_array_equal(loaded.predict(Xs), model.predict(Xs))


def test_deepcopy_predicts_identically_and_trains_on(fitted):
    twin = copy.deepcopy(fitted)
    assert_array_equal(twin.predict(X), fitted.predict(X))
    assert twin.net_ is not fitted.net_
    assert twin.module_ is not fitted.module_
    twin.partial_fit(X, Y)
    assert twin.n_iter_ == fitted.n_iter_ + 1


def test_loading_leaves_the_callers_random_state_alone(fitted):
    data = pickle.dumps(fitted)
    torch.manual_seed(3)
    before = torch.get_rng_state().clone()
    pickle.loads(data)
    assert torch.equal(torch.get_rng_state(), before)


def test_warm_start_after_loading_continues_as_without_saving():
    model = tiny(warm_start=True, shuffle=False)
    model.fit(X, Y)
    loaded = pickle.loads(pickle.dumps(model))
    model.fit(X, Y)
    loaded.fit(X, Y)
    assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.loss_curve_ == model.loss_curve_


def test_unfitted_model_round_trips():
    model = tiny(module=LastStep, module_kwargs={"scale": 2.0})
    loaded = pickle.loads(pickle.dumps(model))
    assert loaded.get_params() == model.get_params()
    assert not hasattr(loaded, "net_")


# -------------------------------------------------------------- processes


def test_cross_val_score_in_processes_with_a_module_of_the_test_module():
    model = tiny(module=LastStep, module_kwargs={"scale": 0.5})
    parallel = cross_val_score(model, X, Y, cv=3, n_jobs=2)
    assert_array_equal(parallel, cross_val_score(model, X, Y, cv=3, n_jobs=1))


def test_cross_val_score_in_processes_with_a_module_defined_in_main(tmp_path):
    # Process pools pickle a class defined in __main__ by value (cloudpickle):
    # only possible when the state holds the class itself, not a nested pickle.
    script = textwrap.dedent(
        """
        import copy
        import numpy as np
        from numpy.testing import assert_array_equal
        from sklearn.model_selection import cross_val_score
        from torch import nn
        from sklearn_rnn import RNNRegressor

        class Local(nn.Module):
            def __init__(self, n_features, n_outputs):
                super().__init__()
                self.head = nn.Linear(n_features, n_outputs)

            def forward(self, X):
                return self.head(X[:, -1])

        if __name__ == "__main__":
            rng = np.random.default_rng(0)
            X = rng.normal(size=(30, 4, 2))
            y = X[:, -1, 0]
            model = RNNRegressor(module=Local, max_epochs=2, random_state=0)
            parallel = cross_val_score(model, X, y, cv=3, n_jobs=2)
            assert_array_equal(parallel, cross_val_score(model, X, y, cv=3, n_jobs=1))
            fitted = model.fit(X, y)
            assert_array_equal(copy.deepcopy(fitted).predict(X), fitted.predict(X))
            print("ok")
        """
    )
    path = tmp_path / "main_module.py"
    path.write_text(script)
    result = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"


# ------------------------------------------------------------------- skops


def _skops_round_trip(model, path):
    sio = pytest.importorskip("skops.io")
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    return sio, untrusted, sio.load(path, trusted=untrusted)


def test_skops_lists_only_the_library_types_and_loads(fitted, tmp_path):
    sio, untrusted, loaded = _skops_round_trip(fitted, tmp_path / "model.skops")
    assert untrusted == ["sklearn_rnn._regressor.RNNRegressor"]
    with zipfile.ZipFile(tmp_path / "model.skops") as archive:
        assert "BytesNode" not in archive.read("schema.json").decode()
    assert_array_equal(loaded.predict(X), fitted.predict(X))
    assert loaded.loss_curve_ == fitted.loss_curve_
    assert loaded.validation_loss_curve_ == fitted.validation_loss_curve_


def test_skops_pipeline(tmp_path):
    table = RNG.normal(size=(40, 2))
    pipeline = make_pipeline(StandardScaler(), SequenceWindower(window=4), tiny())
    pipeline.fit(table, table[:, 0])
    sio, untrusted, loaded = _skops_round_trip(pipeline, tmp_path / "pipeline.skops")
    assert set(untrusted) == {
        "sklearn_rnn._regressor.RNNRegressor",
        "sklearn_rnn._windowing.SequenceWindower",
    }
    assert_array_equal(loaded.predict(table), pipeline.predict(table))


def test_skops_loads_a_model_read_in_logarithms(tmp_path):
    series = np.exp(np.cumsum(RNG.normal(0.01, 0.05, size=150)))
    Xs, ys = sklearn_rnn.make_supervised(series)
    pipeline = make_pipeline(StandardScaler(), SequenceWindower(6), tiny(window_norm="log"))
    pipeline.fit(Xs, ys)
    sio, untrusted, loaded = _skops_round_trip(pipeline, tmp_path / "log.skops")
    assert set(untrusted) == {
        "sklearn_rnn._regressor.RNNRegressor",
        "sklearn_rnn._windowing.SequenceWindower",
    }
    assert loaded[-1].window_norm_ == "log"
    assert_array_equal(loaded.predict(Xs), pipeline.predict(Xs))


def test_skops_custom_module_is_listed_by_name(tmp_path):
    model = tiny(module=LastStep).fit(X, Y)
    sio, untrusted, loaded = _skops_round_trip(model, tmp_path / "model.skops")
    assert set(untrusted) == {"sklearn_rnn._regressor.RNNRegressor", f"{__name__}.LastStep"}
    assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_callback_saves_as_given_without_what_the_fit_built_in_it(tmp_path):
    from skorch.callbacks import LRScheduler

    scheduler = LRScheduler("StepLR", step_size=1, gamma=0.5)
    model = tiny(callbacks=[scheduler, ("halve", LRScheduler("StepLR", step_size=1))]).fit(X, Y)
    # The caller's callback is the one skorch trained with, as skorch leaves it;
    # its scheduler holds the optimizer and its tensors.
    assert hasattr(scheduler, "lr_scheduler_")
    data = pickle.dumps(model)
    assert b"torch.optim" not in data and b"torch.storage" not in data
    loaded = pickle.loads(data)
    assert not hasattr(loaded.callbacks[0], "lr_scheduler_")
    assert (loaded.callbacks[0].step_size, loaded.callbacks[0].gamma) == (1, 0.5)
    assert loaded.callbacks[1][0] == "halve"
    assert_array_equal(loaded.predict(X), model.predict(X))
    # Training goes on from the loaded model as from the fitted one.
    assert_array_equal(loaded.partial_fit(X, Y).predict(X), model.partial_fit(X, Y).predict(X))
    sio, untrusted, loaded = _skops_round_trip(model, tmp_path / "model.skops")
    assert "skorch.callbacks.lr_scheduler.LRScheduler" in untrusted
    assert_array_equal(loaded.predict(X), model.predict(X))


class Scaled(skorch.callbacks.Callback):
    """A callback with an attribute its user sets before the fit."""

    def on_epoch_end(self, net, **kwargs):
        self.total_ = getattr(self, "total_", 0) + self.factor_


def test_a_callbacks_own_attributes_are_saved():
    callback = Scaled()
    callback.factor_ = 5  # set by the user, before any fit
    model = tiny(warm_start=True, callbacks=[callback]).fit(X, Y)
    loaded = pickle.loads(pickle.dumps(model))
    assert loaded.callbacks[0].factor_ == 5
    assert not hasattr(loaded.callbacks[0], "total_")  # built by the fit
    loaded.fit(X, Y)  # it trains on with the callback as given


def test_skops_refuses_a_tampered_file(fitted, tmp_path):
    sio = pytest.importorskip("skops.io")
    path, tampered = tmp_path / "model.skops", tmp_path / "tampered.skops"
    sio.dump(fitted, path)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(tampered, "w") as target:
        changed = False
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.endswith(".npy") and not changed:
                array = np.load(io.BytesIO(data))
                if array.dtype == np.float32 and array.size > 4:
                    buffer = io.BytesIO()
                    np.save(buffer, array + 1)
                    data, changed = buffer.getvalue(), True
            target.writestr(item, data)
    assert changed
    with pytest.raises(ValueError, match=r"(?i)corrupt"):
        sio.load(tampered, trusted=sio.get_untrusted_types(file=tampered))


# ---------------------------------------------------------------- versions


def test_saved_state_records_every_version(fitted):
    state = fitted.__getstate__()
    assert state["_sklearn_rnn_version"] == sklearn_rnn.__version__
    assert state["_dependency_versions"] == {
        "torch": str(torch.__version__),
        "skorch": skorch.__version__,
        "scikit-learn": sklearn.__version__,
    }


@pytest.mark.parametrize(
    "module, name", [(torch, "torch"), (skorch, "skorch"), (sklearn, "scikit-learn")]
)
def test_a_dependency_of_another_version_warns_naming_it(fitted, monkeypatch, module, name):
    with monkeypatch.context() as patch:
        patch.setattr(module, "__version__", "0.0.1")
        data = pickle.dumps(fitted)
    with pytest.warns(InconsistentVersionWarning) as record:
        loaded = pickle.loads(data)
    (warning,) = [w for w in record if isinstance(w.message, InconsistentVersionWarning)]
    message = str(warning.message)
    assert f"{name} version 0.0.1 when using version {module.__version__}" in message
    assert "sklearn_rnn version" not in message
    assert warning.message.mismatches == {name: ("0.0.1", str(module.__version__))}
    assert_array_equal(loaded.predict(X), fitted.predict(X))


def test_same_versions_load_without_a_warning(fitted):
    data = pickle.dumps(fitted)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pickle.loads(data)
