"""
Several features in, a twelve-hour forecast path out
====================================================

An hourly table of a building's electricity demand, the outdoor temperature
and the hour of day (as sine and cosine). From each hour we forecast the next
twelve hours of demand at once ("direct" multi-step forecasting):
``make_supervised(df, n_steps=12, target="demand")`` gives one row per hour,
all columns as inputs and twelve target columns ``demand_h1 .. demand_h12``.
``RNNRegressor`` predicts all twelve from one network (no
``MultiOutputRegressor``), and pandas DataFrames go in unchanged.

The forecasts are compared, step by step, with two naive ones: "demand stays
as it is now" and "demand repeats yesterday's".
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_rnn import RNNRegressor, SequenceWindower, make_supervised

OUT = Path(os.environ.get("SKLEARN_RNN_EXAMPLES_OUT", Path(__file__).parent / "images"))
OUT.mkdir(parents=True, exist_ok=True)

# Sixty days of hourly data: temperature follows a daily cycle plus a slowly
# wandering weather anomaly; demand rises when it is cold and during the day.
rng = np.random.default_rng(0)
index = pd.date_range("2024-01-01", periods=60 * 24, freq="h")
hour = index.hour.to_numpy()
anomaly = np.zeros(len(index))
for t in range(1, len(index)):
    anomaly[t] = 0.97 * anomaly[t - 1] + 0.5 * rng.normal()
temperature = 8 + 4 * np.sin(2 * np.pi * (hour - 9) / 24) + anomaly
occupancy = np.where((hour >= 7) & (hour <= 19), 1.0, 0.2)
demand = (
    40
    + 2.0 * np.clip(16 - temperature, 0, None)
    + 25 * occupancy
    + rng.normal(scale=2.0, size=len(index))
)
df = pd.DataFrame(
    {
        "demand": demand,
        "temperature": temperature,
        "hour_sin": np.sin(2 * np.pi * hour / 24),
        "hour_cos": np.cos(2 * np.pi * hour / 24),
    },
    index=index,
)
print(df.head(3).round(2))

horizon = 12
X, Y = make_supervised(df, n_steps=horizon, target="demand")
print(f"\nX: {X.shape}, Y: {Y.shape}, target columns {list(Y.columns[:2])} ...")

n_test = 10 * 24
X_train, Y_train = X.iloc[:-n_test], Y.iloc[:-n_test]
model = make_pipeline(
    StandardScaler(),
    SequenceWindower(window=24),
    RNNRegressor(
        cell="lstm",
        hidden_size=24,
        lr=0.01,
        max_epochs=40,
        early_stopping=True,
        random_state=0,
    ),
)
model.fit(X_train, Y_train)
print(f"Trained {model[-1].n_iter_} epochs")

# Forecast from every hour of the last ten days (the windows of the first
# test rows reach back into the training days).
Y_test = Y.iloc[-n_test:].to_numpy()
Y_pred = model.predict(X)[-n_test:]
now = X["demand"].to_numpy()
persistence = np.repeat(now[-n_test:, None], horizon, axis=1)
# Yesterday at the same hour as each target hour k: the value 24 - k hours ago.
yesterday = np.column_stack(
    [now[len(now) - n_test - 24 + k : len(now) - 24 + k] for k in range(1, horizon + 1)]
)
steps = np.arange(1, horizon + 1)
mae = pd.DataFrame(
    {
        name: mean_absolute_error(Y_test, pred, multioutput="raw_values")
        for name, pred in [
            ("LSTM", Y_pred),
            ("same as now", persistence),
            ("same as yesterday", yesterday),
        ]
    },
    index=pd.Index(steps, name="hours ahead"),
)
print("\nTest MAE by forecast step:")
print(mae.round(2).to_string())

fig, (ax, ax_mae) = plt.subplots(
    1, 2, figsize=(12, 4), width_ratios=[2.2, 1], layout="constrained"
)
# Forecast paths every twelve hours over the last four days. The windower
# keeps one row per input row, so the prediction for the LAST row of a block
# is the forecast from that hour; from the last row of df it is a forecast of
# the twelve hours after the data ends.
shown = 4 * 24
ax.plot(
    df.index[-shown:],
    df["demand"].iloc[-shown:],
    color="black",
    lw=1.5,
    label="actual demand",
)
one_hour = pd.Timedelta(hours=1)
for origin in range(len(df) - shown + 11, len(df), 12):
    block = df.iloc[origin - 23 : origin + 1]  # the 24 hours the window needs
    path = model.predict(block)[-1]
    times = pd.date_range(df.index[origin], periods=horizon + 1, freq=one_hour)
    beyond = origin == len(df) - 1
    ax.plot(
        times,
        np.r_[df["demand"].iloc[origin], path],
        color="tab:red" if beyond else "tab:blue",
        ls="--" if beyond else "-",
        marker=".",
        markevery=[0],
        lw=1.5,
        label=(
            "forecast after the last observation"
            if beyond
            else ("12-hour forecast paths" if origin == len(df) - shown + 11 else None)
        ),
    )
ax.set(
    title="LSTM forecast paths, every 12 hours over the last four days",
    xlabel="time",
    ylabel="demand (kW)",
    ylim=(df["demand"].iloc[-shown:].min() - 3, df["demand"].iloc[-shown:].max() + 10),
)
ax.tick_params(axis="x", labelrotation=30)
ax.legend(loc="upper left", ncols=3, fontsize="small")

for name, style in [
    ("LSTM", "o-"),
    ("same as now", "s--"),
    ("same as yesterday", "^:"),
]:
    ax_mae.plot(steps, mae[name], style, label=name)
ax_mae.set(
    title="Test error by forecast step",
    xlabel="hours ahead",
    ylabel="mean absolute error (kW)",
    xticks=steps,
)
ax_mae.legend(fontsize="small")
fig.savefig(OUT / "multistep.png", dpi=100)
print(f"Saved {OUT / 'multistep.png'}")
