"""Per-window normalisation: each window is made relative to itself before the
network, and the network's outputs are mapped back (reversible instance
normalisation, Kim et al., ICLR 2022).

A network that reads global levels cannot forecast a series that leaves its
training range (a trend, a level shift): a saturating recurrent layer does not
extrapolate. Relative to its own last value (``"last"``) or to its own mean and
spread (``"standard"``), every window looks like the windows seen in training.
A positive target whose swings grow in proportion to its level (sales,
prices, counts under a trend) can be read in logarithms (``"log"``), where
its trend and its season add, whatever the level: the network then forecasts
the logarithm, relative to the window's mean logarithm, and is trained on the
logarithms' errors.

The outputs are mapped back in the units of the input feature each output is a
future value of. :func:`find_target_features` finds that feature, and the
affine map between its units and the target's (a scaler before the windower
scales X but not y), exactly, from the training rows themselves.
"""

import numpy as np
import torch

MODES = ("last", "standard", "log")
# Rows searched by find_target_features, and the lags tried beyond the
# number of outputs: a horizon of a week of hours, a year of days, or a
# week of quarter-hours is found.
SEARCH_ROWS = 20_000
SEARCH_LAGS = 1000
PROBE_ROWS = 48
# Rows converted to a tensor at once when fitting the statistics: bounds the
# memory used beyond the input.
FIT_ELEMENTS = 1 << 22
# "log": the floor of a target feature's values, as a share of its smallest
# training value.
LOG_FLOOR = 1e-3


