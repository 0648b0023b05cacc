"""Per-window normalisation (``window_norm``), the target search behind
``window_norm="auto"``, and the linear skip connection."""

import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_rnn import RNNRegressor, SequenceWindower, make_supervised
from sklearn_rnn._normalization import WindowNorm, find_target_features
from sklearn_rnn._regressor import _leaves_its_range, _spread_grows_with_level

FAST = dict(hidden_size=8, max_epochs=3, random_state=0)


def random_walk(n=300, seed=0, drift=0.0):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(drift, 1.0, n)) + 50.0


@pytest.mark.parametrize("mode", ["last", "standard", "log"])
def test_outputs_invert_targets_exactly(mode):
    rng = np.random.default_rng(0)
    X = torch.from_numpy(rng.normal(5.0, 2.0, size=(20, 7, 3)))
    lengths = torch.from_numpy(rng.integers(1, 8, size=20))
    X[torch.arange(7) < (7 - lengths).unsqueeze(1)] = 0.0  # leading padding
    norm = WindowNorm(
        mode,
        target_index=[2, 0],
        in_scale=[1.5, 2.0, 0.5],
        out_scale=[3.0, 0.7],
        y_mean=[1.0, -2.0],
        y_scale=[4.0, 0.5],
        eps=[1e-3] * 3,
        units_scale=[2.0, 0.25],
        units_offset=[10.0, -1.0],
    )
    y = torch.from_numpy(rng.normal(size=(20, 2)))  # "log": the target's logarithm
    _, center, spread = norm.inputs(X.float(), lengths)
    net_output = norm.targets(y.float(), center, spread)
    assert_allclose(
        norm.outputs(net_output, center, spread),
        (y - norm.y_mean) / norm.y_scale,
        rtol=1e-5,
        atol=1e-5,
    )


@pytest.mark.parametrize("mode", ["last", "standard"])
def test_outputs_of_a_high_level_target_are_not_rounded_at_its_level(mode):
    # A count near 1e6 behind a StandardScaler: the inputs are of order one,
    # and the outputs, in the loss's units, keep float32's precision there,
    # not the 0.0625 spacing of float32 at 1e6.
    rng = np.random.default_rng(0)
    X = torch.from_numpy(rng.normal(size=(200, 6, 1))).float()
    norm = WindowNorm(
        mode,
        [0],
        [1.0],
        [1.0],
        y_mean=1e6 + 3.0,
        y_scale=15.0,
        eps=[1e-3],
        units_scale=15.0,
        units_offset=1e6,
    )
    _, center, spread = norm.inputs(X, torch.full((200,), 6))
    out = torch.from_numpy(rng.normal(size=(200, 1))).float()
    got = norm.outputs(out, center, spread).double()
    c, sd = center.double(), (spread if mode == "standard" else torch.ones_like(spread)).double()
    raw = 15.0 * (c + sd * out.double()) + 1e6  # y's units, in float64
    assert_allclose(got, (raw - (1e6 + 3.0)) / 15.0, rtol=0, atol=1e-5)


def test_standard_statistics_skip_the_padding():
    rng = np.random.default_rng(1)
    seq = torch.from_numpy(rng.normal(3.0, 2.0, size=(1, 4, 2))).float()
    padded = torch.cat([torch.zeros(1, 3, 2), seq], dim=1)
    norm = WindowNorm("standard", [0], [1.0, 1.0], [1.0], 0.0, 1.0, [1e-6, 1e-6])
    alone, c1, s1 = norm.inputs(seq, torch.tensor([4]))
    inner, c2, s2 = norm.inputs(padded, torch.tensor([4]))
    assert_allclose(c1, c2, rtol=1e-6)
    assert_allclose(s1, s2, rtol=1e-6)
    assert_allclose(inner[:, 3:], alone, rtol=1e-5, atol=1e-6)
    assert torch.all(inner[:, :3] == 0)  # padding stays zero for the network


def test_last_mode_makes_each_window_relative_to_its_last_step():
    X = torch.tensor([[[1.0], [2.0], [4.0]], [[10.0], [10.0], [13.0]]])
    norm = WindowNorm("last", [0], [1.0], [1.0], 0.0, 1.0, [1e-3])
    Xn, center, _ = norm.inputs(X, torch.tensor([3, 3]))
    assert_allclose(Xn[..., 0], [[-3.0, -2.0, 0.0], [-3.0, -3.0, 0.0]])
    assert_allclose(center[:, 0], [4.0, 13.0])


