"""Tests for :class:`sklearn_rnn.SequenceWindower`.

The windower's promise is alignment: ``out[t]`` holds rows ``t - window + 1 .. t``
of ``X`` and ``out[t, -1]`` is row ``t``, so ``y`` stays aligned inside a
Pipeline. Most tests therefore compare whole outputs against windows written
out by hand, and the property tests check the same invariants on random shapes.
scikit-learn's own estimator checks live in ``test_common.py``.
"""

import pickle
import re
import tracemalloc
import warnings

import dateutil.tz
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn import config_context
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.model_selection import TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_rnn import SequenceWindower

NAN = np.nan

# Rows are (0, 1), (2, 3), (4, 5), (6, 7): every value tells which row and
# feature it came from, so a misaligned window cannot pass by accident.
X4 = np.arange(8.0).reshape(4, 2)

# SequenceWindower(window=3).transform(X4), written out by hand.
EXPECTED_NAN = np.array(
    [
        [[NAN, NAN], [NAN, NAN], [0, 1]],
        [[NAN, NAN], [0, 1], [2, 3]],
        [[0, 1], [2, 3], [4, 5]],
        [[2, 3], [4, 5], [6, 7]],
    ]
)
EXPECTED_ZERO = np.nan_to_num(EXPECTED_NAN, nan=0.0)
EXPECTED_EDGE = np.array(
    [
        [[0, 1], [0, 1], [0, 1]],
        [[0, 1], [0, 1], [2, 3]],
        [[0, 1], [2, 3], [4, 5]],
        [[2, 3], [4, 5], [6, 7]],
    ],
    dtype=float,
)


def _owner(array):
    """The ndarray that owns the memory behind a chain of views.

    ``as_strided`` puts a non-ndarray holder in the chain, so follow ``.base``
    through any object and keep the last ndarray seen.
    """
    owner = array
    while getattr(array, "base", None) is not None:
        array = array.base
        if isinstance(array, np.ndarray):
            owner = array
    return owner


# --------------------------------------------------------------------------
# Values and alignment
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "padding, expected",
    [("nan", EXPECTED_NAN), ("zero", EXPECTED_ZERO), ("edge", EXPECTED_EDGE)],
)
def test_windows_match_hand_computed(padding, expected):
    out = SequenceWindower(window=3, padding=padding).fit_transform(X4)
    assert out.shape == (4, 3, 2)
    np.testing.assert_array_equal(out, expected)


def test_default_padding_is_nan():
    out = SequenceWindower(window=3).fit_transform(X4)
    np.testing.assert_array_equal(out, EXPECTED_NAN)


def test_last_step_is_current_row_and_window_ends_at_t():
    X = np.arange(30.0).reshape(10, 3)
    out = SequenceWindower(window=4).fit_transform(X)
    np.testing.assert_array_equal(out[:, -1], X)
    for t in range(3, 10):
        np.testing.assert_array_equal(out[t], X[t - 3 : t + 1])


def test_window_one_is_the_input_with_a_time_axis():
    out = SequenceWindower(window=1).fit_transform(X4)
    np.testing.assert_array_equal(out, X4[:, None, :])


def test_window_longer_than_input_pads_every_row():
    out = SequenceWindower(window=6, padding="zero").fit_transform(X4)
    assert out.shape == (4, 6, 2)
    # Row 0 has five missing steps, row 3 has two.
    np.testing.assert_array_equal(out[0, :5], 0.0)
    np.testing.assert_array_equal(out[3, :2], 0.0)
    np.testing.assert_array_equal(out[3, 2:], X4)


@pytest.mark.parametrize("padding", ["nan", "zero", "edge"])
def test_single_row_input(padding):
    X = np.array([[5.0, -1.0]])
    out = SequenceWindower(window=3, padding=padding).fit_transform(X)
    fill = {"nan": [NAN, NAN], "zero": [0.0, 0.0], "edge": [5.0, -1.0]}[padding]
    np.testing.assert_array_equal(out, np.array([[fill, fill, [5.0, -1.0]]]))


def test_edge_padding_repeats_first_row_of_the_block_given():
    # With history="none" the edge is the first row of the block passed to
    # transform, not the first row seen in fit: windows never reach outside
    # the block.
    win = SequenceWindower(window=3, padding="edge", history="none").fit(X4)
    out = win.transform(X4[2:])
    np.testing.assert_array_equal(out[0], [[4, 5], [4, 5], [4, 5]])
    np.testing.assert_array_equal(out[1], [[4, 5], [4, 5], [6, 7]])


@pytest.mark.parametrize("padding", ["nan", "zero", "edge"])
def test_history_none_pads_the_first_rows_of_a_new_block(padding):
    X = np.arange(20.0).reshape(10, 2)
    win = SequenceWindower(window=3, padding=padding, history="none").fit(X)
    block = X[6:]
    out = win.transform(block)
    np.testing.assert_array_equal(
        out, SequenceWindower(window=3, padding=padding).fit_transform(block)
    )
    if padding == "nan":
        # Rows 4 and 5 of X exist but are not part of the block.
        assert np.isnan(out[0, :2]).all()
        assert np.isnan(out[1, 0]).all()
    np.testing.assert_array_equal(out[2], block[0:3])


def test_history_none_windows_unseen_rows_with_only_those_rows():
    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(12, 2)), rng.normal(size=(5, 2))
    win = SequenceWindower(window=4, padding="zero", history="none").fit(train)
    out = win.transform(test)
    np.testing.assert_array_equal(out[:, -1], test)
    np.testing.assert_array_equal(out[4], test[1:5])
    np.testing.assert_array_equal(out[0, :3], 0.0)


def test_input_is_not_modified_and_output_does_not_alias_it():
    X = X4.copy()
    out = SequenceWindower(window=3, padding="edge").fit_transform(X)
    np.testing.assert_array_equal(X, X4)
    # The windows read a padded copy, so editing X later cannot change them.
    assert not np.shares_memory(out, X)
    X[:] = -1
    np.testing.assert_array_equal(out, EXPECTED_EDGE)