class WindowNorm:
    """The two maps of per-window normalisation, with fitted statistics.

    Parameters
    ----------
    mode : {"last", "standard", "log"}
        ``"last"``: every step minus the window's last (observed) step;
        outputs are that last value plus the network's output. ``"standard"``:
        every step minus the window's mean, divided by its standard deviation
        (observed steps only); outputs are mapped back with the same two numbers.
        ``"log"``: each target feature mapped to ``y``'s units and to its
        logarithm, minus the window's mean logarithm (the other features as
        ``"standard"``); outputs are the logarithm of ``y``: the loss's units
        are then those of ``log(y)``, standardised by ``y_mean`` and ``y_scale``.
    target_index : array of int, shape (n_outputs,)
        The input feature whose units each output shares.
    in_scale : array, shape (n_features,)
        Typical size of the normalised inputs, fitted on the training rows, so
        that the network reads values of order one.
    out_scale : array, shape (n_outputs,)
        Typical size of the normalised targets, likewise.
    y_mean, y_scale : array, shape (n_outputs,)
        The estimator's target scaling: outputs are returned in the units the
        loss is computed in, ``(y - y_mean) / y_scale`` (``"log"``: of
        ``log(y)``).
    eps : array, shape (n_features,)
        Floor of a window's standard deviation (``"standard"``), in the
        feature's units.
    units_scale, units_offset : array, shape (n_outputs,)
        The target's units from its feature's: ``y = units_scale * x + units_offset``.
    log_floor : array, shape (n_outputs,)
        ``"log"``: values of a target feature (in ``y``'s units) below this
        are read as this, so that a value at or below zero has a logarithm.
    """

    def __init__(
        self,
        mode,
        target_index,
        in_scale,
        out_scale,
        y_mean,
        y_scale,
        eps,
        units_scale=1.0,
        units_offset=0.0,
        log_floor=0.0,
    ):
        self.mode = mode
        # Copies (torch.tensor), not views: a model loaded with
        # joblib.load(mmap_mode="r") holds read-only arrays.
        self.target_index = torch.tensor(np.asarray(target_index, dtype=np.int64))
        as32 = lambda a: torch.tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
        self.in_scale = as32(in_scale)
        self.out_scale = as32(out_scale)
        self.y_mean = as32(y_mean)
        self.y_scale = as32(y_scale)
        self.eps = as32(eps)
        to64 = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
        # "log": each target feature once (the first output that reads it
        # gives its units), read in logarithms of y's units, which are then
        # the units the outputs share with their features.
        index = np.asarray(target_index, dtype=np.int64).reshape(-1)
        features, first = np.unique(index, return_index=True)
        wide = lambda a: np.broadcast_to(to64(a), index.shape)[first]  # noqa: E731
        self.log_features = torch.tensor(features)
        self.log_scale = as32(wide(units_scale))
        self.log_offset = as32(wide(units_offset))
        self.log_floor = as32(np.maximum(wide(log_floor), np.finfo(np.float32).tiny))
        if mode == "log":
            units_scale, units_offset = 1.0, 0.0
        self.units_scale = as32(units_scale)
        self.units_offset = as32(units_offset)
        # The map back to the loss's units in one affine step, composed in
        # float64: mapped to y's units first and then centred, a target at a
        # high level (1e6) would be rounded to float32's spacing there.
        self.back_scale = as32(to64(units_scale) / to64(y_scale))
        self.back_offset = as32((to64(units_offset) - to64(y_mean)) / to64(y_scale))

    def to(self, device):
        names = ("in_scale", "out_scale", "y_mean", "y_scale", "eps", "units_scale")
        names += ("log_features", "log_scale", "log_offset", "log_floor")
        for name in ("target_index", "units_offset", "back_scale", "back_offset", *names):
            setattr(self, name, getattr(self, name).to(device))
        return self

    def read(self, X):
        """``X`` in the units its statistics are taken in: as it is, or
        (``"log"``) with each target feature as the logarithm of its values
        in ``y``'s units."""
        if self.mode != "log":
            return X
        f = self.log_features
        raw = X[..., f] * self.log_scale + self.log_offset
        X = X.clone()
        X[..., f] = torch.log(torch.maximum(raw, self.log_floor.to(raw.dtype)))
        return X

    def center_spread(self, X, lengths):
        """Each window's center and spread, ``(batch, n_features)`` each, and the
        mask of its observed steps, ``(batch, steps, 1)``; ``X`` as :meth:`read`
        gives it."""
        n_steps = X.shape[1]
        steps = torch.arange(n_steps, device=X.device)
        first = (n_steps - lengths.to(X.device)).unsqueeze(1)
        observed = (steps.unsqueeze(0) >= first).unsqueeze(2).to(X.dtype)
        if self.mode == "last":
            return X[:, -1], torch.ones_like(X[:, -1]), observed
        count = observed.sum(dim=1)
        mean = (X * observed).sum(dim=1) / count
        var = (((X - mean.unsqueeze(1)) * observed) ** 2).sum(dim=1) / count
        spread = torch.sqrt(var + self.eps**2)
        if self.mode == "log":
            # Logarithms are relative already: each window's minus its mean.
            spread[:, self.log_features] = 1.0
        return mean, spread, observed

    def inputs(self, X, lengths):
        """The normalised windows (padding steps stay 0), and the center and
        spread that :meth:`outputs` needs."""
        X = self.read(X)
        center, spread, observed = self.center_spread(X, lengths)
        Xn = (X - center.unsqueeze(1)) / (spread * self.in_scale).unsqueeze(1)
        return Xn * observed, center, spread

    def targets(self, y, center, spread):
        """The target ``y`` (raw units; ``"log"``: ``log(y)``) as the network's
        output should give it: the inverse of :meth:`outputs` up to the loss's
        scaling."""
        c = center[:, self.target_index]
        s = spread[:, self.target_index]
        return ((y - self.units_offset) / self.units_scale - c) / (s * self.out_scale)

    def error_weight(self, spread):
        """How much each window's error in normalised units counts once its
        outputs are mapped back: its target feature's spread squared,
        ``(batch, n_outputs)`` (``"log"``: 1, every window alike). A window of
        one or two observed steps has a spread near zero (and a huge
        normalised target): it counts for little."""
        return spread[:, self.target_index] ** 2

    def outputs(self, out, center, spread):
        """The network's outputs mapped back, in the loss's units."""
        c = center[:, self.target_index]
        s = spread[:, self.target_index]
        return self.back_scale * (c + s * self.out_scale * out) + self.back_offset


