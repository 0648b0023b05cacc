"""Sequence inputs of the networks: checks, observed lengths, targets and weights.

No torch here: everything works on numpy arrays, so that a bad input is refused
before any network is built.
"""

import numpy as np
from sklearn.utils.validation import (
    _check_feature_names,
    _check_sample_weight,
    _get_feature_names,
    check_array,
    check_consistent_length,
)

from ._validation import FLOAT_DTYPES, numeric_input, reject_times

# Values of a 3-D array scanned at once: bounds the memory the scan uses beyond
# the input (a few bytes per value of a block that holds NaN).
SCAN_ELEMENTS = 1 << 18
FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_sequences(estimator, X, *, reset):
    """Validate sequence input ``X`` for ``estimator``.

    Returns ``X`` as 3-D ``(n, steps, features)``, oldest step first, the
    observed lengths, and what fit records about the input
    (``(n_features_in, ndim, names)``, or None when ``reset`` is False);
    :func:`set_input` records it once fit succeeds.

    The estimator's ``time_axis`` (1, or -1 for ``(n, features, steps)``) and
    ``newest_first`` say how ``X`` is laid out; the result is a view of it in
    the network's layout. float32 and float64 are kept; float16 becomes
    float32 (the network's precision), other numbers float64.
    A list of sequences of different lengths is padded first (see
    :func:`pad_ragged`). With ``embedding_dim`` set, ``X`` holds token ids
    instead: see :func:`check_token_ids`.
    """
    if reset:
        embedding_dim = getattr(estimator, "embedding_dim", None)
    else:
        embedding_dim = getattr(estimator, "_fitted_params", {}).get("embedding_dim")
    if embedding_dim is not None:
        return check_token_ids(estimator, X, reset=reset)
    if _is_text(X):
        name = type(estimator).__name__
        raise ValueError(
            f"X holds text (one string per sample), but {name} without embedding_dim "
            "reads numbers. To read text, put a TextSequencer before it and set "
            f"embedding_dim: make_pipeline(TextSequencer(), {name}(embedding_dim=32))."
        )
    # Before a list is padded into floats, and before check_array reads dates
    # as numbers.
    reject_times(X, "X")
    if isinstance(X, (list, tuple)):
        # After a fit on 3-D input, a list of 1-D sequences can only mean
        # univariate sequences, even of equal lengths.
        univariate = not reset and getattr(estimator, "_input_ndim", None) == 3
        X = pad_ragged(X, univariate=univariate)
    # A float ndarray such as the windower's has nothing for check_array to
    # convert and no names to compare: skipping them saves about 250 us,
    # most of the fixed cost of a one-window predict.
    plain = (
        not reset
        and type(X) is np.ndarray
        and X.ndim == 3
        and X.dtype in (np.float32, np.float64)
        and X.size > 0
        and not hasattr(estimator, "feature_names_in_")
    )
    names = _get_feature_names(X) if reset else None
    if not plain:
        if not reset:
            _check_feature_names(estimator, X, reset=False)
        with numeric_input("X"):
            X = check_array(
                X,
                dtype=np.float32 if _half_precision(X) else FLOAT_DTYPES,
                allow_nd=True,
                ensure_all_finite=False,
                input_name="X",
                estimator=estimator,
            )
    if X.ndim == 2:
        # 2-D input has no padding convention: NaN there is an error.
        try:
            X = check_array(X, dtype=None, input_name="X", estimator=estimator)
        except ValueError as exc:
            if "NaN" not in str(exc):
                raise
            raise ValueError(
                "Input X contains NaN. 2-D X holds fixed-length univariate "
                "sequences, so NaN there is not padding: pass 3-D X of shape "
                "(n_samples, n_timesteps, 1) with leading NaN steps for shorter "
                "sequences (as SequenceWindower makes), or impute the values."
            ) from None
    ndim, shape = X.ndim, X.shape
    if ndim == 2:
        n_features_in = X.shape[1]
        X = X[:, :, None]
    elif ndim == 3:
        if estimator.time_axis == -1:
            X = X.transpose(0, 2, 1)
        n_features_in = X.shape[2]
        if X.shape[1] == 0 or X.shape[2] == 0:
            raise ValueError(
                f"X has shape {shape}: each sample needs at least one time step and one feature."
            )
    else:
        raise ValueError(
            f"X must be 2-D (n_samples, n_timesteps) or 3-D (n_samples, "
            f"n_timesteps, n_features); got {X.ndim} dimensions, shape {X.shape}."
        )
    if estimator.newest_first:
        X = X[:, ::-1]
    if reset:
        return X, observed_lengths(X), (n_features_in, ndim, names)
    fitted_ndim = estimator._input_ndim
    if n_features_in != estimator.n_features_in_ or ndim != fitted_ndim:
        # A change of dimensionality is refused even with as many features:
        # the network reads 2-D X as one feature per step.
        axis = "axis 1" if estimator.time_axis == -1 else "the last axis"
        expected = (
            f"3-D X with {estimator.n_features_in_} feature(s) on {axis}"
            if fitted_ndim == 3
            else f"2-D X with {estimator.n_features_in_} columns (time steps)"
        )
        got = f"{ndim}-D X of shape {shape}"
        lead = (
            f"X has {n_features_in} features, but {type(estimator).__name__} is "
            f"expecting {estimator.n_features_in_} features as input"
            if n_features_in != estimator.n_features_in_
            else f"X is {ndim}-D, but {type(estimator).__name__} is expecting {fitted_ndim}-D X"
        )
        raise ValueError(f"{lead}: it was fitted on {expected}; got {got}.")
    return X, observed_lengths(X), None