# --------------------------------------------------------------------------
# flatten=True
# --------------------------------------------------------------------------


def test_flatten_oldest_step_first_hand_computed():
    out = SequenceWindower(window=2, flatten=True).fit_transform(X4)
    expected = np.array(
        [
            [NAN, NAN, 0, 1],
            [0, 1, 2, 3],
            [2, 3, 4, 5],
            [4, 5, 6, 7],
        ]
    )
    assert out.shape == (4, 4)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("padding", ["nan", "zero", "edge"])
def test_flatten_is_reshape_of_3d(padding):
    X = np.arange(21.0).reshape(7, 3)
    out3 = SequenceWindower(window=3, padding=padding).fit_transform(X)
    out2 = SequenceWindower(window=3, padding=padding, flatten=True).fit_transform(X)
    np.testing.assert_array_equal(out2, out3.reshape(7, 9))
    # The last n_features columns are lag 0: the current row.
    np.testing.assert_array_equal(out2[:, -3:], X)


@pytest.mark.parametrize("make_regressor", [Ridge, HistGradientBoostingRegressor])
def test_flatten_output_feeds_plain_scikit_learn_regressors(make_regressor):
    # The reason flatten exists: lag windows for any regressor, in a Pipeline,
    # with the zero padding (or an imputer) taking care of the first rows.
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    X = x.reshape(-1, 1)
    y = np.r_[0.0, x[:-1]]  # y[t] = x[t - 1]: a lag the window can see
    model = make_pipeline(
        SequenceWindower(window=3, flatten=True),
        SimpleImputer(strategy="constant", fill_value=0.0),
        StandardScaler(copy=False),
        make_regressor(),
    )
    assert model.fit(X, y).score(X, y) > 0.9


# --------------------------------------------------------------------------
# history="auto": a block that follows the fitted rows continues from them
# --------------------------------------------------------------------------

# Row i is (2i, 2i + 1).
X10 = np.arange(20.0).reshape(10, 2)


def test_history_block_after_the_fitted_rows_hand_computed():
    # Fitted on rows 0..5 (a training fold), then rows 6..9 (the test fold of
    # TimeSeriesSplit with gap=0): the first windows reach rows 4 and 5.
    win = SequenceWindower(window=3).fit(X10[:6])
    expected = np.array(
        [
            [[8, 9], [10, 11], [12, 13]],
            [[10, 11], [12, 13], [14, 15]],
            [[12, 13], [14, 15], [16, 17]],
            [[14, 15], [16, 17], [18, 19]],
        ],
        dtype=float,
    )
    np.testing.assert_array_equal(win.transform(X10[6:]), expected)
    np.testing.assert_array_equal(win.tail_, X10[4:6])
    # The same block windowed alone, as history="none" does, is padded.
    alone = SequenceWindower(window=3, history="none").fit(X10[:6]).transform(X10[6:])
    assert np.isnan(alone[:2, 0]).all()


@pytest.mark.parametrize("padding", ["nan", "zero", "edge"])
@pytest.mark.parametrize("window", [1, 2, 5, 8])
def test_history_time_series_split_folds_equal_whole_series_windows(window, padding):
    # The windows cross-validation sees are those of the whole series at the
    # same rows: no fold is padded where the series has history.
    X = np.random.default_rng(0).normal(size=(40, 3))
    whole = SequenceWindower(window, padding=padding).fit_transform(X)
    for train, test in TimeSeriesSplit(n_splits=4).split(X):
        win = SequenceWindower(window, padding=padding).fit(X[train])
        np.testing.assert_array_equal(win.transform(X[train]), whole[train])
        np.testing.assert_array_equal(win.transform(X[test]), whole[test])


@pytest.mark.parametrize("padding", ["nan", "zero", "edge"])
def test_history_fit_transform_equals_fit_then_transform(padding):
    for X in (X10, pd.DataFrame(X10, columns=["a", "b"])):
        win = SequenceWindower(window=4, padding=padding)
        np.testing.assert_array_equal(win.fit_transform(X), win.fit(X).transform(X))


def test_history_training_rows_again_are_windowed_as_in_fit():
    # Transforming the fitted rows again must not put their own tail in
    # front of them: they are the fitted series, padded at its start.
    win = SequenceWindower(window=3).fit(X4)
    np.testing.assert_array_equal(win.transform(X4), EXPECTED_NAN)
    np.testing.assert_array_equal(win.transform(X4.astype(np.float32)), EXPECTED_NAN)


def test_history_predicting_the_training_rows_again_equals_fit_transform():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(60, 2)), rng.normal(size=60)
    model = make_pipeline(SequenceWindower(window=4, flatten=True, padding="edge"), Ridge())
    model.fit(X, y)
    windows = SequenceWindower(window=4, flatten=True, padding="edge").fit_transform(X)
    np.testing.assert_allclose(model.predict(X), Ridge().fit(windows, y).predict(windows))


@pytest.mark.parametrize("padding", ["nan", "zero", "edge"])
def test_history_whole_series_from_its_first_row(padding):
    # Fitted on the first rows, then given the whole series (the fitted rows
    # and what followed them): the windows of the series itself.
    win = SequenceWindower(window=3, padding=padding).fit(X10[:6])
    np.testing.assert_array_equal(
        win.transform(X10), SequenceWindower(window=3, padding=padding).fit_transform(X10)
    )


def test_history_new_rows_to_forecast():
    win = SequenceWindower(window=4).fit(X10[:9])
    np.testing.assert_array_equal(win.transform(X10[9:]), X10[None, 6:10])