def find_target_features(last, y, features=None):
    """For each column of ``y``, the input feature it is a future value of.

    ``last`` is the last step of each window, ``(n, n_features)`` (the rows of
    the table the windows were cut from), ``y`` the targets, ``(n, n_outputs)``.
    Column ``j`` is the future of feature ``f`` when, for some lag ``L >= 0``,
    ``y[t, j] == a * last[t + L, f] + b`` for nine rows in ten or more, to float
    precision (the rows that do not are breaks in time order, such as the
    seam of a cross-validation fold). That is what :func:`make_supervised`
    builds, whatever affine scaler came before the windower.

    Returns ``(index, scale, offset)`` arrays of shape ``(n_outputs,)``, or None
    when some column is not found. ``features``, one input feature per column
    of ``y``, restricts the search of each column to its feature.
    """
    # Matches are to the inputs' float precision: float32 rounding stays
    # under 1e-6 of a value's level, float64 rounding (a scaler's, say)
    # under 1e-12 of it.
    wide = all(np.asarray(a).dtype == np.float64 for a in (last, y))
    floor = 1e-12 if wide else 1e-6
    last = np.asarray(last[:SEARCH_ROWS], dtype=np.float64)
    y = np.asarray(y[:SEARCH_ROWS], dtype=np.float64)
    n, n_features = last.shape
    found = []
    for j in range(y.shape[1]):
        candidates = range(n_features) if features is None else [int(features[j])]
        max_lag = min(n - 3, SEARCH_LAGS + y.shape[1])
        hit = _find_column(last, y[:, j], candidates, max_lag, floor)
        if hit is None:
            return None
        found.append(hit)
    index, scale, offset = (np.array(v) for v in zip(*found, strict=True))
    return index.astype(np.int64), scale, offset


def _find_column(last, target, candidates, max_lag, floor=1e-6):
    top, spread = np.abs(target).max(), np.ptp(target)
    if not spread > 10 * floor * top:
        return None  # a constant target (to that precision) is the future of any constant
    # A match is the target to the inputs' float precision (``floor``, a
    # share of the target's level). Above that floor, the tolerance is a
    # small share of the target's own range, so that a series whose level
    # dwarfs its moves does not match a feature at the same level.
    tol = max(min(1e-5 * top, 1e-3 * spread), floor * top)
    max_lag = max(max_lag, 0)
    # A cheap look at the first rows of every (lag, feature) pair first:
    # almost every pair fails there. The pairs that pass are checked on all
    # rows, smallest lag first.
    passed = sorted(
        (lag, order, f)
        for order, f in enumerate(candidates)
        for lag in _probe_lags(last[:, f], target, max_lag, tol)
    )
    for lag, _, f in passed:
        hit = _affine_match(last[lag:, f], target[: len(target) - lag], tol)
        if hit is not None:
            return (f, *hit)
    return None


def _probe_lags(x, target, max_lag, tol):
    """The lags ``L <= max_lag`` at which the first rows of ``target`` are an
    affine map of ``x[L:]`` (:func:`_affine_match` on ``PROBE_ROWS`` rows), for
    all lags at once.

    The probe starts where the target first moves: rows of a flat start (a
    launch, a sensor's warm-up) match any scale, so they cannot tell lags
    apart."""
    moves = np.flatnonzero(np.diff(target))
    start = int(moves[0]) if len(moves) else 0
    x, target = x[start:], target[start:]
    n = len(target)
    rows = min(PROBE_ROWS, n)
    # Lags whose probe has all its rows; the last few lags have fewer.
    full = max(0, min(max_lag, n - rows) + 1)
    lags = []
    if full and rows >= 3:
        windows = np.lib.stride_tricks.sliding_window_view(x, rows)[:full]
        t = target[:rows]
        dx, dt = np.diff(windows, axis=1), np.diff(t)
        moving = np.abs(dx) > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(moving, dt / np.where(moving, dx, 1.0), np.nan)
        enough = moving.sum(axis=1) >= 2
        scale = np.full(full, np.nan)
        scale[enough] = np.nanmedian(ratio[enough], axis=1)
        usable = enough & (scale > 0)
        offset = np.median(t - scale[usable, None] * windows[usable], axis=1)
        fitted = scale[usable, None] * windows[usable] + offset[:, None]
        close = np.mean(np.abs(t - fitted) <= tol, axis=1) >= 0.9
        lags = np.flatnonzero(usable)[close].tolist()
    for lag in range(full, max_lag + 1):
        probe = _affine_match(x[lag:][:PROBE_ROWS], target[: n - lag][:PROBE_ROWS], tol)
        if probe is not None:
            lags.append(lag)
    return lags