def _half_precision(X):
    """Whether ``X`` holds float16 (and at most float32) values: they become
    float32, the network's precision, not float64 (four times the memory)."""
    dtypes = getattr(X, "dtypes", None)
    dtypes = list(dtypes) if dtypes is not None else [getattr(X, "dtype", None)]
    return any(dt == np.float16 for dt in dtypes) and all(
        dt in (np.float16, np.float32) for dt in dtypes
    )


def pad_ragged(X, *, univariate=False):
    """A list of sequences of different lengths as one 3-D float array.

    Each item is a sequence, 2-D ``(length_i, n_features)`` or 1-D
    ``(length_i,)`` (univariate). They are padded at the front with NaN steps
    to the longest length, as the windower pads, so that
    :func:`observed_lengths` reads each one as the sequence it was and the
    padding never reaches the network. The padded array, ``n_samples x
    longest x n_features``, is the only copy made. float32 items stay float32;
    anything else becomes float64.

    Returns ``X`` unchanged when it is not ragged: a list of equal-length 1-D
    sequences is a 2-D table of univariate rows (unless ``univariate``), and
    one of equal-length 2-D sequences a 3-D array, both left to check_array.
    """
    if not X:
        return X
    items = []
    for x in X:
        if isinstance(x, (str, bytes)) or not hasattr(x, "__len__"):
            return X  # not a list of sequences; check_array will say what it is
        items.append(np.asarray(x))
    ndims = {item.ndim for item in items}
    lengths = [len(item) if item.ndim else 0 for item in items]
    if 0 in ndims:
        return X
    if len(set(lengths)) == 1:
        if ndims == {1} and not univariate:
            return X
        if ndims == {2} and len({item.shape[1] for item in items}) == 1:
            return X
    for i, item in enumerate(items):
        if item.ndim > 2:
            raise ValueError(
                f"X[{i}] has shape {item.shape}: each sequence in a list must be 1-D "
                "(length,) for a univariate sequence or 2-D (length, n_features)."
            )
        if not len(item):
            raise ValueError(
                f"X[{i}] is an empty sequence (no time steps); each sequence needs at "
                "least one observed step. Drop such samples."
            )
    items = [item[:, None] if item.ndim == 1 else item for item in items]
    n_features = items[0].shape[1]
    for i, item in enumerate(items):
        if item.shape[1] != n_features:
            raise ValueError(
                f"X[{i}] has {item.shape[1]} feature(s) per step but X[0] has "
                f"{n_features}; every sequence needs the same features."
            )
    dtype = np.float32 if all(item.dtype == np.float32 for item in items) else np.float64
    longest = max(lengths)
    padded = np.full((len(items), longest, n_features), np.nan, dtype=dtype)
    with numeric_input("X"):
        for row, item, length in zip(padded, items, lengths, strict=True):
            row[longest - length :] = item
    return padded


