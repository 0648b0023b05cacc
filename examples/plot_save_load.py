"""
Save a fitted pipeline, load it back, and read its training history
===================================================================

A fitted pipeline (scaler, windower and network together) is one Python
object: ``joblib.dump`` writes it to a file and ``joblib.load`` gives back a
pipeline that predicts exactly the same values, on any machine with the
libraries installed (a model trained on a GPU loads on a CPU-only machine).
Only load files you trust: unpickling runs code.

The regressor also keeps its training history: ``loss_curve_`` (training
loss per epoch) and, with ``early_stopping=True``, ``validation_loss_curve_``
(the loss on the last tenth of the training rows, in time order). Training
stopped when the validation loss had not improved for ``n_iter_no_change``
epochs, and the weights of the best epoch were kept.

The data: monthly changes of the atmospheric CO2 concentration at Mauna Loa
(shipped with statsmodels), forecast one month ahead.
"""

import os
import tempfile
from pathlib import Path

import joblib
import matplotlib.pyplot as plt
import numpy as np
import statsmodels.api as sm
from sklearn.metrics import mean_absolute_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_rnn import RNNRegressor, SequenceWindower, make_supervised

OUT = Path(os.environ.get("SKLEARN_RNN_EXAMPLES_OUT", Path(__file__).parent / "images"))
OUT.mkdir(parents=True, exist_ok=True)

co2 = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
change = co2.diff().dropna().rename("co2_change")  # ppm per month
X, y = make_supervised(change, horizon=1)
n_test = 96
X_train, y_train = X.iloc[:-n_test], y.iloc[:-n_test]

model = make_pipeline(
    StandardScaler(),
    SequenceWindower(window=24),
    RNNRegressor(
        cell="gru",
        hidden_size=16,
        lr=0.002,
        max_epochs=200,
        early_stopping=True,
        n_iter_no_change=10,
        random_state=0,
    ),
).fit(X_train, y_train)
rnn = model[-1]
best = int(np.argmin(rnn.validation_loss_curve_))
print(f"Stopped after {rnn.n_iter_} epochs; best validation loss at epoch {best + 1}")

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "co2_model.joblib"
    joblib.dump(model, path)
    print(f"Saved the fitted pipeline: {path.stat().st_size / 1024:.0f} KiB")
    # In practice, this line runs in another process or on another machine.
    loaded = joblib.load(path)

y_pred = model.predict(X)[-n_test:]
y_loaded = loaded.predict(X)[-n_test:]
print("Loaded pipeline gives identical predictions:", np.array_equal(y_pred, y_loaded))
print(
    f"Test MAE over the last {n_test} months: "
    f"{mean_absolute_error(y.iloc[-n_test:], y_loaded):.3f} ppm"
)

fig, (ax_loss, ax_pred) = plt.subplots(
    1, 2, figsize=(12, 4), width_ratios=[1, 1.6], layout="constrained"
)
epochs = np.arange(1, rnn.n_iter_ + 1)
ax_loss.plot(epochs, rnn.loss_curve_, label="training loss (loss_curve_)")
ax_loss.plot(epochs, rnn.validation_loss_curve_, label="validation loss (validation_loss_curve_)")
ax_loss.axvline(best + 1, color="0.4", ls=":", label=f"best epoch ({best + 1}), kept")
ax_loss.set(
    title="Training history of the loaded model",
    xlabel="epoch",
    ylabel="mean squared error (standardised target)",
)
ax_loss.xaxis.get_major_locator().set_params(integer=True)
ax_loss.legend(loc="upper right", fontsize="small")

months = change.index[-n_test:]  # the months the targets belong to
ax_pred.plot(months, y.iloc[-n_test:], color="black", lw=1.5, label="actual")
ax_pred.plot(months, y_pred, color="tab:blue", lw=3, alpha=0.5, label="fitted pipeline")
ax_pred.plot(months, y_loaded, color="tab:orange", ls="--", lw=1.5, label="loaded from file")
ax_pred.set(
    title="One-month-ahead forecasts on the test years: before and after saving",
    xlabel="month",
    ylabel="CO2 change (ppm per month)",
)
ax_pred.legend(loc="lower left", ncols=3, fontsize="small")
fig.savefig(OUT / "save_load.png", dpi=100)
print(f"Saved {OUT / 'save_load.png'}")