def test_search_finds_the_target_feature_lag_and_units():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(200, 3))
    scaled = (table - 5.0) / 2.0  # an affine scaler before the windower
    X, y = make_supervised(table, target=[1], n_steps=2)
    index, scale, offset = find_target_features((X[:, :] - 5.0) / 2.0, y)
    assert index.tolist() == [1, 1]
    assert_allclose(scale, 2.0)
    assert_allclose(offset, 5.0)
    assert scaled.shape == table.shape


@pytest.mark.parametrize("horizon", [168, 365, 900])
def test_search_finds_a_far_horizon(horizon):
    # A week of hours, a year of days: the lag is found whatever the horizon.
    rng = np.random.default_rng(1)
    # The rows must reach past the horizon for X to hold the target at all.
    table = np.cumsum(rng.normal(size=(2 * horizon + 400, 2)), axis=0)
    X, y = make_supervised(table, horizon=horizon, target=[1], n_steps=3)
    index, scale, offset = find_target_features(X, y)
    assert index.tolist() == [1, 1, 1]
    assert_allclose(scale, 1.0)
    assert_allclose(offset, 0.0, atol=1e-9)


def test_search_tolerates_a_seam_and_rejects_unrelated_targets():
    series = random_walk(400)
    X, y = make_supervised(series)
    train = next(iter(KFold(5).split(X)))[0]  # folds 2-5: one break in time order
    assert find_target_features(X[train], y[train, None]) is not None
    rng = np.random.default_rng(0)
    assert find_target_features(X, rng.normal(size=(len(X), 1))) is None
    assert find_target_features(X, np.full((len(X), 1), 3.0)) is None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_search_of_a_high_level_target_does_not_take_a_feature_at_its_level(dtype):
    # Two random walks near 1e6 that move by about 1 a step: the other walk
    # is within 1e-5 of the target's level, yet it is not the target.
    for seed in range(20):
        rng = np.random.default_rng(seed)
        walks = 1e6 + np.cumsum(rng.normal(size=(301, 2)), axis=0)
        X, y = make_supervised(walks, target=1)
        index, scale, _ = find_target_features(X.astype(dtype), y[:, None])
        assert index.tolist() == [1], seed
        # float32 holds these levels to 1/16: the map's scale to about 1 %.
        assert_allclose(scale, 1.0, rtol=1e-2 if dtype == np.float32 else 1e-9)


def test_search_finds_a_slow_target_at_a_high_level_behind_a_scaler():
    # A walk near 1e7 whose range is under 1e-5 of its level is no constant
    # in float64: behind a StandardScaler, the scaler's exact map is found.
    rng = np.random.default_rng(0)
    X, y = make_supervised(1e7 + np.cumsum(rng.normal(size=250)) + np.linspace(0, 50, 250))
    assert np.ptp(y) < 1e-5 * np.abs(y).max()
    scaler = StandardScaler().fit(X)
    index, scale, offset = find_target_features(scaler.transform(X), y[:, None])
    assert index.tolist() == [0]
    assert_allclose(scale, scaler.scale_, rtol=1e-9)
    assert_allclose(offset, scaler.mean_, rtol=1e-12)
    # A constant is still the future of no feature in particular.
    assert find_target_features(scaler.transform(X), np.full((len(y), 1), 1e7)) is None


@pytest.mark.parametrize("flat", [48, 150])
def test_search_finds_a_target_that_starts_flat(flat):
    # A launch or a sensor's warm-up: the target is constant for its first
    # rows, then trends. The search still finds it behind a scaler, among
    # features that move from the start, and "auto" still normalises it.
    rng = np.random.default_rng(0)
    t = np.arange(300.0)
    trend = 0.3 * (t - flat) + 3 * np.sin(t / 5) + rng.normal(0, 0.3, 300)
    series = np.where(t < flat, 0.0, trend)
    data = np.c_[rng.normal(size=300), series, np.cumsum(rng.normal(size=300))]
    X, y = make_supervised(data, target=1)
    scaler = StandardScaler().fit(X)
    index, scale, offset = find_target_features(scaler.transform(X), y[:, None])
    assert index.tolist() == [1]
    assert_allclose(scale, scaler.scale_[1:2], rtol=1e-9)
    assert_allclose(offset, scaler.mean_[1:2], atol=1e-9 * scaler.scale_[1])
    model = make_pipeline(StandardScaler(), SequenceWindower(8), RNNRegressor(**FAST))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no units warning
        model.fit(X, y)
    assert model[-1].window_norm_ == "standard"


