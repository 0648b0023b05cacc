"""sklearn_rnn the way scikit-learn users use it: pipelines, model selection,
pandas, persistence and forecasting past the end of the data."""

import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import InconsistentVersionWarning
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

import sklearn_rnn
from sklearn_rnn import RNNRegressor, SequenceWindower, make_supervised

WINDOW = 8


def sine(n=240, noise=0.02, seed=0):
    """A noisy sine wave, period about 31 steps."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) * 0.2
    return np.sin(t) + noise * rng.normal(size=n)


def small_rnn(**params):
    defaults = dict(
        cell="gru", hidden_size=8, lr=0.02, max_epochs=25, batch_size=32, random_state=0
    )
    return RNNRegressor(**{**defaults, **params})


def recurrent_hidden_size(pipeline):
    """hidden_size of the recurrent layer inside a fitted pipeline's network."""
    module = pipeline.named_steps["rnnregressor"].module_
    layers = [m for m in module.modules() if isinstance(m, torch.nn.RNNBase)]
    assert len(layers) == 1
    return layers[0].hidden_size


def rnn_pipeline(window=WINDOW, **params):
    return make_pipeline(StandardScaler(), SequenceWindower(window=window), small_rnn(**params))


@pytest.fixture(scope="module")
def series():
    return sine()


@pytest.fixture(scope="module")
def supervised(series):
    return make_supervised(series)


@pytest.fixture(scope="module")
def fitted_pipeline(supervised):
    X, y = supervised
    return rnn_pipeline().fit(X, y)


# ---------------------------------------------------------------- model selection


def test_cross_val_score_with_time_series_split(supervised):
    X, y = supervised
    scores = cross_val_score(rnn_pipeline(), X, y, cv=TimeSeriesSplit(n_splits=3))
    assert scores.shape == (3,)
    # A sine wave one step ahead is easy: every fold must be learnt.
    assert np.all(scores > 0.8), scores


def test_grid_search_tunes_window_and_network(supervised):
    X, y = supervised
    grid = {
        "sequencewindower__window": [2, WINDOW],
        "rnnregressor__hidden_size": [4, 8],
    }
    search = GridSearchCV(rnn_pipeline(), grid, cv=TimeSeriesSplit(n_splits=2))
    search.fit(X, y)

    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_
    assert (
        best.named_steps["sequencewindower"].window
        == (search.best_params_["sequencewindower__window"])
    )
    hidden = search.best_params_["rnnregressor__hidden_size"]
    assert recurrent_hidden_size(best) == hidden
    assert search.predict(X).shape == y.shape
    assert search.score(X, y) > 0.8


def test_parallel_scores_equal_sequential_scores(supervised):
    X, y = supervised
    cv = TimeSeriesSplit(n_splits=2)
    pipe = rnn_pipeline(max_epochs=10)
    sequential = cross_val_score(pipe, X, y, cv=cv, n_jobs=1)
    parallel = cross_val_score(pipe, X, y, cv=cv, n_jobs=2)
    assert_array_equal(parallel, sequential)

    grid = {"sequencewindower__window": [2, 4]}
    results = [
        GridSearchCV(pipe, grid, cv=cv, n_jobs=n_jobs).fit(X, y).cv_results_ for n_jobs in (1, 2)
    ]
    assert_array_equal(results[1]["mean_test_score"], results[0]["mean_test_score"])


# --------------------------------------------------------- clone and set_params


def test_clone_and_set_params(fitted_pipeline, supervised):
    X, y = supervised
    copy = clone(fitted_pipeline)
    assert not hasattr(copy.named_steps["rnnregressor"], "net_")
    assert copy.get_params()["rnnregressor__hidden_size"] == 8

    copy.set_params(sequencewindower__window=3, rnnregressor__hidden_size=5)
    assert copy.named_steps["sequencewindower"].window == 3
    assert copy.named_steps["rnnregressor"].hidden_size == 5
    # The original is untouched.
    assert fitted_pipeline.named_steps["rnnregressor"].hidden_size == 8

    copy.fit(X, y)
    assert recurrent_hidden_size(copy) == 5
    assert copy.predict(X).shape == y.shape


