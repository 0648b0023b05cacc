"""Language modelling with a classifier: (context, next token) pairs from a
corpus, and generation by sampling one token at a time (no torch here)."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ._inputs import PADDING_ID


def _documents(sequences):
    """The documents of ``sequences`` as 1-D int64 arrays, padding dropped."""
    if getattr(sequences, "ndim", None) == 2 and hasattr(sequences, "to_numpy"):
        # TextSequencer's output as a DataFrame (set_output(transform="pandas")).
        sequences = sequences.to_numpy()
    if isinstance(sequences, np.ndarray) and sequences.ndim == 2:
        rows = list(sequences)
    elif isinstance(sequences, np.ndarray) and sequences.ndim == 1 and sequences.dtype != object:
        rows = [sequences]
    elif (
        isinstance(sequences, (list, tuple))
        and sequences
        and all(isinstance(token, (Integral, np.integer)) for token in sequences)
    ):
        # One document as a list of ids, as a 1-D array is one document.
        rows = [np.asarray(sequences, dtype=np.int64)]
    else:
        rows = [np.asarray(row) for row in sequences]
    documents = []
    for i, row in enumerate(rows):
        row = np.asarray(row)
        if row.ndim != 1 or (row.size and row.dtype.kind not in "iu"):
            raise ValueError(
                f"sequences[{i}] must be a 1-D sequence of integer token ids (a row of "
                f"TextSequencer's output); got dtype {row.dtype} and shape {row.shape}."
            )
        row = row.astype(np.int64, copy=False)
        if row.size and row.min() < 0:
            raise ValueError(
                f"sequences[{i}] holds the negative token id {row.min()}; token ids are "
                "0 (padding), 1 (unknown) and 2, 3, ... for the vocabulary."
            )
        documents.append(row[row != PADDING_ID])
    return documents


@validate_params(
    {
        "sequences": ["array-like", list],
        "context": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def make_next_token(sequences, *, context=32):
    """Turn a corpus of token ids into (context, next token) training pairs.

    Every token of every document, but the first, becomes one sample: ``y`` is
    the token and the row of ``X`` the ``context`` tokens before it in the
    same document, fewer at a document's start (front-padded with the padding
    id 0, which :class:`RNNClassifier` with ``embedding_dim`` reads as a
    shorter sequence). A context never reaches into another document. An
    :class:`RNNClassifier` fitted on ``(X, y)`` is then a language model:
    ``predict_proba`` gives the distribution of the next token, and
    :func:`generate` samples text from it.

    Parameters
    ----------
    sequences : array-like of shape (n_documents, n_positions) of int, or list \
            of 1-D arrays of int
        Token ids, one document per row (the output of
        :class:`TextSequencer`; padding ids 0 are dropped first), or a list of
        documents of any lengths. A single 1-D array is one document.

    context : int, default=32
        Tokens of history per sample: the columns of ``X``.

    Returns
    -------
    X : ndarray of shape (n_pairs, context), dtype=int64
        The tokens before each target token, oldest first, padded at the front
        with 0.

    y : ndarray of shape (n_pairs,), dtype=int64
        The token that follows each row of ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rnn import make_next_token
    >>> X, y = make_next_token([np.array([5, 6, 7]), np.array([8, 9])], context=2)
    >>> X
    array([[0, 5],
           [5, 6],
           [0, 8]])
    >>> y
    array([6, 7, 9])
    """
    documents = _documents(sequences)
    Xs, ys = [], []
    for doc in documents:
        if len(doc) < 2:
            continue
        padded = np.concatenate([np.zeros(context, dtype=np.int64), doc])
        windows = np.lib.stride_tricks.sliding_window_view(padded, context)
        # Window i covers the context tokens before doc[i].
        Xs.append(windows[1 : len(doc)])
        ys.append(doc[1:])
    if not Xs:
        raise ValueError(
            "make_next_token needs a document of at least 2 tokens (a context and a "
            "next token); every document given is shorter."
        )
    return np.concatenate(Xs), np.concatenate(ys)


@validate_params(
    {
        "model": [object],
        "sequencer": [object],
        "prompt": [str, list],
        "n_new_tokens": [Interval(Integral, 0, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="left")],
        "top_k": [None, Interval(Integral, 1, None, closed="left")],
        "context": [None, Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def generate(
    model,
    sequencer,
    prompt,
    n_new_tokens,
    *,
    temperature=1.0,
    top_k=None,
    context=None,
    random_state=None,
):
    """Extend a prompt by sampling one token at a time from a language model.

    The prompt is encoded by ``sequencer``; then, ``n_new_tokens`` times, the last
    ``context`` ids go through ``model.predict_proba`` and the next token is
    drawn from the predicted distribution (sharpened or flattened by
    ``temperature``, cut to the ``top_k`` most likely tokens) and appended.
    The new ids are decoded through ``sequencer.inverse_transform``.

    Parameters
    ----------
    model : fitted classifier
        A next-token model: an :class:`RNNClassifier` with ``embedding_dim``
        fitted on :func:`make_next_token`'s pairs (or a pipeline ending in
        one), whose ``classes_`` are token ids.

    sequencer : fitted TextSequencer
        The sequencer that encoded the training corpus.

    prompt : str or list of str
        The text to extend (a string, tokenised by ``sequencer``, or a list
        of tokens).

    n_new_tokens : int
        How many tokens to generate.

    temperature : float, default=1.0
        Divides the log-probabilities before sampling: below 1 the likely
        tokens grow likelier (safer text), above 1 the distribution flattens.
        0 always takes the most probable token (greedy decoding).

    top_k : int or None, default=None
        Sample among the ``top_k`` most probable tokens only (exactly
        ``top_k``: of tokens tied at the cut, the first in ``classes_``).

    context : int or None, default=None
        Tokens of history given to the model. None: as many as the model was
        trained on (the ``context`` of :func:`make_next_token`).

    random_state : int, RandomState instance or None, default=None
        Seeds the sampling: an int gives the same text every call.

    Returns
    -------
    text : str
        The prompt followed by the generated tokens: joined without
        separators for a character-level sequencer (``analyzer="char"``),
        else with spaces (subword pieces starting with ``"##"`` are joined to
        the piece before). Decoding shows the unknown id 1 as ``"<unk>"``.

    Examples
    --------
    >>> from sklearn_rnn import RNNClassifier, TextSequencer, generate, make_next_token
    >>> corpus = ["abcabcabcabcabcabc", "abcabcabc"]
    >>> sequencer = TextSequencer(analyzer="char").fit(corpus)
    >>> X, y = make_next_token(sequencer.transform(corpus), context=4)
    >>> model = RNNClassifier(embedding_dim=4, hidden_size=16, lr=1e-2, max_epochs=60,
    ...                       random_state=0).fit(X, y)
    >>> generate(model, sequencer, "ab", 7, temperature=0)
    'abcabcabc'
    """
    final = getattr(model, "_final_estimator", model)
    if context is None:
        fitted = getattr(final, "_fitted_params", None)
        if fitted is None:
            raise ValueError(
                "context=None takes the context length from a fitted RNNClassifier, "
                f"but model is a {type(model).__name__}; pass context=."
            )
        context = int(fitted["n_steps"])
    classes = np.asarray(model.classes_)
    prompt_ids = _documents(sequencer.transform([prompt]))[0]
    ids = list(prompt_ids.tolist())
    rng = check_random_state(random_state)
    new = []
    for _ in range(n_new_tokens):
        row = np.zeros((1, context), dtype=np.int64)
        last = ids[-context:]
        if last:
            row[0, context - len(last) :] = last
        proba = np.asarray(model.predict_proba(row), dtype=np.float64)[0]
        choice = _sample(proba, temperature, top_k, rng)
        token = int(classes[choice])
        ids.append(token)
        new.append(token)
    char = getattr(sequencer, "analyzer", "word") == "char"
    if isinstance(prompt, str):
        head = prompt
    else:
        head = ("" if char else " ").join(prompt)
    if not new:
        return head
    tokens = sequencer.inverse_transform(np.asarray([new]))[0]
    if char:
        return head + "".join(tokens)
    text = head
    for token in tokens:
        if token.startswith("##"):
            text += token[2:]
        else:
            text += (" " if text else "") + token
    return text


def _sample(proba, temperature, top_k, rng):
    """An index drawn from ``proba`` with ``temperature`` and ``top_k``."""
    if temperature == 0:
        return int(np.argmax(proba))
    with np.errstate(divide="ignore", over="ignore"):
        logits = np.log(proba)
        # Relative to the largest before the division, so that the most
        # probable token stays at 0 however small the temperature.
        logits = (logits - logits.max()) / temperature
    if top_k is not None and top_k < len(logits):
        # Exactly top_k tokens: among ties, the first ones.
        keep = np.argsort(-logits, kind="stable")[:top_k]
        logits = np.where(np.isin(np.arange(len(logits)), keep), logits, -np.inf)
    weights = np.exp(logits)
    return int(rng.choice(len(weights), p=weights / weights.sum()))
