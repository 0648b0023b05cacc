"""Forecast accuracy: the README pipeline against Ridge on lag windows,
classical models (ARIMA, ETS) and prototypes of per-window normalisation,
on real and generated series.

Series (all shipped with statsmodels or generated here; nothing is
downloaded): yearly sunspots, the Nile's yearly volume, monthly El Nino sea
temperatures (the 12 month columns stacked), quarterly US inflation with
covariates (macrodata), and two generated monthly series with a trend and a
multiplicative season.

Protocol, the same for every model:

- ``X, y = make_supervised(series)``; the first 80 % of the rows train, the
  last 20 % test (chronological). With ``n_steps > 1`` the last
  ``n_steps - 1`` training rows are dropped, so that no test target is seen
  in training.
- Everything (window, alpha, orders, hidden size) is chosen on the training
  rows only, with ``TimeSeriesSplit(3)`` inside them for the scikit-learn
  models and AIC for ARIMA/ETS.
- Test forecasts are rolling one-step-ahead (or ``n_steps``-ahead, direct)
  forecasts from the true history: the fitted pipeline predicts the whole
  series, whose test windows reach back into the training rows, and only
  the test rows are scored. ARIMA/ETS keep the parameters fitted on the
  training part and filter the whole series with them.
- Each one-step table has the Diebold-Mariano statistic of every model
  against Ridge (mean difference of squared test errors over its standard
  error): where it lies between -1 and 1, the test rows cannot tell the two
  apart.

Models:

- naive (last value), seasonal naive (season m);
- Ridge: ``StandardScaler -> SequenceWindower(w, flatten=True, padding="edge")
  -> Ridge``, grid over window and alpha;
- ARIMA: orders by AIC (p 0-3, d 0-1, q 0-2; seasonal series also
  (p,d,q)x(0,1,1)m with p 0-2, d 0-1, q 0-1); ETS: error, trend (damped or
  not) and season by AIC; "best classical" is the better of the two on the
  test part (an oracle choice, in the classical models' favour);
- RNN default: the README pipeline ``StandardScaler ->
  SequenceWindower(24) -> RNNRegressor(cell="lstm")`` with the package's
  defaults;
- RNN grid (norm off): ``StandardScaler -> SequenceWindower(w) ->
  RNNRegressor(cell="gru", lr=1e-2, batch_size=32, early_stopping=True)``
  (the settings of examples/plot_sunspots.py), grid over window and hidden
  size;
- RNN norm last / norm standard: the same grid and training settings on a
  prototype module (``WindowNormNet`` below) that normalises each window:
  no scaler before the windower, ``scale_y=False``, the module reads
  ``(x - offset) / spread`` and predicts ``offset + spread * head``.
  "last": offset = the window's last value, spread = a fixed scale per
  feature (std of the first differences on the training part). "standard"
  (RevIN-like): mean and std of each window's observed steps. "last_std":
  offset the last value, spread the window's std (which of the two matters).

Other sections (each its own run):

- ``--multistep``: direct 12-step forecasts (``make_supervised(n_steps=12)``;
  ``--steps N`` for another horizon), RMSE averaged over the steps;
  ARIMA/ETS forecast as far ahead from each origin with frozen parameters.
- ``--defaults``: which ``RNNRegressor`` training defaults pass
  scikit-learn's ``check_regressors_train`` (lstm, gru, rnn) and forecast
  well (README pipeline on sunspots and a generated series); also whether
  the normalising prototype passes that check.
- ``--windows 36 48``: also the README pipeline with other windows (its
  window is the user's choice; the rows show what it costs or gains).
- ``--phase``: also, on the seasonal series, the grid-searched Ridge and the
  README pipeline and its grid search on ``X`` with the season's phase
  beside the series (one column per position in the season, 1 in the row's
  own: what a user with dates adds from the month), each against the plain
  Ridge; and on the positive seasonal series, all three again on the
  logarithms of the series, without and with the phase (the forecasts are
  the exponentials of theirs), and the README pipeline with the phase and
  ``window_norm="log"``.
- ``--history``: cross-validated RMSE on ``TimeSeriesSplit`` as
  ``cross_val_score`` computes it (with the windower's default
  ``history="auto"``, and with ``history="none"``: each test fold windowed
  alone, its first rows padded) against scoring the same fold models on
  windows that reach back into their training rows, and the window each
  would choose; sunspots, the default LSTM and a Ridge, windows 6/11/22/33.
- ``--spread``: the statistic behind ``window_norm="auto"``'s spread rule
  (does the training target vary more where it is higher?) on each series
  at several windows, the decision it makes, and the README pipeline at
  those windows with ``window_norm=None`` and ``"standard"`` (``--windows``
  for other windows).
- ``--cv-tail SHARE``: every search (Ridge's and the networks') on three
  folds at the end of the training rows, each testing the next ``SHARE`` of
  them, instead of ``TimeSeriesSplit(3)`` over all of them.
- ``--linear-windows``: ridge regressions of the next value on one window of
  the target, at several windows, on raw values, per-window standardised
  values and logs relative to the last value (positive series): how far any
  model that sees one window can go where a classical model carries the
  whole history.
- ``--outside``: the README pipeline with its defaults at 24 steps on the
  nine statsmodels series outside the benchmark (``OUTSIDE``), never used to
  choose a default: RMSE / Ridge, mean of ``--seeds`` seeds, and their
  geometric mean.
- ``--log``: the README pipeline and its grid also with
  ``window_norm="log"`` on the positive series.
- ``--draws N``: ``N`` other draws of each generated series (generator
  seeds 3 onward): ETS, the README pipeline with its defaults and with
  ``window_norm="log"``, each also with the season's phase as input
  columns, RMSE / Ridge, and their geometric means: how far the two draws of
  the benchmark stand for the family they come from.

    python benchmarks/bench_accuracy.py                 # all series (about 15 min on 2 cores)
    python benchmarks/bench_accuracy.py --quick         # 2 series, few epochs
    python benchmarks/bench_accuracy.py --series sunspots nile
    python benchmarks/bench_accuracy.py --multistep
    python benchmarks/bench_accuracy.py --defaults
    python benchmarks/bench_accuracy.py --history
    python benchmarks/bench_accuracy.py --linear-windows
    python benchmarks/bench_accuracy.py --spread --series sunspots macro_infl
    python benchmarks/bench_accuracy.py --windows 36 48 --plot /tmp/windows.png
    python benchmarks/bench_accuracy.py --phase --series elnino gen_exp
    python benchmarks/bench_accuracy.py --cv-tail 0.1 --seeds 1
    python benchmarks/bench_accuracy.py --outside
"""

import os

# One BLAS/OpenMP thread: statsmodels' ARIMA fits run about 10x slower on two
# shared cores when numpy's BLAS spreads its tiny products over threads.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import math  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from _common import machine, parser, table  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402
from sklearn.metrics import mean_absolute_error, root_mean_squared_error  # noqa: E402
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from torch import nn  # noqa: E402

from sklearn_rnn import RNNRegressor, SequenceWindower, make_supervised  # noqa: E402

HERE = Path(__file__).parent
SPLIT = 0.8
CV = TimeSeriesSplit(n_splits=3)


class TailSplit(TimeSeriesSplit):
    """Three folds at the end of the rows, each testing the next ``share`` of
    them (``--cv-tail``): every fold trains on most of the rows."""

    def __init__(self, share):
        super().__init__(n_splits=3)
        self.share = share

    def split(self, X, y=None, groups=None):
        size = max(1, int(self.share * len(X)))
        return TimeSeriesSplit(self.n_splits, test_size=size).split(X, y, groups)


SEED = 0
# Training settings of the grid-searched networks (those of
# examples/plot_sunspots.py); the prototypes use the same.
TUNED = dict(lr=1e-2, batch_size=32, max_epochs=100, early_stopping=True)


# --------------------------------------------------------------------- series