def test_auto_normalises_wandering_forecasting_targets_only():
    # A random walk with a drift wanders: each window is normalised by its own
    # statistics.
    series = random_walk(drift=1.0)
    X, y = make_supervised(series)
    windows = SequenceWindower(8).fit_transform(X)
    assert RNNRegressor(**FAST).fit(windows, y).window_norm_ == "standard"
    # A series that returns to its mean keeps its levels.
    t = np.arange(400.0)
    noise = np.random.default_rng(1).normal(0, 0.3, t.size)
    X, y = make_supervised(np.sin(t / 2.0) + noise)
    windows = SequenceWindower(8).fit_transform(X)
    assert RNNRegressor(**FAST).fit(windows, y).window_norm_ is None
    rng = np.random.default_rng(0)
    generic = rng.normal(size=(len(X), 8, 2))
    target = np.sin(generic[:, :, 0].sum(axis=1))
    assert RNNRegressor(**FAST).fit(generic, target).window_norm_ is None
    assert RNNRegressor(**FAST, window_norm=None).fit(windows, y).window_norm_ is None


def test_auto_with_target_features_still_asks_whether_to_normalise():
    # Given the target's feature, "auto" still normalises only a target that
    # leaves its range (or varies with its level): here one that returns to
    # its mean, recorded in whole units (so the exact map is not found).
    X, y = make_supervised(np.sin(np.arange(300) * 0.2) * 5 + 20)
    windows = SequenceWindower(8).fit_transform(X)
    y = np.round(y)
    assert RNNRegressor(**FAST).fit(windows, y).window_norm_ is None
    assert RNNRegressor(**FAST, target_features=0).fit(windows, y).window_norm_ is None
    walk = make_supervised(np.round(random_walk(drift=1.0)))
    windows = SequenceWindower(8).fit_transform(walk[0])
    model = RNNRegressor(**FAST, target_features=0).fit(windows, walk[1])
    assert model.window_norm_ == "standard"


def test_zero_weight_rows_do_not_decide_the_auto_rules():
    # A stretch weighed out at the end (a faulty sensor, say) decides neither
    # window_norm="auto" nor average="auto": they are decided as if the rows
    # were dropped.
    rng = np.random.default_rng(0)
    series = np.sin(np.arange(300) * 0.3) * 2 + rng.normal(size=300) * 0.2 + 10
    series[250:] += 8
    X, y = make_supervised(series)
    windows = SequenceWindower(6).fit_transform(X)
    weight = np.ones(len(y))
    weight[245:] = 0.0
    dropped = RNNRegressor(**FAST).fit(windows[:245], y[:245])
    assert dropped.window_norm_ is None
    weighted = RNNRegressor(**FAST).fit(windows, y, sample_weight=weight)
    assert weighted.window_norm_ is None
    # Two target columns that stay in their range average fewer epochs.
    two = np.column_stack([y, y])
    fits = [
        RNNRegressor(**dict(FAST, max_epochs=20)).fit(windows[rows], two[rows], sample_weight=w)
        for rows, w in ((slice(0, 245), None), (slice(None), weight), (slice(None), None))
    ]
    averaging = [
        [cb.skip for name, cb in model.net_.callbacks_ if name == "sklearn_rnn_average"]
        for model in fits
    ]
    assert averaging[0] == averaging[1] != averaging[2]