def test_same_random_state_gives_the_same_pipeline(fitted_pipeline, supervised):
    X, y = supervised
    refit = clone(fitted_pipeline).fit(X, y)
    assert_array_equal(refit.predict(X), fitted_pipeline.predict(X))


def test_transformed_target_regressor_around_the_pipeline(series):
    # A target on a large offset scale; the wrapper standardises it instead of
    # the regressor (scale_y=False).
    X, y = make_supervised(1000 + 50 * series)
    model = TransformedTargetRegressor(
        regressor=rnn_pipeline(scale_y=False), transformer=StandardScaler()
    )
    model.fit(X, y)
    y_pred = model.predict(X)
    assert y_pred.shape == y.shape
    assert r2_score(y, y_pred) > 0.8
    assert model.regressor_.named_steps["rnnregressor"].n_outputs_ == 1


# ------------------------------------------------------------ multi-step targets


def test_multi_step_targets_without_multioutput_regressor(series):
    X, Y = make_supervised(series, n_steps=3)
    assert Y.shape == (len(series) - 3, 3)
    model = rnn_pipeline(max_epochs=40).fit(X, Y)
    assert model.named_steps["rnnregressor"].n_outputs_ == 3
    Y_pred = model.predict(X)
    assert Y_pred.shape == Y.shape
    for step in range(3):
        assert r2_score(Y[:, step], Y_pred[:, step]) > 0.8, step


# --------------------------------------------------------------------- pandas


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(1)
    n = 240
    t = np.arange(n) * 0.2
    driver = np.sin(t)
    return pd.DataFrame(
        {
            "load": 10 + 3 * np.roll(driver, 2) + 0.1 * rng.normal(size=n),
            "temperature": 5 + 2 * driver,
            "noise": rng.normal(size=n),
        },
        index=pd.date_range("2024-01-01", periods=n, freq="h"),
    )


def test_pandas_end_to_end(frame):
    X, Y = make_supervised(frame, n_steps=2, target="load")
    assert list(Y.columns) == ["load_h1", "load_h2"]
    assert X.index.equals(Y.index)

    model = rnn_pipeline(max_epochs=40).fit(X, Y)
    assert_array_equal(model.feature_names_in_, frame.columns)
    # The names travel through the scaler and label the windows' last axis.
    assert_array_equal(model[:-1].get_feature_names_out(), frame.columns)
    Y_pred = model.predict(X)
    assert Y_pred.shape == Y.shape
    assert r2_score(Y, Y_pred) > 0.8

    # Columns in another order are an error, not silently wrong predictions.
    with pytest.raises(ValueError, match="feature names"):
        model.predict(X[["temperature", "load", "noise"]])


def test_pandas_grid_search_and_flattened_lags(frame):
    X, y = make_supervised(frame, target="load")
    assert isinstance(y, pd.Series)
    search = GridSearchCV(
        rnn_pipeline(max_epochs=10),
        {"sequencewindower__window": [2, 4]},
        cv=TimeSeriesSplit(n_splits=2),
    ).fit(X, y)
    assert search.predict(X).shape == (len(X),)

    # The linear baseline on flattened windows, with named lag columns.
    ridge = make_pipeline(
        StandardScaler(), SequenceWindower(window=3, flatten=True, padding="edge"), Ridge()
    ).set_output(transform="pandas")
    ridge.fit(X, y)
    lags = ridge[:-1].transform(X)
    assert isinstance(lags, pd.DataFrame)
    assert list(lags.columns[:3]) == ["load_lag2", "temperature_lag2", "noise_lag2"]
    assert list(lags.columns[-3:]) == ["load_lag0", "temperature_lag0", "noise_lag0"]
    assert ridge.score(X, y) > 0.8


def test_html_repr_names_the_steps(fitted_pipeline):
    html = fitted_pipeline._repr_html_()
    for name in ("StandardScaler", "SequenceWindower", "RNNRegressor"):
        assert name in html
    assert "RNNRegressor" in RNNRegressor()._repr_html_()


