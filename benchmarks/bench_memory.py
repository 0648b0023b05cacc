"""Memory: peak resident memory of a pipeline (StandardScaler +
SequenceWindower(window=64) + RNNRegressor(hidden_size=16, max_epochs=1))
fitted on 1,000,000 rows x 8 float32 features, and of its predict.

Each stage runs in a fresh Python process (so memory freed by one stage and
kept by the allocator cannot hide the next stage's use). A thread samples
the process's resident set size (RSS, which sees torch's allocations, unlike
tracemalloc) while the stage runs; the figure is the peak minus the RSS just
before the stage (imports done, input built). It is printed against the
input's size and against window x input (what copying every window would
take).

    python benchmarks/bench_memory.py            # about 3 minutes
    python benchmarks/bench_memory.py --quick    # 100,000 rows
"""

import json
import os
import resource
import subprocess
import sys
import tempfile

from _common import machine, parser, table

WINDOW = 64
N_FEATURES = 8
MB = 1 << 20
WARM_ROWS = 10_000
STAGES = ["torch", "windows", "fit", "fit-warm", "predict", "predict-warm"]


def make_data(n):
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    y = (X[:, 0] + 0.5 * np.roll(X[:, 1], 1)).astype(np.float32)
    return X, y


def pipeline():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_rnn import RNNRegressor, SequenceWindower

    return make_pipeline(
        StandardScaler(),
        SequenceWindower(window=WINDOW),
        RNNRegressor(hidden_size=16, max_epochs=1, random_state=0, device="cpu"),
    )


def child(stage, n, path):
    """Run one stage in this (fresh) process; print a JSON line of figures."""
    # Everything is imported and built before the baseline is taken, so that
    # the figure is the stage's own memory, not the libraries'.
    import joblib
    from _common import PeakRSS

    X, y = make_data(n)
    stage, _, warm = stage.partition("-")
    if stage == "torch":
        # Reference: a plain torch LSTM, its Adam optimizer and one step, in a
        # fresh process. A first optimizer imports parts of torch (dynamo,
        # sympy) that every cold fit pays, with or without this library.
        import torch

        from sklearn_rnn._modules import RecurrentNetwork
    elif stage == "predict":
        model = joblib.load(path)
    else:
        model = pipeline()
        if stage == "windows":
            model = model[:-1]
    if warm:
        # The same stage once on a small slice first: one-time costs (torch's
        # lazy initialisation, first-call caches) are then out of the figure,
        # which keeps what grows with the data.
        k = min(n, WARM_ROWS)
        if stage == "windows":
            model.fit_transform(X[:k])
        elif stage == "fit":
            model.fit(X[:k], y[:k])
        else:
            model.predict(X[:k])
    with PeakRSS() as rss:
        if stage == "torch":
            net = RecurrentNetwork(N_FEATURES, 1, hidden_size=16)
            optimizer = torch.optim.Adam(net.parameters())
            out = torch.zeros(64, WINDOW, N_FEATURES)
            net(out).sum().backward()
            optimizer.step()
        elif stage == "windows":
            out = model.fit_transform(X)
        elif stage == "fit":
            out = model.fit(X, y)
        else:
            out = model.predict(X)
    if stage == "fit" and not warm:
        joblib.dump(model, path)
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "stage": stage + (" (warm)" if warm else ""),
                "before": rss.start,
                "peak": rss.peak,
                "maxrss": maxrss,
                "input": X.nbytes,
                "out_shape": list(getattr(out, "shape", ())),
            }
        )
    )


def run_stage(stage, n, path):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", stage, "--rows", str(n)]
    cmd += ["--path", path]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"stage {stage} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=None)
    p.add_argument("--child", choices=STAGES, help=None)
    p.add_argument("--path", default=None, help=None)
    args = p.parse_args()
    n = args.rows or (100_000 if args.quick else 1_000_000)
    if args.child:
        child(args.child, n, args.path)
        return
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.joblib")
        results = [run_stage(stage, n, path) for stage in STAGES]
    input_bytes = results[0]["input"]
    results[0]["stage"] = "reference: a first torch LSTM + Adam step"
    all_windows = WINDOW * input_bytes
    rows = []
    for r in results:
        extra = r["peak"] - r["before"]
        rows.append(
            [
                r["stage"],
                f"{r['before'] / MB:.0f}",
                f"{r['peak'] / MB:.0f}",
                f"{extra / MB:.0f}",
                f"{extra / input_bytes:.2f}",
                f"{extra / all_windows:.3f}",
                f"{r['maxrss'] / MB:.0f}",
            ]
        )
    print(
        f"\n{n} rows x {N_FEATURES} float32 features: input {input_bytes / MB:.1f} MiB; "
        f"window {WINDOW} x input = {all_windows / MB:.0f} MiB. "
        "Stages: windows = StandardScaler + SequenceWindower fit_transform; "
        "fit = the whole pipeline, 1 epoch, batch 64; predict = pipeline.predict(X); "
        f"(warm) = the same stage run first on {WARM_ROWS} rows, so that one-time "
        "costs are left out."
    )
    print(
        table(
            [
                "stage",
                "RSS before MiB",
                "peak RSS MiB",
                "peak - before MiB",
                "/ input",
                "/ (window x input)",
                "process max RSS MiB",
            ],
            rows,
        )
    )
    print(
        "goal: peak - before stays near the input's size (a small multiple), "
        "far below window x input"
    )


if __name__ == "__main__":
    main()
