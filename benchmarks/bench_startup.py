"""Start-up: what the first fit in a process costs, and what that does to a
first ``GridSearchCV(n_jobs=2)``, whose worker processes each pay it again.

Part 1 runs, in fresh Python processes one after the other, the imports
(torch and scikit-learn, then sklearn_rnn) and three identical small fits,
and prints the first fit's excess over the second, next to the same for a
hand-written PyTorch loop (any torch optimizer imports ``torch._dynamo`` on
its first call). With ``--candidate DIR`` the processes of another checkout
take turns with ours.

Part 2 runs one ``GridSearchCV`` (12 fits, about 6 s of work on one core of
an idle machine) in a fresh process with ``n_jobs=1`` and, in another fresh
process, with ``n_jobs=2`` (joblib's default process backend, whose workers
start, import torch and sklearn_rnn, and fit for the first time inside the
search), in alternating rounds, then the same search again in each process
(warm workers); and it shows what a worker's first task costs: its start, its
imports, its first fit against its second.

    python benchmarks/bench_startup.py            # about 2 minutes
    python benchmarks/bench_startup.py --quick
    python benchmarks/bench_startup.py --candidate ../other-checkout
"""

import json
import os
import subprocess
import sys
import tempfile

from _common import machine, median, parser, table

import sklearn_rnn

OURS = os.path.dirname(os.path.dirname(os.path.abspath(sklearn_rnn.__file__)))

FIRST_FIT = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np, sklearn.base, sklearn.model_selection, sklearn.utils.validation, torch
t1 = time.perf_counter()
out = {"import_base": t1 - t0}
rng = np.random.default_rng(0)
X = rng.normal(size=(512, 20, 4)).astype(np.float32)
y = X[:, -1, 0]
if sys.argv[1] == "loop":
    def fit():
        torch.manual_seed(0)
        net = torch.nn.LSTM(4, 16, batch_first=True)
        head = torch.nn.Linear(16, 1)
        params = [*net.parameters(), *head.parameters()]
        optimizer = torch.optim.Adam(params, lr=1e-3)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y[:, None])
        for _ in range(2):
            for start in range(0, len(Xt), 64):
                optimizer.zero_grad()
                loss = torch.nn.functional.mse_loss(head(net(Xt[start:start + 64])[0][:, -1]),
                                                    yt[start:start + 64])
                loss.backward()
                optimizer.step()
else:
    import sklearn_rnn
    out["import_ours"] = time.perf_counter() - t1
    out["where"] = sklearn_rnn.__file__
    def fit():
        sklearn_rnn.RNNRegressor(hidden_size=16, max_epochs=2, random_state=0,
                                 device="cpu").fit(X, y).predict(X[:10])
for name in ("first", "second", "third"):
    start = time.perf_counter()
    fit()
    out[name] = time.perf_counter() - start
out["dynamo"] = "torch._dynamo" in sys.modules
print(json.dumps(out))
"""

SEARCH = r"""
import json, os, sys, time
import numpy as np, torch
from joblib import Parallel, delayed
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn_rnn import RNNRegressor, SequenceWindower

def worker_first_task(X, y):
    # Runs in a fresh worker: its imports happened while unpickling this call.
    import sklearn_rnn
    times = []
    for _ in range(2):
        start = time.perf_counter()
        sklearn_rnn.RNNRegressor(hidden_size=16, max_epochs=2, random_state=0,
                                 device="cpu").fit(X, y)
        times.append(time.perf_counter() - start)
    return os.getpid(), torch.get_num_threads(), times

n_jobs, n, epochs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
t = np.arange(n)
X = np.column_stack([np.sin(t / 20), np.cos(t / 33), rng.normal(size=n), np.sin(t / 7)])
X = X.astype(np.float32)
y = np.roll(X[:, 0], -3) + 0.5 * np.roll(X[:, 3], -1)
pipe = make_pipeline(SequenceWindower(window=20),
                     RNNRegressor(hidden_size=16, max_epochs=epochs, random_state=0, device="cpu"))
grid = {"sequencewindower__window": [10, 20], "rnnregressor__cell": ["lstm", "gru"]}
out = {}
if sys.argv[4] == "search":
    start = time.perf_counter()
    GridSearchCV(pipe, grid, cv=TimeSeriesSplit(3), n_jobs=n_jobs).fit(X, y)
    out["search"] = time.perf_counter() - start
    # Again, with the workers started and warm: what the start-up cost.
    start = time.perf_counter()
    GridSearchCV(pipe, grid, cv=TimeSeriesSplit(3), n_jobs=n_jobs).fit(X, y)
    out["again"] = time.perf_counter() - start
else:
    W = SequenceWindower(window=20).fit_transform(X[:512])
    start = time.perf_counter()
    Parallel(n_jobs=2)(delayed(os.getpid)() for _ in range(2))
    out["spawn"] = time.perf_counter() - start
    start = time.perf_counter()
    done = Parallel(n_jobs=2)(delayed(worker_first_task)(W, y[:512]) for _ in range(2))
    out["tasks"] = time.perf_counter() - start
    out["workers"] = done
