"""Threads: how many torch threads pay, what ``RNNRegressor.fit`` gets from
its thread choice, what a worker of each parallel backend has, and what
``GridSearchCV(n_jobs=2)`` gains over ``n_jobs=1``.

Part 1 (``threads``) times one epoch of a small LSTM (plain PyTorch, forward
and backward, and forward only under ``torch.inference_mode``) at 1 intra-op
thread and at torch's default, with the machine otherwise idle and with one
core kept busy by a spinning process (as when another job, or another joblib
worker, runs beside it). The ratio default/1 above 1 means one thread is faster.

Part 2 (``fit``) times ``RNNRegressor.fit`` (which picks its thread count by
timing its batches, see ``sklearn_rnn._runtime.ThreadChooser``) against a
hand-written PyTorch loop on one thread and on torch's default, idle and with
one core busy, and divides ours by the faster loop of each round.

Part 3 (``workers``) reports ``torch.get_num_threads()`` inside the workers of
joblib's loky, multiprocessing and threading backends and of a dask
``LocalCluster`` (if installed), and the most threads a fit used there.

Part 4 (``grid``) times ``GridSearchCV`` over a small pipeline
(SequenceWindower + RNNRegressor, 4 candidates, ``TimeSeriesSplit(3)``) with
``n_jobs=1`` and ``n_jobs=2`` (joblib's default process backend), in
interleaved rounds, and prints the speed-up, next to the speed-up of a
perfectly parallel pure-Python job of about the same length on the same
backend (what the machine can give right now: another process on a core
lowers both). It also checks that ``fit`` gives the caller's thread setting back.

    python benchmarks/bench_threads.py            # about 8 minutes
    python benchmarks/bench_threads.py --quick
    python benchmarks/bench_threads.py --only fit
"""

import multiprocessing
import os
import statistics
import time

import joblib
import numpy as np
import torch
from _common import (
    busy_core,
    interleaved,
    load_candidate,
    machine,
    median,
    median_ratio,
    parser,
    table,
    thread_probe,
    thread_share,
)
from bench_training import fit_loop, fit_ours, make_data
from joblib import Parallel, delayed
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline

from sklearn_rnn import RNNRegressor, SequenceWindower
from sklearn_rnn._modules import RecurrentNetwork


def epoch(net, X, y, batch, backward):
    n = len(X)
    if backward:
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        for start in range(0, n, batch):
            optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(
                net(X[start : start + batch]), y[start : start + batch]
            )
            loss.backward()
            optimizer.step()
    else:
        with torch.inference_mode():
            for start in range(0, n, batch):
                net(X[start : start + batch])


def thread_case(hidden, backward, n, rounds, default_threads):
    torch.manual_seed(0)
    X = torch.randn(n, 30, 8)
    y = torch.randn(n, 1)
    net = RecurrentNetwork(8, 1, cell="lstm", hidden_size=hidden)

    def at(threads):
        def run():
            torch.set_num_threads(threads)
            try:
                epoch(net, X, y, 64, backward)
            finally:
                torch.set_num_threads(default_threads)

        return run

    at(1)()
    at(default_threads)()
    times = interleaved({"1": at(1), "default": at(default_threads)}, rounds)
    return times


def part_threads(quick, rounds):
    default_threads = torch.get_num_threads()
    n = 1000 if quick else 4000
    hiddens = (32,) if quick else (32, 128, 256)
    rows = []
    for load in ("idle", "one core busy"):
        for hidden in hiddens:
            for backward in (True, False):
                if load == "one core busy":
                    with busy_core():
                        times = thread_case(hidden, backward, n, rounds, default_threads)
                else:
                    times = thread_case(hidden, backward, n, rounds, default_threads)
                rows.append(
                    [
                        f"LSTM h{hidden}",
                        "fwd+bwd" if backward else "fwd (inference)",
                        load,
                        f"{median(times['1']):.3f}",
                        f"{median(times['default']):.3f}",
                        f"{median_ratio(times, 'default', '1'):.2f}",
                    ]
                )
                print(" | ".join(rows[-1]), flush=True)
    header = [
        "network",
        "pass",
        "other core",
        "1 thread s/epoch",
        f"{default_threads} threads s/epoch",
        "default/1",
    ]
    print(f"\n{n} windows of 30 steps x 8 features, batch 64, median of {rounds} rounds")
    print(table(header, rows))


def fit_cases(quick):
    if quick:
        return [("lstm", 64, 4, 64)]
    return [("lstm", 64, 4, 64), ("lstm", 64, 4, 256), ("lstm", 32, 4, 64), ("gru", 128, 4, 64)]