def _generated(n, seed, kind):
    """A monthly series with a trend and a multiplicative season whose
    amplitude grows with the level."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    if kind == "linear":
        level = 50 + 0.4 * t + np.cumsum(rng.normal(0, 0.6, n))
        month = t % 12
        season = 1 + 0.3 * np.sin(2 * np.pi * month / 12) + 0.1 * np.cos(4 * np.pi * month / 12)
    else:
        level = 20 * np.exp(0.006 * t + np.cumsum(rng.normal(0, 0.01, n)))
        profile = rng.normal(0, 1, 12)
        profile = 0.35 * (profile - profile.mean()) / profile.std()
        season = 1 + profile[t % 12]
    noise = np.zeros(n)
    e = rng.normal(0, 0.03, n)
    for i in range(1, n):  # AR(1) multiplicative noise
        noise[i] = 0.5 * noise[i - 1] + e[i]
    return level * season * (1 + noise)


def load_series(name):
    """``(data, target, m, info)``: data a DataFrame in time order, target its
    column to forecast, m the season length (None: no season)."""
    import statsmodels.api as sm

    if name == "sunspots":
        d = sm.datasets.sunspots.load_pandas().data
        return pd.DataFrame({"sunspots": d["SUNACTIVITY"].to_numpy()}), "sunspots", None, "yearly"
    if name == "nile":
        d = sm.datasets.nile.load_pandas().data
        return pd.DataFrame({"nile": d["volume"].to_numpy(float)}), "nile", None, "yearly"
    if name == "elnino":
        d = sm.datasets.elnino.load_pandas().data
        values = d.drop(columns="YEAR").to_numpy().ravel()  # row-major: Jan..Dec, year by year
        return pd.DataFrame({"elnino": values}), "elnino", 12, "monthly"
    if name == "macro_infl":
        d = sm.datasets.macrodata.load_pandas().data
        df = pd.DataFrame(
            {
                "infl": d["infl"],
                "gdp_growth": 400 * np.log(d["realgdp"]).diff(),  # annualised, %
                "unemp": d["unemp"],
                "tbilrate": d["tbilrate"],
            }
        ).iloc[1:]
        return df.reset_index(drop=True), "infl", 4, "quarterly"
    if name == "gen_linear":
        return (
            pd.DataFrame({"gen_linear": _generated(360, 1, "linear")}),
            "gen_linear",
            12,
            "monthly",
        )
    if name == "gen_exp":
        return pd.DataFrame({"gen_exp": _generated(420, 2, "exp")}), "gen_exp", 12, "monthly"
    raise ValueError(f"unknown series {name!r}")


SERIES = ["sunspots", "nile", "elnino", "macro_infl", "gen_linear", "gen_exp"]
# Window grids per frequency: Ridge, the grid-searched networks.
RIDGE_WINDOWS = {
    "yearly": [3, 6, 11, 22],
    "monthly": [3, 6, 12, 24, 36],
    "quarterly": [2, 4, 8, 12],
}
RNN_WINDOWS = {"yearly": [11, 22], "monthly": [12, 24], "quarterly": [4, 8]}
NILE_RIDGE_WINDOWS, NILE_RNN_WINDOWS = [2, 4, 8], [5, 10]


def window_grids(name, freq):
    """``(Ridge windows, network windows)`` searched on series ``name``."""
    if name == "nile":
        return NILE_RIDGE_WINDOWS, NILE_RNN_WINDOWS
    return RIDGE_WINDOWS[freq], RNN_WINDOWS[freq]


HIDDEN = [32, 64]  # the default, 64, and half of it
ALPHAS = [0.01, 0.1, 1.0, 10.0, 100.0]


# ------------------------------------------------------- the prototype module


class WindowNormNet(nn.Module):
    """GRU/LSTM on per-window normalised input, predicting in the input's units.

    ``forward(X, lengths)``: X (batch, steps, features), leading padding steps
    set to 0, ``lengths`` the observed steps. Each window is normalised with
    its own offset and spread per feature (padding stays 0 and does not count):

    - ``norm="last"``: offset = the last (current) row, spread = ``scale``
      (fixed per feature, e.g. std of the first differences in training);
    - ``norm="standard"``: mean and std of the observed steps (RevIN-like),
      the std floored at ``0.1 * scale``;
    - ``norm="last_std"``: offset the last row, spread the std of the
      observed steps as for "standard".

    The output is ``offset[target] + spread[target] * head(h)``, so the model
    must be fitted with ``scale_y=False`` on an unscaled target that is the
    ``target`` column at later times. ``level=(loc, sd)`` also feeds the
    removed offset, ``(offset - loc) / sd``, to the head.
    """

    def __init__(
        self,
        n_features,
        n_outputs,
        *,
        cell="gru",
        hidden_size=32,
        norm="last",
        scale=1.0,
        target=0,
        level=None,
    ):
        super().__init__()
        scale = torch.as_tensor(scale, dtype=torch.float32).reshape(-1)
        self.register_buffer("scale", scale.expand(n_features).clone())
        if level is not None:
            self.register_buffer("loc", torch.as_tensor(level[0], dtype=torch.float32).reshape(-1))
            self.register_buffer("sd", torch.as_tensor(level[1], dtype=torch.float32).reshape(-1))
        self.norm, self.target, self.use_level = norm, target, level is not None
        self.rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](
            n_features, hidden_size, batch_first=True
        )
        self.head = nn.Linear(hidden_size + (n_features if self.use_level else 0), n_outputs)

    def forward(self, X, lengths=None):
        batch, steps, n_features = X.shape
        if lengths is None:
            lengths = torch.full((batch,), steps, dtype=torch.int64)
        lengths = lengths.to(X.device)
        first = (steps - lengths).unsqueeze(1)
        observed = (torch.arange(steps, device=X.device).unsqueeze(0) >= first).unsqueeze(2)
        mask = observed.to(X.dtype)
        if self.norm == "last":
            offset = X[:, -1, :]
            spread = self.scale.expand(batch, n_features)
        elif self.norm in ("standard", "last_std"):
            n = lengths.to(X.dtype).unsqueeze(1)
            mean = (X * mask).sum(1) / n
            var = (((X - mean.unsqueeze(1)) * mask) ** 2).sum(1) / n
            spread = torch.sqrt(var + (0.1 * self.scale) ** 2)
            offset = mean if self.norm == "standard" else X[:, -1, :]
        else:
            raise ValueError(self.norm)
        Z = (X - offset.unsqueeze(1)) / spread.unsqueeze(1) * mask
        # Move the padding behind the observations: a one-way recurrence is
        # causal, so its output at step length-1 is that of the observations.
        index = (torch.arange(steps, device=X.device).unsqueeze(0) + first) % steps
        Z = torch.gather(Z, 1, index.unsqueeze(2).expand_as(Z))
        out, _ = self.rnn(Z)
        h = out[torch.arange(batch, device=X.device), lengths - 1]
        if self.use_level:
            h = torch.cat([h, (offset - self.loc) / self.sd], dim=1)
        t = self.target
        return offset[:, t : t + 1] + spread[:, t : t + 1] * self.head(h)


def diff_scale(values):
    """Std of the first differences of each column (a fixed spread)."""
    values = np.asarray(values, dtype=float).reshape(len(values), -1)
    s = np.diff(values, axis=0).std(axis=0)
    return [float(v) if v > 0 else 1.0 for v in s]


# --------------------------------------------------------------- the models


def ridge_search(windows):
    return GridSearchCV(
        make_pipeline(StandardScaler(), SequenceWindower(padding="edge", flatten=True), Ridge()),
        {"sequencewindower__window": windows, "ridge__alpha": ALPHAS},
        cv=CV,
        scoring="neg_root_mean_squared_error",
    )


def rnn_default(epochs=None, window=24, **params):
    kw = {} if epochs is None else {"max_epochs": epochs}
    return make_pipeline(
        StandardScaler(),
        SequenceWindower(window=window),
        RNNRegressor(cell="lstm", random_state=SEED, **kw, **params),
    )


def rnn_grid(windows, hidden, epochs=None, **params):
    kw = {} if epochs is None else {"max_epochs": epochs}
    model = make_pipeline(
        StandardScaler(),
        SequenceWindower(),
        RNNRegressor(random_state=SEED, **kw, **params),
    )
    return GridSearchCV(
        model,
        {"sequencewindower__window": windows, "rnnregressor__hidden_size": hidden},
        cv=CV,
        scoring="neg_root_mean_squared_error",
    )


def norm_grid(norm, windows, hidden, epochs, scale, target, cell="gru"):
    model = make_pipeline(
        SequenceWindower(),
        RNNRegressor(
            module=WindowNormNet,
            scale_y=False,
            random_state=SEED,
            **{**TUNED, "max_epochs": epochs},
        ),
    )
    kwargs = [
        dict(cell=cell, hidden_size=h, norm=norm, scale=scale, target=target) for h in hidden
    ]
    return GridSearchCV(
        model,
        {"sequencewindower__window": windows, "rnnregressor__module_kwargs": kwargs},
        cv=CV,
        scoring="neg_root_mean_squared_error",
    )


def describe(search):
    p = search.best_params_
    parts = []
    for key, value in p.items():
        if key.endswith("window"):
            parts.append(f"w={value}")
        elif key.endswith("alpha"):
            parts.append(f"alpha={value:g}")
        elif key.endswith("hidden_size"):
            parts.append(f"h={value}")
        elif key.endswith("module_kwargs"):
            parts.append(f"h={value['hidden_size']}")
    return ", ".join(parts)


# ---------------------------------------------------------- classical models


def _quiet():
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("ignore")
    return ctx


def arima_search(endog, m, quick):
    """ARIMA (SARIMA where a season exists) by AIC on ``endog``."""
    from statsmodels.tsa.arima.model import ARIMA

    orders = []
    ps, qs = (range(3), range(2)) if quick else (range(4), range(3))
    for d in (0, 1):
        for p in ps:
            for q in qs:
                orders.append(((p, d, q), (0, 0, 0, 0)))
    if m and m >= 4:
        seasonal = (0, 1, 1, m)
        for d in (0, 1):
            for p in range(2 if quick else 3):
                for q in range(2):
                    orders.append(((p, d, q), seasonal))
    best = None
    ctx = _quiet()
    try:
        for order, seasonal in orders:
            integ = order[1] + seasonal[1]
            trend = "c" if integ == 0 else ("t" if integ == 1 else "n")
            try:
                res = ARIMA(endog, order=order, seasonal_order=seasonal, trend=trend).fit()
            except Exception:  # noqa: BLE001 - an order that does not fit is skipped
                continue
            if np.isfinite(res.aic) and (best is None or res.aic < best[0]):
                best = (res.aic, res, order, seasonal)
    finally:
        ctx.__exit__(None, None, None)
    _, res, order, seasonal = best
    label = f"{order}" + (f"x{seasonal}" if seasonal[3] else "")
    return res, label.replace(" ", "")


def arima_one_step(res, full):
    ctx = _quiet()
    try:
        return np.asarray(res.apply(full).fittedvalues)
    finally:
        ctx.__exit__(None, None, None)


def arima_path(res, prefix, h):
    ctx = _quiet()
    try:
        return np.asarray(res.apply(prefix).forecast(h))
    finally:
        ctx.__exit__(None, None, None)


def ets_search(endog, m):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    positive = bool(np.min(endog) > 0)
    specs = []
    for error in ("add", "mul") if positive else ("add",):
        for trend, damped in ((None, False), ("add", False), ("add", True)):
            seasons = [None]
            if m:
                seasons += ["add", "mul"] if positive else ["add"]
            for seasonal in seasons:
                specs.append(
                    dict(
                        error=error,
                        trend=trend,
                        damped_trend=damped,
                        seasonal=seasonal,
                        seasonal_periods=m if seasonal else None,
                    )
                )
    best = None
    ctx = _quiet()
    try:
        for spec in specs:
            try:
                res = ETSModel(endog, **spec).fit(disp=False)
            except Exception:  # noqa: BLE001
                continue
            if np.isfinite(res.aic) and (best is None or res.aic < best[0]):
                best = (res.aic, res, spec)
    finally:
        ctx.__exit__(None, None, None)
    _, res, spec = best
    code = (
        spec["error"][0].upper()
        + ({None: "N", "add": "A"}[spec["trend"]] + ("d" if spec["damped_trend"] else ""))
        + {None: "N", "add": "A", "mul": "M"}[spec["seasonal"]]
    )
    return (res, spec), f"ETS({code[0]},{code[1:-1]},{code[-1]})"


def ets_one_step(fitted, full):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    res, spec = fitted
    ctx = _quiet()
    try:
        return np.asarray(ETSModel(full, **spec).smooth(res.params).fittedvalues)
    finally:
        ctx.__exit__(None, None, None)


def ets_path(fitted, prefix, h):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    res, spec = fitted
    ctx = _quiet()
    try:
        return np.asarray(ETSModel(prefix, **spec).smooth(res.params).forecast(h))
    finally:
        ctx.__exit__(None, None, None)


# ------------------------------------------------------------------ one run


class Result:
    def __init__(self, name, pred, seconds, note="", seed_preds=()):
        self.name, self.pred, self.seconds, self.note = name, pred, seconds, note
        self.seed_preds = list(seed_preds)  # refits with other seeds, same settings


def timed(fn):
    """``(fn(), CPU seconds)``: this process's CPU time, which a machine shared
    with other jobs stretches less than the wall clock (everything here runs
    on one thread)."""
    start = time.process_time()
    out = fn()
    return out, time.process_time() - start


def evaluate_series(name, args, n_steps=1):
    """Every model on one series; returns (info, y_test, results)."""
    data, target, m, freq = load_series(name)
    X, y = make_supervised(data, n_steps=n_steps, target=target if n_steps == 1 else [target])
    X, y = X.to_numpy(float), np.asarray(y, dtype=float)
    series = data[target].to_numpy(float)
    target_col = list(data.columns).index(target)
    n_rows = len(X)
    split = int(SPLIT * n_rows)
    train = np.arange(split - (n_steps - 1))
    test = np.arange(split, n_rows)
    y_train, y_test = y[train], y[test]
    epochs = args.epochs
    ridge_windows, rnn_windows = window_grids(name, freq)
    hidden = HIDDEN
    if args.quick:
        ridge_windows, rnn_windows, hidden = ridge_windows[:2], rnn_windows[:1], hidden[:1]
    results = []

    # Baselines that need no fitting.
    last = X[test, target_col]
    steps = np.arange(1, n_steps + 1)
    naive = np.repeat(last[:, None], n_steps, axis=1) if n_steps > 1 else last
    results.append(Result("naive", naive, 0.0))
    if m:
        # y[t] step h is series[t + h]; its value one season earlier is series[t + h - m].
        idx = test[:, None] + steps[None, :] - m
        snaive = series[idx]
        results.append(
            Result(f"seasonal naive (m={m})", snaive if n_steps > 1 else snaive[:, 0], 0.0)
        )

    def sk(label, est, note_fn=None, X=X, log=False):
        # log: X holds logarithms; the model learns log(y), its forecasts go back by exp.
        goal = np.log(y_train) if log else y_train
        back = np.exp if log else np.asarray
        fitted, seconds = timed(lambda: clone(est).fit(X[train], goal))
        pred, p_seconds = timed(lambda: back(fitted.predict(X)[test]))
        note = note_fn(fitted) if note_fn else ""
        print(f"  {label:<24} {seconds + p_seconds:7.1f} CPU s  {note}", flush=True)
        seed_preds = []
        if label.startswith("RNN"):
            chosen = getattr(fitted, "best_estimator_", fitted)
            for seed in range(1, args.seeds):
                again = clone(chosen).set_params(rnnregressor__random_state=seed)
                seed_preds.append(back(again.fit(X[train], goal).predict(X)[test]))
        results.append(Result(label, pred, seconds + p_seconds, note, seed_preds))
        return fitted

    sk("Ridge (grid)", ridge_search(ridge_windows), describe)

    # Classical models on the target alone, fitted on the part of the series
    # that the training rows' targets cover, applied with frozen parameters.
    endog_train = series[: split + 1]

    def classical(label, search, one_step, path):
        fitted_label, seconds = timed(search)
        fitted, order = fitted_label
        if n_steps == 1:
            pred, p_seconds = timed(lambda: one_step(fitted, series)[test + 1])
        else:
            pred, p_seconds = timed(
                lambda: np.array([path(fitted, series[: t + 1], n_steps) for t in test])
            )
        seconds += p_seconds
        print(f"  {label:<24} {seconds:7.1f} CPU s  {order}", flush=True)
        results.append(Result(label, pred, seconds, order))

    classical(
        "ARIMA (AIC)", lambda: arima_search(endog_train, m, args.quick), arima_one_step, arima_path
    )
    classical("ETS (AIC)", lambda: ets_search(endog_train, m), ets_one_step, ets_path)

    sk("RNN default (README)", rnn_default(epochs), lambda f: "lstm, w=24, defaults")
    for window in args.windows:
        sk(
            f"RNN default, w={window}",
            rnn_default(epochs, window),
            lambda f, w=window: f"lstm, w={w}, defaults",
        )
    sk(
        "RNN before (no norm/skip)",
        # The network before per-window normalisation and the linear skip.
        rnn_default(epochs, window_norm=None, linear_skip=False, head_dropout=0.0, average=0.0),
        lambda f: "lstm, w=24, window_norm=None, linear_skip=False, head_dropout=0, average=0",
    )
    sk("RNN grid (defaults)", rnn_grid(rnn_windows, hidden, epochs), describe)
    if args.early_stopping:
        # The last tenth of the training rows as validation rows; the epoch
        # with the lowest validation loss is kept.
        stopped = lambda f: f"lstm, w=24, early_stopping=True, {f[-1].n_iter_} epochs"  # noqa: E731
        sk("RNN default, early stop", rnn_default(epochs, early_stopping=True), stopped)
        sk(
            "RNN grid, early stop",
            rnn_grid(rnn_windows, hidden, epochs, early_stopping=True),
            describe,
        )
    for average in args.average:
        # The weights averaged over another share of the epochs (0: the last
        # epoch's weights).
        sk(
            f"RNN default, average={average:g}",
            rnn_default(epochs, average=average),
            lambda f, a=average: f"lstm, w=24, average={a:g}",
        )
        sk(
            f"RNN grid, average={average:g}",
            rnn_grid(rnn_windows, hidden, epochs, average=average),
            describe,
        )
    if args.log and (y_train > 0).all():
        # Logarithms in the window: the target's windows standardised in logs.
        sk(
            'RNN default, "log"',
            rnn_default(epochs, window_norm="log"),
            lambda f: 'lstm, w=24, window_norm="log"',
        )
        sk('RNN grid, "log"', rnn_grid(rnn_windows, hidden, epochs, window_norm="log"), describe)
    if args.phase and m:
        # The season's phase as input columns (one-hot), for every model alike;
        # on a positive series also with the logarithms of the series, where
        # a season whose amplitude grows with the level is additive.
        phase = np.eye(m)[np.arange(n_rows) % m]
        X_phase = np.hstack([X, phase])
        variants = [(" + phase", f"{m} phase columns", X_phase, False)]
        if (X > 0).all():
            logs = np.log(X)
            variants.append((", logs", "on logs", logs, True))
            variants.append(
                (", logs + phase", f"on logs, {m} phase columns", np.hstack([logs, phase]), True)
            )
        for suffix, how, X_in, log in variants:
            default_note = lambda f, how=how: f"lstm, w=24, defaults, {how}"  # noqa: E731
            for label, est, note_fn in [
                ("Ridge (grid)", ridge_search(ridge_windows), describe),
                ("RNN default", rnn_default(epochs), default_note),
                ("RNN grid", rnn_grid(rnn_windows, hidden, epochs), describe),
            ]:
                sk(label + suffix, est, note_fn, X_in, log)
        if (X > 0).all():
            # The phase beside the series, read in logarithms by the network.
            sk(
                'RNN default + phase, "log"',
                rnn_default(epochs, window_norm="log"),
                lambda f: f'lstm, w=24, window_norm="log", {m} phase columns',
                X_phase,
            )
    scale = diff_scale(data.to_numpy(float)[: split + 1])
    for norm in args.norms:
        sk(
            f"RNN grid, norm {norm}",
            norm_grid(norm, rnn_windows, hidden, epochs or TUNED["max_epochs"], scale, target_col),
            describe,
        )
    info = dict(name=name, freq=freq, m=m, n=len(series), train=len(train), test=len(test))
    return info, y_test, results


def diebold_mariano(squared, reference):
    """The Diebold-Mariano statistic of one-step forecasts against a reference:
    the mean difference of squared errors over its standard error (negative:
    smaller errors than the reference). About -2 or below, the difference is
    unlikely to be the test rows' luck; between -1 and 1, these rows cannot
    tell the two apart. One-step forecasts only: multi-step errors overlap in
    time, which this standard error ignores."""
    d = squared - reference
    return float(d.mean() / (d.std(ddof=1) / math.sqrt(len(d))))


def scores(y_test, results):
    ridge = next(r for r in results if r.name.startswith("Ridge"))
    ridge_rmse = root_mean_squared_error(y_test, ridge.pred)
    ridge_sq = (np.asarray(y_test) - ridge.pred) ** 2
    out = {}
    for r in results:
        rmse = root_mean_squared_error(y_test, r.pred)  # averaged over steps when 2-D
        mae = mean_absolute_error(y_test, r.pred)
        seeds = [rmse] + [root_mean_squared_error(y_test, p) for p in r.seed_preds]
        # The seeds' forecasts averaged: what an ensemble of them would score.
        ensemble = root_mean_squared_error(y_test, np.mean([r.pred, *r.seed_preds], axis=0))
        out[r.name] = dict(
            rmse=rmse,
            mae=mae,
            ratio=rmse / ridge_rmse,
            dm=(
                diebold_mariano((np.asarray(y_test) - r.pred) ** 2, ridge_sq)
                if r is not ridge and np.ndim(r.pred) == 1
                else None
            ),
            seed_ratio=np.mean(seeds) / ridge_rmse,
            seed_sd=np.std(seeds, ddof=1) / ridge_rmse if len(seeds) > 1 else None,
            ensemble_ratio=ensemble / ridge_rmse,
            n_seeds=len(seeds),
            seconds=r.seconds,
            note=r.note,
        )
    classical = [k for k in out if k.startswith(("ARIMA", "ETS"))]
    best = min(classical, key=lambda k: out[k]["rmse"])
    out["best classical"] = {**out[best], "note": f"{best.split()[0]}: {out[best]['note']}"}
    return out


def totals(start, cpu_start):
    load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return (
        f"\nTotal {time.perf_counter() - start:.0f} s wall, "
        f"{time.process_time() - cpu_start:.0f} s CPU; load average at the end {load}"
    )


def fmt(v, digits=3):
    if v == 0:
        return "0"
    mag = math.floor(math.log10(abs(v)))
    return f"{v:.{max(0, digits - 1 - mag)}f}"


def print_series_table(info, sc, n_steps):
    what = "one-step" if n_steps == 1 else f"{n_steps}-step direct (RMSE, MAE averaged over steps)"
    print(
        f"\n{info['name']} ({info['freq']}, n={info['n']}, {info['train']} training rows, "
        f"{info['test']} test rows), {what}:"
    )
    rows = [
        [
            k,
            fmt(v["rmse"]),
            fmt(v["mae"]),
            f"{v['ratio']:.3f}",
            f"{v['seed_ratio']:.3f} ± {v['seed_sd']:.3f}" if v["seed_sd"] is not None else "",
            f"{v['ensemble_ratio']:.3f}" if v["seed_sd"] is not None else "",
            f"{v['dm']:+.2f}" if v["dm"] is not None else "",
            f"{v['seconds']:.1f}",
            v["note"],
        ]
        for k, v in sc.items()
    ]
    n_seeds = max(v["n_seeds"] for v in sc.values())
    print(
        table(
            [
                "model",
                "RMSE",
                "MAE",
                "RMSE / Ridge",
                f"mean ± sd, {n_seeds} seeds",
                "seeds' mean forecast",
                "DM t vs Ridge",
                "CPU s",
                "chosen",
            ],
            rows,
        )
    )


def geo_summary(all_scores):
    names = []
    for sc in all_scores.values():
        for k in sc:
            if k not in names:
                names.append(k)
    rows = []
    for k in names:
        ratios = [sc[k]["ratio"] for sc in all_scores.values() if k in sc]
        wins = sum(1 for sc in all_scores.values() if k in sc and sc[k]["ratio"] < 1)
        g = math.exp(np.mean(np.log(ratios)))
        g_seeds = math.exp(
            np.mean([math.log(sc[k]["seed_ratio"]) for sc in all_scores.values() if k in sc])
        )
        secs = sum(sc[k]["seconds"] for sc in all_scores.values() if k in sc)
        rows.append([k, f"{g:.3f}", f"{g_seeds:.3f}", f"{len(ratios)}", f"{wins}", f"{secs:.0f}"])
    n_seeds = max(v["n_seeds"] for sc in all_scores.values() for v in sc.values())
    print("\nSummary: geometric mean over series of RMSE / Ridge RMSE")
    print(
        table(
            [
                "model",
                "geo-mean RMSE / Ridge",
                f"same, mean RMSE of {n_seeds} seeds",
                "series",
                "beats Ridge",
                "total CPU s",
            ],
            rows,
        )
    )
    print()
    series = list(all_scores)

    def cell(sc):
        if sc["n_seeds"] > 1:
            return f"{sc['ratio']:.2f} ({sc['seed_ratio']:.2f})"
        return f"{sc['ratio']:.2f}"

    ratio_rows = [
        [k] + [cell(all_scores[s][k]) if k in all_scores[s] else "-" for s in series]
        for k in names
    ]
    print(f"RMSE / Ridge RMSE per series (networks: seed 0 (mean RMSE of {n_seeds} seeds))")
    print(table(["model", *series], ratio_rows))


def plot(path, per_series, n_steps):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(per_series)
    n = len(names) + 1
    cols = 2
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(13, 3.2 * rows), layout="constrained")
    axes = np.atleast_1d(axes).ravel()
    show = [
        "Ridge (grid)",
        "best classical",
        "RNN default (README)",
        "RNN default, early stop",
        "RNN grid, norm off",
        "RNN grid, norm last",
        "RNN grid, norm standard",
    ]
    for ax, name in zip(axes, names, strict=False):
        info, y_test, results, sc = per_series[name]
        truth = y_test if n_steps == 1 else y_test[:, 0]
        ax.plot(truth, color="black", lw=2, label="actual")
        best = sc["best classical"]["note"].split(":")[0]
        by_name = {r.name: r for r in results}
        for label in show:
            key = label
            if label == "best classical":
                key = next(k for k in by_name if k.startswith(best))
            if key not in by_name:
                continue
            pred = by_name[key].pred if n_steps == 1 else by_name[key].pred[:, 0]
            ax.plot(pred, lw=1.2, label=f"{label} ({sc[key]['ratio']:.2f})")
        step = "" if n_steps == 1 else ", step 1 of the paths"
        ax.set_title(f"{name}: test part{step} (RMSE / Ridge)", fontsize="medium")
        ax.legend(fontsize="x-small", loc="best")
    ax = axes[len(names)]
    models = [k for k in per_series[names[0]][3] if k not in ("naive",)]
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        sc = per_series[name][3]
        vals = [sc[k]["ratio"] if k in sc else np.nan for k in models]
        ax.bar(np.arange(len(models)) + i * width, vals, width, label=name)
    ax.axhline(1, color="black", lw=1)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(models)) + 0.4, models, rotation=30, ha="right", fontsize="small")
    ax.set_title("RMSE / Ridge RMSE (log scale, lower is better)", fontsize="medium")
    ax.legend(fontsize="x-small", ncol=2)
    for ax in axes[n:]:
        ax.axis("off")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    print(f"Saved {path}")


def run_accuracy(args, n_steps):
    names = args.series or (
        (["sunspots", "gen_linear"] if args.quick else SERIES)
        if n_steps == 1
        else (["sunspots", "gen_linear"] if args.quick else ["sunspots", "elnino", "gen_linear"])
    )
    per_series, all_scores = {}, {}
    start, cpu_start = time.perf_counter(), time.process_time()
    for name in names:
        print(f"\n[{name}]", flush=True)
        info, y_test, results = evaluate_series(name, args, n_steps)
        sc = scores(y_test, results)
        per_series[name] = (info, y_test, results, sc)
        all_scores[name] = sc
        print_series_table(info, sc, n_steps)
    print()
    for name in names:
        print_series_table(per_series[name][0], all_scores[name], n_steps)
    geo_summary(all_scores)
    print(totals(start, cpu_start))
    plot_path = args.plot
    if n_steps > 1 and plot_path == DEFAULT_PLOT:
        suffix = "" if n_steps == 12 else f"_{n_steps}"
        plot_path = str(HERE / "images" / f"accuracy_multistep{suffix}.png")
    plot(plot_path, per_series, n_steps)


# ------------------------------------------------------ defaults that learn


class _ScoreRecorder(RNNRegressor):
    """RNNRegressor that keeps the last R² its ``score`` returned (the one
    check_regressors_train asserts on)."""

    scores = []

    def score(self, X, y, sample_weight=None):
        value = super().score(X, y, sample_weight=sample_weight)
        _ScoreRecorder.scores.append(value)
        return value


def check_passes(estimator):
    """(passes, training R²) of scikit-learn's check_regressors_train."""
    from sklearn.utils.estimator_checks import check_regressors_train

    _ScoreRecorder.scores.clear()
    recorder = _ScoreRecorder(**estimator.get_params())
    ctx = _quiet()
    try:
        check_regressors_train("RNNRegressor", recorder)
        ok = True
    except AssertionError:
        ok = False
    finally:
        ctx.__exit__(None, None, None)
    return ok, _ScoreRecorder.scores[-1]