def test_scattered_zero_weight_rows_do_not_hide_the_target_feature():
    # Holidays weighed out here and there: the target is still the next value
    # of X's column, and the scaler's exact map to y's units is still found.
    rng = np.random.default_rng(0)
    X, y = make_supervised(random_walk(250, drift=0.2) * 3 + 100)
    weight = np.where(rng.random(len(y)) < 0.15, 0.0, 1.0)
    scaler = StandardScaler().fit(X)
    windows = SequenceWindower(8).fit_transform(scaler.transform(X))
    plain = RNNRegressor(**FAST).fit(windows, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "y looks like other units" warning
        weighted = RNNRegressor(**FAST).fit(windows, y, sample_weight=weight)
    assert plain.window_norm_ == weighted.window_norm_ == "standard"
    for model in (plain, weighted):
        np.testing.assert_allclose(model._window_stats["units_scale"], scaler.scale_)
        np.testing.assert_allclose(model._window_stats["units_offset"], scaler.mean_)


def test_target_features_refuses_bools():
    X, y = make_supervised(random_walk(), target=None)
    windows = SequenceWindower(8).fit_transform(np.column_stack([X, X]))
    for value in (True, [0, False]):
        with pytest.raises(TypeError, match="target_features=.* holds a bool"):
            RNNRegressor(**FAST, window_norm="last", target_features=value).fit(windows, y)


def cycle(n=400, seed=0, noise="multiplicative"):
    # A level that rises and falls over long cycles, inside one range.
    rng = np.random.default_rng(seed)
    level = 60.0 + 50.0 * np.sin(np.arange(n) / 15.0)
    if noise == "multiplicative":
        return level * np.exp(rng.normal(0.0, 0.2, n))
    return level + rng.normal(0.0, 10.0, n)


def test_auto_normalises_series_whose_spread_grows_with_their_level():
    # Counts, prices and sales vary more where they are higher: each window is
    # standardised, though the series never leaves its range.
    X, y = make_supervised(cycle())
    assert not _leaves_its_range(y[:, None])
    windows = SequenceWindower(24).fit_transform(X)
    assert RNNRegressor(**FAST).fit(windows, y).window_norm_ == "standard"
    # Short windows' means and spreads are too noisy to normalise by.
    windows = SequenceWindower(8).fit_transform(X)
    assert RNNRegressor(**FAST).fit(windows, y).window_norm_ is None
    # The same cycles with noise of one spread everywhere keep their levels.
    X, y = make_supervised(cycle(noise="additive"))
    windows = SequenceWindower(24).fit_transform(X)
    assert RNNRegressor(**FAST).fit(windows, y).window_norm_ is None


def growth(n=400, seed=0):
    # Monthly sales: a level that grows by 1 % a month and a season that
    # swings in proportion to it.
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    season = 1.0 + 0.3 * np.sin(2 * np.pi * t / 12)
    return 20.0 * np.exp(0.01 * t) * season * np.exp(rng.normal(0.0, 0.02, n))


def test_log_mode_reads_the_windows_in_logarithms():
    X, y = make_supervised(growth(120))
    windows = SequenceWindower(12).fit_transform(X)
    model = RNNRegressor(**FAST, window_norm="log").fit(windows, y)
    norm = model.net_.window_norm
    lengths = torch.full((len(windows),), 12)
    full = torch.tensor(windows[11:], dtype=torch.float32)
    Xn, center, _ = norm.inputs(full, lengths[11:])
    logs = np.log(windows[11:, :, 0])
    assert_allclose(center[:, 0], logs.mean(axis=1), rtol=1e-5)
    # Each window's logarithms minus their mean, on one scale for all windows.
    relative = (logs - logs.mean(axis=1, keepdims=True)) / norm.in_scale[0].item()
    assert_allclose(Xn[..., 0], relative, rtol=1e-4, atol=1e-5)
    # The network is trained on the logarithms: its target scaling is theirs.
    assert_allclose(model._y_mean, np.log(y).mean(), rtol=1e-6)
    # A window at three times the level is the same window in logarithms,
    # and its forecast is three times as high.
    full = windows[11:]
    assert_allclose(model.predict(3.0 * full), 3.0 * model.predict(full), rtol=1e-4)
    assert np.all(model.predict(windows) > 0)


def test_auto_does_not_read_a_growing_series_in_logarithms():
    # "log" is the user's choice: on the benchmark's series it pays only with
    # the season's position as input, which "auto" cannot know of.
    X, y = make_supervised(growth())
    windows = SequenceWindower(24).fit_transform(X)
    assert RNNRegressor(**FAST).fit(windows, y).window_norm_ == "standard"


def test_log_mode_refuses_a_target_at_or_below_zero():
    X, y = make_supervised(random_walk(100) - 50.0)
    windows = SequenceWindower(6).fit_transform(X)
    with pytest.raises(ValueError, match=r"window_norm='log'.*smallest is -?\d"):
        RNNRegressor(**FAST, window_norm="log").fit(windows, y)


def test_spread_test_counts_disjoint_windows():
    series = cycle()[:, None]
    assert _spread_grows_with_level(series, 24)
    # Fewer rows than three windows hold tell nothing.
    assert _spread_grows_with_level(series[:150], 24)
    assert not _spread_grows_with_level(series[:71], 24)
    # Constant stretches have no spread to rank.
    assert not _spread_grows_with_level(np.ones((100, 1)), 24)
    # Several columns: any one of them growing is enough.
    noise = cycle(noise="additive")[:, None]
    assert not _spread_grows_with_level(noise, 24)
    assert _spread_grows_with_level(np.hstack([noise, series]), 24)
    # Under no relation between level and spread the test fires rarely.
    rng = np.random.default_rng(0)
    walks = np.cumsum(rng.normal(size=(100, 300, 1)), axis=1)
    fired = [_spread_grows_with_level(walk, 24) for walk in walks]
    assert sum(fired) <= 10


@pytest.mark.parametrize("mode", ["auto", "last", "standard", "log"])
def test_a_scaler_before_the_windower_changes_nothing(mode):
    # The target is found in X's units whatever affine scaler came first, so the
    # normalised forecasts are the same with or without it.
    series = random_walk(250, drift=1.0)
    X, y = make_supervised(series)
    plain = make_pipeline(SequenceWindower(6), RNNRegressor(**FAST, window_norm=mode))
    plain.fit(X[:200], y[:200])
    scaled = make_pipeline(
        StandardScaler(), SequenceWindower(6), RNNRegressor(**FAST, window_norm=mode)
    )
    scaled.fit(X[:200], y[:200])
    assert plain[-1].window_norm_ == scaled[-1].window_norm_ == mode.replace("auto", "standard")
    assert_allclose(scaled.predict(X[200:]), plain.predict(X[200:]), rtol=1e-4)


def test_trending_series_is_extrapolated():
    # A trend leaves the training range in the test part: a network on global
    # levels saturates there, per-window normalisation follows the trend.
    t = np.arange(400.0)
    rng = np.random.default_rng(0)
    series = 0.5 * t + 3.0 * np.sin(t / 4.0) + rng.normal(0, 0.3, t.size)
    X, y = make_supervised(series)
    errors = {}
    for mode, skip in [("auto", False), (None, False), ("auto", True)]:
        model = make_pipeline(
            StandardScaler(),
            SequenceWindower(12),
            RNNRegressor(
                hidden_size=16, max_epochs=60, random_state=0, window_norm=mode, linear_skip=skip
            ),
        )
        model.fit(X[:300], y[:300])
        errors[mode, skip] = np.sqrt(np.mean((model.predict(X[300:]) - y[300:]) ** 2))
    # The recurrent network alone: normalised, it follows the trend.
    assert errors["auto", False] < 0.3 * errors[None, False]
    # The defaults: noise of 0.3, a season the skip and the network share.
    assert errors["auto", True] < 1.0


def test_explicit_mode_needs_target_features_for_several_features():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 5, 3))
    y = rng.normal(size=50)
    with pytest.raises(ValueError, match="target_features"):
        RNNRegressor(**FAST, window_norm="last").fit(X, y)
    with pytest.raises(ValueError, match=r"target_features=\[7\]"):
        RNNRegressor(**FAST, window_norm="last", target_features=[7]).fit(X, y)
    model = RNNRegressor(**FAST, window_norm="standard", target_features=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert model.fit(X, y).window_norm_ == "standard"


def test_units_that_do_not_match_are_a_warning():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5, 1))
    y = 1000.0 + 100.0 * rng.normal(size=60)
    with pytest.warns(UserWarning, match="units"):
        RNNRegressor(**FAST, window_norm="last").fit(X, y)