def set_input(estimator, info):
    """Record what :func:`check_sequences` returned for the fitted input."""
    estimator.n_features_in_, estimator._input_ndim, names = info
    if names is not None:
        estimator.feature_names_in_ = names
    elif hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_


def observed_lengths(X):
    """Observed steps per sequence of a 3-D float array, checking its values.

    Leading all-NaN steps are padding. Any inf, a step only partly NaN, a NaN
    step after an observed one, a sequence with no observed step, or a value
    beyond float32's range (the network's precision, where it would become
    inf) raises ValueError.

    One min/max pass over a bounded block of rows at a time finds the blocks
    that hold anything but finite in-range values; in those, a min/max per row
    finds the rows, and only those rows are examined (the windower's padded
    first rows, say). A strided view (the windower's output) is never expanded:
    the memory used beyond the input is bounded by a block.
    """
    n_samples, n_steps, n_features = X.shape
    lengths = np.full(n_samples, n_steps, dtype=np.int64)
    per_row = n_steps * n_features
    rows = max(1, SCAN_ELEMENTS // per_row)
    for start in range(0, n_samples, rows):
        block = X[start : start + rows]
        if -FLOAT32_MAX <= block.min() and block.max() <= FLOAT32_MAX:
            continue  # all finite, in range: the common case, two passes, no copies
        # A row's steps and features are contiguous in the windower's view, so
        # this is a 2-D view, not a copy, there.
        flat = block.reshape(len(block), per_row)
        within = (flat.min(axis=1) >= -FLOAT32_MAX) & (flat.max(axis=1) <= FLOAT32_MAX)
        flagged = np.flatnonzero(~within)
        lengths[start + flagged] -= _leading_padding(block[flagged], start + flagged)
    return lengths


def _leading_padding(block, index):
    """Leading all-NaN steps of each sequence of ``block`` (rows ``index`` of
    X), checking the rest of :func:`observed_lengths`'s rules."""
    # fmin/fmax skip NaN, and reduce without temporaries.
    lowest, highest = np.fmin.reduce(block, axis=None), np.fmax.reduce(block, axis=None)
    if np.isinf(lowest) or np.isinf(highest):
        raise ValueError(
            "X contains infinity. Only leading NaN steps (padding) are allowed in "
            "3-D X; replace or drop the infinite values."
        )
    peak = max(-lowest, highest)
    if peak > FLOAT32_MAX:
        raise ValueError(
            f"X holds values too large for float32, the network's precision "
            f"(largest magnitude {peak:.3g} > {FLOAT32_MAX:.3g}); scale X, e.g. with "
            "StandardScaler."
        )
    missing = np.isnan(block)
    step_missing = missing.all(axis=2)
    partial = np.flatnonzero((missing.any(axis=2) & ~step_missing).any(axis=1))
    if partial.size:
        raise ValueError(
            f"X[{index[partial[0]]}] has a time step with only some features NaN. "
            "NaN may only fill whole leading steps (padding before the first "
            "observation); impute missing values before the network."
        )
    n_leading = np.argmin(step_missing, axis=1)
    empty = np.flatnonzero(step_missing.all(axis=1))
    if empty.size:
        raise ValueError(
            f"X[{index[empty[0]]}] has no observed time step (all NaN). Each "
            "sequence needs at least one observed step; drop such samples."
        )
    inner = np.flatnonzero(step_missing.sum(axis=1) != n_leading)
    if inner.size:
        raise ValueError(
            f"X[{index[inner[0]]}] has a NaN step after an observed one. NaN may "
            "only fill leading steps (padding before the first observation); "
            "impute missing values inside a sequence before the network."
        )
    return n_leading


def check_target(estimator, X, y, *, dtype=FLOAT_DTYPES):
    """``y`` as a 1-D or 2-D array with one row per sequence of ``X``."""
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None."
        )
    with numeric_input("y"):
        y = check_array(y, ensure_2d=False, dtype=dtype, input_name="y", estimator=estimator)
    if y.ndim > 2:
        raise ValueError(
            f"y must be 1-D (n_samples,) or 2-D (n_samples, n_outputs); got shape {y.shape}."
        )
    check_consistent_length(X, y)
    return y


