"""What a pickled estimator carries: its state, a checksum and version stamps."""

import hashlib
import pickle
import warnings

from sklearn.exceptions import InconsistentVersionWarning

from . import _version


def saved_state(name, state):
    """The pickled form of an estimator's ``__dict__`` ``state``.

    The state travels as one pickled payload with its SHA-256, so that a file
    damaged after saving is refused with a clear error instead of failing deep
    inside pickle/torch or loading altered weights.
    """
    payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    return {
        "_sklearn_rnn_version": _version.__version__,
        "payload": payload,
        "sha256": hashlib.sha256(payload).hexdigest(),
    }


def restored_state(name, state):
    """The ``__dict__`` of estimator class ``name`` from :func:`saved_state`'s
    output, checked; warns when it was saved under another version."""
    version = state.pop("_sklearn_rnn_version", "pre-0.1")
    if "payload" in state or "sha256" in state:
        payload = state.get("payload")
        if not isinstance(payload, bytes) or (
            hashlib.sha256(payload).hexdigest() != state.get("sha256")
        ):
            raise ValueError(
                f"Cannot load {name}: the saved model is corrupted "
                "(its checksum does not match), so the file was damaged after it was "
                "written. Load an intact copy, or fit the model again."
            )
        state = pickle.loads(payload)
    if version != _version.__version__:
        warnings.warn(
            VersionWarning(
                estimator_name=name,
                current_sklearn_version=_version.__version__,
                original_sklearn_version=version,
            ),
            stacklevel=3,
        )
    return state


class VersionWarning(InconsistentVersionWarning):
    """Loading a model pickled under another sklearn_rnn version."""

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from sklearn_rnn "
            f"version {self.original_sklearn_version} when using version "
            f"{self.current_sklearn_version}. This might lead to breaking code or "
            "invalid results. Use at your own risk: refit the model with this version, "
            "or load it with the version that saved it."
        )
