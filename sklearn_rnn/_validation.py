"""Input checks shared by the windower and the regressor (no torch here)."""

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import validate_data

FLOAT_DTYPES = (np.float64, np.float32)


def check_table(estimator, X, *, reset):
    """Validate a time-ordered 2-D table: numeric, finite, float dtype kept."""
    return validate_data(
        estimator,
        X,
        reset=reset,
        dtype=FLOAT_DTYPES,
        ensure_2d=True,
        ensure_all_finite=True,
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