@pytest.mark.parametrize(
    "padding, fill", [("nan", [NAN, NAN]), ("zero", [0.0, 0.0]), ("edge", [0.0, 1.0])]
)
def test_history_shorter_than_window_pads_before_the_first_fitted_row(padding, fill):
    # Two fitted rows are all the history there is; the steps before them
    # are padding, and "edge" repeats the first known row: fitted row 0.
    win = SequenceWindower(window=5, padding=padding).fit(X10[:2])
    expected = np.array(
        [
            [fill, fill, [0, 1], [2, 3], [4, 5]],
            [fill, [0, 1], [2, 3], [4, 5], [6, 7]],
        ]
    )
    np.testing.assert_array_equal(win.transform(X10[2:4]), expected)


def test_history_arrays_in_another_float_precision_are_the_fitted_rows():
    # The training rows again, in the other precision: no history, as for
    # the rows in their fitted dtype (the networks compute in float32).
    X = np.random.default_rng(0).normal(size=(10, 2))
    for fitted, other in [(X, X.astype(np.float32)), (X.astype(np.float32), X)]:
        win = SequenceWindower(window=3).fit(fitted)
        np.testing.assert_allclose(win.transform(other), win.transform(fitted), rtol=1e-6)
        assert np.isnan(win.transform(other)[0, :2]).all()
        # And a block after them still follows them.
        assert not np.isnan(win.transform(other[:4])[0]).any()


def test_history_arrays_beyond_float32_range_transform_without_warnings():
    # float64 rows beyond float32's range are compared in float32 (inf)
    # without numpy's overflow warning, in transform as in fit.
    X = np.array([[1e39, 1.0], [2.0, 3.0], [4.0, 5.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        win = SequenceWindower(window=2).fit(X)
        out = win.transform(X)
        after = win.transform(np.array([[6.0, 7.0]]))
    assert np.isnan(out[0, 0]).all()
    np.testing.assert_array_equal(after[0], [[4.0, 5.0], [6.0, 7.0]])


def test_history_arrays_rule_reads_a_fingerprint_saved_in_the_fitted_dtype():
    import hashlib

    X = np.random.default_rng(0).normal(size=(10, 2))
    win = SequenceWindower(window=3).fit(X)
    # As models saved before the rows were compared in float32 hold it.
    win.fingerprint_ = hashlib.sha256(np.ascontiguousarray(X)).hexdigest()
    np.testing.assert_array_equal(win.transform(X), SequenceWindower(window=3).fit_transform(X))


def test_history_arrays_after_a_gap_are_taken_to_follow():
    # The documented limit of the array rule: a block that does not start
    # with the fitted rows is taken to follow them directly, even after a gap.
    win = SequenceWindower(window=3).fit(X10[:4])
    np.testing.assert_array_equal(win.transform(X10[6:])[0], [[4, 5], [6, 7], [12, 13]])
    # The fix, for arrays: history="none" (or pandas with an index).
    alone = clone(win).set_params(history="none").fit(X10[:4]).transform(X10[6:])
    assert np.isnan(alone[0, :2]).all()


def _frames():
    # The same ten rows under the index kinds that place a block.
    return {
        "range": pd.DataFrame(X10, columns=["a", "b"]),
        "range-step-5": pd.DataFrame(X10, columns=["a", "b"], index=pd.RangeIndex(0, 50, 5)),
        "integers": pd.DataFrame(X10, columns=["a", "b"], index=np.arange(1990, 2000)),
        "daily": pd.DataFrame(
            X10, columns=["a", "b"], index=pd.date_range("2024-01-01", periods=10, freq="D")
        ),
        "hourly-tz": pd.DataFrame(
            X10,
            columns=["a", "b"],
            index=pd.date_range("2024-03-30", periods=10, freq="h", tz="Europe/Paris"),
        ),
        # Daily across a change of clocks: the fitted rows end on 31 March,
        # whose next midnight is 23 hours later.
        "daily-tz-clock-change": pd.DataFrame(
            X10,
            columns=["a", "b"],
            index=pd.date_range("2024-03-27", periods=10, freq="D", tz="Europe/Paris"),
        ),
        # Clocks that change at midnight: the label after 10 September is
        # 11 September at 01:00.
        "daily-tz-midnight-clock-change": pd.DataFrame(
            X10,
            columns=["a", "b"],
            index=pd.date_range(
                "2022-09-06",
                periods=10,
                freq="D",
                tz="America/Santiago",
                nonexistent="shift_forward",
            ),
        ),
        # The fitted rows end on that moved label (11 September, 01:00): the
        # next one is back at midnight.
        "daily-tz-after-a-moved-midnight": pd.DataFrame(
            X10,
            columns=["a", "b"],
            index=pd.date_range(
                "2022-09-07",
                periods=10,
                freq="D",
                tz="America/Santiago",
                nonexistent="shift_forward",
            ),
        ),
        # Fixed offsets of dateutil (as its parser gives), which have no name
        # pandas can read back.
        "hourly-tz-dateutil-utc": pd.DataFrame(
            X10,
            columns=["a", "b"],
            index=pd.date_range("2024-01-01", periods=10, freq="h", tz=dateutil.tz.tzutc()),
        ),
        "hourly-tz-dateutil-offset": pd.DataFrame(
            X10,
            columns=["a", "b"],
            index=pd.date_range(
                "2024-01-01", periods=10, freq="h", tz=dateutil.tz.tzoffset(None, 3600)
            ),
        ),
        # Frequencies no string names: weeks on any weekday (here Wednesdays),
        # and a DateOffset of two months.
        "weekly-any-weekday": pd.DataFrame(
            X10,
            columns=["a", "b"],
            index=pd.date_range("2020-01-01", periods=10, freq=pd.offsets.Week()),
        ),
        "two-monthly-dateoffset": pd.DataFrame(
            X10,
            columns=["a", "b"],
            index=pd.date_range("2020-01-01", periods=10, freq=pd.DateOffset(months=2)),
        ),
        # No freq set (as read_csv gives): inferred from the labels.
        "monthly-no-freq": pd.DataFrame(
            X10,
            columns=["a", "b"],
            index=pd.DatetimeIndex(list(pd.date_range("2020-01-31", periods=10, freq="ME"))),
        ),
    }


@pytest.mark.parametrize("kind", list(_frames()))
def test_history_pandas_index_places_the_block(kind):
    df = _frames()[kind]
    whole = SequenceWindower(window=3).fit_transform(X10)
    win = SequenceWindower(window=3).fit(df.iloc[:5])
    assert win.fit_index_ is not None
    # Follows: the first label is the one after the fitted last label.
    np.testing.assert_array_equal(win.transform(df.iloc[5:]), whole[5:])
    # Starts at the fitted first label: the fitted series (continued).
    np.testing.assert_array_equal(win.transform(df), whole)
    # A gap, or a part of the fitted rows: the index says it does not follow,
    # so the block is padded, as with history="none".
    for block in (df.iloc[7:], df.iloc[2:5]):
        np.testing.assert_array_equal(
            win.transform(block), SequenceWindower(window=3).fit_transform(block.to_numpy())
        )


def test_history_pandas_time_series_split_with_gap_pads_test_folds():
    df = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 2)), columns=["a", "b"])
    whole = SequenceWindower(window=4).fit_transform(df)
    for gap, follows in [(0, True), (3, False)]:
        for train, test in TimeSeriesSplit(n_splits=3, gap=gap).split(df):
            win = SequenceWindower(window=4).fit(df.iloc[train])
            out = win.transform(df.iloc[test])
            alone = SequenceWindower(window=4).fit_transform(df.iloc[test])
            np.testing.assert_array_equal(out, whole[test] if follows else alone)


