"""
The RNN tutorial, shortened: predict the next value of a sine wave
==================================================================

Hand-written PyTorch tutorials take four steps to forecast a sine wave:

1. define an ``nn.Module`` with an ``nn.RNN`` layer and a linear head;
2. cut the series into fixed-length sequences with a ``create_sequences`` loop
   and turn them into tensors;
3. write the training loop (``zero_grad``, ``backward``, ``step``, print the
   loss every few epochs);
4. switch to ``eval()`` and predict on a held-out part.

Here each step is one line: ``make_supervised`` aligns every value with the
next one, ``SequenceWindower`` gives each row the ``window`` values ending at
it, and ``RNNRegressor`` is the network *and* its training loop. The last
quarter of the series is held out, in time order, and predicted one step
ahead.
"""

import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.pipeline import make_pipeline

from sklearn_rnn import RNNRegressor, SequenceWindower, make_supervised

OUT = Path(os.environ.get("SKLEARN_RNN_EXAMPLES_OUT", Path(__file__).parent / "images"))
OUT.mkdir(parents=True, exist_ok=True)

# A noisy sine wave, 800 time steps.
rng = np.random.default_rng(0)
t = np.arange(800) * 0.1
series = np.sin(t) + 0.05 * rng.normal(size=t.size)

# Step 2 of the tutorials: row t of X is the value at t, y[t] the value at t + 1.
X, y = make_supervised(series, horizon=1)
n_train = int(0.75 * len(X))

# Steps 1 and 3: the windows, the network and its training loop.
model = make_pipeline(
    SequenceWindower(window=20),
    RNNRegressor(
        cell="rnn",
        hidden_size=16,
        lr=0.01,
        max_epochs=40,
        early_stopping=True,
        random_state=0,
    ),
)
start = time.perf_counter()
model.fit(X[:n_train], y[:n_train])
elapsed = time.perf_counter() - start
rnn = model[-1]
print(
    f"Trained {rnn.n_iter_} epochs in {elapsed:.1f} s; "
    f"training loss {rnn.loss_curve_[0]:.3f} -> {rnn.loss_curve_[-1]:.4f}"
)

# Step 4: predict the held-out final quarter. Predicting on the whole series
# lets the first test windows look back into the training rows, as they would
# when the model is used on new data; only the test rows are scored.
y_pred = model.predict(X)[n_train:]
y_test = y[n_train:]
print(
    f"Held-out part ({len(y_test)} steps): R2 = {r2_score(y_test, y_pred):.3f}, "
    f"MAE = {mean_absolute_error(y_test, y_pred):.3f}"
)

fig, ax = plt.subplots(figsize=(9, 3.5), layout="constrained")
steps = np.arange(len(y)) + 1
ax.plot(steps[:n_train], y[:n_train], color="0.7", lw=1, label="training part")
ax.plot(steps[n_train:], y_test, color="black", lw=1.5, label="held-out truth")
ax.plot(
    steps[n_train:],
    y_pred,
    color="tab:orange",
    ls="--",
    lw=1.5,
    label="one-step-ahead prediction",
)
ax.axvline(steps[n_train], color="0.5", ls=":")
ax.set(
    title="Sine wave: RNN prediction on the held-out final quarter",
    xlabel="time step",
    ylabel="value",
    xlim=(steps[n_train] - 150, steps[-1] + 1),
    ylim=(-1.6, 1.3),
)
ax.legend(loc="lower left", ncols=3, fontsize="small")
fig.savefig(OUT / "sine.png", dpi=100)
print(f"Saved {OUT / 'sine.png'}")
