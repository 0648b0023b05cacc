"""Training on token ids of very unequal lengths: ``RNNClassifier(embedding_dim=...)``
against hand-written PyTorch loops, on the CPU.

The corpus has a long tail of lengths (log-normal: median 20 tokens, a few
hundred at the top, capped at ``MAX_LEN``), front-padded into one id array
as ``TextSequencer`` writes it. All runs train the same network
(``sklearn_rnn._modules.RecurrentNetwork`` with an embedding) with the same
batch size, epochs, Adam optimizer, cross-entropy loss and torch thread
count (the count ``RNNClassifier`` itself trains with).

- ours: ``RNNClassifier(embedding_dim=32, cell="gru").fit(X, y)``: batches
  bucketed by length and each cut to its longest sequence.
- per-batch: the usual hand-written loop: a fresh random permutation every
  epoch, and each batch cut to its own longest sequence (sliced from the
  padded id tensor, with the lengths passed to the network).
- full width: the same loop without the cut: every batch as long as the
  longest sequence of the corpus.

Goal: ours / per-batch <= 1.1. The table gives median seconds per epoch and
the medians over interleaved rounds of the per-round ratios.

    python benchmarks/bench_text.py            # 8000 sequences (about 4 minutes)
    python benchmarks/bench_text.py --quick    # 2000 sequences
"""

import numpy as np
import torch
from _common import interleaved, machine, median, median_ratio, parser, table
from torch import nn

from sklearn_rnn import RNNClassifier
from sklearn_rnn._modules import RecurrentNetwork
from sklearn_rnn._runtime import threads_restored

MAX_LEN = 400
N_TOKENS = 2000
EMBEDDING, HIDDEN, BATCH = 32, 64, 64
GOAL = "goal: ours/per-batch <= 1.1"


def make_data(n, seed=0):
    rng = np.random.default_rng(seed)
    lengths = np.minimum(np.round(rng.lognormal(np.log(20), 1.0, n)).astype(int) + 1, MAX_LEN)
    X = np.zeros((n, MAX_LEN), dtype=np.int64)
    for row, length in zip(X, lengths, strict=True):
        row[MAX_LEN - length :] = rng.integers(2, N_TOKENS, length)
    # Learnable labels: does a token from the first tenth of the vocabulary occur?
    y = ((X > 1) & (X < N_TOKENS // 10)).any(axis=1).astype(np.int64)
    return X, y, lengths


def fit_ours(X, y, epochs):
    return RNNClassifier(
        embedding_dim=EMBEDDING,
        cell="gru",
        hidden_size=HIDDEN,
        batch_size=BATCH,
        max_epochs=epochs,
        random_state=0,
        device="cpu",
    ).fit(X, y)


def fit_loop(X_t, y_t, lengths_t, epochs, threads, cut):
    with threads_restored(threads):
        torch.manual_seed(0)
        net = RecurrentNetwork(
            1, 2, cell="gru", hidden_size=HIDDEN, n_tokens=N_TOKENS, embedding_dim=EMBEDDING
        )
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        loss_fn = nn.CrossEntropyLoss()
        n, width = X_t.shape
        net.train()
        for _ in range(epochs):
            order = torch.randperm(n)
            total = 0.0
            for start in range(0, n, BATCH):
                index = order[start : start + BATCH]
                lengths = lengths_t[index]
                Xb = X_t[index]
                if cut:
                    Xb = Xb[:, width - int(lengths.max()) :]
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(net(Xb, lengths), y_t[index])
                loss.backward()
                optimizer.step()
                total += loss.item() * len(index)
        return net


def threads_used():
    from skorch.callbacks import Callback

    class Probe(Callback):
        def on_train_begin(self, net, **kwargs):
            self.threads_ = torch.get_num_threads()

    probe = Probe()
    X = np.array([[0, 2, 3], [4, 5, 6]] * 4)
    RNNClassifier(
        embedding_dim=EMBEDDING, cell="gru", hidden_size=HIDDEN, max_epochs=1, callbacks=[probe]
    ).fit(X, [0, 1] * 4)
    return probe.threads_


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=None, help="epochs per fit")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds")
    p.add_argument("--samples", type=int, default=None, help="sequences")
    args = p.parse_args()
    n = args.samples or (2000 if args.quick else 8000)
    epochs = args.epochs or (1 if args.quick else 2)
    rounds = args.rounds or 3
    X, y, lengths = make_data(n)
    X_t, y_t, lengths_t = torch.from_numpy(X), torch.from_numpy(y), torch.from_numpy(lengths)
    threads = threads_used()
    print(machine())
    print(
        f"{n} id sequences, lengths median {int(np.median(lengths))}, mean "
        f"{lengths.mean():.1f}, 99th percentile {int(np.percentile(lengths, 99))}, max "
        f"{lengths.max()} (padded width {MAX_LEN}); gru h{HIDDEN} e{EMBEDDING} b{BATCH}, "
        f"{threads} thread(s), {epochs} epoch(s) per fit, median of {rounds} interleaved "
        f"rounds; {GOAL}\n"
    )
    runs = {
        "ours": lambda: fit_ours(X, y, epochs),
        "per-batch": lambda: fit_loop(X_t, y_t, lengths_t, epochs, threads, cut=True),
        "full width": lambda: fit_loop(X_t, y_t, lengths_t, epochs, threads, cut=False),
    }
    k = 4 * BATCH
    fit_ours(X[:k], y[:k], 1)
    fit_loop(X_t[:k], y_t[:k], lengths_t[:k], 1, threads, cut=True)
    times = interleaved(runs, rounds)
    per_epoch = {name: median(v) / epochs for name, v in times.items()}
    header = ["run", "s/epoch", "ours / run"]
    rows = [
        [name, f"{per_epoch[name]:.2f}", f"{median_ratio(times, 'ours', name):.3f}"]
        for name in runs
    ]
    print(table(header, rows))
    print(
        f"\nours/per-batch {median_ratio(times, 'ours', 'per-batch'):.3f} (goal <= 1.1); "
        f"{machine().split('; ')[0].split(', ')[-1]}"
    )


if __name__ == "__main__":
    main()