def test_history_pandas_frequency_no_string_names_falls_back_to_the_array_rule():
    # Two months from the 15th: pandas names no such frequency, nor infers
    # one from the labels, so the values decide (here: the block follows).
    index = pd.date_range("2020-01-15", periods=10, freq=pd.DateOffset(months=2))
    df = pd.DataFrame(X10, columns=["a", "b"], index=index)
    win = SequenceWindower(window=3).fit(df.iloc[:5])
    assert win.fit_index_ is None
    np.testing.assert_array_equal(win.transform(df.iloc[5:])[0], X10[3:6])


def test_history_pandas_index_of_another_kind_falls_back_to_the_array_rule():
    daily = _frames()["daily"]
    win = SequenceWindower(window=3).fit(daily.iloc[:5])
    following = pd.DataFrame(X10[5:], columns=["a", "b"])  # a RangeIndex from 0
    np.testing.assert_array_equal(win.transform(following)[0], X10[3:6])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        np.testing.assert_array_equal(win.transform(X10[5:])[0], X10[3:6])
    # Nor can a MultiIndex (one entity of a panel, as make_supervised keeps it).
    panel = pd.DataFrame(
        X10,
        columns=["a", "b"],
        index=pd.MultiIndex.from_product(
            [["store1"], pd.date_range("2024-01-01", periods=10, freq="D")]
        ),
    )
    win = SequenceWindower(window=3).fit(panel.iloc[:5])
    assert win.fit_index_ is None
    np.testing.assert_array_equal(win.transform(panel.iloc[5:])[0], X10[3:6])
    # A string index cannot place a block either.
    labelled = pd.DataFrame(X10, columns=["a", "b"], index=list("abcdefghij"))
    win = SequenceWindower(window=3).fit(labelled.iloc[:5])
    assert win.fit_index_ is None
    np.testing.assert_array_equal(win.transform(labelled.iloc[5:])[0], X10[3:6])


@pytest.mark.parametrize("padding", ["nan", "zero", "edge"])
def test_history_none_is_the_block_only_behaviour(padding):
    win = SequenceWindower(window=3, padding=padding, history="none").fit(X10[:6])
    # Rows 6..9 of X10 are the rows of X4 plus 12, windowed as if nothing
    # came before them.
    expected = {
        "nan": EXPECTED_NAN + 12,
        "zero": np.nan_to_num(EXPECTED_NAN + 12, nan=0.0),
        "edge": EXPECTED_EDGE + 12,
    }[padding]
    np.testing.assert_array_equal(win.transform(X10[6:]), expected)


@pytest.mark.parametrize("padding", ["edge", "zero"])
def test_history_pipeline_cv_scores_equal_scores_on_whole_series_windows(padding):
    # Cross-validating the pipeline scores each test fold on the windows the
    # whole series has at those rows: padding no longer biases the folds.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 1))
    y = np.r_[np.zeros(4), x[:-4, 0]] + 0.1 * rng.normal(size=300)  # y[t] ~ x[t - 4]
    cv = TimeSeriesSplit(n_splits=4)
    model = make_pipeline(SequenceWindower(5, flatten=True, padding=padding), Ridge())
    windows = SequenceWindower(5, flatten=True, padding=padding).fit_transform(x)
    expected = [
        Ridge().fit(windows[train], y[train]).score(windows[test], y[test])
        for train, test in cv.split(x)
    ]
    np.testing.assert_allclose(cross_val_score(model, x, y, cv=cv), expected, rtol=1e-12)


def test_history_output_is_one_padded_copy_about_the_input_size():
    n, n_features, window = 100_000, 4, 200
    X = np.random.default_rng(0).normal(size=(n + 1_000, n_features))
    train, block = X[:1_000], X[1_000:].copy()
    win = SequenceWindower(window=window).fit(train)
    tracemalloc.start()
    try:
        out = win.transform(block)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.shape == (n, window, n_features)
    assert not out.flags.writeable
    assert _owner(out).size == (n + window - 1) * n_features
    assert peak < 2 * block.nbytes, f"peak {peak / 1e6:.1f} MB"
    np.testing.assert_array_equal(out[0], X[1_000 - window + 1 : 1_001])
    np.testing.assert_array_equal(out[:, -1], block)