@pytest.mark.parametrize("mode", ["standard", "last"])
@pytest.mark.parametrize("level", [5.0, 0.0])
def test_a_constant_series_is_in_its_own_units(mode, level):
    # y is the series one step ahead: no warning that it is in other units.
    X, y = make_supervised(np.full(40, level))
    model = make_pipeline(SequenceWindower(5), RNNRegressor(**FAST, window_norm=mode))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pred = model.fit(X, y).predict(X)
    assert_allclose(pred, level)


def test_target_features_given_are_used_in_their_order():
    rng = np.random.default_rng(0)
    table = np.cumsum(rng.normal(size=(150, 3)), axis=0)
    X, y = make_supervised(table, target=[1, 2], n_steps=2)  # y_h1, z_h1, y_h2, z_h2
    windows = SequenceWindower(5).fit_transform(X)
    model = RNNRegressor(**FAST, window_norm="standard")
    right = model.set_params(target_features=[1, 2]).fit(windows, y)
    assert right._window_stats["target_index"].tolist() == [1, 2, 1, 2]
    # Not what the data say, but what the user said: used as given.
    swapped = clone(model).set_params(target_features=[2, 1]).fit(windows, y)
    assert swapped._window_stats["target_index"].tolist() == [2, 1, 2, 1]
    # As make_supervised takes its target: a tuple or an array too.
    for given in [(1, 2), np.array([1, 2])]:
        fitted = clone(model).set_params(target_features=given).fit(windows, y)
        assert fitted._window_stats["target_index"].tolist() == [1, 2, 1, 2]


