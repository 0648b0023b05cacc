"""Training speed of ``RNNClassifier.fit`` against a hand-written PyTorch
classification loop, on the CPU.

Both train the same network (``sklearn_rnn._modules.RecurrentNetwork``, one
logit per class) on the same sequences with the same batch size, epochs,
Adam optimizer (lr 1e-3) and cross-entropy loss; the loop runs once on one
torch thread and once on torch's default count, and ours is compared with the
faster of the two (the goal of issue #13: at most 1.05x).

- ours: ``RNNClassifier(linear_skip=False, shuffle=True).fit(X, y)`` with ``X`` a float32 array
  ``(n, 30, n_features)`` and ``y`` string labels, as users pass them (the
  labels are encoded inside ``fit``).
- loop: pre-built contiguous float32 and int64 tensors, sliced with a fresh
  random permutation every epoch; no DataLoader; the epoch loss is
  accumulated with ``.item()`` as any real loop would.

Each case runs the three in interleaved rounds; the table gives the median
seconds per epoch, the thread counts ours' batches ran on, and the median over
rounds of the per-round ratios to the faster loop of that round.

    python benchmarks/bench_classifier.py            # 8 cases (about 4 minutes)
    python benchmarks/bench_classifier.py --quick    # 2 small cases
"""

import numpy as np
import torch
from _common import (
    interleaved,
    machine,
    median,
    parser,
    table,
    thread_probe,
    thread_share,
    torch_threads,
)
from torch import nn

from sklearn_rnn import RNNClassifier
from sklearn_rnn._modules import RecurrentNetwork

N_STEPS = 30
GOAL = "goal: ours/faster loop <= 1.05"


def make_data(n, n_features, n_classes, seed=0):
    """Sequences whose class is the step where the first feature peaks, binned
    into ``n_classes`` parts: the labels, and the same data as tensors."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_STEPS, n_features)).astype(np.float32)
    codes = np.argmax(X[:, :, 0], axis=1) * n_classes // N_STEPS
    y = np.array([f"class {k}" for k in range(n_classes)])[codes]
    return X, y, torch.from_numpy(X), torch.from_numpy(codes.astype(np.int64))


def fit_ours(X, y, cell, hidden, batch, epochs, probe=None):
    return RNNClassifier(
        cell=cell,
        hidden_size=hidden,
        # The loop's network has no linear skip.
        linear_skip=False,
        batch_size=batch,
        max_epochs=epochs,
        shuffle=True,
        random_state=0,
        device="cpu",
        callbacks=None if probe is None else [probe],
    ).fit(X, y)


def fit_loop(X_t, y_t, n_classes, cell, hidden, batch, epochs, threads):
    with torch_threads(threads):
        torch.manual_seed(0)
        net = RecurrentNetwork(X_t.shape[2], n_classes, cell=cell, hidden_size=hidden)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        loss_fn = nn.CrossEntropyLoss()
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


def all_cases(quick):
    if quick:
        return [("lstm", 32, 8, 64, 2), ("gru", 64, 1, 256, 5)]
    return [
        (cell, hidden, n_features, batch, n_classes)
        for cell in ("lstm", "gru")
        for hidden, n_features in ((32, 8), (64, 1))
        for batch, n_classes in ((64, 2), (256, 5))
    ]


def run_case(case, n, epochs, rounds):
    cell, hidden, n_features, batch, n_classes = case
    X, y, X_t, y_t = make_data(n, n_features, n_classes)
    default = torch.get_num_threads()
    probe = thread_probe()
    runs = {
        "ours": lambda: fit_ours(X, y, cell, hidden, batch, epochs, probe),
        "loop 1": lambda: fit_loop(X_t, y_t, n_classes, cell, hidden, batch, epochs, 1),
        "loop default": lambda: fit_loop(
            X_t, y_t, n_classes, cell, hidden, batch, epochs, default
        ),
    }
    # One untimed epoch on a slice of the data warms allocators and caches.
    k = min(n, 4 * batch)
    fit_ours(X[:k], y[:k], cell, hidden, batch, 1)
    for threads in (1, default):
        fit_loop(X_t[:k], y_t[:k], n_classes, cell, hidden, batch, 1, threads)
    times = interleaved(runs, rounds)
    per_epoch = {name: median(v) / epochs for name, v in times.items()}
    best = [min(a, b) for a, b in zip(times["loop 1"], times["loop default"], strict=True)]
    ratio = median([a / b for a, b in zip(times["ours"], best, strict=True)])
    return [
        f"{cell} h{hidden} f{n_features} b{batch} c{n_classes}",
        thread_share(probe.counts_),
        f"{per_epoch['ours']:.3f}",
        f"{per_epoch['loop 1']:.3f}",
        f"{per_epoch['loop default']:.3f}",
        f"{ratio:.3f}",
    ]


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=None, help="epochs per fit")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds")
    p.add_argument("--samples", type=int, default=None, help="sequences per case")
    args = p.parse_args()
    n = args.samples or (4000 if args.quick else 20000)
    epochs = args.epochs or (1 if args.quick else 2)
    rounds = args.rounds or 3

    print(machine())
    print(
        f"{n} sequences of {N_STEPS} steps (float32), {epochs} epoch(s) per fit, "
        f"median of {rounds} interleaved rounds; {GOAL}\n"
    )
    default = torch.get_num_threads()
    header = [
        "case",
        "ours' threads (batches)",
        "ours s/epoch",
        "loop 1 thread s/epoch",
        f"loop {default} threads s/epoch",
        "ours/faster loop",
    ]
    rows = []
    for case in all_cases(args.quick):
        rows.append(run_case(case, n, epochs, rounds))
        print(" | ".join(str(c) for c in rows[-1]), flush=True)
    print()
    print(table(header, rows))
    ratios = [float(r[-1]) for r in rows]
    print(
        f"\nworst ours/faster loop {max(ratios):.3f}, median {median(ratios):.3f} (goal <= 1.05); "
        f"{machine().split('; ')[0].split(', ')[-1]}"
    )


if __name__ == "__main__":
    main()