def test_history_survives_pickling_as_plain_data():
    daily = _frames()["daily"]
    for fitted, following in [(X10[:6], X10[6:]), (daily.iloc[:6], daily.iloc[6:])]:
        win = SequenceWindower(window=3, padding="zero").fit(fitted)
        data = pickle.dumps(win)
        # Plain numpy and python state: no pandas object is saved.
        assert b"pandas" not in data
        loaded = pickle.loads(data)
        np.testing.assert_array_equal(loaded.transform(following), win.transform(following))
        np.testing.assert_array_equal(loaded.transform(following)[0, 0], X10[4])
        np.testing.assert_array_equal(loaded.transform(fitted), win.transform(fitted))


def test_history_clone_is_unfitted():
    win = SequenceWindower(window=3).fit(X10)
    with pytest.raises(NotFittedError):
        clone(win).transform(X10)


def test_history_follows_with_another_float_dtype():
    win = SequenceWindower(window=3).fit(X10[:6].astype(np.float32))
    assert win.tail_.dtype == np.float32
    out = win.transform(X10[6:])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[0], X10[4:7])


@pytest.mark.parametrize("history", ["all", "None", None, True])
def test_bad_history_rejected(history):
    with pytest.raises((ValueError, TypeError), match="'history' parameter .* among"):
        SequenceWindower(window=2, history=history).fit(X4)


# --------------------------------------------------------------------------
# flatten=True with models that reject NaN
# --------------------------------------------------------------------------


def test_flatten_nan_padding_with_ridge_fails_and_edge_padding_is_the_fix():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(80, 2)), rng.normal(size=80)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        make_pipeline(SequenceWindower(window=5, flatten=True), Ridge()).fit(X, y)
    for padding in ("edge", "zero"):
        make_pipeline(SequenceWindower(window=5, flatten=True, padding=padding), Ridge()).fit(X, y)
    # With history, a test fold that follows its training fold has no
    # padding at all, whatever the padding setting.
    win = SequenceWindower(window=5, flatten=True).fit(X[:40])
    assert not np.isnan(win.transform(X[40:])).any()


# --------------------------------------------------------------------------
# Feature names and pandas
# --------------------------------------------------------------------------


def test_feature_names_out_flatten_lags_from_oldest():
    win = SequenceWindower(window=3, flatten=True).fit(X4)
    np.testing.assert_array_equal(
        win.get_feature_names_out(),
        ["x0_lag2", "x1_lag2", "x0_lag1", "x1_lag1", "x0_lag0", "x1_lag0"],
    )


def test_feature_names_out_flatten_with_dataframe_names():
    df = pd.DataFrame(X4, columns=["price", "volume"])
    win = SequenceWindower(window=2, flatten=True).fit(df)
    np.testing.assert_array_equal(win.feature_names_in_, ["price", "volume"])
    np.testing.assert_array_equal(
        win.get_feature_names_out(),
        ["price_lag1", "volume_lag1", "price_lag0", "volume_lag0"],
    )


def test_feature_names_out_flatten_with_given_input_features():
    win = SequenceWindower(window=2, flatten=True).fit(X4)
    np.testing.assert_array_equal(
        win.get_feature_names_out(["a", "b"]), ["a_lag1", "b_lag1", "a_lag0", "b_lag0"]
    )


def test_feature_names_out_match_flattened_columns():
    # Each name must describe the column it labels: "b_lag1" is feature b one
    # step before the current row.
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [10.0, 20.0, 30.0, 40.0]})
    win = SequenceWindower(window=3, flatten=True).fit(df)
    out = pd.DataFrame(win.transform(df), columns=win.get_feature_names_out())
    np.testing.assert_array_equal(out["a_lag0"], df["a"])
    np.testing.assert_array_equal(out["b_lag1"], [NAN, 10.0, 20.0, 30.0])
    np.testing.assert_array_equal(out["a_lag2"], [NAN, NAN, 1.0, 2.0])


def test_feature_names_out_3d_are_input_names():
    win = SequenceWindower(window=5).fit(X4)
    np.testing.assert_array_equal(win.get_feature_names_out(), ["x0", "x1"])
    df = pd.DataFrame(X4, columns=["u", "v"])
    win = SequenceWindower(window=5).fit(df)
    np.testing.assert_array_equal(win.get_feature_names_out(), ["u", "v"])


def test_dataframe_input_gives_numpy_and_records_names():
    df = pd.DataFrame(X4, columns=["u", "v"], index=list("abcd"))
    win = SequenceWindower(window=3)
    out = win.fit_transform(df)
    assert isinstance(out, np.ndarray)
    assert win.n_features_in_ == 2
    np.testing.assert_array_equal(win.feature_names_in_, ["u", "v"])
    np.testing.assert_array_equal(out, EXPECTED_NAN)


def test_numpy_input_has_no_feature_names_in():
    win = SequenceWindower(window=3).fit(X4)
    assert win.n_features_in_ == 2
    assert not hasattr(win, "feature_names_in_")


def test_set_output_pandas_flatten_keeps_index_and_lag_names():
    index = pd.date_range("2024-01-01", periods=4, freq="D")
    df = pd.DataFrame(X4, columns=["a", "b"], index=index)
    win = SequenceWindower(window=2, flatten=True).set_output(transform="pandas")
    out = win.fit_transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["a_lag1", "b_lag1", "a_lag0", "b_lag0"]
    pd.testing.assert_index_equal(out.index, index)
    np.testing.assert_array_equal(out["a_lag0"], df["a"])
    np.testing.assert_array_equal(out["b_lag1"], [NAN, 1.0, 3.0, 5.0])
    # transform on a later block keeps that block's index.
    later = win.transform(df.iloc[2:])
    pd.testing.assert_index_equal(later.index, index[2:])


