"""Row-preserving sliding windows over a time-ordered table."""

import hashlib
import sys
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils._set_output import _get_container_adapter
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._validation import HALF_FLOAT_DTYPES, check_table, reject_bool


# auto_wrap_output_keys=None: scikit-learn's automatic output wrapping would
# turn every output into a DataFrame, and a 3-D array cannot be one. The
# windower wraps its own 2-D output (flatten=True) and hands the 3-D array on
# unchanged, so that a pipeline-wide set_output(transform="pandas") works.
class SequenceWindower(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Turn each row of a time-ordered table into the window of rows ending at it.

    Row ``t`` of the output holds rows ``t - window + 1 .. t`` of ``X``, oldest
    first, so the output has exactly one row per input row. That is what lets
    the windower sit inside a :class:`~sklearn.pipeline.Pipeline` that is
    cross-validated or grid-searched by plain scikit-learn: ``y`` stays aligned
    with ``X`` and no rows are dropped.

    A block given to :meth:`transform` that follows the fitted rows (the test
    fold of a :class:`~sklearn.model_selection.TimeSeriesSplit`, new rows to
    forecast) gets its true history: the windows of its first rows reach back
    into the last ``window - 1`` fitted rows (see ``history`` for the rule).
    Rows with fewer than ``window`` known predecessors (the first rows of the
    fitted series, a block that cannot be placed) have their missing steps
    filled according to ``padding``.

    Parameters
    ----------
    window : int, default=10
        Time steps per output sequence, the current row included.

    padding : {"nan", "zero", "edge"}, default="nan"
        How the steps before the first known row are filled. ``"nan"`` gives
        leading NaN steps, which :class:`~sklearn_rnn.RNNRegressor` reads as a
        shorter sequence; ``"zero"`` fills zeros; ``"edge"`` repeats the first
        known row (the first fitted row that the history reaches, or the first
        row of the block when it has no history). Models that reject NaN
        (:class:`~sklearn.linear_model.Ridge` and most scikit-learn
        regressors) fail on ``"nan"`` padding with ``flatten=True`` ("Input X
        contains NaN"): use ``padding="edge"`` or ``"zero"`` with them, or put
        an imputer between the two.

    flatten : bool, default=False
        If False, ``transform`` returns a read-only 3-D array
        ``(n_samples, window, n_features)`` that is a strided view of a padded
        copy of ``X`` (about the input's size in memory, whatever the window).
        If True, it returns a 2-D array ``(n_samples, window * n_features)``,
        oldest step first, usable by any scikit-learn regressor. It is a
        read-only view too (copy it to edit it in place); with
        ``set_output(transform="pandas")`` it is a DataFrame with its own copy,
        ``"{feature}_lag{k}"`` columns and the input's index. Keep in mind that
        the default NaN padding reaches the first ``window - 1`` rows of the
        fitted series: for models that reject NaN, set ``padding="edge"`` or
        ``"zero"``. With ``history="auto"``, the windows of a test fold that
        follows its training fold have no padding at all.

    history : {"auto", "none"}, default="auto"
        Where the windows of the first rows of a block given to
        :meth:`transform` find their history.

        - ``"none"``: in the block only. Its first ``window - 1`` rows are
          padded, whatever came before them.
        - ``"auto"``: ``fit`` keeps the last ``window - 1`` fitted rows
          (``tail_``), and ``transform(X)`` puts them in front of ``X`` when
          ``X`` follows the fitted rows, decided as follows:

          1. When ``fit`` and ``transform`` both get a DataFrame, the fitted
             index is regular (a ``RangeIndex``; integer labels increasing
             by 1; a ``DatetimeIndex`` with a ``freq``, set or inferred by
             pandas from the labels; a ``freq`` that no string names, such as
             ``DateOffset(months=2)``, counts if the string pandas infers
             from the labels gives them back) and ``X``'s index holds labels of the
             same kind (integers; datetimes in the same time zone), the index
             decides: ``X`` follows if its first label is the fitted last
             label plus the fitted step (the label ``pd.date_range`` from
             the fitted first label puts next: with a time zone, a day is a
             calendar day across a change of clocks, and a midnight the
             clocks skip is the hour after). Any other first label (the
             fitted first label, a gap, an earlier start) gives no history.
          2. Otherwise (arrays, lists, DataFrames whose index cannot place
             them, a ``MultiIndex`` among them), the values decide: ``X``
             that starts with the fitted rows (at least as many rows, the
             first ``n_samples_fit_`` equal to the fitted rows in float32,
             the networks' precision)
             is the fitted series again, or continued, and gets no history;
             any other ``X`` is taken to follow the fitted rows directly.

          So ``fit(X).transform(X)`` equals ``fit_transform(X)``, predicting
          the training rows again or the whole series from its first row is
          exact, and so are a ``TimeSeriesSplit`` test fold with ``gap=0`` and
          new rows to forecast. Rule 2 cannot tell a block that follows the
          fitted rows from a block that is only part of them (a later part,
          or fewer rows than were fitted), starts after a gap
          (``TimeSeriesSplit(gap=...)``), is shuffled or unrelated: such
          blocks get the fitted tail as their history. And a block that
          only repeats the fitted rows value for value (a table of calendar
          columns alone, say) is taken for them again. For them, pass
          DataFrames with a regular index, or set ``history="none"``. In a
          pipeline with ``set_output(transform="pandas")``, pass ``X`` as a
          DataFrame: a numpy ``X`` gets a fresh index ``0, 1, ...`` at each
          block, which rule 1 places at the start of the fitted rows
          (padded).

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during :meth:`fit`.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :meth:`fit`, for DataFrame input only.

    n_samples_fit_ : int
        Number of rows seen during :meth:`fit`.

    tail_ : ndarray of shape (min(window - 1, n_samples_fit_), n_features_in_)
        The last fitted rows, the history of a block that follows them, in
        the dtype :meth:`transform` outputs.

    first_row_ : ndarray of shape (n_features_in_,)
        The first fitted row: a cheap first test of whether a block starts
        with the fitted rows.

    fingerprint_ : str
        SHA-256 digest of the fitted rows in float32, which confirms that
        test.

    fit_index_ : dict or None
        For a DataFrame with a regular index, its ``"kind"`` (``"integer"`` or
        ``"datetime"``), ``"first"`` and ``"last"`` labels (int, or
        ``numpy.datetime64`` in UTC), ``"step"`` (int, or a pandas frequency
        string) and ``"tz"`` (time zone name or None); None otherwise.

    See Also
    --------
    make_supervised : Build aligned ``(X, y)`` from a series.
    RNNRegressor : Recurrent network regressor that consumes the windows.

    Notes
    -----
    float32 and float64 keep their dtype; float16 becomes float32 (the
    network's precision, half the memory of float64); other numbers become
    float64.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rnn import SequenceWindower
    >>> X = np.arange(8.0).reshape(4, 2)
    >>> windows = SequenceWindower(window=3).fit_transform(X)
    >>> windows.shape
    (4, 3, 2)
    >>> windows[3]
    array([[2., 3.],
           [4., 5.],
           [6., 7.]])
    >>> SequenceWindower(window=2, flatten=True).fit_transform(X)[1]
    array([0., 1., 2., 3.])

    Rows that follow the fitted rows continue from them:

    >>> windower = SequenceWindower(window=3).fit(X[:3])
    >>> windower.transform(X[3:])
    array([[[2., 3.],
            [4., 5.],
            [6., 7.]]])
    """

    _parameter_constraints: dict = {
        "window": [Interval(Integral, 1, None, closed="left")],
        "padding": [StrOptions({"nan", "zero", "edge"})],
        "flatten": ["boolean"],
        "history": [StrOptions({"auto", "none"})],
    }

    def __init__(self, window=10, *, padding="nan", flatten=False, history="auto"):
        self.window = window
        self.padding = padding
        self.flatten = flatten
        self.history = history

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check ``X`` and record what ``transform`` needs to continue from it.

        Records the number of features (and their names), the last
        ``window - 1`` rows, and what tells whether a later block starts with
        these rows or follows them (see ``history``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Time-ordered table, one row per time step.

        y : None
            Ignored.

        Returns
        -------
        self : SequenceWindower
            The fitted windower.
        """
        reject_bool(self, ["window"])
        rows = check_table(self, X, reset=True, dtype=HALF_FLOAT_DTYPES)
        rows = rows.astype(_output_dtype(rows.dtype), copy=False)
        n_samples = rows.shape[0]
        self.n_samples_fit_ = n_samples
        self.tail_ = rows[n_samples - min(self.window - 1, n_samples) :].copy()
        self.first_row_ = rows[0].copy()
        self.fingerprint_ = _fingerprint(rows)
        self.fit_index_ = _regular_index(X)
        return self

    def transform(self, X):
        """Window each row of ``X`` with the rows before it.

        With ``history="auto"``, a block that follows the fitted rows gets
        the last fitted rows as the history of its first rows; a block that
        starts with the fitted rows, or that the index places elsewhere, is
        windowed on its own (its first rows padded). The ``history``
        parameter gives the exact rule.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Time-ordered table with the features seen in :meth:`fit`.

        Returns
        -------
        windows : ndarray of shape (n_samples, window, n_features) or \
                (n_samples, window * n_features)
            ``windows[t, -1]`` is row ``t`` of ``X``. float32 and float64 keep
            their dtype; float16 becomes float32; other numbers float64. With
            ``flatten=True`` and ``set_output(transform="pandas")`` (or
            ``"polars"``), a DataFrame; the 3-D array of ``flatten=False`` is
            returned as it is whatever the output setting, since a DataFrame
            cannot hold it.
        """
        check_is_fitted(self)
        rows = check_table(self, X, reset=False, dtype=HALF_FLOAT_DTYPES)
        # Looked up first: an unknown output setting is an error either way.
        container = _get_container_adapter("transform", self)
        windows = sliding_windows(
            rows,
            self.window,
            self.padding,
            history=self._history_of(X, rows),
            dtype=_output_dtype(rows.dtype),
        )
        if not self.flatten:
            return windows
        flat = windows.reshape(rows.shape[0], -1)
        if container is None:
            return flat
        # The reshape is itself a read-only view whose rows overlap. A
        # DataFrame built on it could not be edited (fillna(inplace=True)
        # fails), so the DataFrame gets its own copy (inplace=False).
        return container.create_container(
            flat, X, columns=self.get_feature_names_out, inplace=False
        )

    def _history_of(self, X, rows):
        """The fitted rows that come right before the block ``X``, or None."""
        if self.history == "none" or self.window == 1:
            return None
        follows = _follows_by_index(self.fit_index_, X)
        if follows is None:
            follows = not self._starts_with_fitted_rows(rows)
        return self.tail_ if follows else None

    def _starts_with_fitted_rows(self, rows):
        n_fit = self.n_samples_fit_
        # A fingerprint saved before the rows were compared in float32 is of
        # the rows in their fitted dtype.
        legacy = None if self.fingerprint_.startswith(_FLOAT32) else self.tail_.dtype
        dtype = np.float32 if legacy is None else legacy
        if rows.shape[0] < n_fit:
            return False
        with np.errstate(over="ignore"):  # beyond float32's range: inf, as _fingerprint
            if not np.array_equal(rows[0].astype(dtype), self.first_row_.astype(dtype)):
                return False
        return _fingerprint(rows[:n_fit], legacy) == self.fingerprint_

    def set_output(self, *, transform=None):
        """Set the output container of ``transform`` and ``fit_transform``.

        With ``flatten=True``, ``"pandas"`` (or ``"polars"``) gives a
        DataFrame with the ``get_feature_names_out()`` columns and, for
        pandas, the input's index. With ``flatten=False`` the output is a 3-D
        array, which no DataFrame can hold: it is returned unchanged, so that
        a pipeline-wide ``set_output(transform="pandas")`` works and the next
        step (a sequence model) gets the windows.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"}, default=None
            ``"default"``: arrays; ``"pandas"``/``"polars"``: a DataFrame for
            2-D output; None: the setting is left unchanged.

        Returns
        -------
        self : SequenceWindower
            This windower.
        """
        if transform is None:
            return self
        if not hasattr(self, "_sklearn_output_config"):
            self._sklearn_output_config = {}
        self._sklearn_output_config["transform"] = transform
        return self

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names; by default those seen in :meth:`fit`, or
            ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str
            With ``flatten=True``, ``"{feature}_lag{k}"`` for ``k`` from
            ``window - 1`` down to 0 (oldest first); otherwise the input
            feature names, which label the last axis of the 3-D output.
        """
        check_is_fitted(self, "n_features_in_")
        names = _check_feature_names_in(self, input_features)
        if not self.flatten:
            return names
        return np.asarray(
            [f"{name}_lag{lag}" for lag in range(self.window - 1, -1, -1) for name in names],
            dtype=object,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def sliding_windows(X, window, padding="nan", *, history=None, dtype=None):
    """Read-only windows ``(n, window, n_features)`` over the rows of a 2-D array.

    ``history`` holds rows known to come right before ``X``; its last
    ``window - 1`` rows take the place of padding. The result is a strided
    view of one padded copy (history and ``X``, in ``dtype``, by default
    ``X``'s): its memory is about the input's size, not ``window`` times it.
    """
    n_samples, n_features = X.shape
    front = window - 1
    padded = np.empty((n_samples + front, n_features), dtype=X.dtype if dtype is None else dtype)
    padded[front:] = X
    if history is not None and front:
        history = history[max(len(history) - front, 0) :]
        padded[front - len(history) : front] = history
        front -= len(history)
    if front:
        if padding == "nan":
            padded[:front] = np.nan
        elif padding == "zero" or len(padded) == front:
            padded[:front] = 0
        else:
            # "edge": the first known row, from the history or from X.
            padded[:front] = padded[front]
    view = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)
    # sliding_window_view puts the window axis last; time must be the middle axis.
    return view.transpose(0, 2, 1)


def _output_dtype(dtype):
    """float16 is widened to float32 (the network's precision); float32 and
    float64 are kept (validation has turned anything else into float64)."""
    return np.dtype(np.float32) if dtype == np.float16 else dtype


# The fitted rows are compared in float32, the networks' precision, so that the
# same series in float64 and in float32 is the same series.
_FLOAT32 = "float32:"


def _fingerprint(rows, dtype=None):
    """SHA-256 of ``rows`` in float32, marked so; with ``dtype`` (as saved
    before the mark), of the rows in that dtype, unmarked."""
    with np.errstate(over="ignore"):  # beyond float32's range: inf, as in training
        data = np.ascontiguousarray(rows, dtype=np.float32 if dtype is None else dtype)
    digest = hashlib.sha256(data).hexdigest()
    return digest if dtype is not None else _FLOAT32 + digest


def _pandas_frame(X):
    """Whether ``X`` is a pandas DataFrame (without importing pandas, which is
    only an optional dependency)."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(X, pd.DataFrame)


def _named_offset(step):
    """The offset a frequency string names, or None (a DateOffset's repr)."""
    import pandas as pd

    try:
        return pd.tseries.frequencies.to_offset(step)
    except ValueError:
        return None


def _inferred_step(index):
    """A frequency string that gives back exactly the labels of ``index``, or None."""
    import pandas as pd

    try:
        step = pd.infer_freq(index) if len(index) >= 3 else None
    except (TypeError, ValueError):
        return None
    if step is None:
        return None
    labels = pd.date_range(index[0], periods=len(index), freq=step)
    return step if labels.equals(index) else None


def _regular_index(X):
    """First and last label and step of a DataFrame's regular index, else None.

    Plain numbers, numpy datetimes and strings only, so that the fitted state
    pickles without pandas objects in it.
    """
    if not _pandas_frame(X) or len(X.index) == 0:
        return None
    import pandas as pd

    index = X.index
    # A MultiIndex (one entity of a panel) cannot place a block; pandas
    # cannot even say whether it holds missing labels.
    if isinstance(index, pd.MultiIndex) or index.hasnans:
        return None
    if isinstance(index, pd.DatetimeIndex):
        freq = index.freq
        if freq is None:
            # freq="infer" gives None for fewer than 3 labels or irregular ones.
            freq = pd.DatetimeIndex(index, freq="infer").freq
        step = None if freq is None else freq.freqstr
        if freq is not None and _named_offset(step) != freq:
            # A frequency no string names (Week() on any weekday, a
            # DateOffset(months=2)): the string pandas infers from the labels
            # instead, if it gives back exactly these labels.
            step = _inferred_step(index)
        if step is None:
            return None
        return {
            "kind": "datetime",
            "first": index[0].asm8,
            "last": index[-1].asm8,
            "step": step,
            "tz": None if index.tz is None else str(index.tz),
        }
    if isinstance(index, pd.RangeIndex):
        step = index.step
    elif pd.api.types.is_integer_dtype(index.dtype) and (
        len(index) == 1 or bool((np.diff(index.to_numpy()) == 1).all())
    ):
        step = 1
    else:
        return None
    return {
        "kind": "integer",
        "first": int(index[0]),
        "last": int(index[-1]),
        "step": int(step),
        "tz": None,
    }


def _follows_by_index(fit_index, X):
    """Whether ``X``'s first label is the one after the fitted last label; None
    when the indexes cannot tell (no regular fitted index, or ``X`` has no
    index with labels of the same kind)."""
    if fit_index is None or not _pandas_frame(X) or len(X.index) == 0:
        return None
    import pandas as pd

    index = X.index
    if fit_index["kind"] == "integer":
        if not pd.api.types.is_integer_dtype(index.dtype) or index.hasnans:
            return None
        return int(index[0]) == fit_index["last"] + fit_index["step"]
    tz = None if not isinstance(index, pd.DatetimeIndex) or index.tz is None else str(index.tz)
    if not isinstance(index, pd.DatetimeIndex) or tz != fit_index["tz"]:
        return None
    first, last = pd.Timestamp(fit_index["first"]), pd.Timestamp(fit_index["last"])
    if tz is not None:
        # The zone itself, not its name: a fixed offset of dateutil or pytz
        # (tzutc(), tzoffset(None, 3600)) has no name pandas can read back.
        first = first.tz_localize("UTC").tz_convert(index.tz)
        last = last.tz_localize("UTC").tz_convert(index.tz)
    start = index[0]
    if start <= last:
        return False
    offset = pd.tseries.frequencies.to_offset(fit_index["step"])
    # Adding the step, or ranges of wall-clock labels, can fail on a label
    # that is ambiguous or that the clocks skip (pandas' or pytz's errors).
    try:
        if start == last + offset:
            return True
    except Exception:  # noqa: BLE001
        pass
    # Else the label pandas' range from the fitted first label puts after the
    # last one: with a time zone, a day is a calendar day (23 or 25 hours
    # across a change of clocks), a midnight the clocks skip moves to the hour
    # after, and the day after it is back at midnight. Only for a block within
    # two steps (in wall-clock time), so that the range stays short.
    if start.tz_localize(None) > last.tz_localize(None) + 2 * offset:
        return False
    try:
        labels = pd.date_range(first, end=start, freq=offset, nonexistent="shift_forward")
    except Exception:  # noqa: BLE001
        return False
    return len(labels) > 1 and labels[-1] == start and labels[-2] == last