def test_warm_start_reads_target_features_by_the_features_it_names():
    X, y = make_supervised(random_walk(80))
    windows = SequenceWindower(5).fit_transform(X)
    model = RNNRegressor(**FAST, window_norm="standard", target_features=0, warm_start=True)
    model.fit(windows, y)
    for same in ([0], (0,), np.array([0])):
        model.set_params(target_features=same).fit(windows, y)  # the same feature: continues
    assert model.n_iter_ == 4 * FAST["max_epochs"]
    wide = np.concatenate([windows, windows], axis=2)
    model = RNNRegressor(**FAST, window_norm="standard", target_features=0, warm_start=True)
    model.fit(wide, y)
    with pytest.raises(ValueError, match=r"target_features=array\(\[1\]\) \(fitted with 0\)"):
        model.set_params(target_features=np.array([1])).fit(wide, y)


def test_statistics_do_not_depend_on_the_weights_scale():
    series = random_walk(60)
    X, y = make_supervised(series)
    windows = SequenceWindower(5).fit_transform(X)
    stats = [
        RNNRegressor(**FAST, window_norm="standard")
        .fit(windows, y, sample_weight=np.full(len(y), c))
        ._window_stats
        for c in (1.0, 1e-3)
    ]
    for name in ("in_scale", "out_scale"):
        assert_allclose(stats[0][name], stats[1][name], rtol=1e-10)


def test_statistics_come_from_the_training_rows_only():
    series = random_walk(200)
    X, y = make_supervised(series)
    windows = SequenceWindower(5).fit_transform(X)
    y_late = y.copy()
    y_late[-20:] += 1e4  # only in the early-stopping validation rows
    a = RNNRegressor(**FAST, early_stopping=True, validation_fraction=0.1).fit(windows, y)
    b = RNNRegressor(**FAST, early_stopping=True, validation_fraction=0.1).fit(windows, y_late)
    assert_allclose(a._y_mean, b._y_mean)
    assert_allclose(a._y_scale, b._y_scale)


def test_normalised_model_round_trips_through_pickle():
    import pickle

    series = random_walk(150)
    X, y = make_supervised(series, n_steps=3)
    model = make_pipeline(SequenceWindower(6), RNNRegressor(**FAST)).fit(X, y)
    again = pickle.loads(pickle.dumps(model))
    assert_allclose(again.predict(X), model.predict(X))


@pytest.mark.parametrize("n_steps", [3, 8, 12])
def test_linear_skip_reads_the_last_steps_whatever_the_length(n_steps):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 8, 1))
    y = X[:, -1, 0] - 0.5 * X[:, -2, 0]
    # The last epoch's weights (average=0): the mean of the last three
    # quarters of the epochs, the default, includes epochs still learning.
    model = RNNRegressor(hidden_size=8, max_epochs=40, random_state=0, window_norm=None, average=0)
    model.fit(X, y)
    # Linear structure is learned in few epochs (R2 0.60 without the skip).
    assert model.score(X, y) > 0.98
    other = rng.normal(size=(20, n_steps, 1))
    assert model.predict(other).shape == (20,)
    assert np.isfinite(model.predict(other)).all()
    if n_steps >= 8:
        # Only the last 8 steps reach the skip; earlier ones only the recurrence.
        assert model.module_.skip.weight.shape == (1, 8)


