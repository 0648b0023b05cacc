"""What a saved estimator carries: its state as plain data, a checksum and the
versions it was saved with.

The state is the estimator's ``__dict__`` with the skorch net replaced by its
weights, optimizer state and history as numpy arrays, lists and numbers (see
``_training.network_state``): no pickle nested inside the pickle, no torch or
skorch object. So ``pickle``/``joblib``/``cloudpickle`` pickle it as they pickle
any object (a custom module class by reference, or by value for a class defined
in ``__main__``), and ``skops.io`` can list every type in it and load it.
"""

import hashlib
import math
import warnings

import numpy as np
import sklearn
import skorch
import torch
from sklearn.exceptions import InconsistentVersionWarning

from . import _version

VERSION_KEY = "_sklearn_rnn_version"
DEPENDENCIES_KEY = "_dependency_versions"
CHECKSUM_KEY = "_sha256"


def dependency_versions():
    """The versions of the libraries a saved model depends on."""
    return {
        "torch": str(torch.__version__),
        "skorch": skorch.__version__,
        "scikit-learn": sklearn.__version__,
    }


def saved_state(state):
    """The saved form of an estimator's ``__dict__`` ``state`` (plain data).

    Adds the versions of sklearn_rnn, torch, skorch and scikit-learn and a
    SHA-256 over everything, so that a file damaged after saving is refused
    with a clear error instead of failing deep inside torch or loading altered
    weights.
    """
    state = dict(state)
    state[VERSION_KEY] = _version.__version__
    state[DEPENDENCIES_KEY] = dependency_versions()
    state[CHECKSUM_KEY] = checksum(state)
    return state


def restored_state(name, state):
    """The ``__dict__`` of estimator class ``name`` from :func:`saved_state`'s
    output, checked; warns when it was saved under other versions."""
    state = dict(state)
    saved = state.pop(CHECKSUM_KEY, None)
    if not isinstance(saved, str) or saved != checksum(state):
        raise ValueError(
            f"Cannot load {name}: the saved model is corrupted (its checksum does not "
            "match), so the file was damaged after it was written, or it was not written "
            "by this sklearn_rnn. Load an intact copy, or fit the model again."
        )
    saved_versions = {"sklearn_rnn": state.pop(VERSION_KEY), **state.pop(DEPENDENCIES_KEY)}
    current = {"sklearn_rnn": _version.__version__, **dependency_versions()}
    mismatches = {
        package: (version, current[package])
        for package, version in saved_versions.items()
        if version != current.get(package)
    }
    if mismatches:
        warnings.warn(
            VersionWarning(
                estimator_name=name,
                mismatches=mismatches,
                sklearn_versions=(
                    saved_versions.get("scikit-learn"),
                    current["scikit-learn"],
                ),
            ),
            stacklevel=3,
        )
    return state


def checksum(state):
    """SHA-256 over a canonical encoding of a plain ``state``: every key and
    value, arrays by dtype, shape and bytes. Other objects (a user's
    callbacks among the parameters) count by their type only."""
    digest = hashlib.sha256()
    _feed(digest, state)
    return digest.hexdigest()


def _feed(digest, obj):
    if obj is None or isinstance(obj, (bool, int, str)):
        digest.update(f"{type(obj).__name__}:{obj!r};".encode())
    elif isinstance(obj, float):
        digest.update(f"float:{obj.hex() if math.isfinite(obj) else obj!r};".encode())
    elif isinstance(obj, np.ndarray):
        digest.update(f"ndarray:{obj.dtype.str}:{obj.shape};".encode())
        if obj.dtype == object:
            for item in obj.ravel():
                _feed(digest, item)
        else:
            digest.update(np.ascontiguousarray(obj).data)
    elif isinstance(obj, np.generic):
        _feed(digest, np.asarray(obj))
    elif isinstance(obj, dict):
        digest.update(f"dict:{len(obj)};".encode())
        for key in sorted(obj, key=repr):
            _feed(digest, key)
            _feed(digest, obj[key])
    elif isinstance(obj, (list, tuple)):
        digest.update(f"{type(obj).__name__}:{len(obj)};".encode())
        for item in obj:
            _feed(digest, item)
    elif isinstance(obj, type):
        digest.update(f"type:{obj.__module__}.{obj.__qualname__};".encode())
    else:
        kind = type(obj)
        digest.update(f"object:{kind.__module__}.{kind.__qualname__};".encode())


class VersionWarning(InconsistentVersionWarning):
    """Loading a model saved under other versions of sklearn_rnn, torch, skorch
    or scikit-learn.

    ``mismatches`` maps each package whose version differs to ``(saved,
    current)``; ``original_sklearn_version`` and ``current_sklearn_version``
    are scikit-learn's, as in the parent class.
    """

    def __init__(self, *, estimator_name, mismatches, sklearn_versions):
        self.mismatches = dict(mismatches)
        saved, current = sklearn_versions
        super().__init__(
            estimator_name=estimator_name,
            current_sklearn_version=current,
            original_sklearn_version=saved,
        )

    def __str__(self):
        which = "; ".join(
            f"{package} version {saved} when using version {current}"
            for package, (saved, current) in self.mismatches.items()
        )
        return (
            f"Trying to unpickle estimator {self.estimator_name} saved under other "
            f"versions ({', '.join(self.mismatches)}): from {which}. This might lead to "
            "breaking code or invalid results. Use at your own risk: refit the model with "
            "these versions, or load it with the versions that saved it."
        )