def run_defaults(args):
    """Training settings: check_regressors_train for lstm/gru/rnn on every
    combination, then the README pipeline on sunspots and a generated series
    (RMSE / Ridge) for today's default and for the combinations that pass."""
    from sklearn.utils.estimator_checks import _regression_dataset

    combos = []
    lrs = [1e-3, 3e-3, 1e-2]
    batches = [32, 64]
    schedules = [(100, False), (200, True)]
    if args.quick:
        lrs, batches, schedules = [1e-3, 1e-2], [64], [(20, False)]
    for lr in lrs:
        for batch in batches:
            for epochs, es in schedules:
                combos.append(dict(lr=lr, batch_size=batch, max_epochs=epochs, early_stopping=es))
    extra_hidden = [] if args.quick else [16, 32]
    names = args.series or ["sunspots", "gen_linear"]
    cells = ["lstm", "gru", "rnn"]
    series_cells = ["lstm", "gru"]
    start, cpu_start = time.perf_counter(), time.process_time()

    def label(p):
        return (
            f"lr={p['lr']:g} b={p['batch_size']} e={p['max_epochs']}"
            f"{' ES' if p['early_stopping'] else ''}"
            f"{' h=' + str(p['hidden_size']) if 'hidden_size' in p else ''}"
        )

    # Stage 1: scikit-learn's check on every combination.
    checks = {}

    def check_row(params):
        key = label(params)
        if key not in checks:
            res = {}
            for cell in cells:
                est = RNNRegressor(cell=cell, random_state=SEED, **params)
                (ok, r2), seconds = timed(lambda est=est: check_passes(est))
                res[cell] = (ok, r2, seconds)
            checks[key] = res
            print(
                key,
                "|",
                " | ".join(f"{c} {v[1]:.2f} {'pass' if v[0] else 'FAIL'}" for c, v in res.items()),
                flush=True,
            )
        return checks[key]

    for params in combos:
        check_row(params)

    # Stage 2: the README pipeline on the series, for today's default and the
    # combinations that pass for every cell.
    prepared = {}
    for name in names:
        data, target, m, freq = load_series(name)
        X, y = make_supervised(data, target=target)
        X, y = X.to_numpy(float), np.asarray(y, float)
        split = int(SPLIT * len(X))
        ridge = ridge_search(window_grids(name, freq)[0])
        ridge.fit(X[:split], y[:split])
        r = root_mean_squared_error(y[split:], ridge.predict(X)[split:])
        prepared[name] = (X, y, split, r)
    series = {}

    def series_row(params):
        key = label(params)
        if key not in series:
            res = {}
            for cell in series_cells:
                for name in names:
                    X, y, split, ridge_rmse = prepared[name]
                    model = make_pipeline(
                        StandardScaler(),
                        SequenceWindower(24),
                        RNNRegressor(cell=cell, random_state=SEED, **params),
                    )
                    fitted, seconds = timed(
                        lambda model=model, X=X, y=y, split=split: model.fit(X[:split], y[:split])
                    )
                    rmse = root_mean_squared_error(y[split:], fitted.predict(X)[split:])
                    res[f"{cell} {name}"] = (rmse / ridge_rmse, seconds, fitted[-1].n_iter_)
            series[key] = res
            g = math.exp(np.mean(np.log([v[0] for v in res.values()])))
            print(
                key,
                "|",
                " | ".join(f"{k} {v[0]:.2f} ({v[1]:.1f} s, {v[2]})" for k, v in res.items()),
                f"| geo {g:.3f}",
                flush=True,
            )
        return series[key]

    default = dict(lr=1e-3, batch_size=64, max_epochs=100, early_stopping=False)
    evaluated = [default] + [
        p for p in combos if all(v[0] for v in check_row(p).values()) and p != default
    ]
    for params in evaluated:
        series_row(params)

    def geo(params):
        return math.exp(np.mean(np.log([v[0] for v in series_row(params).values()])))

    passing = [p for p in evaluated if all(v[0] for v in check_row(p).values())]
    ranked = sorted(passing or evaluated, key=geo)
    for params in ranked[:2]:
        for h in extra_hidden:
            more = {**params, "hidden_size": h}
            check_row(more)
            series_row(more)
            evaluated.append(more)

    header = ["settings (hidden 64 unless said)"]
    header += [f"check {c}: R², pass" for c in cells]
    header += [f"{c} {n}: RMSE/Ridge (s, epochs)" for c in series_cells for n in names]
    header += ["geo-mean RMSE/Ridge"]
    rows = []
    all_params = combos + [p for p in evaluated if p not in combos]
    for params in all_params:
        key = label(params)
        row = [key]
        row += [
            f"{checks[key][c][1]:.2f} {'pass' if checks[key][c][0] else 'FAIL'}" for c in cells
        ]
        if key in series:
            res = series[key]
            row += [
                f"{res[f'{c} {n}'][0]:.2f} ({res[f'{c} {n}'][1]:.1f}, {res[f'{c} {n}'][2]})"
                for c in series_cells
                for n in names
            ]
            row.append(f"{geo(params):.3f}")
        else:
            row += ["-"] * (len(series_cells) * len(names) + 1)
        rows.append(row)
    print("\nDefaults: check_regressors_train (training R² > 0.5 on make_regression 200 x 10)")
    print("and the README pipeline (StandardScaler -> SequenceWindower(24) -> RNNRegressor)")
    print("one-step test RMSE / Ridge RMSE; s = CPU seconds of one fit on the training rows")
    print(
        "(" + ", ".join(f"{n}: {prepared[n][2]} rows" for n in names) + "), epochs = epochs run;"
        " series only for today's default and the settings that pass for every cell"
    )
    print(table(header, rows))
    best = {k: v for k, v in ranked[0].items() if k != "hidden_size"}

    # The normalising prototype on the check's data: 2-D X (200, 10) is read as
    # 10-step univariate sequences.
    X, _ = _regression_dataset()
    scale = [float(np.diff(X, axis=1).std())]  # std of the steps' differences
    proto_rows = []
    standard = ([0.0], [1.0])  # the check's X is standardised: (offset - 0) / 1
    for norm, level in (
        ("last", None),
        ("standard", None),
        ("last_std", None),
        ("last", standard),
        ("standard", standard),
    ):
        row = [f"norm {norm}{' + level to head' if level else ''}"]
        for cell in cells:
            est = RNNRegressor(
                module=WindowNormNet,
                module_kwargs=dict(
                    cell=cell, hidden_size=64, norm=norm, scale=scale, target=0, level=level
                ),
                scale_y=False,
                random_state=SEED,
                **best,
            )
            ok, r2 = check_passes(est)
            row.append(f"{r2:.2f} {'pass' if ok else 'FAIL'}")
        proto_rows.append(row)
        print(" | ".join(row), flush=True)
    print(f"\nPrototype module on check_regressors_train, settings {label(best)}, hidden 64:")
    print(table(["module", *[f"check {c}: R², pass" for c in cells]], proto_rows))
    print(totals(start, cpu_start))