print(json.dumps(out))
"""


# Bytecode is cached (in a folder of its own) as an installed package has it,
# even where PYTHONDONTWRITEBYTECODE is set: the first round compiles.
PYCACHE = os.path.join(tempfile.gettempdir(), "sklearn_rnn_bench_pycache")


def child(script, args, checkout):
    env = dict(os.environ, PYTHONPATH=checkout + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = PYCACHE
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=checkout,
    )
    if result.returncode:
        raise RuntimeError(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def part_first_fit(rounds, candidate):
    runs = {"ours": ("ours", OURS), "hand-written loop": ("loop", OURS)}
    if candidate:
        runs["candidate"] = ("ours", candidate)
    results = {name: [] for name in runs}
    for what, checkout in runs.values():
        child(FIRST_FIT, [what], checkout)  # compiles the bytecode; not timed
    for r in range(rounds):
        names = list(runs) if r % 2 == 0 else list(runs)[::-1]
        for name in names:
            results[name].append(child(FIRST_FIT, [runs[name][0]], runs[name][1]))
    rows = []
    for name, outs in results.items():
        rows.append(
            [
                name,
                f"{median([o['import_base'] for o in outs]):.2f}",
                f"{median([o['import_ours'] for o in outs]):.2f}"
                if "import_ours" in outs[0]
                else "",
                f"{median([o['first'] for o in outs]):.3f}",
                f"{median([o['second'] for o in outs]):.3f}",
                f"{median([o['first'] - o['second'] for o in outs]):.3f}",
                "yes" if any(o["dynamo"] for o in outs) else "no",
            ]
        )
    print(
        f"\nFresh processes, {rounds} rounds (medians); a fit: LSTM hidden 16, 512 "
        "windows of 20 steps x 4 features, 2 epochs. Goals: first - second <= 0.1 s, "
        "import of sklearn_rnn <= 0.2 s"
    )
    print(
        table(
            [
                "run",
                "import torch+sklearn s",
                "import sklearn_rnn s",
                "first fit s",
                "second fit s",
                "first - second s",
                "torch._dynamo imported",
            ],
            rows,
        )
    )


def part_search(rounds, quick):
    n, epochs = (1200, 3) if quick else (3000, 8)
    runs = {1: [], 2: []}
    child(SEARCH, [1, 200, 1, "search"], OURS)  # compiles the bytecode; not timed
    for r in range(rounds):
        for n_jobs in (1, 2) if r % 2 == 0 else (2, 1):
            runs[n_jobs].append(child(SEARCH, [n_jobs, n, epochs, "search"], OURS))

    def ratio(a, b):
        return median([x[a] / z[b] for x, z in zip(runs[1], runs[2], strict=True)])

    print(
        f"\nFirst GridSearchCV in a fresh process: 4 candidates x TimeSeriesSplit(3) on {n} "
        f"rows, hidden 16, {epochs} epochs; {rounds} rounds, then the same search again in "
        "that process (workers warm). Goal: first speed-up >= 1.4x"
    )
    print(
        table(
            [
                "n_jobs=1 s",
                "n_jobs=2 s (workers start inside)",
                "first speed-up",
                "again: n_jobs=1 s",
                "again: n_jobs=2 s",
                "speed-up again",
            ],
            [
                [
                    f"{median([o['search'] for o in runs[1]]):.2f}",
                    f"{median([o['search'] for o in runs[2]]):.2f}",
                    f"{ratio('search', 'search'):.2f}x",
                    f"{median([o['again'] for o in runs[1]]):.2f}",
                    f"{median([o['again'] for o in runs[2]]):.2f}",
                    f"{ratio('again', 'again'):.2f}x",
                ]
            ],
        )
    )
    out = child(SEARCH, [2, n, epochs, "workers"], OURS)
    rows = [
        [str(pid), str(threads), f"{first:.3f}", f"{second:.3f}"]
        for pid, threads, (first, second) in out["workers"]
    ]
    fits = max(first + second for _, _, (first, second) in out["workers"])
    print(
        f"\nA worker's first task (n_jobs=2): starting two empty workers took "
        f"{out['spawn']:.2f} s; then one task each (unpickling it imports torch, "
        f"scikit-learn and sklearn_rnn; then two fits) took {out['tasks']:.2f} s, "
        f"{out['tasks'] - fits:.2f} s of it before the fits:"
    )
    print(table(["worker", "torch threads", "first fit s", "second fit s"], rows))


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--only", choices=["first-fit", "search"], help="run one part only")
    p.add_argument(
        "--candidate", metavar="CHECKOUT", help="also run another checkout's sklearn_rnn"
    )
    args = p.parse_args()
    rounds = args.rounds or (2 if args.quick else 4)
    print(machine())
    candidate = os.path.abspath(args.candidate) if args.candidate else None
    if args.only != "search":
        part_first_fit(rounds, candidate)
    if args.only != "first-fit":
        part_search(rounds, args.quick)


if __name__ == "__main__":
    main()