def fit_runs(n, case, default, candidate):
    """One epoch of ours, of the loop on 1 and ``default`` threads, and of the
    candidate's estimator if given, warmed up."""
    cell, hidden, n_features, batch = case
    windows, y, X_t, y_t = make_data(n, n_features, "float32", "nan")
    probe = thread_probe()
    k = 8 * batch
    fit_ours(windows[:k], y[:k], cell, hidden, batch, 1)
    fit_loop(X_t[:k], y_t[:k], cell, hidden, batch, 1, 1)
    fit_loop(X_t[:k], y_t[:k], cell, hidden, batch, 1, default)
    runs = {
        "ours": lambda: fit_ours(windows, y, cell, hidden, batch, 1, probe=probe),
        "loop 1": lambda: fit_loop(X_t, y_t, cell, hidden, batch, 1, 1),
        "loop default": lambda: fit_loop(X_t, y_t, cell, hidden, batch, 1, default),
    }
    if candidate is not None:
        fit_ours(windows[:k], y[:k], cell, hidden, batch, 1, candidate)
        runs["cand"] = lambda: fit_ours(windows, y, cell, hidden, batch, 1, candidate)
    return runs, probe


def part_fit(quick, rounds, candidate=None, samples=None):
    default = torch.get_num_threads()
    n = samples or (4000 if quick else 20000)
    rows = []
    for load in ("idle", "one core busy"):
        for case in fit_cases(quick):
            cell, hidden, n_features, batch = case
            runs, probe = fit_runs(n, case, default, candidate)
            if load == "idle":
                times = interleaved(runs, rounds)
            else:
                with busy_core():
                    times = interleaved(runs, rounds)
            best = [min(a, b) for a, b in zip(times["loop 1"], times["loop default"], strict=True)]

            def ratio(name, times=times, best=best):
                return statistics.median(a / b for a, b in zip(times[name], best, strict=True))

            rows.append(
                [
                    f"{cell} h{hidden} f{n_features} b{batch}",
                    load,
                    f"{median(times['ours']):.3f}",
                    f"{median(times['loop 1']):.3f}",
                    f"{median(times['loop default']):.3f}",
                    thread_share(probe.counts_),
                    f"{ratio('ours'):.3f}",
                ]
            )
            if candidate is not None:
                rows[-1] += [f"{median(times['cand']):.3f}", f"{ratio('cand'):.3f}"]
            print(" | ".join(rows[-1]), flush=True)
    print(
        f"\nRNNRegressor.fit vs a hand-written loop, {n} windows of 30 steps, 1 epoch, "
        f"median of {rounds} rounds. Goal: ours/faster loop <= 1.05"
    )
    print(
        table(
            [
                "case",
                "other core",
                "ours s",
                "loop 1 thread s",
                f"loop {default} threads s",
                "ours' threads (batches)",
                "ours/faster loop",
                *(["cand s", "cand/faster loop"] if candidate is not None else []),
            ],
            rows,
        )
    )


def _worker_threads(X, y):
    # Self-contained: a dask worker cannot import the benchmarks' helpers.
    from skorch.callbacks import Callback

    class Seen(Callback):
        def initialize(self):
            self.counts_ = []
            return self

        def on_batch_end(self, net, training=False, **kwargs):
            if training:
                self.counts_.append(torch.get_num_threads())

    probe = Seen()
    RNNRegressor(hidden_size=64, max_epochs=2, callbacks=[probe], device="cpu").fit(X, y)
    return os.getpid(), torch.get_num_threads(), probe.counts_


def part_workers(quick):
    windows, y, _, _ = make_data(2000, 4, "float32", "nan")
    rows = [["this process", "", str(torch.get_num_threads()), ""]]
    for backend in ("loky", "multiprocessing", "threading"):
        with joblib.parallel_config(backend=backend):
            seen = Parallel(n_jobs=2)(delayed(_worker_threads)(windows, y) for _ in range(2))
        rows.append(
            [
                backend,
                str(len({pid for pid, _, _ in seen})),
                ", ".join(str(t) for _, t, _ in seen),
                "; ".join(thread_share(m) for _, _, m in seen),
            ]
        )
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        rows.append(["dask", "not installed", "", ""])
    else:
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        )
        with cluster, Client(cluster), joblib.parallel_config(backend="dask"):
            seen = Parallel(n_jobs=2)(delayed(_worker_threads)(windows, y) for _ in range(2))
        rows.append(
            [
                "dask (2 worker processes x 1 thread)",
                str(len({pid for pid, _, _ in seen})),
                ", ".join(str(t) for _, t, _ in seen),
                "; ".join(thread_share(m) for _, _, m in seen),
            ]
        )
    print(
        f"\nInside workers, n_jobs=2 on {joblib.cpu_count()} CPUs: one fit of an LSTM "
        "hidden 64 on 2000 windows each"
    )
    print(
        table(
            ["backend", "worker processes", "torch threads in task", "threads in fit (batches)"],
            rows,
        )
    )