# ------------------------------------------------------------------- history


def run_history(args):
    """Cross-validated RMSE on TimeSeriesSplit as ``cross_val_score`` computes
    it (``history="auto"``, the default, and ``history="none"``, each test
    fold windowed alone) against scoring the same fold models on windows that
    reach back into the fold's training rows; and the window a
    ``GridSearchCV`` chooses with each."""
    data, target, _, _ = load_series("sunspots")
    X, y = make_supervised(data, target=target)
    X, y = X.to_numpy(float), np.asarray(y, float)
    split = int(SPLIT * len(X))
    Xtr, ytr = X[:split], y[:split]
    windows = [6, 11] if args.quick else [6, 11, 22, 33]
    kw = {} if args.epochs is None else {"max_epochs": args.epochs}
    models = {
        "RNN default (lstm)": lambda: make_pipeline(
            StandardScaler(),
            SequenceWindower(),
            RNNRegressor(cell="lstm", random_state=SEED, **kw),
        ),
        "Ridge alpha=1": lambda: make_pipeline(
            StandardScaler(), SequenceWindower(padding="edge", flatten=True), Ridge(alpha=1.0)
        ),
    }
    rows, chosen = [], []
    start, cpu_start = time.perf_counter(), time.process_time()
    for label, make in models.items():
        means = {"auto": [], "none": [], "true": []}
        for w in windows:
            scores = {"auto": [], "none": [], "true": []}
            for tr, te in CV.split(Xtr):
                model = make().set_params(sequencewindower__window=w).fit(Xtr[tr], ytr[tr])
                # What cross_val_score scores: the fold's rows alone.
                scores["auto"].append(root_mean_squared_error(ytr[te], model.predict(Xtr[te])))
                model.set_params(sequencewindower__history="none")
                scores["none"].append(root_mean_squared_error(ytr[te], model.predict(Xtr[te])))
                # The true history: windows of the whole series up to the fold's end.
                p_true = model.predict(Xtr[: te[-1] + 1])[te]
                scores["true"].append(root_mean_squared_error(ytr[te], p_true))
            for key, values in scores.items():
                means[key].append(np.mean(values))
            auto, none, true = (means[k][-1] for k in ("auto", "none", "true"))
            rows.append(
                [
                    label,
                    str(w),
                    f"{auto:.3f}",
                    f"{none:.3f}",
                    f"{true:.3f}",
                    f"{auto / true:.3f}",
                    f"{none / true:.3f}",
                ]
            )
            print(" | ".join(rows[-1]), flush=True)
        pick = {key: windows[int(np.argmin(v))] for key, v in means.items()}
        chosen.append([label, str(pick["auto"]), str(pick["none"]), str(pick["true"])])
    print(
        f"\nHistory: sunspots, {split} training rows, TimeSeriesSplit(3) folds of "
        f"{len(next(CV.split(Xtr))[1])} rows; CV RMSE = mean over folds"
    )
    print(
        table(
            [
                "model",
                "window",
                'CV RMSE, history="auto" (default)',
                'CV RMSE, history="none"',
                "CV RMSE, true history",
                "auto / true",
                "none / true",
            ],
            rows,
        )
    )
    print("\nWindow with the lowest CV RMSE (what GridSearchCV over the windows chooses)")
    print(table(["model", 'history="auto"', 'history="none"', "true history"], chosen))
    print(totals(start, cpu_start))


