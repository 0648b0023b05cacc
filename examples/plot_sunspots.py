"""
Forecasting yearly sunspot numbers with a tuned recurrent network
=================================================================

The yearly sunspot series (1700-2008, shipped with statsmodels) follows a
cycle of roughly eleven years whose peaks vary in height. We forecast next
year's number from the years before it with an ordinary scikit-learn pipeline

    StandardScaler -> SequenceWindower -> RNNRegressor

fit it with its defaults, tune its window length and network size with ``GridSearchCV`` on
``TimeSeriesSplit`` (each validation fold lies after its training rows), and
compare it on the last years of the series, never seen in tuning or training,
with two baselines: the naive forecast "next year equals this year" and a
Ridge regression on the same windows, flattened into lag columns.
"""

import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import statsmodels.api as sm
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_error, root_mean_squared_error
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_rnn import RNNRegressor, SequenceWindower, make_supervised

OUT = Path(os.environ.get("SKLEARN_RNN_EXAMPLES_OUT", Path(__file__).parent / "images"))
OUT.mkdir(parents=True, exist_ok=True)

data = sm.datasets.sunspots.load_pandas().data
sunspots = pd.Series(
    data["SUNACTIVITY"].to_numpy(), index=data["YEAR"].astype(int), name="sunspots"
)

# Row t of X is year t; y[t] is the number one year later.
X, y = make_supervised(sunspots, horizon=1)
n_test = 60
X_train, y_train = X.iloc[:-n_test], y.iloc[:-n_test]
print(
    f"{len(X_train)} training rows (targets {y.index[0] + 1}-{y.index[-n_test]}), "
    f"{n_test} test rows (targets {y.index[-n_test] + 1}-{y.index[-1] + 1})"
)

# The network, with its defaults. RNNRegressor finds that the target is next
# year's value of X's column (whatever the scaler did to it); had the series
# left its training range, it would read each window by its own mean and
# spread and map the forecast back exactly (window_norm="auto"; sunspots
# return to their mean, so window_norm_ is None). A linear skip starts it
# halfway to the least-squares fit of the lags. The defaults alone, first:
default = make_pipeline(StandardScaler(), SequenceWindower(22), RNNRegressor(random_state=0))
default.fit(X_train, y_train)
print("window_norm used:", default[-1].window_norm_)

rnn = make_pipeline(StandardScaler(), SequenceWindower(), RNNRegressor(random_state=0))
cv = TimeSeriesSplit(n_splits=3)
search = GridSearchCV(
    rnn,
    {"sequencewindower__window": [11, 22], "rnnregressor__hidden_size": [16, 32]},
    cv=cv,
    scoring="neg_mean_absolute_error",
)
start = time.perf_counter()
search.fit(X_train, y_train)
print(
    f"Grid search ({len(search.cv_results_['params'])} candidates x 3 folds) "
    f"took {time.perf_counter() - start:.1f} s"
)
results = pd.DataFrame(
    {
        "window": search.cv_results_["param_sequencewindower__window"],
        "hidden_size": search.cv_results_["param_rnnregressor__hidden_size"],
        "CV MAE": -search.cv_results_["mean_test_score"],
        "rank": search.cv_results_["rank_test_score"],
    }
)
print(results.round(2).to_string(index=False))
print("Best:", search.best_params_, "epochs:", search.best_estimator_[-1].n_iter_)

# The linear baseline: the same windows, flattened into lag columns. Ridge
# cannot read NaN padding, so the first rows of each training block repeat
# its first value instead (the test folds continue from their training rows
# and need no padding).
ridge = GridSearchCV(
    make_pipeline(StandardScaler(), SequenceWindower(padding="edge", flatten=True), Ridge()),
    {"sequencewindower__window": [3, 6, 11, 22], "ridge__alpha": [0.1, 1.0, 10.0]},
    cv=cv,
    scoring="neg_mean_absolute_error",
).fit(X_train, y_train)

# Predict on the whole series so that the first test windows reach back into
# the training years, as they would when forecasting; score only the test rows.
y_test = y.iloc[-n_test:]
forecasts = {
    "naive (last value)": X["sunspots"].iloc[-n_test:].to_numpy(),
    f"Ridge, window {ridge.best_params_['sequencewindower__window']}": (
        ridge.predict(X)[-n_test:]
    ),
    "LSTM defaults, window 22": default.predict(X)[-n_test:],
    f"LSTM tuned, window {search.best_params_['sequencewindower__window']}": (
        search.predict(X)[-n_test:]
    ),
}
table = pd.DataFrame(
    {
        name: {
            "MAE": mean_absolute_error(y_test, pred),
            "RMSE": root_mean_squared_error(y_test, pred),
        }
        for name, pred in forecasts.items()
    }
).T
print(f"\nOne-year-ahead forecasts, {n_test} test years:")
print(table.round(1).to_string())

years = y.index + 1  # the year each target belongs to
fig, ax = plt.subplots(figsize=(10, 4), layout="constrained")
ax.plot(years[-n_test - 40 :], y.iloc[-n_test - 40 :], color="black", lw=2, label="actual")
styles = {
    0: dict(color="0.6", ls=":"),
    1: dict(color="tab:blue", ls="--"),
    2: dict(color="tab:green", ls="-."),
    3: dict(color="tab:orange", ls="-"),
}
for i, (name, pred) in enumerate(forecasts.items()):
    ax.plot(
        years[-n_test:],
        pred,
        lw=1.5,
        **styles[i],
        label=f"{name} (MAE {table.loc[name, 'MAE']:.1f})",
    )
ax.axvline(years[-n_test] - 0.5, color="0.5", lw=1)
ax.text(years[-n_test] - 1, 220, "training | test ", ha="center", va="top", color="0.4")
ax.set(
    title="Yearly sunspot number: one-year-ahead forecasts on the test years",
    xlabel="year",
    ylabel="sunspot number",
    ylim=(-5, 225),
)
ax.legend(loc="upper left", fontsize="small")
fig.savefig(OUT / "sunspots.png", dpi=100)
print(f"Saved {OUT / 'sunspots.png'}")
