"""Prediction speed: ``RNNRegressor.predict`` against the raw torch module
(``model.module_``) called on a pre-built float32 tensor under
``torch.inference_mode``, at the same torch thread count.

Cases: one window (the fixed cost of a call, in microseconds) and 10,000
windows, both as the windower gives them: from a block of rows with enough
history (no padded window) and from a block starting at its first row (its
first ``window - 1`` windows are NaN-padded, shorter sequences, which the
model reads with their padding skipped; the raw module gets zeros there).

    python benchmarks/bench_predict.py
    python benchmarks/bench_predict.py --quick
    python benchmarks/bench_predict.py --profile     # cProfile of 1-window calls
"""

import cProfile
import pstats
import time

import numpy as np
import torch
from _common import machine, median, parser, table

from sklearn_rnn import RNNRegressor, SequenceWindower

WINDOW = 30
N_FEATURES = 8


def fitted_model(hidden):
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(2000, N_FEATURES)).astype(np.float32)
    windows = SequenceWindower(window=WINDOW).fit_transform(rows)
    model = RNNRegressor(hidden_size=hidden, max_epochs=1, random_state=0, device="cpu")
    return model.fit(windows, rows[:, 0])


def predict_threads(model):
    """The torch thread count ``predict`` runs under (read inside a forward)."""
    seen = []
    handle = model.module_.register_forward_pre_hook(
        lambda module, args: seen.append(torch.get_num_threads())
    )
    try:
        model.predict(np.zeros((1, WINDOW, N_FEATURES), dtype=np.float32))
    finally:
        handle.remove()
    return seen[0]


def timed_pair(ours, raw, calls, rounds):
    """Interleaved rounds of ``calls`` calls each; per-call seconds."""
    t_ours, t_raw = [], []
    for r in range(rounds):
        for name in ("ours", "raw") if r % 2 == 0 else ("raw", "ours"):
            fn, out = (ours, t_ours) if name == "ours" else (raw, t_raw)
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            out.append((time.perf_counter() - start) / calls)
    return t_ours, t_raw


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=64, help="hidden_size of the model")
    p.add_argument("--profile", action="store_true", help="profile 1-window calls")
    args = p.parse_args()
    n = 2000 if args.quick else 10000
    rounds = 5 if args.quick else 9
    print(machine())
    model = fitted_model(args.hidden)
    module = model.module_
    threads = predict_threads(model)
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(n + WINDOW - 1, N_FEATURES)).astype(np.float32)
    windower = SequenceWindower(window=WINDOW).fit(rows)
    full = windower.transform(rows)[WINDOW - 1 :]  # every window has full history
    padded = windower.transform(rows[:n])  # the first WINDOW-1 windows padded

    if args.profile:
        one = full[:1]
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(2000):
            model.predict(one)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)
        return

    def raw_call(X):
        def run():
            before = torch.get_num_threads()
            torch.set_num_threads(threads)
            try:
                with torch.inference_mode():
                    return module(X).numpy()
            finally:
                torch.set_num_threads(before)

        return run

    def raw_call_same_threads(X):
        def run():
            with torch.inference_mode():
                return module(X).numpy()

        return run

    cases = []
    for label, windows, count in [
        ("1 window", full[:1], 1),
        (f"{n} windows, none padded", full, n),
        (f"{n} windows, first {WINDOW - 1} padded", padded, n),
    ]:
        X_t = torch.from_numpy(np.nan_to_num(windows).astype(np.float32))
        calls = 300 if count == 1 else 1
        model.predict(windows)
        # The raw reference runs at the thread count predict uses; the 1-window
        # case also shows the raw call when threads are already set (no
        # set_num_threads round trip), i.e. the floor a caller could reach.
        t_ours, t_raw = timed_pair(
            lambda w=windows: model.predict(w), raw_call(X_t), calls, rounds
        )
        ratios = [a / b for a, b in zip(t_ours, t_raw, strict=True)]
        row = [
            label,
            f"{1e6 * median(t_ours):.0f}",
            f"{1e6 * median(t_raw):.0f}",
            f"{median(ratios):.2f}",
            f"{1e6 * (median(t_ours) - median(t_raw)):.0f}",
        ]
        if count == 1:
            before = torch.get_num_threads()
            torch.set_num_threads(threads)
            try:
                _, t_floor = timed_pair(
                    lambda w=windows: model.predict(w),
                    raw_call_same_threads(X_t),
                    calls,
                    rounds,
                )
            finally:
                torch.set_num_threads(before)
            row[2] += f" ({1e6 * median(t_floor):.0f} w/o thread switch)"
        cases.append(row)
        print(" | ".join(row), flush=True)
    print(
        f"\nLSTM hidden {args.hidden}, windows of {WINDOW} steps x {N_FEATURES} "
        f"features (float32 strided views), {threads} torch thread(s); median of "
        f"{rounds} interleaved rounds. Goal: ours/raw <= 1.1 at {n} windows, a small "
        "fixed cost for 1 window."
    )
    print(table(["case", "ours us", "raw module us", "ours/raw", "ours - raw us"], cases))


if __name__ == "__main__":
    main()
