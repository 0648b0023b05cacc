"""
A season that grows with its level: the month as input, the windows in logs
==========================================================================

Thirty years of monthly sales with a growing trend and a season whose swing
grows with the level (December sells 40 % above the year's average, whatever
the year). A window of 24 months sees each month of the year only twice:
where in the season a window ends, it has to guess from those few steps,
while a seasonal model (ETS, seasonal ARIMA) carries the season through the
whole history.

So give the network the month. One column per month (1 in the row's own)
goes beside the series: ``make_supervised`` puts every column in ``X`` and
the pipeline stays as it is (``window_norm="auto"`` still finds the series
among the columns). And since the season multiplies the level, read the
series in logarithms, where trend and season add up: with
``window_norm="log"`` the network forecasts the logarithm of the next value
and is trained on the logarithms' errors; ``predict`` returns the forecast
itself.

Three networks with the package's defaults, on the same split (the last six
years for testing, rolling one-month-ahead forecasts), against a
grid-searched Ridge on lag windows and the seasonal naive forecast (the same
month last year).
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_rnn import RNNRegressor, SequenceWindower, make_supervised

OUT = Path(os.environ.get("SKLEARN_RNN_EXAMPLES_OUT", Path(__file__).parent / "images"))
OUT.mkdir(parents=True, exist_ok=True)

rng = np.random.default_rng(0)
index = pd.date_range("1995-01-01", periods=360, freq="MS")
t = np.arange(len(index))
level = 100 * np.exp(0.005 * t + np.cumsum(rng.normal(0, 0.01, len(t))))
season = 1 + 0.4 * np.array([-0.5, -0.6, -0.2, 0.0, 0.1, 0.3, 0.4, 0.2, -0.1, -0.2, 0.0, 1.0])
sales = level * season[index.month - 1] * (1 + rng.normal(0, 0.02, len(t)))
data = pd.DataFrame({"sales": sales}, index=index)

month = pd.get_dummies(data.index.month, prefix="month", dtype=float).set_axis(data.index)
inputs = {
    "LSTM defaults": (data, "auto"),
    "LSTM defaults + month": (data.join(month), "auto"),
    'LSTM + month, window_norm="log"': (data.join(month), "log"),
}

n_test = 72
X, y = make_supervised(data, target="sales")
y_test = y.iloc[-n_test:].to_numpy()
forecasts = {}

ridge = GridSearchCV(
    make_pipeline(StandardScaler(), SequenceWindower(padding="edge", flatten=True), Ridge()),
    {"sequencewindower__window": [3, 6, 12, 24, 36], "ridge__alpha": [0.01, 0.1, 1, 10, 100]},
    cv=TimeSeriesSplit(3),
    scoring="neg_root_mean_squared_error",
)
ridge.fit(X.iloc[:-n_test], y.iloc[:-n_test])
forecasts["Ridge on lags (grid)"] = ridge.predict(X)[-n_test:]
# The same month last year: y[t] is sales[t + 1], twelve months after sales[t - 11].
forecasts["same month last year"] = data["sales"].to_numpy()[-n_test - 12 : -12]

for name, (table, window_norm) in inputs.items():
    X_in, y_in = make_supervised(table, target="sales")
    model = make_pipeline(
        StandardScaler(),
        SequenceWindower(window=24),
        RNNRegressor(cell="lstm", window_norm=window_norm, random_state=0),
    )
    model.fit(X_in.iloc[:-n_test], y_in.iloc[:-n_test])
    # The whole table in, the test rows out: their windows reach back into
    # the training rows.
    forecasts[name] = model.predict(X_in)[-n_test:]

rmse = {name: root_mean_squared_error(y_test, pred) for name, pred in forecasts.items()}
ridge_rmse = rmse["Ridge on lags (grid)"]
print(f"One-month-ahead forecasts over the last {n_test} months:")
print(f"{'':34}  RMSE  / Ridge")
for name, value in rmse.items():
    print(f"{name:34}{value:6.1f}  {value / ridge_rmse:5.2f}")

fig, (ax, ax_bar) = plt.subplots(
    1, 2, figsize=(12, 4.2), width_ratios=[2.3, 1], layout="constrained"
)
shown = 36
when = y.index[-shown:] + pd.offsets.MonthBegin(1)  # the month each forecast is for
ax.plot(when, y_test[-shown:], color="black", lw=2, label="actual")
for name, color in [
    ("Ridge on lags (grid)", "tab:gray"),
    ("LSTM defaults", "tab:blue"),
    ('LSTM + month, window_norm="log"', "tab:red"),
]:
    ax.plot(when, forecasts[name][-shown:], color=color, lw=1.3, marker=".", label=name)
ax.set(
    title="One month ahead, the last three test years",
    xlabel="month forecast",
    ylabel="sales",
)
ax.legend(loc="upper left", fontsize="small")

names = list(rmse)
colors = ["tab:gray", "tab:olive", "tab:blue", "tab:purple", "tab:red"]
ax_bar.barh(names, [rmse[n] / ridge_rmse for n in names], color=colors)
ax_bar.axvline(1.0, color="black", lw=0.8)
ax_bar.invert_yaxis()
ax_bar.set(title="Test RMSE / Ridge's", xlabel="lower is better")
ax_bar.tick_params(axis="y", labelsize="small")

path = OUT / "seasonal.png"
fig.savefig(path, dpi=110)
print(f"\nSaved {path}")
