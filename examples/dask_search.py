"""
Grid search on a dask cluster: the window and the network size for sunspots
==========================================================================

How many past years should the network see, and how wide should it be? Each
candidate is one pipeline fitted once per time-ordered fold, and the fits are
independent, so they can run anywhere. scikit-learn hands them to joblib, and
joblib's dask backend hands them to a ``dask.distributed`` cluster: the search
code is the same as on one machine, inside
``joblib.parallel_config(backend="dask")``.

Here the cluster is a ``LocalCluster`` of two worker processes on this
machine. To use a real cluster, replace it with the scheduler's address::

    client = Client("tcp://scheduler-address:8786")

Everything else stays as it is. The workers need sklearn_rnn installed (the
same version as the client, as for any pickled model).

Threads: dask starts each worker process with ``OMP_NUM_THREADS=1`` (the
nanny's default), and ``RNNRegressor`` trains small networks on one torch
thread anyway, so a worker runs as many fits at once as it has threads,
without oversubscribing its cores.
"""

import logging
import os
import time
from pathlib import Path

import joblib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from distributed import Client, LocalCluster
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from statsmodels.datasets import sunspots

from sklearn_rnn import RNNRegressor, SequenceWindower, make_supervised

OUT = Path(os.environ.get("SKLEARN_RNN_EXAMPLES_OUT", Path(__file__).parent / "images"))


def main():
    OUT.mkdir(parents=True, exist_ok=True)

    # Yearly sunspot numbers, 1700-2008 (shipped with statsmodels): the roughly
    # 11-year cycle decides how much history a window needs.
    data = sunspots.load_pandas().data
    series = data.set_index(data["YEAR"].astype(int))["SUNACTIVITY"]
    X, y = make_supervised(series, horizon=1)
    n_train = len(X) - 30  # the last 30 years are kept out of the search

    model = make_pipeline(
        StandardScaler(),
        SequenceWindower(),
        RNNRegressor(cell="gru", lr=1e-2, max_epochs=15, random_state=0),
    )
    grid = {
        "sequencewindower__window": [3, 6, 12],
        "rnnregressor__hidden_size": [4, 16],
    }
    search = GridSearchCV(model, grid, cv=TimeSeriesSplit(n_splits=3), n_jobs=-1)

    # Two worker processes with one thread each, on this machine only. On a
    # real cluster: client = Client("tcp://scheduler-address:8786"), nothing
    # else changes. (Workers that take long to exit after torch was imported
    # are killed on close; silence_logs keeps that notice out of the output.)
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        print(f"Cluster: {len(client.nthreads())} workers, {client.nthreads()}")
        print('On a real cluster, use Client("tcp://scheduler-address:8786") instead.')
        start = time.perf_counter()
        with joblib.parallel_config(backend="dask"):
            search.fit(X[:n_train], y[:n_train])
        elapsed = time.perf_counter() - start

    n_fits = len(search.cv_results_["params"]) * search.n_splits_
    print(f"{n_fits} fits on the cluster (and the refit here) in {elapsed:.1f} s")

    results = pd.DataFrame(search.cv_results_)
    table = results.pivot(
        index="param_sequencewindower__window",
        columns="param_rnnregressor__hidden_size",
        values="mean_test_score",
    )
    table.index.name, table.columns.name = "window", "hidden_size"
    print("Mean R2 over the folds:")
    print(table.round(3).to_string())
    print(f"Best parameters: {search.best_params_}, R2 = {search.best_score_:.3f}")

    # The refitted best pipeline came back to this process: score it on the
    # held-out final years. Predicting on the whole series lets their windows
    # look back into the training years, as they would on new data.
    held_out = search.predict(X)[n_train:]
    print(
        f"Held-out {series.index[n_train + 1]}-{series.index[-1]}: "
        f"R2 = {r2_score(y[n_train:], held_out):.3f}"
    )

    fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
    windows = np.array(grid["sequencewindower__window"])
    for hidden, color in zip(
        grid["rnnregressor__hidden_size"], ["tab:blue", "tab:orange"], strict=True
    ):
        rows = results[results["param_rnnregressor__hidden_size"] == hidden]
        rows = rows.sort_values("param_sequencewindower__window")
        ax.errorbar(
            windows,
            rows["mean_test_score"],
            yerr=rows["std_test_score"],
            marker="o",
            capsize=4,
            color=color,
            label=f"hidden_size={hidden}",
        )
    best = search.best_params_
    ax.plot(
        best["sequencewindower__window"],
        search.best_score_,
        marker="*",
        markersize=16,
        color="black",
        ls="none",
        label="best",
    )
    ax.set(
        title="Sunspots: cross-validated R2 of a GRU, searched on a dask cluster",
        xlabel="window (years of history)",
        ylabel="R2, mean and std over 3 folds",
        xticks=windows,
    )
    ax.title.set_fontsize("medium")
    ax.set_ylim(top=1.0)
    ax.legend(loc="upper center", ncols=3)
    fig.savefig(OUT / "dask_search.png", dpi=100)
    print(f"Saved {OUT / 'dask_search.png'}")


# Worker processes start by importing this file again: the guard keeps them
# from starting clusters of their own.
if __name__ == "__main__":
    main()
