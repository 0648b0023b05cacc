"""PyTorch recurrent networks (RNN, LSTM, GRU) as scikit-learn estimators."""

from ._classifier import RNNClassifier
from ._regressor import RNNRegressor
from ._supervised import make_supervised
from ._text import TextSequencer
from ._version import __version__
from ._windowing import SequenceWindower

__all__ = [
    "RNNClassifier",
    "RNNRegressor",
    "SequenceWindower",
    "TextSequencer",
    "make_supervised",
    "__version__",
]