LINEAR_WINDOWS = {"yearly": [6, 11, 22, 33], "monthly": [12, 24, 36, 48, 72]}
NILE_LINEAR_WINDOWS = [4, 8, 16]
LINEAR_SPACES = [
    "raw",
    "window standardised",
    "log, relative to the last value",
    "raw + phase",
    "window standardised + phase",
    "ratio to the window's mean + phase",
    "log + phase",
    "log + phase read from the window",
]


def window_phase(series, n_train, m, w):
    """The season's phase read from each window of ``series`` alone (one-hot,
    the phase of the row each window forecasts): the season's profile is the
    mean deviation, month by month, from a centred moving average of one
    season over the first ``n_train`` values; each window's phase is the
    shift of that profile that, with a straight line, fits the window best.
    A map of this and the window is a map of one window: it needs no date."""
    t = np.arange(n_train)
    kernel = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    half = len(kernel) // 2
    trend = np.convolve(series[:n_train], kernel, mode="same")
    deviation = (series[:n_train] - trend)[half : n_train - half]
    months = t[half : n_train - half] % m
    profile = np.array([deviation[months == k].mean() for k in range(m)])
    profile -= profile.mean()
    lags = np.lib.stride_tricks.sliding_window_view(series, w)
    line = np.column_stack([np.ones(w), np.arange(w)])
    residual_maker = np.eye(w) - line @ np.linalg.pinv(line)
    # Candidate p: the window's last row is in month p.
    shifted = np.stack([profile[(p - (w - 1) + np.arange(w)) % m] for p in range(m)])
    misfit = np.stack(
        [(((lags - shifted[p]) @ residual_maker.T) ** 2).sum(axis=1) for p in range(m)], axis=1
    )
    return np.eye(m)[(misfit.argmin(axis=1) + 1) % m]


