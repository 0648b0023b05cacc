"""Input checks shared by the windower and the regressor (no torch here)."""

from contextlib import contextmanager

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import validate_data

FLOAT_DTYPES = (np.float64, np.float32)

# float16 kept through validation, for a caller that widens it to float32
# itself (the windower): converting it to float64 would take four times the memory.
HALF_FLOAT_DTYPES = (*FLOAT_DTYPES, np.float16)


def check_table(estimator, X, *, reset, dtype=FLOAT_DTYPES):
    """Validate a time-ordered 2-D table: numeric, finite, a float dtype of
    ``dtype`` kept, anything else converted to the first of them."""
    reject_times(X, "X")
    with numeric_input("X"):
        return validate_data(
            estimator,
            X,
            reset=reset,
            dtype=dtype,
            ensure_2d=True,
            ensure_all_finite=True,
        )


@contextmanager
def numeric_input(name):
    """Re-raise a failed conversion to float (text in an array, or in a DataFrame
    column, where pandas raises it) as an error of the same type naming ``name``."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        text = str(exc)
        if "could not convert" not in text and "float() argument" not in text:
            raise
        error = TypeError if isinstance(exc, TypeError) else ValueError
        raise error(
            f"{name} must hold numbers, but {text}. Encode or drop non-numeric columns "
            "(e.g. OneHotEncoder in a ColumnTransformer) before this step."
        ) from exc


def reject_times(X, name):
    """Dates and durations are not numbers for a network, though numpy turns
    them into nanoseconds (or days) since 1970 without a word."""
    if isinstance(X, (list, tuple)) and len(X):
        # Rows or sequences as a list: their first item tells.
        try:
            first = np.asarray(X[0])
        except (ValueError, TypeError):
            return
        X = first
    dtypes = getattr(X, "dtypes", None)
    if hasattr(dtypes, "items"):  # a DataFrame
        columns = [
            column
            for column, dtype in dtypes.items()
            if getattr(dtype, "kind", None) in ("m", "M")
        ]
        what = f"its column(s) {columns!r} hold dates or durations" if columns else None
    else:
        dtype = getattr(X, "dtype", None)
        kind = getattr(dtype, "kind", None)
        what = f"it holds dates or durations (dtype {dtype})" if kind in ("m", "M") else None
    if what:
        raise TypeError(
            f"{name} must hold numbers, but {what}. Drop them, or turn them into numbers "
            "first (the month or the weekday as columns, say); the time of each row "
            "belongs in a DataFrame's index, which the windower reads."
        )


def reject_bool(estimator, names):
    """scikit-learn's Interval(Integral, ...) admits True and False; an int
    parameter given a bool is a mistake, not 1 or 0."""
    for name in names:
        value = getattr(estimator, name)
        if isinstance(value, (bool, np.bool_)):
            raise TypeError(
                f"The {name!r} parameter of {type(estimator).__name__} must be an int, "
                f"got {value!r} (a bool)."
            )


def check_positive_int(value, name):
    """An int >= 1 (bools rejected), with a message naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        # Both a TypeError and a ValueError, as scikit-learn's own parameter
        # errors are: API.md promises ValueError for a bad horizon/n_steps.
        raise InvalidParameterError(
            f"{name} must be an int >= 1, got {value!r} of type {type(value).__name__}."
        )
    if value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}.")
    return int(value)