def check_weights(sample_weight, X):
    """Non-negative float64 sample weights for ``X``, not all zero, or None."""
    if sample_weight is None:
        return None
    with numeric_input("sample_weight"):
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
    # Checked here, whatever scikit-learn's version checks: every weighted
    # statistic after this divides by the sum.
    if not sample_weight.any():
        raise ValueError(
            "sample_weight sums to zero: at least one sample needs a non-zero weight."
        )
    return sample_weight


def relative_weights(sample_weight, n_train=None, scale=None):
    """The weights the loss uses, and the scale they were divided by.

    A new network's weights are divided by their mean over the first
    ``n_train`` rows, the rows trained on (all when None), so that the loss
    keeps its scale. Continued training (``partial_fit``, a warm start) passes
    the ``scale`` of that first fit, so that weights keep their meaning from
    one call to the next (a call whose samples all weigh the same is not
    read as unweighted). Without weights: ``(None, scale or 1.0)``. The
    weights are known not to be all zero (:func:`check_weights`).
    """
    if sample_weight is None:
        return None, 1.0 if scale is None else scale
    mean_weight = sample_weight[:n_train].mean()
    if mean_weight <= 0:
        raise ValueError(
            f"sample_weight sums to zero on the {n_train} training rows (early stopping "
            "validates on the rows after them): at least one of them needs a non-zero "
            "weight. Lower validation_fraction or change the weights."
        )
    if scale is None:
        scale = float(mean_weight)
    return sample_weight / scale, scale


# Token ids (``embedding_dim`` set): 0 is padding, 1 the unknown token, as
# TextSequencer writes them.
PADDING_ID = 0
UNKNOWN_ID = 1


def _is_text(X):
    """Whether ``X`` is a 1-D collection of strings (documents, not token ids)."""
    if isinstance(X, (str, bytes)):
        return True
    if isinstance(X, (list, tuple)):
        return bool(X) and all(isinstance(x, (str, bytes)) for x in X)
    values = getattr(X, "to_numpy", None)
    X = values() if callable(values) else X
    if not isinstance(X, np.ndarray) or X.ndim != 1 or X.size == 0:
        return False
    return X.dtype.kind in "US" or (X.dtype == object and isinstance(X[0], (str, bytes)))