def test_set_output_pandas_flatten_frame_can_be_edited():
    # The first rows of the lag table are NaN padding; filling them in place
    # is the usual next step, and editing one cell must change only that cell.
    df = pd.DataFrame(X4, columns=["a", "b"])
    win = SequenceWindower(window=2, flatten=True).set_output(transform="pandas")
    out = win.fit_transform(df)
    out.fillna(0.0, inplace=True)
    np.testing.assert_array_equal(out["a_lag1"], [0.0, 0.0, 2.0, 4.0])
    out.iloc[2, 2] = 100.0  # a_lag0 at t=2; the same value is a_lag1 at t=3
    assert out.loc[2, "a_lag0"] == 100.0
    assert out.loc[3, "a_lag1"] == 4.0
    np.testing.assert_array_equal(df["a"], [0.0, 2.0, 4.0, 6.0])


def test_set_output_pandas_flatten_with_numpy_input():
    win = SequenceWindower(window=2, flatten=True).set_output(transform="pandas")
    out = win.fit_transform(X4)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["x0_lag1", "x1_lag1", "x0_lag0", "x1_lag0"]


@pytest.mark.parametrize("config", ["pandas", "default"])
@pytest.mark.parametrize("method", ["fit_transform", "transform"])
def test_set_output_pandas_hands_the_3d_array_on_unchanged(method, config):
    # A DataFrame cannot hold (n_samples, window, n_features): with
    # flatten=False the output setting leaves the windows as they are.
    win = SequenceWindower(window=3).set_output(transform=config)
    df = pd.DataFrame(X4, columns=["a", "b"])
    out = win.fit_transform(df) if method == "fit_transform" else win.fit(df).transform(df)
    assert isinstance(out, np.ndarray)
    assert not out.flags.writeable
    np.testing.assert_array_equal(out, EXPECTED_NAN)


def test_global_pandas_output_config_flatten_and_3d():
    df = pd.DataFrame(X4, columns=["a", "b"], index=list("wxyz"))
    with config_context(transform_output="pandas"):
        windows = SequenceWindower(window=3).fit_transform(df)
        lags = SequenceWindower(window=2, flatten=True).fit_transform(df)
    np.testing.assert_array_equal(windows, EXPECTED_NAN)
    assert isinstance(lags, pd.DataFrame)
    assert list(lags.columns) == ["a_lag1", "b_lag1", "a_lag0", "b_lag0"]
    assert list(lags.index) == list("wxyz")


def test_unknown_output_config_rejected():
    win = SequenceWindower(window=2).fit(X4).set_output(transform="spreadsheet")
    with pytest.raises(ValueError, match="output config must be in"):
        win.transform(X4)


class _WindowRidge(RegressorMixin, BaseEstimator):
    """A regressor on 3-D windows, as a sequence model is: Ridge on the
    windows flattened, NaN padding read as 0. It refuses anything but a 3-D
    array, so a DataFrame handed on by set_output would fail loudly."""

    def fit(self, X, y):
        if not (isinstance(X, np.ndarray) and X.ndim == 3):
            raise TypeError(f"expected a 3-D ndarray, got {type(X).__name__}")
        self.ridge_ = Ridge().fit(self._flat(X), y)
        return self

    def predict(self, X):
        return self.ridge_.predict(self._flat(X))

    @staticmethod
    def _flat(X):
        return np.nan_to_num(np.asarray(X).reshape(len(X), -1))


def _lagged_frame(n=120, seed=0):
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=n, freq="h")
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)}, index=index)
    y = np.r_[0.0, 0.0, df["a"].to_numpy()[:-2]] + 0.5 * df["b"].to_numpy()
    return df, y


def test_pipeline_wide_set_output_pandas_with_3d_windows():
    df, y = _lagged_frame()
    model = make_pipeline(StandardScaler(), SequenceWindower(window=5), _WindowRidge())
    plain = clone(model).fit(df, y)
    model.set_output(transform="pandas").fit(df, y)
    # The scaler hands on a DataFrame, the windower the 3-D windows.
    assert isinstance(model[0].transform(df), pd.DataFrame)
    windows = model[:-1].transform(df)
    assert isinstance(windows, np.ndarray) and windows.shape == (120, 5, 2)
    np.testing.assert_allclose(model.predict(df), plain.predict(df))
    np.testing.assert_allclose(
        cross_val_score(model, df, y, cv=TimeSeriesSplit(n_splits=3)),
        cross_val_score(plain, df, y, cv=TimeSeriesSplit(n_splits=3)),
    )


def test_pipeline_wide_set_output_pandas_numpy_blocks_are_placed_at_the_start():
    # The documented limit: from a numpy X, the scaler's DataFrame gets a
    # fresh index 0, 1, ... at every block, so a following block starts at
    # the fitted first label and is padded. A DataFrame X keeps its index.
    df, _ = _lagged_frame()
    steps = make_pipeline(StandardScaler(), SequenceWindower(window=3))
    steps.set_output(transform="pandas")
    numpy_fold = steps.fit(df.to_numpy()[:60]).transform(df.to_numpy()[60:])
    assert np.isnan(numpy_fold[:2, 0]).all()
    frame_fold = steps.fit(df.iloc[:60]).transform(df.iloc[60:])
    assert not np.isnan(frame_fold).any()


def test_pipeline_wide_set_output_pandas_with_flattened_lags():
    df, y = _lagged_frame()
    model = make_pipeline(
        StandardScaler(), SequenceWindower(window=3, flatten=True, padding="edge"), Ridge()
    ).set_output(transform="pandas")
    model.fit(df, y)
    lags = model[:-1].transform(df)
    assert isinstance(lags, pd.DataFrame)
    assert list(lags.columns) == ["a_lag2", "b_lag2", "a_lag1", "b_lag1", "a_lag0", "b_lag0"]
    pd.testing.assert_index_equal(lags.index, df.index)
    assert model.score(df, y) > 0.9


def test_set_output_default_after_pandas_gives_3d_again():
    win = SequenceWindower(window=3).set_output(transform="pandas")
    win.set_output(transform="default")
    np.testing.assert_array_equal(win.fit_transform(X4), EXPECTED_NAN)


# --------------------------------------------------------------------------
# dtype
# --------------------------------------------------------------------------


