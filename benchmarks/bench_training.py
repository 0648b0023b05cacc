"""Training speed: ``RNNRegressor.fit`` against a hand-written PyTorch loop
and against plain skorch ``NeuralNetRegressor``, on the CPU.

All three train the same network (``sklearn_rnn._modules.RecurrentNetwork``)
on the same windows with the same batch size, epochs, Adam optimizer and MSE
loss. ``RNNRegressor`` picks its thread count by timing its batches; the loop
runs twice per round, on one thread and on torch's default, and ours is
compared with the faster of the two in that round; skorch runs on the count
that was faster for the loop in the untimed warm-up.

- ours: ``RNNRegressor(scale_y=False, shuffle=True).fit(W, y)`` where ``W`` is
  ``SequenceWindower(window=30).fit_transform(X)``, the strided view users
  get from the windower (its first 29 windows are NaN-padded, shorter
  sequences, as in any real pipeline).
- loop: a pre-built contiguous float32 tensor of the same windows (padding
  as zeros), sliced with a fresh random permutation every epoch; no
  DataLoader; the epoch loss is accumulated as any real loop would.
- skorch: ``NeuralNetRegressor`` on the same pre-built float32 tensors with
  its default DataLoader (per-sample indexing and collation).

Each case runs the three in interleaved rounds; the table gives the median
seconds per epoch and the median over rounds of the per-round ratios.

    python benchmarks/bench_training.py            # 16 cases (about 10 minutes)
    python benchmarks/bench_training.py --quick    # 2 small cases
    python benchmarks/bench_training.py --profile lstm-32-8-64
    python benchmarks/bench_training.py --candidate ../other-checkout  # A/B a change
"""

import cProfile
import io
import pstats
import statistics
import sys
import time

import numpy as np
import torch
from _common import (
    interleaved,
    load_candidate,
    machine,
    median,
    parser,
    table,
    thread_probe,
    thread_share,
    torch_threads,
)
from skorch import NeuralNetRegressor
from torch import nn

from sklearn_rnn import RNNRegressor, SequenceWindower
from sklearn_rnn._modules import RecurrentNetwork

WINDOW = 30
GOALS = "goals: ours/(faster loop) <= 1.05, ours/skorch < 1"
DEFAULT_THREADS = torch.get_num_threads()


def make_data(n, n_features, dtype, padding, seed=0):
    """Rows of a multivariate series, the windows users get, the same windows
    as a contiguous float32 tensor, and a target."""
    rng = np.random.default_rng(seed)
    rows = np.cumsum(rng.normal(size=(n, n_features)), axis=0)
    rows = ((rows - rows.mean(0)) / rows.std(0)).astype(dtype)
    y = np.roll(rows[:, 0], -1) + 0.1 * rng.normal(size=n)
    windows = SequenceWindower(window=WINDOW, padding=padding).fit_transform(rows)
    X_t = torch.from_numpy(np.nan_to_num(windows).astype(np.float32))
    y_t = torch.from_numpy(y.astype(np.float32)[:, None])
    return windows, y, X_t, y_t


# The loop's network: no linear skip, no per-window normalisation (where the
# estimator has them; a --candidate checkout may not).
SAME_NETWORK = {"linear_skip": False, "window_norm": None}


def fit_ours(windows, y, cell, hidden, batch, epochs, estimator=RNNRegressor, probe=None):
    params = estimator().get_params()
    return estimator(
        **{k: v for k, v in SAME_NETWORK.items() if k in params},
        cell=cell,
        hidden_size=hidden,
        batch_size=batch,
        max_epochs=epochs,
        scale_y=False,
        shuffle=True,
        random_state=0,
        device="cpu",
        callbacks=None if probe is None else [probe],
    ).fit(windows, y)


def fit_loop(X_t, y_t, cell, hidden, batch, epochs, threads):
    with torch_threads(threads):
        torch.manual_seed(0)
        net = RecurrentNetwork(X_t.shape[2], 1, cell=cell, hidden_size=hidden)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        loss_fn = nn.MSELoss()
        n = len(X_t)
        net.train()
        losses = []
        for _ in range(epochs):
            order = torch.randperm(n)
            total = 0.0
            for start in range(0, n, batch):
                index = order[start : start + batch]
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(net(X_t[index]), y_t[index])
                loss.backward()
                optimizer.step()
                total += loss.item() * len(index)
            losses.append(total / n)
        return net, losses