def test_linear_skip_off():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6, 2))
    model = RNNRegressor(**FAST, linear_skip=False).fit(X, X[:, -1, 0])
    assert model.module_.skip is None


def test_time_series_split_cross_validation_runs_normalised():
    from sklearn.model_selection import cross_val_score

    series = random_walk(240, drift=0.2)
    X, y = make_supervised(series)
    model = make_pipeline(StandardScaler(), SequenceWindower(6), RNNRegressor(**FAST))
    scores = cross_val_score(model, X, y, cv=TimeSeriesSplit(3))
    assert np.isfinite(scores).all()


def _trend_season_windows():
    t = np.arange(300.0)
    rng = np.random.default_rng(0)
    series = (50 + 0.4 * t) * (1 + 0.3 * np.sin(2 * np.pi * t / 12)) + rng.normal(0, 1, t.size)
    X, y = make_supervised(series)
    return SequenceWindower(24).fit_transform(X), y


# Training for one step at a negligible rate: the model as it starts.
START = dict(window_norm="standard", lr=1e-12, max_epochs=1, batch_size=1000, random_state=0)


def test_least_squares_start_is_not_swayed_by_the_shortest_windows(monkeypatch):
    # The first rows of a fitted block are windows of one or two observed
    # steps, whose spread is nearly zero: in normalised units their targets
    # are huge. The skip's start must fit the windows as the loss weighs them.
    monkeypatch.setattr("sklearn_rnn._regressor.SKIP_START", 1.0)
    windows, y = _trend_season_windows()
    start = RNNRegressor(**START).fit(windows, y)
    rmse = np.sqrt(np.mean((start.predict(windows)[23:] - y[23:]) ** 2))
    # A ridge on the whole windows, standardised the same way.
    full = windows[23:, :, 0]
    mean, spread = full.mean(axis=1, keepdims=True), full.std(axis=1, keepdims=True)
    Z, target = (full - mean) / spread, (y[23:] - mean[:, 0]) / spread[:, 0]
    ridge = RidgeCV(alphas=np.logspace(-4, 3, 30)).fit(Z, target)
    fitted = ridge.predict(Z) * spread[:, 0] + mean[:, 0]
    reference = np.sqrt(np.mean((fitted - y[23:]) ** 2))
    assert rmse < 1.2 * reference


def test_linear_skip_starts_at_half_the_fit_and_trains(monkeypatch):
    windows, y = _trend_season_windows()
    half = RNNRegressor(**START).fit(windows, y).module_.skip.weight.detach().clone()
    monkeypatch.setattr("sklearn_rnn._regressor.SKIP_START", 1.0)
    whole = RNNRegressor(**START).fit(windows, y).module_.skip.weight.detach()
    assert_allclose(half, 0.5 * whole, rtol=1e-4, atol=1e-6)
    # Trained with the network, it moves from its start.
    trained = RNNRegressor(window_norm="standard", max_epochs=3, random_state=0).fit(windows, y)
    assert not torch.allclose(trained.module_.skip.weight.detach(), half, atol=1e-4)


def test_phase_columns_beside_a_seasonal_series():
    # The README's recipe for a seasonal series: the season's phase as one-hot
    # columns beside it. The target is still found among them (the forecast is
    # mapped back in the series' units), and a window shorter than the season
    # then knows where in the season it is.
    t = np.arange(480)
    rng = np.random.default_rng(0)
    profile = rng.normal(0, 1, 12)
    series = 20 + 0.05 * t + 3 * profile[t % 12] + rng.normal(0, 0.2, t.size)
    phase = np.eye(12)[t % 12]
    errors = {}
    tables = {"plain": series[:, None], "phase": np.hstack([series[:, None], phase])}
    for label, data in tables.items():
        X, y = make_supervised(data, target=0)
        model = make_pipeline(StandardScaler(), SequenceWindower(6), RNNRegressor(**FAST))
        model.fit(X[:380], y[:380])
        assert model[-1].window_norm_ == "standard"
        errors[label] = np.sqrt(np.mean((model.predict(X[380:]) - y[380:]) ** 2))
    assert errors["phase"] < 0.5 * errors["plain"]
    assert errors["phase"] < 1.0