def run_linear_windows(args):
    """How far a linear map of one window can go: ridge regressions (penalty
    by leave-one-out error) of the next value on the target's last ``w``
    values, for several windows, on the raw values, on each window
    standardised by its own mean and spread (``window_norm="standard"``'s
    inputs), and on the logarithms relative to the last value (positive
    series: a multiplicative trend and season become additive), and on the
    seasonal series with the season's phase beside the window, from the
    calendar or read from the window itself (``window_phase``); with the
    phase also each positive window divided by its mean (a multiplicative
    season without logs). Same split
    and true-history test windows as the main table; RMSE relative to its
    grid-searched Ridge. Picking a cell by its test RMSE is an oracle: the
    table is a ceiling for models that see one window, not a forecaster."""
    from sklearn.linear_model import RidgeCV

    names = args.series or [s for s in SERIES if s != "macro_infl"]
    rows = []
    start, cpu_start = time.perf_counter(), time.process_time()
    for name in names:
        data, target, m, freq = load_series(name)
        X, y = make_supervised(data, target=target)
        X, y = X.to_numpy(float), np.asarray(y, float)
        split = int(SPLIT * len(X))
        ridge = ridge_search(window_grids(name, freq)[0]).fit(X[:split], y[:split])
        ridge_rmse = root_mean_squared_error(y[split:], ridge.predict(X)[split:])
        series = data[target].to_numpy(float)
        windows = NILE_LINEAR_WINDOWS if name == "nile" else LINEAR_WINDOWS[freq]
        for w in windows[:2] if args.quick else windows:
            lags = np.lib.stride_tricks.sliding_window_view(series[: len(y)], w)
            goal = y[w - 1 :]
            n_train = split - (w - 1)  # windows whose last row is a training row
            last = lags[:, -1]
            mean, spread = lags.mean(axis=1), lags.std(axis=1)
            ones, zeros = np.ones_like(last), np.zeros_like(last)
            # Each space: (inputs, goal, log?, scale, offset); a prediction p
            # maps back as offset + scale * (exp(p) if log else p).
            spaces = {
                "raw": (lags, goal, False, ones, zeros),
                "window standardised": (
                    (lags - mean[:, None]) / spread[:, None],
                    (goal - mean) / spread,
                    False,
                    spread,
                    mean,
                ),
            }
            if (series > 0).all():
                spaces["log, relative to the last value"] = (
                    np.log(lags) - np.log(last)[:, None],
                    np.log(goal) - np.log(last),
                    True,
                    last,
                    zeros,
                )
            if m:
                phase = np.eye(m)[np.arange(w - 1, len(y)) % m]
                for label in list(spaces):
                    Z, *rest = spaces[label]
                    spaces[label.split(",")[0] + " + phase"] = (np.hstack([Z, phase]), *rest)
                if "log + phase" in spaces:
                    spaces["ratio to the window's mean + phase"] = (
                        np.hstack([lags / mean[:, None] - 1, phase]),
                        goal / mean - 1,
                        False,
                        mean,
                        mean,
                    )
                    Z, *rest = spaces["log, relative to the last value"]
                    read = window_phase(np.log(series[: len(y)]), split, m, w)
                    spaces["log + phase read from the window"] = (np.hstack([Z, read]), *rest)
            test = np.arange(n_train, len(goal))
            cells = {}
            for label, (Z, t, log, scale, offset) in spaces.items():
                fit = RidgeCV(alphas=np.logspace(-4, 3, 15)).fit(Z[:n_train], t[:n_train])
                p = fit.predict(Z[test])
                pred = offset[test] + scale[test] * (np.exp(p) if log else p)
                cells[label] = root_mean_squared_error(goal[test], pred) / ridge_rmse
            row = [name, str(w)] + [f"{cells[k]:.3f}" if k in cells else "" for k in LINEAR_SPACES]
            rows.append(row)
            print(" | ".join(row), flush=True)
    print("\nLinear maps of one window: next-value RMSE / the grid-searched Ridge's")
    print(
        table(
            ["series", "window", *LINEAR_SPACES],
            rows,
        )
    )
    print(totals(start, cpu_start))


