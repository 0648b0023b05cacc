"""Aligned ``(X, y)`` from a time series, for one-step or multi-step forecasting."""

import numpy as np

from ._validation import check_positive_int


def make_supervised(data, *, horizon=1, n_steps=1, target=None):
    """Align a time series with its future values.

    Row ``t`` of ``X`` is row ``t`` of ``data`` (every column, past target
    values included); ``y[t]`` holds the target column(s) at
    ``t + horizon, ..., t + horizon + n_steps - 1``. Window ``X`` with
    :class:`SequenceWindower` to give each row its history.

    Parameters
    ----------
    data : array-like of shape (n_timesteps,) or (n_timesteps, n_features)
        The series in time order: a 1-D or 2-D array, a pandas Series or a
        DataFrame.

    horizon : int, default=1
        How far ahead of row ``t`` the first target lies.

    n_steps : int, default=1
        Consecutive future values per row, for direct multi-step forecasting.

    target : int, str, tuple, list, pandas Index or None, default=None
        Columns to predict: ``None`` for every column; a column index or list
        of indices for arrays; a column name or list of names for DataFrames.
        With MultiIndex columns, a tuple names one column (and the target
        columns keep the levels, the last one suffixed ``"_h{k}"``); otherwise
        a tuple is a list of columns. A pandas ``Index`` or ``Series`` of
        names (``df.columns[1:]``) is a list of them.

    Returns
    -------
    X : ndarray or DataFrame of shape (n_timesteps - horizon - n_steps + 1, n_features)
        The first rows of ``data``, copied (editing ``X`` leaves ``data``
        as it was). A Series gives a one-column DataFrame.

    y : ndarray, Series or DataFrame
        1-D for a single target (a scalar ``target`` or a single column) with
        ``n_steps=1``; otherwise 2-D with ``n_steps * n_targets`` columns,
        step-major (all targets at step 1, then all at step 2, ...), named
        ``"{column}_h{k}"`` for pandas input.

    Raises
    ------
    ValueError
        If the series is too short for ``horizon`` and ``n_steps``, or if
        ``target`` names a column that ``data`` lacks.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rnn import make_supervised
    >>> X, y = make_supervised(np.arange(6.0), horizon=1)
    >>> X.ravel(), y
    (array([0., 1., 2., 3., 4.]), array([1., 2., 3., 4., 5.]))
    >>> X, y = make_supervised(np.arange(6.0), n_steps=2)
    >>> y
    array([[1., 2.],
           [2., 3.],
           [3., 4.],
           [4., 5.]])
    """
    horizon = check_positive_int(horizon, "horizon")
    n_steps = check_positive_int(n_steps, "n_steps")

    pandas_in = _is_pandas(data)
    if pandas_in:
        frame = data.to_frame() if data.ndim == 1 else data
        shape = frame.shape
        columns = list(frame.columns)
    else:
        values = np.asarray(data)
        if values.dtype.kind not in "biuf":
            raise TypeError(
                f"data must hold numbers; got an array of dtype {values.dtype}. "
                "Convert it with np.asarray(data, dtype=float) or pass a DataFrame."
            )
        if values.ndim == 1:
            values = values[:, None]
        elif values.ndim != 2:
            raise ValueError(
                f"data must be 1-D (a univariate series) or 2-D (n_timesteps, "
                f"n_features); got an array with {values.ndim} dimensions, "
                f"shape {values.shape}."
            )
        columns = list(range(values.shape[1]))
        shape = values.shape

    if shape[1] == 0:
        raise ValueError("data has no columns; pass at least one series.")
    multi_index = pandas_in and frame.columns.nlevels > 1
    scalar_target, target_idx = _resolve_target(target, columns, pandas_in, multi_index)

    n_rows = shape[0] - horizon - n_steps + 1
    if n_rows < 1:
        raise ValueError(
            f"data has {shape[0]} time steps, too few for horizon={horizon} "
            f"and n_steps={n_steps}: at least horizon + n_steps = "
            f"{horizon + n_steps} steps are needed to form one row. Pass a longer "
            "series or lower horizon/n_steps."
        )

    one_d = n_steps == 1 and (scalar_target or (target is None and len(columns) == 1))

    # X is a copy: editing it in place (a log, a centring) leaves the
    # caller's series, and so the y built from it, as they were.
    if not pandas_in:
        # The target columns alone: y keeps their dtype, whatever the others'.
        targets = values[:, target_idx]
        y_values = np.concatenate(
            [targets[horizon + k : horizon + k + n_rows] for k in range(n_steps)], axis=1
        )
        X = values[:n_rows].copy()
        return X, (y_values[:, 0] if one_d else y_values)

    import pandas as pd

    X = frame.iloc[:n_rows].copy()
    index = X.index
    steps = range(horizon, horizon + n_steps)
    if multi_index:
        # The step suffix goes on the last level, keeping the column levels.
        names = pd.MultiIndex.from_tuples(
            [(*columns[j][:-1], f"{columns[j][-1]}_h{k}") for k in steps for j in target_idx]
        )
    else:
        names = [f"{columns[j]}_h{k}" for k in steps for j in target_idx]
    # Column by column, so that each keeps its own dtype (float32 beside
    # float64, a nullable Int64).
    pieces = [
        frame.iloc[k : k + n_rows, j].reset_index(drop=True) for k in steps for j in target_idx
    ]
    if one_d:
        return X, pieces[0].set_axis(index).rename(columns[target_idx[0]])
    y = pd.concat(pieces, axis=1, ignore_index=True).set_axis(index)
    y.columns = names
    return X, y


def _is_pandas(data):
    module = type(data).__module__
    return module.startswith("pandas") and hasattr(data, "to_numpy") and hasattr(data, "ndim")


def _is_bool(value):
    return isinstance(value, (bool, np.bool_))


def _resolve_target(target, columns, pandas_in, multi_index):
    """Return (target is a scalar, list of column positions).

    A tuple names one column when the columns are a MultiIndex (whose labels
    are tuples), and is a list of columns otherwise.
    """
    if target is None:
        return False, list(range(len(columns)))
    if isinstance(target, np.ndarray) and target.ndim == 0:
        target = target.item()  # np.array(1) is the index 1
    if _is_pandas(target):
        # An Index or Series of names (df.columns[1:]) is a list of them.
        target = target.tolist()
    label = (
        multi_index
        and isinstance(target, tuple)
        and not any(isinstance(item, tuple) for item in target)
    )
    scalar = label or not isinstance(target, (list, tuple, np.ndarray))
    wanted = [target] if scalar else list(target)
    if not wanted:
        raise ValueError("target is an empty list; name at least one column.")
    positions = []
    for item in wanted:
        if pandas_in:
            # True == 1, yet neither names the other's column.
            found = [
                i
                for i, c in enumerate(columns)
                if (c is item or c == item) and _is_bool(c) == _is_bool(item)
            ]
            if not found:
                raise ValueError(
                    f"target {item!r} is not a column of data; the columns are {columns}."
                )
            positions.append(found[0])
        else:
            if isinstance(item, bool) or not isinstance(item, (int, np.integer)):
                raise ValueError(
                    f"target {item!r} must be a column index (int) for array data"
                    f" with {len(columns)} column(s); column names work only with"
                    " a DataFrame."
                )
            if not -len(columns) <= item < len(columns):
                raise ValueError(
                    f"target index {item} is out of range for data with {len(columns)} column(s)."
                )
            positions.append(int(item) % len(columns))
    return scalar, positions