def fit_skorch(X_t, y_t, cell, hidden, batch, epochs, threads):
    with torch_threads(threads):
        torch.manual_seed(0)
        return NeuralNetRegressor(
            RecurrentNetwork,
            module__n_features=X_t.shape[2],
            module__n_outputs=1,
            module__cell=cell,
            module__hidden_size=hidden,
            criterion=nn.MSELoss,
            optimizer=torch.optim.Adam,
            lr=1e-3,
            batch_size=batch,
            max_epochs=epochs,
            iterator_train__shuffle=True,
            train_split=None,
            device="cpu",
            verbose=0,
        ).fit(X_t, y_t)


def all_cases(quick):
    if quick:
        return [("lstm", 32, 8, 64), ("gru", 64, 1, 256)]
    return [
        (cell, hidden, n_features, batch)
        for cell in ("lstm", "gru")
        for hidden in (32, 64)
        for n_features in (1, 8)
        for batch in (64, 256)
    ]


def case_name(case):
    return "-".join(str(v) for v in case)


def loops(times):
    """Per round, the faster of the one-thread and default-thread loops."""
    names = [k for k in ("loop 1", f"loop {DEFAULT_THREADS}") if k in times]
    return [min(round_) for round_ in zip(*(times[k] for k in names), strict=True)]


def ratio_to(times, name, reference):
    return statistics.median(a / b for a, b in zip(times[name], reference, strict=True))


def run_case(case, n, epochs, rounds, dtype, padding, candidate=None):
    cell, hidden, n_features, batch = case
    windows, y, X_t, y_t = make_data(n, n_features, dtype, padding)
    counts = sorted({1, DEFAULT_THREADS})
    # One untimed epoch on a slice of the data warms allocators and caches,
    # and picks skorch's thread count: the faster loop's.
    k = min(n, 8 * batch)
    fit_ours(windows[:k], y[:k], cell, hidden, batch, 1)
    warm = {}
    for threads in counts:
        fit_loop(X_t[:k], y_t[:k], cell, hidden, batch, 1, threads)
        start = time.perf_counter()
        fit_loop(X_t[:k], y_t[:k], cell, hidden, batch, 1, threads)
        warm[threads] = time.perf_counter() - start
    skorch_threads = min(warm, key=warm.get)
    fit_skorch(X_t[:k], y_t[:k], cell, hidden, batch, 1, skorch_threads)
    probe = thread_probe()
    runs = {"ours": lambda: fit_ours(windows, y, cell, hidden, batch, epochs, probe=probe)}
    for threads in counts:
        runs[f"loop {threads}"] = lambda t=threads: fit_loop(
            X_t, y_t, cell, hidden, batch, epochs, t
        )
    runs["skorch"] = lambda: fit_skorch(X_t, y_t, cell, hidden, batch, epochs, skorch_threads)
    if candidate is not None:
        runs["candidate"] = lambda: fit_ours(windows, y, cell, hidden, batch, epochs, candidate)
        fit_ours(windows[:k], y[:k], cell, hidden, batch, 1, candidate)
    times = interleaved(runs, rounds)
    per_epoch = {k: median(v) / epochs for k, v in times.items()}
    best = loops(times)
    row = [
        f"{cell} h{hidden} f{n_features} b{batch}",
        thread_share(probe.counts_),
        f"{per_epoch['ours']:.3f}",
        *(f"{per_epoch[f'loop {t}']:.3f}" for t in counts),
        f"{per_epoch['skorch']:.3f} ({skorch_threads})",
        f"{ratio_to(times, 'ours', best):.3f}",
        f"{ratio_to(times, 'ours', times['skorch']):.3f}",
    ]
    if candidate is not None:
        row += [
            f"{per_epoch['candidate']:.3f}",
            f"{ratio_to(times, 'candidate', best):.3f}",
            f"{ratio_to(times, 'candidate', times['skorch']):.3f}",
            f"{ratio_to(times, 'candidate', times['ours']):.3f}",
        ]
    return row