# Series outside the benchmark for --spread: statsmodels' macrodata columns
# (the first differences of logs, annualised, for growth rates), its
# interest_inflation columns and two monthly series; the README pipeline at 24
# steps.
OUTSIDE = ["tbilrate", "unemp", "gdp_growth", "m1_growth", "realint", "Dp", "R"]
OUTSIDE += ["elec_equip", "co2"]


def load_outside(name):
    """``(values, freq)`` of a series of OUTSIDE."""
    import statsmodels.api as sm

    if name in ("Dp", "R"):
        return sm.datasets.interest_inflation.load_pandas().data[name].to_numpy(float), "quarterly"
    if name == "elec_equip":
        from statsmodels.datasets import elec_equip

        return elec_equip.load_pandas().data.iloc[:, 0].to_numpy(float), "monthly"
    if name == "co2":
        co2 = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
        return co2.to_numpy(float), "monthly"
    macro = sm.datasets.macrodata.load_pandas().data
    if name.endswith("_growth"):
        column = {"gdp_growth": "realgdp", "m1_growth": "m1"}[name]
        return (400 * np.log(macro[column]).diff()).to_numpy(float)[1:], "quarterly"
    return macro[name].to_numpy(float), "quarterly"


SPREAD_WINDOWS = {
    "yearly": [5, 11, 16, 20, 22, 24, 30],
    "monthly": [12, 24],
    "quarterly": [4, 8, 12, 16, 20, 24],
}


def run_outside(args):
    """The README pipeline with its defaults, 24 steps, on the series of
    OUTSIDE, on the main table's split: RMSE / the grid-searched Ridge, the
    mean of ``--seeds`` seeds, and the geometric mean over the series."""
    rows, ratios = [], []
    start, cpu_start = time.perf_counter(), time.process_time()
    for name in OUTSIDE:
        values, freq = load_outside(name)
        data = pd.DataFrame({name: values})
        split = _split_with_ridge(data, name, RIDGE_WINDOWS[freq])
        ratios.append(_seed_mean(split, 24, args))
        rows.append([name, freq, str(len(split[2])), f"{ratios[-1]:.3f}"])
        print(" | ".join(rows[-1]), flush=True)
    rows.append(["geometric mean", "", "", f"{np.exp(np.mean(np.log(ratios))):.3f}"])
    print(
        f"\nSeries outside the benchmark; README pipeline RMSE / Ridge, mean of {args.seeds} seeds"
    )
    print(table(["series", "frequency", "training rows", "RNN default"], rows))
    print(totals(start, cpu_start))


DRAWS = {"gen_linear": ("linear", 360), "gen_exp": ("exp", 420)}


def run_draws(args):
    """Other draws of the two generated series (generator seeds 3 onward;
    the benchmark's are 1 and 2), on the main table's protocol: ETS (AIC,
    frozen), the README pipeline with its defaults and with
    ``window_norm="log"``, each also with the season's phase as twelve
    one-hot columns beside the series (means of ``--seeds`` seeds), as RMSE /
    Ridge (on the series alone), and the geometric mean of each over the
    draws."""
    labels = ["ETS (AIC)", "RNN default", '"log"', "default + phase", '"log" + phase']
    rows, ratios = [], {label: [] for label in labels}
    start, cpu_start = time.perf_counter(), time.process_time()
    for name, (kind, n) in DRAWS.items():
        for draw in range(3, 3 + args.draws):
            series = _generated(n, draw, kind)
            split = _split_with_ridge(pd.DataFrame({name: series}), name, RIDGE_WINDOWS["monthly"])
            X, y, train, test, ridge_rmse = split
            fitted, _ = ets_search(series[: len(train) + 1], 12)
            ets = ets_one_step(fitted, series)[test + 1]
            row = [root_mean_squared_error(y[test], ets) / ridge_rmse]
            row += [_seed_mean(split, 24, args, window_norm=mode) for mode in ("auto", "log")]
            X_phase = np.hstack([X, np.eye(12)[np.arange(len(X)) % 12]])
            split = (X_phase, *split[1:])
            row += [_seed_mean(split, 24, args, window_norm=mode) for mode in ("auto", "log")]
            for label, value in zip(labels, row, strict=True):
                ratios[label].append(value)
            rows.append([name, str(draw)] + [f"{v:.3f}" for v in row])
            print(" | ".join(rows[-1]), flush=True)
    geo = [f"{np.exp(np.mean(np.log(ratios[label]))):.3f}" for label in labels]
    rows.append(["geometric mean", ""] + geo)
    seeds = f"networks the mean of {args.seeds} seeds"
    print(f"\nOther draws of the generated series; RMSE / Ridge, {seeds}")
    print(table(["series", "draw", *labels], rows))
    print(totals(start, cpu_start))


def run_spread(args):
    """``window_norm="auto"``'s spread rule: its statistic on each series'
    training target (the rank correlation of the windows' means with their
    mean absolute changes, times the square root of the disjoint windows),
    whether the rule normalises at that window, and the README pipeline's
    one-step RMSE / Ridge there with ``window_norm=None`` and ``"standard"``
    (mean of ``--seeds`` seeds), on the main table's split; then the same at
    24 steps on the series of OUTSIDE (not with ``--series``)."""
    from sklearn_rnn._regressor import (
        _auto_normalises,
        _leaves_its_range,
        _spread_grows_with_level,
        _spread_statistic,
    )

    rows = []
    start, cpu_start = time.perf_counter(), time.process_time()
    runs = []
    for name in args.series or SERIES:
        data, target, _, freq = load_series(name)
        runs.append((name, data, target, freq))
    for name in [] if args.series else OUTSIDE:
        values, freq = load_outside(name)
        runs.append((f"{name} (outside)", pd.DataFrame({name: values}), name, freq))
    for name, data, target, freq in runs:
        ridge_windows = RIDGE_WINDOWS[freq] if "outside" in name else window_grids(name, freq)[0]
        windows = [24] if "outside" in name else args.windows or SPREAD_WINDOWS[freq]
        split = _split_with_ridge(data, target, ridge_windows)
        for window in windows:
            goal, ratios = _both_modes(split, window, args)
            statistic = _spread_statistic(goal, window)
            row = [
                name,
                str(window),
                "-" if statistic is None else f"{statistic:+.2f}",
                "yes" if _spread_grows_with_level(goal, window) else "no",
                "yes" if _leaves_its_range(goal) else "no",
                "standard" if _auto_normalises(goal, window) else "none",
                *(f"{r:.3f}" for r in ratios),
            ]
            rows.append(row)
            print(" | ".join(row), flush=True)
    print(f"\nThe spread rule; README pipeline RMSE / Ridge, mean of {args.seeds} seeds")
    header = ["series", "window", "statistic", "spread grows", "leaves its range"]
    print(table([*header, '"auto" gives', "window_norm=None", '"standard"'], rows))
    if not args.series:
        print(table(*synthetic_families(args)))
    print(totals(start, cpu_start))