@pytest.mark.parametrize("flatten", [False, True])
@pytest.mark.parametrize("padding", ["nan", "zero", "edge"])
def test_float32_stays_float32(flatten, padding):
    X = X4.astype(np.float32)
    out = SequenceWindower(window=3, padding=padding, flatten=flatten).fit_transform(X)
    assert out.dtype == np.float32


@pytest.mark.parametrize("flatten", [False, True])
def test_float64_stays_float64(flatten):
    out = SequenceWindower(window=3, flatten=flatten).fit_transform(X4)
    assert out.dtype == np.float64


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint16])
def test_integers_become_float64_with_nan_padding(dtype):
    X = np.arange(8).reshape(4, 2).astype(dtype)
    out = SequenceWindower(window=3).fit_transform(X)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, EXPECTED_NAN)


def test_float32_dataframe_stays_float32():
    df = pd.DataFrame(X4.astype(np.float32), columns=["a", "b"])
    assert SequenceWindower(window=2).fit_transform(df).dtype == np.float32


def test_integer_dataframe_becomes_float64():
    df = pd.DataFrame({"a": [1, 2, 3], "b": [4, 5, 6]})
    out = SequenceWindower(window=2, padding="zero").fit_transform(df)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[2], [[2.0, 5.0], [3.0, 6.0]])


@pytest.mark.parametrize("flatten", [False, True])
@pytest.mark.parametrize(
    "padding, expected",
    [("nan", EXPECTED_NAN), ("zero", EXPECTED_ZERO), ("edge", EXPECTED_EDGE)],
)
def test_float16_becomes_float32(flatten, padding, expected):
    # float16 is widened to the network's precision, not to float64 (four
    # times the input's memory).
    X = X4.astype(np.float16)
    win = SequenceWindower(window=3, padding=padding, flatten=flatten)
    out = win.fit_transform(X)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected.reshape(out.shape))
    assert win.tail_.dtype == np.float32


def test_float16_dataframe_becomes_float32_and_continues_from_the_fitted_rows():
    df = pd.DataFrame(X10.astype(np.float16), columns=["a", "b"])
    win = SequenceWindower(window=3).fit(df.iloc[:6])
    out = win.transform(df.iloc[6:])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[0], X10[4:7])
    np.testing.assert_array_equal(win.transform(df), SequenceWindower(3).fit_transform(X10))


# --------------------------------------------------------------------------
# Memory: a read-only strided view of one padded copy
# --------------------------------------------------------------------------


def test_3d_output_is_read_only():
    out = SequenceWindower(window=3).fit_transform(X4)
    assert not out.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        out[0, 0, 0] = 1.0


def test_consecutive_windows_share_memory():
    X = np.arange(40.0).reshape(20, 2)
    out = SequenceWindower(window=5).fit_transform(X)
    for t in range(19):
        assert np.shares_memory(out[t], out[t + 1])
    # Windows five or more rows apart overlap nowhere.
    assert not np.shares_memory(out[5], out[10])


@pytest.mark.parametrize("padding", ["nan", "zero", "edge"])
def test_3d_output_memory_is_about_the_input_size(padding):
    n, n_features, window = 500, 3, 50
    X = np.ones((n, n_features))
    out = SequenceWindower(window=window, padding=padding).fit_transform(X)
    owner = _owner(out)
    # One padded copy: at most n + window - 1 rows, never n * window of them.
    assert owner.size <= (n + window - 1) * n_features
    assert owner.size < 2 * X.size
    assert out.size == n * window * n_features


def test_large_window_does_not_allocate_window_times_input():
    n, n_features, window = 100_000, 4, 200
    X = np.random.default_rng(0).normal(size=(n, n_features))
    win = SequenceWindower(window=window).fit(X)
    tracemalloc.start()
    try:
        out = win.transform(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.shape == (n, window, n_features)
    # A copy per window would be window * X.nbytes (640 MB here); the padded
    # copy is X.nbytes plus window - 1 rows.
    assert peak < 2 * X.nbytes, f"peak {peak / 1e6:.1f} MB for a {X.nbytes / 1e6:.1f} MB input"
    np.testing.assert_array_equal(out[-1], X[-window:])


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["fit", "fit_transform"])
def test_1d_input_rejected(method):
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        getattr(SequenceWindower(window=2), method)(np.arange(5.0))


def test_1d_input_rejected_at_transform():
    win = SequenceWindower(window=2).fit(np.arange(5.0).reshape(-1, 1))
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        win.transform(np.arange(5.0))


def test_3d_input_rejected():
    with pytest.raises(ValueError, match="dim 3"):
        SequenceWindower(window=2).fit(np.zeros((4, 3, 2)))


@pytest.mark.parametrize(
    "value, message", [(np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")]
)
def test_non_finite_input_rejected(value, message):
    X = X4.copy()
    X[2, 1] = value
    with pytest.raises(ValueError, match=message):
        SequenceWindower(window=2).fit(X)
    win = SequenceWindower(window=2).fit(X4)
    with pytest.raises(ValueError, match=message):
        win.transform(X)


def test_string_array_rejected():
    with pytest.raises(ValueError, match="could not convert string to float"):
        SequenceWindower(window=2).fit(np.array([["a", "b"], ["c", "d"]]))


def test_non_numeric_dataframe_column_rejected():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]})
    with pytest.raises(ValueError, match="could not convert string to float"):
        SequenceWindower(window=2).fit(df)