def grid_data(n):
    rng = np.random.default_rng(0)
    t = np.arange(n)
    X = np.column_stack(
        [np.sin(t / 20), np.cos(t / 33), rng.normal(size=n), np.sin(t / 7)]
    ).astype(np.float32)
    y = np.roll(X[:, 0], -3) + 0.5 * np.roll(X[:, 3], -1)
    return X, y


def _count(n):
    while n:
        n -= 1


def reference_tasks(n_jobs, tasks, loops):
    """A perfectly parallel pure-Python job on the same backend: its speed-up
    is the most any job could get from n_jobs=2 on this machine right now."""
    return lambda: Parallel(n_jobs=n_jobs)(delayed(_count)(loops) for _ in range(tasks))


def part_grid(quick, rounds):
    n = 1200 if quick else 3000
    epochs = 3 if quick else 8
    X, y = grid_data(n)
    pipe = make_pipeline(
        SequenceWindower(window=20),
        RNNRegressor(hidden_size=16, max_epochs=epochs, random_state=0, device="cpu"),
    )
    grid = {
        "sequencewindower__window": [10, 20],
        "rnnregressor__cell": ["lstm", "gru"],
    }

    def search(n_jobs):
        return lambda: GridSearchCV(pipe, grid, cv=TimeSeriesSplit(3), n_jobs=n_jobs).fit(X, y)

    before = torch.get_num_threads()
    start = time.perf_counter()
    search(2)()
    cold = time.perf_counter() - start
    # The reference: 12 tasks (as many as the search's fits) that together
    # take about as long as the search on one core.
    start = time.perf_counter()
    search(1)()
    alone = time.perf_counter() - start
    start = time.perf_counter()
    _count(1_000_000)
    loops = int(1_000_000 * alone / 12 / (time.perf_counter() - start))
    times = interleaved(
        {
            "n_jobs=1": search(1),
            "n_jobs=2": search(2),
            "ref n_jobs=1": reference_tasks(1, 12, loops),
            "ref n_jobs=2": reference_tasks(2, 12, loops),
        },
        rounds,
    )
    speedup = median_ratio(times, "n_jobs=1", "n_jobs=2")
    ref_speedup = median_ratio(times, "ref n_jobs=1", "ref n_jobs=2")
    print(
        f"\nGridSearchCV: {len(grid['sequencewindower__window']) * 2} candidates x "
        f"TimeSeriesSplit(3) on {n} rows x 4 features, hidden 16, {epochs} epochs; "
        f"median of {rounds} rounds"
    )
    print(
        table(
            [
                "n_jobs=1 s",
                "n_jobs=2 s",
                "speed-up",
                "goal",
                "first n_jobs=2 s (cold)",
                "reference speed-up",
                "speed-up / reference",
            ],
            [
                [
                    f"{median(times['n_jobs=1']):.2f}",
                    f"{median(times['n_jobs=2']):.2f}",
                    f"{speedup:.2f}x",
                    ">= 1.7x",
                    f"{cold:.2f}",
                    f"{ref_speedup:.2f}x",
                    f"{speedup / ref_speedup:.2f}",
                ]
            ],
        )
    )
    after = torch.get_num_threads()
    print(f"caller's torch threads before/after the searches: {before}/{after}")


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument(
        "--samples",
        type=int,
        default=None,
        help="windows per fit in the fit part (default 20,000; 4,000 with --quick, "
        "63 batches, too few for RNNRegressor to time its thread count)",
    )
    p.add_argument(
        "--only", choices=["threads", "fit", "workers", "grid"], help="run one part only"
    )
    p.add_argument(
        "--candidate",
        metavar="CHECKOUT",
        help="also time the RNNRegressor of this checkout in the fit part",
    )
    args = p.parse_args()
    rounds = args.rounds or 3
    # joblib's multiprocessing backend forks: after the parts above have run
    # torch on two threads, a forked worker can hang in GNU OpenMP. Workers
    # forked from a fresh server process hold no OpenMP state.
    multiprocessing.set_start_method("forkserver", force=True)
    print(machine())
    candidate = load_candidate(args.candidate) if args.candidate else None
    if args.only in (None, "threads"):
        part_threads(args.quick, rounds)
    if args.only in (None, "fit"):
        part_fit(args.quick, rounds, candidate, args.samples)
    if args.only in (None, "workers"):
        part_workers(args.quick)
    if args.only in (None, "grid"):
        part_grid(args.quick, rounds)


if __name__ == "__main__":
    main()