def _affine_match(x, t, tol):
    """``(scale, offset)`` with ``t == scale * x + offset`` for nine in ten
    pairs or more, or None."""
    dx, dt = np.diff(x), np.diff(t)
    moving = np.abs(dx) > 0
    if moving.sum() < 2:
        return None
    # Medians, not least squares: a few breaks in time order must not pull
    # the map away from the rows that follow each other.
    scale = np.median(dt[moving] / dx[moving])
    if not scale > 0:
        return None
    offset = np.median(t - scale * x)
    if np.mean(np.abs(t - (scale * x + offset)) <= tol) < 0.9:
        return None
    return scale, offset


def fit_window_stats(
    X, lengths, y, mode, target_index, units_scale=1.0, units_offset=0.0, sample_weight=None
):
    """Statistics of :class:`WindowNorm` from training windows ``X`` (3-D, NaN
    padding) and raw targets ``y`` (2-D; positive for ``"log"``), as plain
    arrays; each window weighs as its ``sample_weight`` (so an integer weight
    is the window repeated).

    Processes a bounded number of windows at a time, so a strided window view
    is never expanded whole.
    """
    n_samples, n_steps, n_features = X.shape
    n_outputs = len(target_index)
    log_floor = np.zeros(n_outputs)
    if mode == "log":
        log_floor = LOG_FLOOR * np.min(np.asarray(y, dtype=np.float64), axis=0)
        y = np.log(np.asarray(y, dtype=np.float64))
    norm = WindowNorm(
        mode,
        target_index,
        np.ones(n_features),
        np.ones(n_outputs),
        0.0,
        1.0,
        np.ones(n_features),
        units_scale,
        units_offset,
        log_floor,
    )
    # The floor of a window's spread, in the units it is taken in.
    last = norm.read(torch.from_numpy(np.array(X[:, -1], dtype=np.float64))).numpy()
    eps = 1e-3 * last.std(axis=0)
    eps[~(eps > 0)] = 1e-3
    norm.eps = torch.from_numpy(eps)
    squares_in = np.zeros(n_features)
    squares_out = np.zeros(len(target_index))
    weight_out = np.zeros(len(target_index))
    count_in = 0.0
    rows = max(1, FIT_ELEMENTS // (n_steps * n_features))
    for start in range(0, n_samples, rows):
        block = torch.from_numpy(np.nan_to_num(np.asarray(X[start : start + rows], np.float64)))
        lb = torch.from_numpy(np.ascontiguousarray(lengths[start : start + rows]))
        if sample_weight is None:
            w = torch.ones(len(lb), dtype=torch.float64)
        else:
            w = torch.from_numpy(np.asarray(sample_weight[start : start + rows], np.float64))
        with torch.no_grad():
            Xn, center, spread = norm.inputs(block, lb)
            target = torch.from_numpy(np.array(y[start : start + rows], np.float64))
            tn = norm.targets(target, center, spread)
        squares_in += (w[:, None, None] * Xn**2).sum(dim=(0, 1)).numpy()
        count_in += float((w * lb).sum())
        # Each window weighs as its error does once mapped back: the few
        # windows of one or two observed steps must not set the scale.
        share = w[:, None] * norm.error_weight(spread)
        squares_out += (share * tn**2).sum(dim=0).numpy()
        weight_out += share.sum(dim=0).numpy()
    in_scale = np.sqrt(squares_in / (count_in if count_in > 0 else 1.0))
    out_scale = np.sqrt(squares_out / np.maximum(weight_out, 1e-300))
    # A feature constant within every window (or windows of one step) has
    # nothing to scale.
    in_scale[~(in_scale > 1e-12)] = 1.0
    out_scale[~(out_scale > 1e-12)] = 1.0
    return {
        "mode": mode,
        "target_index": np.asarray(target_index, dtype=np.int64),
        "in_scale": in_scale,
        "out_scale": out_scale,
        "eps": eps,
        "units_scale": np.broadcast_to(np.asarray(units_scale, dtype=np.float64), out_scale.shape),
        "units_offset": np.broadcast_to(
            np.asarray(units_offset, dtype=np.float64), out_scale.shape
        ),
        "log_floor": log_floor,
    }