@pytest.mark.parametrize(
    "X, named",
    [
        (pd.DataFrame({"when": pd.date_range("2020-01-01", periods=3)}), r"\['when'\]"),
        (
            pd.DataFrame({"a": [1.0, 2.0, 3.0], "d": pd.to_timedelta([1, 2, 3], unit="D")}),
            r"\['d'\]",
        ),
        (pd.DataFrame({"w": pd.date_range("2020-01-01", periods=3, tz="UTC")}), r"\['w'\]"),
        (np.arange(3).astype("datetime64[D]").reshape(-1, 1), r"dtype datetime64\[D\]"),
        ([[day] for day in np.arange(3).astype("datetime64[D]")], r"dtype datetime64\[D\]"),
    ],
)
def test_dates_and_durations_are_not_read_as_numbers(X, named):
    # numpy would turn them into nanoseconds (or days) since 1970.
    with pytest.raises(TypeError, match="X must hold numbers, but .*dates or durations") as error:
        SequenceWindower(window=2).fit(X)
    assert re.search(named, str(error.value))


@pytest.mark.parametrize(
    "X, message",
    [(np.zeros((0, 2)), "0 sample"), (np.zeros((3, 0)), "0 feature")],
)
def test_empty_input_rejected(X, message):
    with pytest.raises(ValueError, match=message):
        SequenceWindower(window=2).fit(X)


def test_different_feature_count_at_transform_rejected():
    win = SequenceWindower(window=2).fit(X4)
    with pytest.raises(ValueError, match="3 features, but SequenceWindower is expecting 2"):
        win.transform(np.zeros((4, 3)))


def test_transform_before_fit_rejected():
    with pytest.raises(NotFittedError, match="not fitted"):
        SequenceWindower(window=2).transform(X4)


@pytest.mark.parametrize("window", [0, -1, -10])
def test_window_below_one_rejected(window):
    with pytest.raises(ValueError, match=r"'window' parameter .* range \[1, inf\)"):
        SequenceWindower(window=window).fit(X4)


@pytest.mark.parametrize("window", [2.0, 2.5, "3", None, [3]])
def test_window_not_an_int_rejected(window):
    with pytest.raises(TypeError, match="'window' parameter .* must be an int"):
        SequenceWindower(window=window).fit(X4)


def test_numpy_integer_window_accepted():
    out = SequenceWindower(window=np.int64(3)).fit_transform(X4)
    np.testing.assert_array_equal(out, EXPECTED_NAN)


@pytest.mark.parametrize("padding", ["NaN", "reflect", "", None, 0])
def test_bad_padding_rejected(padding):
    with pytest.raises(ValueError, match="'padding' parameter .* among"):
        SequenceWindower(window=2, padding=padding).fit(X4)


@pytest.mark.parametrize("flatten", ["yes", "False", 1, 0, None])
def test_bad_flatten_rejected(flatten):
    with pytest.raises(TypeError, match="'flatten' parameter .* 'bool'"):
        SequenceWindower(window=2, flatten=flatten).fit(X4)


def test_init_stores_parameters_unchanged():
    # Validation belongs to fit, so a grid can hold any value until it is used.
    win = SequenceWindower(window="bad", padding=3, flatten="x", history=None)
    assert win.get_params() == {"window": "bad", "padding": 3, "flatten": "x", "history": None}


# --------------------------------------------------------------------------
# Property-based invariants
# --------------------------------------------------------------------------

_FAST = settings(max_examples=50, deadline=None)


@st.composite
def _tables(draw):
    n = draw(st.integers(1, 12))
    n_features = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    X = draw(
        hnp.arrays(
            dtype,
            (n, n_features),
            elements=st.floats(-1e6, 1e6, allow_nan=False, width=32),
        )
    )
    return X


@_FAST
@given(
    X=_tables(),
    window=st.integers(1, 15),
    padding=st.sampled_from(["nan", "zero", "edge"]),
)
def test_property_windowing_invariants(X, window, padding):
    n, n_features = X.shape
    out = SequenceWindower(window=window, padding=padding).fit_transform(X)

    assert out.shape == (n, window, n_features)
    assert out.dtype == X.dtype
    assert not out.flags.writeable
    np.testing.assert_array_equal(out[:, -1], X)

    fill = {
        "nan": np.full(n_features, np.nan),
        "zero": np.zeros(n_features),
        "edge": X[0],
    }
    for t in range(n):
        for k in range(window):
            source = t - window + 1 + k
            if source >= 0:
                np.testing.assert_array_equal(out[t, k], X[source])
            else:
                np.testing.assert_array_equal(out[t, k], fill[padding].astype(X.dtype))

    flattener = SequenceWindower(window=window, padding=padding, flatten=True)
    flat = flattener.fit_transform(X)
    assert flat.shape == (n, window * n_features)
    assert flat.dtype == X.dtype
    np.testing.assert_array_equal(flat, out.reshape(n, window * n_features))


@_FAST
@given(
    X=_tables(),
    window=st.integers(1, 15),
    padding=st.sampled_from(["nan", "zero", "edge"]),
)
def test_property_memory_is_one_padded_copy(X, window, padding):
    out = SequenceWindower(window=window, padding=padding).fit_transform(X)
    assert _owner(out).size <= (X.shape[0] + window - 1) * X.shape[1]


@_FAST
@given(
    X=_tables(),
    window=st.integers(1, 15),
    split=st.integers(0, 11),
    padding=st.sampled_from(["nan", "zero", "edge"]),
)
def test_property_history_none_block_equals_fresh_windows(X, window, split, padding):
    # With history="none" a block is windowed on its own: transforming rows
    # split.. of X equals fitting a new windower on those rows alone.
    split = min(split, X.shape[0] - 1)
    win = SequenceWindower(window=window, padding=padding, history="none").fit(X)
    block = X[split:]
    np.testing.assert_array_equal(
        win.transform(block),
        SequenceWindower(window=window, padding=padding).fit_transform(block),
    )


@_FAST
@given(n_features=st.integers(1, 4), window=st.integers(1, 6))
def test_property_feature_names_follow_flattened_order(n_features, window):
    X = np.zeros((3, n_features))
    win = SequenceWindower(window=window, flatten=True).fit(X)
    names = win.get_feature_names_out()
    expected = [f"x{j}_lag{k}" for k in range(window - 1, -1, -1) for j in range(n_features)]
    assert list(names) == expected
