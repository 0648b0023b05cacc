"""``RNNRegressor``: what regression adds to the shared base (losses, target
scaling, predictions in the target's units)."""

import numpy as np
import torch
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import StrOptions

from ._base import BaseRNN
from ._inputs import check_target

LOSSES = {
    "squared_error": torch.nn.MSELoss,
    "absolute_error": torch.nn.L1Loss,
    "huber": torch.nn.HuberLoss,
}


class RNNRegressor(RegressorMixin, BaseRNN):
    """Recurrent neural network (RNN, LSTM or GRU) regressor on sequences.

    One sequence per sample goes in, one prediction (or one row of
    predictions) comes out. The network is a stack of PyTorch recurrent
    layers with a linear head on the last observed step, trained through
    skorch; the fitted skorch net is ``net_``.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}, default="lstm"
        Recurrent layer type.

    hidden_size : int, default=64
        Features in the hidden state.

    num_layers : int, default=1
        Stacked recurrent layers.

    dropout : float, default=0.0
        Dropout between stacked layers (no effect with one layer).

    bidirectional : bool, default=False
        Run the sequence both ways.

    module : torch.nn.Module subclass, default=None
        None for the built-in network. Otherwise a class built as
        ``module(n_features=..., n_outputs=..., **module_kwargs)``; its
        ``forward(X)`` gets a float32 tensor ``(batch, n_timesteps,
        n_features)`` with padding steps set to 0 and returns
        ``(batch, n_outputs)``. If ``forward`` accepts ``lengths``, it also gets
        the observed steps of each sequence (int64, on the CPU).

    module_kwargs : dict, default=None
        Extra keyword arguments for ``module``.

    loss : {"squared_error", "absolute_error", "huber"}, default="squared_error"
        Training loss.

    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch.optim.Optimizer subclass, \
            default="adam"
        Optimizer.

    lr : float, default=1e-3
        Learning rate.

    weight_decay : float, default=0.0
        L2 penalty.

    max_grad_norm : float, default=None
        Clip gradients to this total norm.

    batch_size : int, default=64
        Samples per batch (capped at the number of samples).

    max_epochs : int, default=100
        Passes over the data.

    shuffle : bool, default=True
        Shuffle the samples every epoch.

    early_stopping : bool, default=False
        Hold out the last ``validation_fraction`` of the rows (time order
        kept) and stop when their loss stops improving; the best epoch's
        weights are kept.

    validation_fraction : float, default=0.1
        Fraction of rows, taken from the end, used for early stopping.

    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before stopping.

    tol : float, default=1e-4
        Minimum improvement of the validation loss that counts.

    scale_y : bool, default=True
        Standardise the target inside the model; undone at predict.

    device : str, default="auto"
        ``"auto"`` (CUDA, then MPS, then CPU: the first available),
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and shuffling. With an int the
        same data and parameters give the same model on the same device; on
        CUDA, as far as the GPU's kernels allow (call
        ``torch.use_deterministic_algorithms(True)`` and set
        ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` for deterministic kernels). The
        caller's global random state is left as it was. On the CPU, networks
        with enough work per batch choose their thread count by timing their
        batches (never more than ``torch.get_num_threads()``); LSTM gradients
        round differently on one and on two threads, so two such fits agree
        to float32 rounding (about 1e-7), and exactly under
        ``torch.set_num_threads(1)``. Smaller networks always train on one
        thread and repeat exactly.

    verbose : int, default=0
        0: silent; 1: a progress bar over epochs with the losses; 2: also a
        line per epoch.

    warm_start : bool, default=False
        Make ``fit`` continue from the current weights.

    callbacks : list of skorch callbacks, default=None
        Extra callbacks for the skorch net.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted skorch net.

    module_ : torch.nn.Module
        The trained PyTorch module.

    n_features_in_ : int
        Features per time step for 3-D input; the column count (time steps)
        for 2-D input.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, for DataFrame input only.

    n_outputs_ : int
        Values predicted per sample.

    n_iter_ : int
        Epochs run since the weights were initialised.

    loss_curve_ : list of float
        Training loss per epoch (on the standardised target when
        ``scale_y=True``).

    validation_loss_curve_ : list of float
        Validation loss per epoch, with early stopping.

    device_ : str
        The device the model lives on.

    See Also
    --------
    SequenceWindower : Turn a time-ordered table into one window per row.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rnn import RNNRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 12, 1)).astype("float32")
    >>> y = X[:, -3:, 0].sum(axis=1)
    >>> model = RNNRegressor(cell="gru", hidden_size=16, max_epochs=30, random_state=0)
    >>> model.fit(X, y).predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        **BaseRNN._parameter_constraints,
        "loss": [StrOptions(set(LOSSES))],
        "scale_y": ["boolean"],
    }

    def __init__(
        self,
        *,
        cell="lstm",
        hidden_size=64,
        num_layers=1,
        dropout=0.0,
        bidirectional=False,
        module=None,
        module_kwargs=None,
        loss="squared_error",
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        max_grad_norm=None,
        batch_size=64,
        max_epochs=100,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        scale_y=True,
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        callbacks=None,
    ):
        super().__init__(
            cell=cell,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout,
            bidirectional=bidirectional,
            module=module,
            module_kwargs=module_kwargs,
            optimizer=optimizer,
            lr=lr,
            weight_decay=weight_decay,
            max_grad_norm=max_grad_norm,
            batch_size=batch_size,
            max_epochs=max_epochs,
            shuffle=shuffle,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            device=device,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
            callbacks=callbacks,
        )
        self.loss = loss
        self.scale_y = scale_y

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network on sequences ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps)
            Sequences. In 3-D input, leading all-NaN steps mark a sequence
            that is shorter than ``n_timesteps`` (the windower's padding);
            2-D input is one univariate sequence per row.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss.

        Returns
        -------
        self : RNNRegressor
            The fitted regressor.
        """
        keep = self.warm_start and hasattr(self, "net_")
        return self._train(X, y, sample_weight, keep=keep, epochs=self.max_epochs)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one more epoch on the data given (no early stopping).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps)
            Sequences, as for :meth:`fit`.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss.

        Returns
        -------
        self : RNNRegressor
            The updated regressor.
        """
        return self._train(
            X, y, sample_weight, keep=hasattr(self, "net_"), epochs=1, validate=False
        )

    # ------------------------------------------------------------- hooks

    def _check_target(self, X, y, *, keep):
        y = check_target(self, X, y)
        if keep:
            n_outputs = 1 if y.ndim == 1 else y.shape[1]
            if n_outputs != self.n_outputs_:
                raise ValueError(
                    f"y has {n_outputs} output(s) but this model was fitted with "
                    f"{self.n_outputs_}; fit a new model (warm_start=False) to change them."
                )
        return y

    def _prepare_target(self, y, sample_weight, *, keep):
        y2 = y.reshape(len(y), -1)
        if keep:
            fitted = {}
            y_mean, y_scale = self._y_mean, self._y_scale
        else:
            y_mean, y_scale = _target_scaling(y2, sample_weight, self.scale_y)
            fitted = dict(
                _y_1d=y.ndim == 1, n_outputs_=y2.shape[1], _y_mean=y_mean, _y_scale=y_scale
            )
        y_train = torch.from_numpy(((y2 - y_mean) / y_scale).astype(np.float32))
        return y_train, y2.shape[1], fitted

    def _criterion(self):
        return LOSSES[self.loss], {"reduction": "none"}

    # -------------------------------------------------------------- predict

    def predict(self, X):
        """Predict one value (or row of values) per sequence.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps)
            Sequences, as for :meth:`fit`; 3-D sequences may be of another
            length than in training.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, 1-D when ``y`` was 1-D in :meth:`fit`.
        """
        out = self._forward(X)
        out *= self._y_scale
        out += self._y_mean
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _target_scaling(y, sample_weight, scale):
    n_outputs = y.shape[1]
    if not scale:
        return np.zeros(n_outputs), np.ones(n_outputs)
    mean = np.average(y, axis=0, weights=sample_weight)
    std = np.sqrt(np.average((y - mean) ** 2, axis=0, weights=sample_weight))
    # A constant target has nothing to standardise; keep its scale as is.
    std[~(std > 1e-12 * np.maximum(1.0, np.abs(mean)))] = 1.0
    return mean, std