# ----------------------------------------------------------------- persistence


def test_pipeline_loaded_in_a_fresh_process_predicts_the_same(
    fitted_pipeline, supervised, tmp_path
):
    X, _ = supervised
    joblib.dump(fitted_pipeline, tmp_path / "model.joblib")
    np.save(tmp_path / "X.npy", X)
    script = textwrap.dedent(
        """
        import sys
        import joblib
        import numpy as np

        folder = sys.argv[1]
        model = joblib.load(folder + "/model.joblib")
        np.save(folder + "/pred.npy", model.predict(np.load(folder + "/X.npy")))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert_array_equal(np.load(tmp_path / "pred.npy"), fitted_pipeline.predict(X))


def _set_version(monkeypatch, version):
    monkeypatch.setattr(sklearn_rnn, "__version__", version)
    monkeypatch.setattr(sklearn_rnn._version, "__version__", version)


def test_pickle_loaded_under_the_same_version_does_not_warn(fitted_pipeline, tmp_path):
    joblib.dump(fitted_pipeline, tmp_path / "model.joblib")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        joblib.load(tmp_path / "model.joblib")


def test_pickle_loaded_under_another_version_warns(
    fitted_pipeline, supervised, tmp_path, monkeypatch
):
    X, _ = supervised
    path = tmp_path / "model.joblib"
    joblib.dump(fitted_pipeline, path)
    current = sklearn_rnn.__version__

    _set_version(monkeypatch, "999.0.0")
    with pytest.warns(InconsistentVersionWarning) as record:
        loaded = joblib.load(path)
    message = str(record[0].message)
    assert current in message and "999.0.0" in message
    assert "RNNRegressor" in message
    # A warning, not a refusal: the model still predicts.
    assert_array_equal(loaded.predict(X), fitted_pipeline.predict(X))


def test_pickle_records_the_version_it_was_saved_with(fitted_pipeline, tmp_path, monkeypatch):
    path = tmp_path / "model.joblib"
    with monkeypatch.context() as patch:
        _set_version(patch, "0.0.1")
        joblib.dump(fitted_pipeline, path)
    with pytest.warns(InconsistentVersionWarning, match="0.0.1"):
        joblib.load(path)


# --------------------------------------------------------- forecasting the future


def test_last_row_prediction_is_the_next_value():
    full = sine(n=241)
    observed, truth = full[:-1], full[-1]  # the last value stays unseen
    X, y = make_supervised(observed)
    model = rnn_pipeline(max_epochs=40).fit(X, y)

    history = observed.reshape(-1, 1)
    forecast = model.predict(history)[-1]
    assert abs(forecast - truth) < 0.15

    # Row t's prediction is the forecast made at time t: on the rows of
    # make_supervised it lines up with y, one step later. (float32 batches of
    # other sizes may round the last digit differently; a misalignment by one
    # row would differ by ~0.1.)
    assert_allclose(model.predict(history)[:-1], model.predict(X), rtol=1e-5, atol=1e-6)
    # Only the last `window` observations matter for the next value.
    assert_allclose(model.predict(history[-WINDOW:])[-1], forecast, rtol=1e-5)


def test_last_row_prediction_is_the_next_path(frame):
    horizon = 3
    observed, future = frame.iloc[:-horizon], frame["load"].iloc[-horizon:]
    X, Y = make_supervised(observed, n_steps=horizon, target="load")
    model = rnn_pipeline(max_epochs=40).fit(X, Y)

    path = model.predict(observed.iloc[-WINDOW:])[-1]
    assert path.shape == (horizon,)
    assert np.abs(path - future.to_numpy()).max() < 0.6  # load swings by +-3


def test_pipeline_object_is_a_plain_sklearn_pipeline(fitted_pipeline):
    assert isinstance(fitted_pipeline, Pipeline)
    assert [name for name, _ in fitted_pipeline.steps] == [
        "standardscaler",
        "sequencewindower",
        "rnnregressor",
    ]