def _split_with_ridge(data, target, ridge_windows):
    """The main table's split of ``data`` for one-step forecasts of
    ``target``: ``(X, y, train, test, ridge_rmse)``, the last the test RMSE
    of the grid-searched Ridge."""
    X, y = make_supervised(data, target=target)
    X, y = X.to_numpy(float), np.asarray(y, float)
    split = int(SPLIT * len(X))
    train, test = np.arange(split), np.arange(split, len(X))
    ridge = ridge_search(ridge_windows).fit(X[train], y[train])
    return X, y, train, test, root_mean_squared_error(y[test], ridge.predict(X)[test])


def _both_modes(split, window, args, seeds=None):
    """The README pipeline at ``window`` with ``window_norm=None`` and
    ``"standard"`` on ``split`` (from :func:`_split_with_ridge`): the training
    target ``(n, 1)`` and the mean one-step RMSE / Ridge's of each mode over
    ``seeds`` seeds (``--seeds``)."""
    means = [
        _seed_mean(split, window, args, seeds, window_norm=norm) for norm in (None, "standard")
    ]
    X, y, train, test, ridge_rmse = split
    return y[train, None], means


def _seed_mean(split, window, args, seeds=None, **params):
    """The README pipeline at ``window`` (with ``params`` for its regressor)
    on ``split``: the mean one-step RMSE / Ridge's over ``seeds`` seeds
    (``--seeds``)."""
    X, y, train, test, ridge_rmse = split
    ratios = []
    for seed in range(args.seeds if seeds is None else seeds):
        model = rnn_default(args.epochs, window, **params)
        model.set_params(rnnregressor__random_state=seed).fit(X[train], y[train])
        pred = model.predict(X)[test]
        ratios.append(root_mean_squared_error(y[test], pred) / ridge_rmse)
    return float(np.mean(ratios))


def _synthetic(kind, n, rng):
    """One generated series: ``"ar"`` an AR(1) at 0.95 around 5, ``"cir"`` the
    same with a spread that grows as the square root of the level (an
    interest rate's Cox-Ingersoll-Ross model), ``"iid"`` noise around 5."""
    if kind == "iid":
        return 5.0 + rng.normal(size=n)
    v = np.empty(n + 100)
    v[0] = 5.0
    for i in range(1, n + 100):
        spread = 0.5 * np.sqrt(v[i - 1]) if kind == "cir" else 1.1
        v[i] = max(0.05, v[i - 1] + 0.05 * (5.0 - v[i - 1]) + spread * rng.normal())
    return v[100:]


SYNTHETIC = [("ar", 200), ("ar", 600), ("cir", 200), ("iid", 200)]


def synthetic_families(args, count=12):
    """The README pipeline (one seed) on ``count`` generated series of each
    family of SYNTHETIC, the same split and Ridge as the quarterly series:
    geometric means of RMSE / Ridge with ``window_norm=None``,
    ``"standard"`` and what ``"auto"`` chose, the worst series of each, and
    how often ``"auto"`` standardised. ``(header, rows)`` for :func:`table`."""
    from sklearn_rnn._regressor import _auto_normalises

    rows = []
    rng = np.random.default_rng(SEED)
    for kind, n in SYNTHETIC:
        ratios, chosen = [], 0
        for _ in range(count):
            data = pd.DataFrame({"v": _synthetic(kind, n, rng)})
            split = _split_with_ridge(data, "v", RIDGE_WINDOWS["quarterly"])
            goal, pair = _both_modes(split, 24, args, seeds=1)
            auto = _auto_normalises(goal, 24)
            chosen += auto
            ratios.append([*pair, pair[auto]])
            print(kind, n, " ".join(f"{r:.3f}" for r in ratios[-1]), flush=True)
        ratios = np.array(ratios)
        geo = np.exp(np.log(ratios).mean(axis=0))
        worst = ratios.max(axis=0)
        cells = [f"{g:.3f} ({w:.2f})" for g, w in zip(geo, worst, strict=True)]
        rows.append([kind, str(n), *cells, f"{chosen} of {count}"])
    header = ["generated", "rows", "window_norm=None", '"standard"', '"auto"']
    header.append('"auto" standardised')
    print(f"\nGenerated series, {count} each: geometric mean of RMSE / Ridge (the worst)")
    return header, rows


DEFAULT_PLOT = str(HERE / "images" / "accuracy.png")


def main():
    p = parser(__doc__.split("\n\n")[0])
    p.add_argument("--series", nargs="+", choices=SERIES, help="series to run (default: all)")
    p.add_argument("--plot", default=DEFAULT_PLOT, help="where to save the figure")
    p.add_argument("--multistep", action="store_true", help="direct 12-step forecasts instead")
    p.add_argument(
        "--steps", type=int, default=12, help="with --multistep: the steps forecast (default 12)"
    )
    p.add_argument(
        "--defaults", action="store_true", help="training defaults and check_regressors_train"
    )
    p.add_argument("--history", action="store_true", help="CV bias of block-only windows")
    p.add_argument(
        "--spread",
        action="store_true",
        help="window_norm='auto''s spread rule and both modes at several windows",
    )
    p.add_argument(
        "--outside",
        action="store_true",
        help="the README pipeline on nine series outside the benchmark",
    )
    p.add_argument(
        "--linear-windows",
        action="store_true",
        help="ridge maps of one window (raw, standardised, log) at several windows",
    )
    p.add_argument(
        "--draws",
        type=int,
        default=0,
        metavar="N",
        help="ETS and the README pipeline (defaults, window_norm='log', each also with "
        "the season's phase) on N other draws of each generated series",
    )
    p.add_argument("--epochs", type=int, default=None, help="override max_epochs of every network")
    p.add_argument(
        "--cv-tail",
        type=float,
        default=None,
        metavar="SHARE",
        help="every search on 3 folds at the end of the training rows, each testing "
        "SHARE of them (default: TimeSeriesSplit(3))",
    )
    p.add_argument(
        "--windows",
        type=int,
        nargs="*",
        default=[],
        help="also run the README pipeline with these windows instead of 24",
    )
    p.add_argument(
        "--phase",
        action="store_true",
        help="also Ridge and the README pipeline with the season's phase as one-hot columns",
    )
    p.add_argument(
        "--log",
        action="store_true",
        help="also the README pipeline and its grid with window_norm='log' on positive series",
    )
    p.add_argument(
        "--early-stopping",
        action="store_true",
        help="also the README pipeline and its grid with early_stopping=True",
    )
    p.add_argument(
        "--average",
        type=float,
        nargs="*",
        default=[],
        help="also the README pipeline and its grid with these values of average "
        "(0: the last epoch's weights)",
    )
    p.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="refit each network with this many seeds at its chosen settings "
        "(default 3, 1 with --quick)",
    )
    p.add_argument(
        "--norms",
        nargs="*",
        default=[],
        choices=["last", "standard", "last_std"],
        help="normalisation prototypes to run",
    )
    args = p.parse_args()
    if args.quick and args.epochs is None:
        args.epochs = 10
    if args.seeds is None:
        args.seeds = 1 if args.quick else 3
    if args.cv_tail is not None:
        global CV
        CV = TailSplit(args.cv_tail)
    print(machine(), flush=True)
    torch.set_num_threads(
        1
    )  # every network on one thread (RNNRegressor's own policy for small ones)
    if args.defaults:
        run_defaults(args)
    elif args.history:
        run_history(args)
    elif args.linear_windows:
        run_linear_windows(args)
    elif args.spread:
        run_spread(args)
    elif args.outside:
        run_outside(args)
    elif args.draws:
        run_draws(args)
    else:
        run_accuracy(args, n_steps=args.steps if args.multistep else 1)


if __name__ == "__main__":
    main()
