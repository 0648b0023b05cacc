"""Text documents to fixed-length sequences of token ids (no torch here)."""

import heapq
import math
import re
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from itertools import chain, pairwise, repeat
from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import HasMethods, Interval, RealNotInt, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from ._validation import reject_bool

TOKEN_PATTERN = r"(?u)\b\w+\b"
PADDING_ID = 0
UNKNOWN_ID = 1
FIRST_TOKEN_ID = 2
#: How :meth:`TextSequencer.inverse_transform` shows the unknown id 1.
UNKNOWN_TOKEN = "<unk>"
# Only the subword backend stores this name: its padding id is a real entry of
# the Hugging Face vocabulary.
PADDING_TOKEN = "<pad>"
# The Hugging Face trainers' own default vocabulary size.
DEFAULT_SUBWORD_VOCAB_SIZE = 30_000

INSTALL_HINT = 'pip install "sklearn-rnn[text]"'


class TextSequencer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Turn text documents into fixed-length rows of token ids for a recurrent network.

    Each document becomes one row of ``max_len`` integer ids: ``0`` is
    padding, ``1`` an unknown token (one not in the vocabulary) and the
    vocabulary's tokens are numbered from ``2``, the most frequent first. By
    default, as :class:`~sklearn_rnn.SequenceWindower` does with time steps,
    padding and truncation happen at the front: a row keeps a document's most
    recent (last) tokens and its last column is the last token.

    Feed the rows to :class:`~sklearn_rnn.RNNClassifier` with ``embedding_dim``
    set; its embedding needs ``n_tokens_`` rows. Parameters that share a name
    with :class:`~sklearn.feature_extraction.text.CountVectorizer`'s mean the
    same thing.

    Parameters
    ----------
    max_len : int or None, default=None
        Tokens per output row. Longer documents are truncated (see
        ``truncating``), shorter ones padded (see ``padding``). ``None`` uses
        the longest document seen in :meth:`fit`.

    max_features : int or None, default=None
        Keep only the ``max_features`` most frequent tokens (by count over the
        fit corpus, after ``min_df`` and ``max_df``); the others become the
        unknown id 1. The two reserved ids are not counted: ``n_tokens_`` is at
        most ``max_features + 2``. With ``backend="tokenizers"`` it is the
        subword vocabulary size besides the two reserved ids (``None``: 30,000
        ids in all, the Hugging Face trainers' default); that vocabulary always
        holds every character of the fit corpus, even beyond ``max_features``.

    min_df : float in [0.0, 1.0] or int, default=1
        Ignore tokens found in fewer documents than this: an int is a count of
        documents, a float a fraction of them.

    max_df : float in [0.0, 1.0] or int, default=1.0
        Ignore tokens found in more documents than this (corpus-specific stop
        words): an int is a count of documents, a float a fraction of them.

    lowercase : bool, default=True
        Lowercase string documents before tokenising them. Token lists are used
        as given.

    token_pattern : str or None, default=r"(?u)\\b\\w+\\b"
        Regular expression for a token, with ``analyzer="word"`` and no
        ``tokenizer``. Unlike CountVectorizer's default, it keeps one-letter
        words ("a", "I"): word order matters to a recurrent network. If the
        pattern has a capturing group, the group is the token.

    analyzer : {"word", "char"}, default="word"
        ``"word"``: tokens are words (``token_pattern`` or ``tokenizer``).
        ``"char"``: every character is a token, spaces and newlines included
        and kept as they are (for character-level models, whose output must
        hold the spaces).

    tokenizer : callable or None, default=None
        A function from a (lowercased) document to its list of string tokens;
        replaces ``token_pattern``.

    vocabulary : Mapping or iterable of str or None, default=None
        A fixed vocabulary instead of one learned from the data. A collection
        of tokens (list, tuple, set: not a one-pass iterator, which a second
        fit would find empty) gets the ids 2, 3, ... in its order (a set is
        sorted first). A
        mapping token -> id must use exactly the ids 2 .. ``len(vocabulary) + 1``:
        ids 0 and 1 are reserved. ``max_features``, ``min_df`` and ``max_df``
        are then ignored.

    padding : {"pre", "post"}, default="pre"
        Where a short document's padding ids 0 go: ``"pre"`` before its tokens
        (its last token in the last column), ``"post"`` after them.

    truncating : {"pre", "post"}, default="pre"
        Which tokens a long document loses: ``"pre"`` drops the oldest ones at
        the front (the last ``max_len`` are kept), ``"post"`` the ones at the
        end.

    backend : {"tokenizers"} or None, default=None
        ``None``: the vocabulary is whole tokens. ``"tokenizers"``: split the
        tokens further into subword pieces with a Hugging Face ``tokenizers``
        WordPiece model learned from the fit corpus, offline (install it with
        ``pip install "sklearn-rnn[text]"``). The pieces are learned as
        tokenizers' ``WordPieceTrainer`` learns them (merging the most frequent
        adjacent pair, again and again), but with ties broken by the pieces'
        text, so that the same corpus always gives the same vocabulary.
        Pieces inside a word start with ``"##"``; a token with a character
        never seen in fit becomes the unknown id 1. It works with
        ``analyzer="word"`` and the default ``min_df``, ``max_df`` and
        ``vocabulary`` only.

    Attributes
    ----------
    vocabulary_ : dict
        Token -> id, ids from 2 in order. Learned vocabularies are ordered by
        count in the fit corpus, most frequent first, tokens with the same count
        in code-point order. With ``backend="tokenizers"``: the subword
        vocabulary in id order, the reserved ids left out.

    fixed_vocabulary_ : bool
        True if ``vocabulary`` was given rather than learned.

    n_tokens_ : int
        Number of distinct ids the output can hold, the reserved ids 0 and 1
        included: the ``num_embeddings`` a network's embedding needs.

    max_len_ : int
        Length of the output rows (``max_len``, or the longest document seen in
        :meth:`fit`).

    tokenizer_json_ : str
        With ``backend="tokenizers"`` only: the trained Hugging Face tokenizer
        as JSON (``tokenizers.Tokenizer.from_str(tokenizer_json_)`` rebuilds
        it). Keeping it as text lets the fitted transformer pickle.

    See Also
    --------
    sklearn.feature_extraction.text.CountVectorizer : Token counts, without order.
    SequenceWindower : Sliding windows over a time-ordered table.

    Notes
    -----
    :meth:`inverse_transform` shows the unknown id 1 as ``"<unk>"``.

    Input is a 1-D iterable of documents (list, 1-D array, pandas Series), each
    a string or, already tokenised, a list or tuple of string tokens. A
    DataFrame is refused: select its text column (``df["text"]``, or the column
    name as a string, not a list, in a
    :class:`~sklearn.compose.ColumnTransformer`).

    Examples
    --------
    >>> from sklearn_rnn import TextSequencer
    >>> docs = ["the cat sat", "the dog sat down", "a cat"]
    >>> sequencer = TextSequencer(max_len=4).fit(docs)
    >>> sequencer.vocabulary_
    {'cat': 2, 'sat': 3, 'the': 4, 'a': 5, 'dog': 6, 'down': 7}
    >>> sequencer.n_tokens_
    8
    >>> ids = sequencer.transform(["The cat ran", "a dog sat down today"])
    >>> ids
    array([[0, 4, 2, 1],
           [6, 3, 7, 1]])
    >>> sequencer.inverse_transform(ids)
    [['the', 'cat', '<unk>'], ['dog', 'sat', 'down', '<unk>']]
    """

    _parameter_constraints: dict = {
        "max_len": [Interval(Integral, 1, None, closed="left"), None],
        "max_features": [Interval(Integral, 1, None, closed="left"), None],
        "min_df": [
            Interval(RealNotInt, 0, 1, closed="both"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "max_df": [
            Interval(RealNotInt, 0, 1, closed="both"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "lowercase": ["boolean"],
        "token_pattern": [str, None],
        "analyzer": [StrOptions({"word", "char"})],
        "tokenizer": [callable, None],
        "vocabulary": [Mapping, HasMethods("__iter__"), None],
        "padding": [StrOptions({"pre", "post"})],
        "truncating": [StrOptions({"pre", "post"})],
        "backend": [StrOptions({"tokenizers"}), None],
    }

    def __init__(
        self,
        *,
        max_len=None,
        max_features=None,
        min_df=1,
        max_df=1.0,
        lowercase=True,
        token_pattern=TOKEN_PATTERN,
        analyzer="word",
        tokenizer=None,
        vocabulary=None,
        padding="pre",
        truncating="pre",
        backend=None,
    ):
        self.max_len = max_len
        self.max_features = max_features
        self.min_df = min_df
        self.max_df = max_df
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.analyzer = analyzer
        self.tokenizer = tokenizer
        self.vocabulary = vocabulary
        self.padding = padding
        self.truncating = truncating
        self.backend = backend

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the vocabulary of the documents (and ``max_len_`` if not given).

        Parameters
        ----------
        X : iterable of str or of lists of str
            Documents: a list, 1-D array or pandas Series of strings, or of
            token lists (then not tokenised again).

        y : None
            Ignored.

        Returns
        -------
        self : TextSequencer
            The fitted transformer.
        """
        self._fit(X, encode=False)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Learn the vocabulary and return the documents' id rows.

        Same result as ``fit(X).transform(X)``, tokenising ``X`` once.

        Parameters
        ----------
        X : iterable of str or of lists of str
            Documents, as for :meth:`fit`.

        y : None
            Ignored.

        Returns
        -------
        ids : ndarray of shape (n_samples, max_len_), dtype=int64
            Token ids, as :meth:`transform` gives them.
        """
        return self._pad(*self._fit(X, encode=True))

    def transform(self, X):
        """Turn each document into a row of ``max_len_`` token ids.

        Parameters
        ----------
        X : iterable of str or of lists of str
            Documents, as for :meth:`fit`.

        Returns
        -------
        ids : ndarray of shape (n_samples, max_len_), dtype=int64
            ``0`` padding, ``1`` unknown tokens, vocabulary ids from ``2``;
            padded and truncated as ``padding`` and ``truncating`` say.
        """
        check_is_fitted(self)
        return self._pad(*self._encode(self._analyze(as_documents(X))))

    def inverse_transform(self, X):
        """Turn rows of ids back into lists of tokens.

        Padding (id 0) is dropped; the unknown id 1 becomes ``"<unk>"``. With
        ``backend="tokenizers"`` the tokens are the subword pieces.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_positions) of int
            Token ids, such as :meth:`transform` returns.

        Returns
        -------
        tokens : list of list of str
            The tokens of each row, in order.
        """
        check_is_fitted(self)
        ids = check_array(X, dtype=None, ensure_min_features=0, input_name="X")
        if ids.dtype.kind not in "iu":
            if ids.dtype.kind not in "fb" or (
                ids.dtype.kind == "f" and not np.array_equal(ids, np.round(ids))
            ):
                raise ValueError(
                    f"inverse_transform expects integer token ids, got dtype {ids.dtype}."
                )
            ids = ids.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.n_tokens_):
            bad = ids[(ids < 0) | (ids >= self.n_tokens_)].flat[0]
            raise ValueError(
                f"Token id {bad} is outside the vocabulary: ids run from 0 to "
                f"{self.n_tokens_ - 1} (n_tokens_={self.n_tokens_})."
            )
        tokens = np.empty(self.n_tokens_, dtype=object)
        tokens[PADDING_ID] = PADDING_TOKEN
        tokens[UNKNOWN_ID] = UNKNOWN_TOKEN
        for token, index in self.vocabulary_.items():
            tokens[index] = token
        return [tokens[row[row != PADDING_ID]].tolist() for row in ids]

    # The output columns are positions, not input features, so the names follow
    # scikit-learn's convention for such outputs (PCA, NMF, Nystroem):
    # "textsequencer0", ..., "textsequencer{max_len_ - 1}". Having them lets
    # Pipeline.get_feature_names_out and a pipeline-wide
    # set_output(transform="pandas") work, which both fail on a step without them.
    @property
    def _n_features_out(self):
        return self.max_len_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # As CountVectorizer's: a 1-D collection of strings. one_d_array stays
        # False, as there, since it promises 1-D numeric X to the checks.
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        # int64 ids whatever comes in.
        tags.transformer_tags.preserves_dtype = []
        return tags

    def _fit(self, X, *, encode):
        """Set the fitted attributes; with ``encode``, return ``_encode`` of ``X``."""
        reject_bool(self, ["max_len", "max_features", "min_df", "max_df"])
        self._check_backend_options()
        self._warn_for_unused_params()
        documents = as_documents(X)
        if not documents:
            raise ValueError("TextSequencer needs at least one document to fit, got an empty X.")
        sequences = self._analyze(documents)
        self.fixed_vocabulary_ = self.vocabulary is not None
        if self.backend == "tokenizers":
            self.tokenizer_json_, self.vocabulary_ = train_wordpiece(sequences, self.max_features)
        elif self.fixed_vocabulary_:
            self.vocabulary_ = check_vocabulary(self.vocabulary, self.lowercase)
        else:
            self.vocabulary_ = self._learn_vocabulary(
                sequences, tokenised=not isinstance(documents[0], str)
            )
        self.n_tokens_ = len(self.vocabulary_) + FIRST_TOKEN_ID
        encoded = None
        # Subword counts are known only once encoded.
        if encode or (self.max_len is None and self.backend is not None):
            encoded = self._encode(sequences)
        if self.max_len is not None:
            self.max_len_ = int(self.max_len)
        elif encoded is not None:
            self.max_len_ = max(1, int(encoded[1].max()))
        else:
            self.max_len_ = max(1, max(map(len, sequences)))
        return encoded

    def _warn_for_unused_params(self):
        # As CountVectorizer warns: a setting that the others make unused.
        pattern_set = self.token_pattern not in (None, TOKEN_PATTERN)
        unused = []
        if self.analyzer != "word":
            if self.tokenizer is not None:
                unused.append(("tokenizer", "analyzer != 'word'"))
            if pattern_set:
                unused.append(("token_pattern", "analyzer != 'word'"))
        elif self.tokenizer is not None and pattern_set:
            unused.append(("token_pattern", "tokenizer is not None"))
        for name, why in unused:
            # For the line that calls fit or fit_transform (through _fit_context).
            warnings.warn(
                f"The parameter {name!r} will not be used since {why}.", UserWarning, stacklevel=5
            )

    def _check_backend_options(self):
        if self.backend is None:
            return
        # Compared with their types: min_df=1.0 (every document) is not min_df=1.
        defaults = {"analyzer": "word", "min_df": 1, "max_df": 1.0}
        clashes = [
            f"{name}={getattr(self, name)!r}"
            for name, default in defaults.items()
            if not (type(getattr(self, name)) is type(default) and getattr(self, name) == default)
        ]
        if self.vocabulary is not None:
            clashes.append("a vocabulary")
        if clashes:
            raise ValueError(
                f'TextSequencer(backend="tokenizers") learns its own subword vocabulary '
                f"from words, so it cannot be combined with {', '.join(clashes)}. Leave "
                "analyzer, min_df, max_df and vocabulary at their defaults, or set "
                "backend=None."
            )
        import_tokenizers()

    def _analyze(self, documents):
        """Documents -> token sequences: lists of tokens, or strings whose
        characters are the tokens (``analyzer="char"``)."""
        if documents and not isinstance(documents[0], str):
            # Token lists (as_documents checked they are all lists of str).
            return documents
        lower = self.lowercase
        if self.analyzer == "char":
            return [doc.lower() for doc in documents] if lower else documents
        if self.tokenizer is not None:
            tokenize = self.tokenizer
            sequences = [list(tokenize(doc.lower() if lower else doc)) for doc in documents]
            check_tokens(sequences, "the tokenizer's output for document")
            return sequences
        if self.token_pattern is None:
            raise ValueError(
                'TextSequencer(analyzer="word") needs a token_pattern or a tokenizer; '
                "both are None."
            )
        try:
            pattern = re.compile(self.token_pattern)
        except re.error as exc:
            raise ValueError(
                f"token_pattern={self.token_pattern!r} is not a valid regular expression: {exc}."
            ) from exc
        if pattern.groups > 1:
            raise ValueError(
                f"token_pattern={self.token_pattern!r} has {pattern.groups} capturing "
                "groups; it may have at most one (the token). Make the others "
                "non-capturing with (?:...)."
            )
        findall = pattern.findall
        if lower:
            return [findall(doc.lower()) for doc in documents]
        return [findall(doc) for doc in documents]

    def _learn_vocabulary(self, sequences, tokenised=False):
        # Counter and chain run in C: no Python bytecode per token.
        counts = Counter(chain.from_iterable(sequences))
        n_documents = len(sequences)
        max_count = self.max_df if isinstance(self.max_df, Integral) else self.max_df * n_documents
        min_count = self.min_df if isinstance(self.min_df, Integral) else self.min_df * n_documents
        if min_count > n_documents:
            raise ValueError(
                f"min_df={self.min_df!r} keeps only tokens found in at least {min_count:g} "
                f"documents, but X has {n_documents}. Lower min_df."
            )
        if max_count < min_count:
            raise ValueError(
                f"max_df={self.max_df!r} keeps tokens in at most {max_count:g} of the "
                f"{n_documents} documents, fewer than the {min_count:g} that "
                f"min_df={self.min_df!r} requires, so no token can be kept. Raise max_df "
                "or lower min_df."
            )
        if min_count > 1 or max_count < n_documents:
            document_counts = Counter(chain.from_iterable(map(set, sequences)))
            kept = [
                (token, count)
                for token, count in counts.items()
                if min_count <= document_counts[token] <= max_count
            ]
        else:
            kept = list(counts.items())
        if not kept:
            if not counts:
                if tokenised:
                    found = ": every token list is empty. Give at least one token."
                elif self.analyzer == "word" and self.tokenizer is None:
                    found = f" matching token_pattern={self.token_pattern!r}."
                else:
                    found = "."
                raise ValueError("Empty vocabulary: the documents hold no tokens" + found)
            raise ValueError(
                f"Empty vocabulary: none of the {len(counts)} distinct tokens is in at "
                f"least min_df={self.min_df!r} and at most max_df={self.max_df!r} of the "
                f"{n_documents} documents. Try a lower min_df or a higher max_df."
            )
        kept.sort(key=lambda item: (-item[1], item[0]))
        if self.max_features is not None:
            kept = kept[: self.max_features]
        return {token: index for index, (token, _) in enumerate(kept, start=FIRST_TOKEN_ID)}

    def _encode(self, sequences):
        """Token sequences -> (all their ids end to end, length of each sequence)."""
        if self.backend == "tokenizers":
            return subword_encode(self.tokenizer_json_, sequences)
        lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
        # map(dict.get, ...) runs in C too.
        ids = map(self.vocabulary_.get, chain.from_iterable(sequences), repeat(UNKNOWN_ID))
        return np.fromiter(ids, dtype=np.int64, count=int(lengths.sum())), lengths

    def _pad(self, flat, lengths):
        return pad_sequences(flat, lengths, self.max_len_, self.padding, self.truncating)


def pad_sequences(flat, lengths, max_len, padding="pre", truncating="pre"):
    """Rows of ``max_len`` ids from sequences laid end to end in ``flat``.

    No Python loop over sequences or tokens: boolean masks pick the kept ids
    and the cells they go to, both in row-major order.
    """
    n_sequences = lengths.shape[0]
    out = np.zeros((n_sequences, max_len), dtype=np.int64)
    if flat.size == 0:
        return out
    if lengths.max() > max_len:
        ends = np.cumsum(lengths)
        position = np.arange(flat.size) - np.repeat(ends - lengths, lengths)
        if truncating == "pre":
            keep = position >= np.repeat(lengths - max_len, lengths)
        else:
            keep = position < max_len
        flat = flat[keep]
        lengths = np.minimum(lengths, max_len)
    columns = np.arange(max_len)
    if padding == "pre":
        cells = columns >= (max_len - lengths)[:, None]
    else:
        cells = columns < lengths[:, None]
    out[cells] = flat
    return out


def as_documents(X):
    """A list of documents, each a str or a list/tuple of str; clear errors otherwise."""
    if isinstance(X, str):
        raise ValueError(
            "Iterable over raw text documents expected, string object received. "
            "Wrap a single document in a list: [text]."
        )
    if isinstance(X, bytes):
        raise ValueError(
            "Iterable over raw text documents expected, bytes object received. "
            "Decode it and wrap it in a list: [data.decode('utf-8')]."
        )
    if hasattr(X, "columns") and getattr(X, "ndim", None) == 2:
        raise ValueError(
            f"TextSequencer expects a 1-D collection of documents, got a DataFrame with "
            f"{X.shape[1]} column(s) {list(X.columns)[:5]!r}. Select the text column: "
            'X["text"] (in a ColumnTransformer, give the column name as a string, '
            'not a list: ("text", TextSequencer(), "text")).'
        )
    ndim = getattr(X, "ndim", None)
    if ndim is not None and ndim != 1 and not isinstance(X, (list, tuple)):
        fix = " Use X.ravel() for one document per element." if ndim == 2 else ""
        raise ValueError(
            f"TextSequencer expects a 1-D collection of documents, got an array of "
            f"shape {getattr(X, 'shape', ())}.{fix}"
        )
    if not isinstance(X, Iterable):
        raise TypeError(
            "TextSequencer expects an iterable of documents (list, 1-D array or pandas "
            f"Series of strings), got {type(X).__name__}."
        )
    documents = X.tolist() if isinstance(X, np.ndarray) else list(X)
    kinds = set(map(type, documents))
    if all(issubclass(kind, str) for kind in kinds):
        return documents
    if all(issubclass(kind, (list, tuple)) for kind in kinds):
        check_tokens(documents, "document")
        return documents
    for index, doc in enumerate(documents):
        if doc is None or (isinstance(doc, float) and math.isnan(doc)):
            raise ValueError(
                f"Document {index} is {doc!r}, a missing value. Fill or drop the missing "
                "documents first, e.g. X.fillna('') for a pandas Series."
            )
        if type(doc).__name__ == "NAType":
            raise ValueError(
                f"Document {index} is pd.NA, a missing value. Fill or drop the missing "
                "documents first, e.g. X.fillna('')."
            )
    for index, doc in enumerate(documents):
        if not isinstance(doc, (str, list, tuple)):
            raise TypeError(
                f"Each document must be a string or a list of string tokens; document "
                f"{index} is {type(doc).__name__} ({doc!r:.50}). Convert each document "
                "to a str, or each token sequence to a list of str."
            )
    string_at = next(i for i, doc in enumerate(documents) if isinstance(doc, str))
    list_at = next(i for i, doc in enumerate(documents) if not isinstance(doc, str))
    raise TypeError(
        f"The documents mix strings (e.g. document {string_at}) and token lists (e.g. "
        f"document {list_at}). Give either raw strings or lists of tokens, not both."
    )


def check_tokens(sequences, source):
    """Every token in the sequences is a str (one pass over the types, in C)."""
    kinds = set(map(type, chain.from_iterable(sequences)))
    if all(issubclass(kind, str) for kind in kinds):
        return
    for index, tokens in enumerate(sequences):
        for token in tokens:
            if not isinstance(token, str):
                raise TypeError(
                    f"Tokens must be strings, but {source} {index} holds "
                    f"{type(token).__name__} ({token!r:.50}). Convert the tokens to str."
                )


def check_vocabulary(vocabulary, lowercase):
    """The ``vocabulary`` parameter as a dict token -> id with ids 2 .. n + 1."""
    if isinstance(vocabulary, (str, bytes)):
        raise ValueError(
            f"vocabulary must be a mapping or an iterable of tokens, got the string "
            f"{vocabulary!r:.50}. For character tokens pass list(...) of it."
        )
    if isinstance(vocabulary, Mapping):
        mapping = dict(vocabulary)
    elif iter(vocabulary) is vocabulary:
        raise TypeError(
            f"vocabulary must be a mapping or a collection of tokens (a list, tuple or "
            f"set), got the one-pass iterator {type(vocabulary).__name__}: a second fit, "
            "or a clone, would find it empty. Pass list(...) of it."
        )
    else:
        if isinstance(vocabulary, (set, frozenset)):
            vocabulary = sorted(vocabulary)
        mapping = {}
        for index, token in enumerate(vocabulary, start=FIRST_TOKEN_ID):
            if mapping.setdefault(token, index) != index:
                raise ValueError(f"Duplicate token in vocabulary: {token!r}.")
    if not mapping:
        raise ValueError("Empty vocabulary passed to fit: give at least one token.")
    for token, index in mapping.items():
        if not isinstance(token, str):
            raise TypeError(
                f"vocabulary tokens must be strings, got {type(token).__name__} ({token!r:.50})."
            )
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, Integral):
            raise TypeError(f"vocabulary ids must be ints, got {index!r} for token {token!r}.")
        if index in (PADDING_ID, UNKNOWN_ID):
            raise ValueError(
                f"vocabulary maps {token!r} to id {index}, but ids 0 (padding) and 1 "
                "(unknown token) are reserved: token ids start at 2. Add 2 to every id, "
                "or pass the tokens as a list to number them 2, 3, ... in order."
            )
    ids = set(mapping.values())
    if len(ids) != len(mapping):
        raise ValueError("vocabulary maps several tokens to the same id.")
    expected = range(FIRST_TOKEN_ID, len(mapping) + FIRST_TOKEN_ID)
    outside = next((item for item in mapping.items() if item[1] not in expected), None)
    if outside is not None:
        raise ValueError(
            f"A vocabulary of {len(mapping)} token(s) must use each of the ids "
            f"{expected.start} to {expected.stop - 1} once, but it maps {outside[0]!r} to "
            f"{outside[1]}. Renumber the ids, or pass the tokens as a list to number them "
            "2, 3, ... in order."
        )
    if lowercase and any(token != token.lower() for token in mapping):
        warnings.warn(
            "Upper case characters found in vocabulary while 'lowercase' is True. "
            "These entries will not be matched with any documents.",
            UserWarning,
            stacklevel=4,
        )
    return {token: int(index) for token, index in mapping.items()}


def import_tokenizers():
    try:
        import tokenizers
    except ImportError as exc:
        raise ImportError(
            'TextSequencer(backend="tokenizers") needs the Hugging Face "tokenizers" '
            f"package, which is not installed. Install it with: {INSTALL_HINT}"
        ) from exc
    return tokenizers


def train_wordpiece(sequences, max_features):
    """Learn a WordPiece vocabulary from the words of ``sequences``, offline.

    Returns the Hugging Face tokenizer as JSON and its vocabulary without the
    reserved ids; its special tokens are ids 0 and 1, so its ids are the
    transformer's ids.
    """
    tokenizers = import_tokenizers()
    n_pieces = (
        DEFAULT_SUBWORD_VOCAB_SIZE if max_features is None else max_features + FIRST_TOKEN_ID
    ) - FIRST_TOKEN_ID
    word_counts = Counter(chain.from_iterable(sequences))
    word_counts.pop("", None)  # no characters, no pieces
    if not word_counts:
        raise ValueError("Empty vocabulary: the documents hold no tokens to learn subwords from.")
    pieces = [
        piece
        for piece in learn_subwords(word_counts, n_pieces)
        if piece not in (PADDING_TOKEN, UNKNOWN_TOKEN)
    ]
    vocab = {PADDING_TOKEN: PADDING_ID, UNKNOWN_TOKEN: UNKNOWN_ID}
    vocab.update(zip(pieces, range(FIRST_TOKEN_ID, len(pieces) + FIRST_TOKEN_ID), strict=True))
    tokenizer = tokenizers.Tokenizer(
        tokenizers.models.WordPiece(
            vocab=vocab, unk_token=UNKNOWN_TOKEN, continuing_subword_prefix="##"
        )
    )
    tokenizer.add_special_tokens([PADDING_TOKEN, UNKNOWN_TOKEN])
    return tokenizer.to_str(), {piece: vocab[piece] for piece in pieces}


def learn_subwords(word_counts, n_pieces):
    """Subword pieces of the words, as Hugging Face's WordPieceTrainer learns them,
    but deterministic.

    Byte-pair merges over characters, pieces inside a word marked ``"##"``:
    the alphabet (every character, most frequent first), then the merged pieces
    in merge order, until there are ``n_pieces`` or nothing is left to merge.
    Each merge joins the most frequent adjacent pair; a tie goes to the pair
    whose pieces come first in code-point order. (tokenizers' own trainer breaks
    ties in hash order, so two fits on the same data could give different
    vocabularies.)
    """
    symbols = []  # symbol id -> text
    symbol_ids = {}

    def intern(text):
        index = symbol_ids.get(text)
        if index is None:
            index = symbol_ids[text] = len(symbols)
            symbols.append(text)
        return index

    split = [(word[0], *("##" + char for char in word[1:])) for word in word_counts]
    counts = list(word_counts.values())
    alphabet_counts = Counter()
    for pieces, count in zip(split, counts, strict=True):
        for piece in pieces:
            alphabet_counts[piece] += count
    vocabulary = sorted(alphabet_counts, key=lambda piece: (-alphabet_counts[piece], piece))
    for piece in vocabulary:
        intern(piece)
    if len(vocabulary) >= n_pieces:
        return vocabulary
    words = [[symbol_ids[piece] for piece in pieces] for pieces in split]

    pair_counts = defaultdict(int)
    where = defaultdict(set)  # pair -> words that may hold it
    for index, (word, count) in enumerate(zip(words, counts, strict=True)):
        for pair in pairwise(word):
            pair_counts[pair] += count
            where[pair].add(index)
    # A heap entry per (pair, count) pushed; entries whose count is stale are
    # skipped when popped. The texts make the order total, hence deterministic.
    heap = [(-n, symbols[a], symbols[b], a, b) for (a, b), n in pair_counts.items()]
    heapq.heapify(heap)
    known = set(vocabulary)
    while len(vocabulary) < n_pieces and heap:
        negative_count, left, right, a, b = heapq.heappop(heap)
        if pair_counts.get((a, b)) != -negative_count:
            continue
        text = left + right[2:]  # the right piece is always a "##" piece
        merged = intern(text)
        if text not in known:
            known.add(text)
            vocabulary.append(text)
        changed = set()
        for index in where.pop((a, b)):
            word = words[index]
            count = counts[index]
            new_word = merge_pair(word, a, b, merged)
            if len(new_word) == len(word):
                continue
            for pair in pairwise(word):
                pair_counts[pair] -= count
                changed.add(pair)
            for pair in pairwise(new_word):
                pair_counts[pair] += count
                where[pair].add(index)
                changed.add(pair)
            words[index] = new_word
        for pair in changed:
            n = pair_counts[pair]
            if n > 0:
                heapq.heappush(heap, (-n, symbols[pair[0]], symbols[pair[1]], *pair))
            else:
                del pair_counts[pair]
                where.pop(pair, None)
    return vocabulary


def merge_pair(word, a, b, merged):
    """``word`` with each non-overlapping ``a, b`` (left to right) replaced by ``merged``."""
    out = []
    i = 0
    last = len(word) - 1
    while i <= last:
        if i < last and word[i] == a and word[i + 1] == b:
            out.append(merged)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


def subword_encode(tokenizer_json, sequences):
    """Word sequences -> (their subword ids end to end, subwords per sequence).

    WordPiece splits each word on its own, so each distinct word is encoded
    once and numpy copies its pieces to every place the word occurs: encoding
    every occurrence with tokenizers costs several times more on real text,
    where a few words make up most of it.
    """
    tokenizers = import_tokenizers()
    tokenizer = tokenizers.Tokenizer.from_str(tokenizer_json)
    words = list(dict.fromkeys(chain.from_iterable(sequences)))
    word_index = dict(zip(words, range(len(words)), strict=True))
    encodings = tokenizer.encode_batch(
        [[word] for word in words], is_pretokenized=True, add_special_tokens=False
    )
    pieces = [encoding.ids for encoding in encodings]
    n_pieces = np.fromiter(map(len, pieces), dtype=np.int64, count=len(words))
    piece_ids = np.fromiter(chain.from_iterable(pieces), dtype=np.int64, count=n_pieces.sum())
    words_per_sequence = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
    occurrences = np.fromiter(
        map(word_index.__getitem__, chain.from_iterable(sequences)),
        dtype=np.int64,
        count=words_per_sequence.sum(),
    )
    counts = n_pieces[occurrences]
    first_piece = (np.cumsum(n_pieces) - n_pieces)[occurrences]
    # Index of each output id in piece_ids: its word's first piece plus its
    # rank among that word's pieces.
    out_starts = np.cumsum(counts) - counts
    flat = piece_ids[np.repeat(first_piece - out_starts, counts) + np.arange(counts.sum())]
    ends = np.concatenate([[0], np.cumsum(counts)])
    word_ends = np.cumsum(words_per_sequence)
    lengths = ends[word_ends] - ends[word_ends - words_per_sequence]
    return flat, lengths