def profile(case, n, epochs, dtype, padding, top):
    """cProfile of ours and of the loop on one case, sorted by own time."""
    cell, hidden, n_features, batch = case
    windows, y, X_t, y_t = make_data(n, n_features, dtype, padding)
    threads = 1
    n_batches = -(-n // batch) * epochs
    for name, run in [
        ("ours", lambda: fit_ours(windows, y, cell, hidden, batch, epochs)),
        ("loop", lambda: fit_loop(X_t, y_t, cell, hidden, batch, epochs, threads)),
    ]:
        run()
        prof = cProfile.Profile()
        prof.enable()
        run()
        prof.disable()
        stream = io.StringIO()
        stats = pstats.Stats(prof, stream=stream)
        total = stats.total_tt
        print(
            f"\n## {name}: {total:.2f} s under cProfile, "
            f"{1e6 * total / n_batches:.0f} us per batch ({n_batches} batches)"
        )
        stats.sort_stats("tottime").print_stats(top)
        print("\n".join(stream.getvalue().splitlines()[6:]))
        if name == "ours":
            stream.seek(0)
            stream.truncate()
            stats.sort_stats("cumulative").print_stats(r"sklearn_rnn|skorch", top)
            print("\n".join(stream.getvalue().splitlines()[6:]))


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=None, help="epochs per fit")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds")
    p.add_argument("--samples", type=int, default=None, help="windows per case")
    p.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "float64"],
        help="dtype of the rows given to the windower (and so of ours' input)",
    )
    p.add_argument(
        "--padding",
        default="nan",
        choices=["nan", "zero"],
        help="windower padding of the first window-1 rows (nan: shorter sequences)",
    )
    p.add_argument("--cases", nargs="*", help="only these, e.g. lstm-32-8-64")
    p.add_argument("--profile", metavar="CASE", help="profile one case instead")
    p.add_argument(
        "--candidate",
        metavar="CHECKOUT",
        help="also time the sklearn_rnn package of this checkout (a proposed change)",
    )
    args = p.parse_args()
    n = args.samples or (4000 if args.quick else 20000)
    epochs = args.epochs or (1 if args.quick else 2)
    rounds = args.rounds or 3

    print(machine())
    if args.profile:
        cell, hidden, n_features, batch = args.profile.split("-")
        case = (cell, int(hidden), int(n_features), int(batch))
        profile(case, n, epochs, args.dtype, args.padding, top=25)
        return
    cases = all_cases(args.quick)
    if args.cases:
        cases = [c for c in cases + all_cases(False) if case_name(c) in args.cases]
        cases = list(dict.fromkeys(cases))
    print(
        f"{n} windows of {WINDOW} steps ({args.dtype}, padding={args.padding!r}), "
        f"{epochs} epoch(s) per fit, median of {rounds} interleaved rounds; {GOALS}\n"
    )
    header = [
        "case",
        "ours' threads (batches)",
        "ours s/epoch",
        *(f"loop {t} thr s/epoch" for t in sorted({1, DEFAULT_THREADS})),
        "skorch s/epoch (threads)",
        "ours/faster loop",
        "ours/skorch",
    ]
    candidate = None
    if args.candidate:
        candidate = load_candidate(args.candidate)
        print(f"candidate: {sys.modules['sklearn_rnn_candidate'].__file__}")
        header += ["cand s/epoch", "cand/faster loop", "cand/skorch", "cand/ours"]
    rows = []
    for case in cases:
        rows.append(run_case(case, n, epochs, rounds, args.dtype, args.padding, candidate))
        print(" | ".join(str(c) for c in rows[-1]), flush=True)
    print()
    print(table(header, rows))
    at = header.index("ours/faster loop")
    ratios_loop = [float(r[at]) for r in rows]
    ratios_skorch = [float(r[at + 1]) for r in rows]
    print(
        f"\nworst ours/(faster loop) {max(ratios_loop):.3f} (goal <= 1.05), "
        f"worst ours/skorch {max(ratios_skorch):.3f} (goal < 1)"
    )
    if candidate is not None:
        print(
            f"worst candidate/(faster loop) {max(float(r[at + 3]) for r in rows):.3f}, "
            f"worst candidate/skorch {max(float(r[at + 4]) for r in rows):.3f}, "
            f"median candidate/ours {median([float(r[at + 5]) for r in rows]):.3f}"
        )


if __name__ == "__main__":
    main()
