"""Row-preserving sliding windows over a time-ordered table."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ._validation import check_table, reject_bool


class SequenceWindower(TransformerMixin, BaseEstimator):
    """Turn each row of a time-ordered table into the window of rows ending at it.

    Row ``t`` of the output holds rows ``t - window + 1 .. t`` of ``X``, oldest
    first, so the output has exactly one row per input row. That is what lets
    the windower sit inside a :class:`~sklearn.pipeline.Pipeline` that is
    cross-validated or grid-searched by plain scikit-learn: ``y`` stays aligned
    with ``X`` and no rows are dropped.

    Rows near the start have fewer than ``window`` predecessors; their missing
    steps are filled according to ``padding``.

    Parameters
    ----------
    window : int, default=10
        Time steps per output sequence, the current row included.

    padding : {"nan", "zero", "edge"}, default="nan"
        How the steps before the first row are filled. ``"nan"`` gives leading
        NaN steps, which :class:`~sklearn_rnn.RNNRegressor` reads as a shorter
        sequence; ``"zero"`` fills zeros; ``"edge"`` repeats the first row.

    flatten : bool, default=False
        If False, ``transform`` returns a read-only 3-D array
        ``(n_samples, window, n_features)`` that is a strided view of a padded
        copy of ``X`` (about the input's size in memory, whatever the window).
        If True, it returns a 2-D array ``(n_samples, window * n_features)``,
        oldest step first, usable by any scikit-learn regressor. It is a
        read-only view too (copy it to edit it in place); with
        ``set_output(transform="pandas")`` the DataFrame gets its own copy.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during :meth:`fit`.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :meth:`fit`, for DataFrame input only.

    See Also
    --------
    make_supervised : Build aligned ``(X, y)`` from a series.
    RNNRegressor : Recurrent network regressor that consumes the windows.

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
    """

    _parameter_constraints: dict = {
        "window": [Interval(Integral, 1, None, closed="left")],
        "padding": [StrOptions({"nan", "zero", "edge"})],
        "flatten": ["boolean"],
    }

    def __init__(self, window=10, *, padding="nan", flatten=False):
        self.window = window
        self.padding = padding
        self.flatten = flatten

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check ``X`` and record its number of features (and their names).

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
        check_table(self, X, reset=True)
        return self

    def transform(self, X):
        """Window each row of ``X`` with the rows before it.

        Windows never reach outside the block of rows given: the first rows of
        any block are padded.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Time-ordered table with the features seen in :meth:`fit`.

        Returns
        -------
        windows : ndarray of shape (n_samples, window, n_features) or \
                (n_samples, window * n_features)
            ``windows[t, -1]`` is row ``t`` of ``X``. Float input keeps its
            dtype; other numbers become float64.
        """
        check_is_fitted(self)
        X = check_table(self, X, reset=False)
        if not self.flatten:
            if _get_output_config("transform", self)["dense"] != "default":
                raise ValueError(
                    "SequenceWindower(flatten=False) returns a 3-D array "
                    "(n_samples, window, n_features), which a DataFrame cannot hold. "
                    "Set flatten=True for 2-D lag columns, or "
                    'set_output(transform="default") for the 3-D array.'
                )
        windows = sliding_windows(X, self.window, self.padding)
        if not self.flatten:
            return windows
        # The reshape is itself a read-only view whose rows overlap. A
        # DataFrame built on it could not be edited (fillna(inplace=True)
        # fails), so pandas output gets its own copy.
        flat = windows.reshape(X.shape[0], -1)
        if _get_output_config("transform", self)["dense"] != "default":
            flat = flat.copy()
        return flat

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


def sliding_windows(X, window, padding="nan"):
    """Read-only windows ``(n, window, n_features)`` over the rows of a 2-D array.

    The result is a strided view of one padded copy of ``X``: its memory is
    about the input's size, not ``window`` times it.
    """
    n_samples, n_features = X.shape
    padded = np.empty((n_samples + window - 1, n_features), dtype=X.dtype)
    padded[window - 1 :] = X
    if window > 1:
        if padding == "nan":
            padded[: window - 1] = np.nan
        elif padding == "zero":
            padded[: window - 1] = 0
        else:
            padded[: window - 1] = X[:1] if n_samples else 0
    view = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)
    # sliding_window_view puts the window axis last; time must be the middle axis.
    return view.transpose(0, 2, 1)