def check_token_ids(estimator, X, *, reset):
    """Validate integer token-id input ``X`` for an estimator with ``embedding_dim``.

    ``X`` is a 2-D integer array ``(n_samples, n_timesteps)`` (TextSequencer's
    output) or a list of 1-D id sequences of any lengths. Returns ``X`` as a
    2-D int64 array with every sequence's padding at the front, its observed
    lengths (:func:`token_lengths`) and, with ``reset``, what fit records
    about the input: one token id per step, so ``n_features_in_`` is 1 and,
    as for 3-D input, the sequence length may differ between fit and predict.
    """
    name = type(estimator).__name__
    embedding_dim = (
        estimator.embedding_dim if reset else estimator._fitted_params.get("embedding_dim")
    )
    if _is_text(X):
        raise ValueError(
            f"X holds text (one string per sample), but with embedding_dim={embedding_dim} "
            f"{name} reads token ids. Put a TextSequencer before it: "
            f"make_pipeline(TextSequencer(), {name}(embedding_dim={embedding_dim}))."
        )
    if (
        isinstance(X, (list, tuple))
        and X
        and all(hasattr(x, "__len__") and not isinstance(x, (str, bytes)) for x in X)
    ):
        # An empty sequence ([]) is an empty document, whatever numpy's dtype.
        items = [np.asarray(x) for x in X]
        items = [item.astype(np.int64) if item.size == 0 else item for item in items]
        if any(item.ndim != 1 for item in items):
            bad = next(i for i, item in enumerate(items) if item.ndim != 1)
            raise ValueError(
                f"X[{bad}] has shape {items[bad].shape}: with embedding_dim={embedding_dim}, "
                "each sequence in a list is a 1-D sequence of integer token ids."
            )
        if len({len(item) for item in items}) > 1:
            for i, item in enumerate(items):
                _check_id_dtype(item.dtype, embedding_dim, f"X[{i}]")
            longest = max(len(item) for item in items)
            padded = np.zeros((len(items), longest), dtype=np.int64)
            for row, item in zip(padded, items, strict=True):
                if len(item):
                    row[longest - len(item) :] = item
            X = padded
    X = check_array(
        X, dtype=None, allow_nd=True, ensure_all_finite=False, input_name="X", estimator=estimator
    )
    _check_id_dtype(X.dtype, embedding_dim, "X")
    if X.ndim != 2:
        raise ValueError(
            f"With embedding_dim={embedding_dim}, {name} reads X as token ids of shape "
            f"(n_samples, n_timesteps); got shape {X.shape}."
        )
    if X.shape[1] == 0:
        raise ValueError(f"X has shape {X.shape}: each sample needs at least one time step.")
    if X.size and X.min() < 0:
        bad = X[X < 0].flat[0]
        raise ValueError(
            f"X contains the negative token id {bad}. Token ids are 0 (padding), 1 "
            "(unknown) and 2, 3, ... for the vocabulary, as TextSequencer writes them."
        )
    X = X.astype(np.int64, copy=False)
    if estimator.newest_first:
        X = X[:, ::-1]
    X, lengths = token_lengths(X)
    return X, lengths, ((1, 2, None) if reset else None)


def _check_id_dtype(dtype, embedding_dim, where):
    if dtype.kind in "iu":
        return
    hint = ""
    if dtype.kind == "f":
        hint = (
            " If the floats are whole ids, cast them with X.astype(int); for float "
            "features, set embedding_dim=None."
        )
    raise ValueError(
        f"embedding_dim={embedding_dim} reads X as integer token ids, but {where} has "
        f"dtype {dtype}. Pass the output of TextSequencer (int64 ids, 0 padding).{hint}"
    )


def token_lengths(X):
    """Observed tokens per row of a 2-D int64 id array, padding moved to the front.

    A row's tokens are its ids between the first and the last non-zero id;
    zeros before or after them are padding. Rows padded at the back
    (``TextSequencer(padding="post")``) are rotated so that every row's
    padding comes first (only then is ``X`` copied). A row of padding only (an
    empty document) has length 0. A padding id between two tokens raises
    ValueError: it would not be padding.
    """
    n_samples, n_steps = X.shape
    token = X != PADDING_ID
    has = token.any(axis=1)
    first = np.argmax(token, axis=1)
    end = n_steps - np.argmax(token[:, ::-1], axis=1)
    lengths = np.where(has, end - first, 0).astype(np.int64)
    inner = np.flatnonzero(token.sum(axis=1) != lengths)
    if inner.size:
        raise ValueError(
            f"X[{inner[0]}] has the padding id 0 between two tokens. 0 may only pad a "
            "sequence at its front (or back); give tokens ids from 1 (1 is unknown)."
        )
    shift = np.where(has, n_steps - end, 0)
    if shift.any():
        steps = np.arange(n_steps)
        X = np.take_along_axis(X, (steps[None, :] - shift[:, None]) % n_steps, axis=1)
    return X, lengths
