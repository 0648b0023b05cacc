"""``RNNRegressor``: the one place where scikit-learn and PyTorch meet."""

import hashlib
import inspect
import pickle
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.exceptions import InconsistentVersionWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names,
    _check_sample_weight,
    _get_feature_names,
    check_array,
    check_consistent_length,
    check_is_fitted,
)
from skorch.callbacks import Callback

from ._modules import CELLS, RecurrentNetwork
from ._net import BatchIterator, EarlyStopping, Progress, SequenceData, SequenceNet, TailSplit
from ._validation import FLOAT_DTYPES, numeric_input, reject_bool
from ._version import __version__

LOSSES = {
    "squared_error": torch.nn.MSELoss,
    "absolute_error": torch.nn.L1Loss,
    "huber": torch.nn.HuberLoss,
}
OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}
# Rows of a 3-D array scanned at once for NaN structure, and the elements a
# prediction batch may hold: both bound the memory used beyond the input.
SCAN_ELEMENTS = 1 << 22
PREDICT_ELEMENTS = 1 << 21
# Prediction batches are padded to a multiple of this many rows (see predict).
ROW_TILE = 16
# Networks whose recurrent state is at most this wide train fastest on one
# thread: their matrix products are too small to share across cores.
SMALL_HIDDEN = 128
INT_PARAMS = ("hidden_size", "num_layers", "batch_size", "max_epochs", "n_iter_no_change")
FLOAT32_MAX = float(np.finfo(np.float32).max)


class RNNRegressor(RegressorMixin, BaseEstimator):
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
        caller's global random state is left as it was.

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
        "cell": [StrOptions(set(CELLS))],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "bidirectional": ["boolean"],
        "module": [None, type],
        "module_kwargs": [None, dict],
        "loss": [StrOptions(set(LOSSES))],
        "optimizer": [StrOptions(set(OPTIMIZERS)), type],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "max_grad_norm": [None, Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "scale_y": ["boolean"],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "callbacks": [None, list],
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
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.module = module
        self.module_kwargs = module_kwargs
        self.loss = loss
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.scale_y = scale_y
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks

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

    def _train(self, X, y, sample_weight, *, keep, epochs, validate=True):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        reject_bool(self, INT_PARAMS)
        X, lengths, input_info = self._check_X(X, reset=not keep)
        with numeric_input("y"):
            y = check_array(y, ensure_2d=False, dtype=FLOAT_DTYPES, input_name="y", estimator=self)
        if y.ndim > 2:
            raise ValueError(
                f"y must be 1-D (n_samples,) or 2-D (n_samples, n_outputs); got shape {y.shape}."
            )
        check_consistent_length(X, y)
        n_samples = X.shape[0]
        if sample_weight is not None:
            with numeric_input("sample_weight"):
                sample_weight = _check_sample_weight(
                    sample_weight, X, dtype=np.float64, ensure_non_negative=True
                )
        y2 = y.reshape(n_samples, -1)
        if keep and y2.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y2.shape[1]} output(s) but this model was fitted with "
                f"{self.n_outputs_}; fit a new model (warm_start=False) to change them."
            )
        early_stopping = validate and self.early_stopping
        if early_stopping and n_samples < 2:
            raise ValueError(
                f"early_stopping=True needs at least 2 samples (one to train on, one to "
                f"validate); got {n_samples}. Pass more data or set early_stopping=False."
            )
        if self.module is not None:
            _check_module_class(self.module)
        if not isinstance(self.optimizer, str) and not issubclass(
            self.optimizer, torch.optim.Optimizer
        ):
            raise TypeError(
                "optimizer must be one of "
                f"{sorted(OPTIMIZERS)} or a torch.optim.Optimizer subclass; got "
                f"{self.optimizer!r}."
            )
        device = resolve_device(self.device)
        callbacks = self._callbacks(early_stopping, epochs)

        # Nothing fitted is set until training succeeds: a failed call leaves the
        # estimator as it was (unfitted, or the previous model).
        if keep:
            target = self._y_1d, self.n_outputs_, self._y_mean, self._y_scale
        else:
            target = (y.ndim == 1, y2.shape[1], *_target_scaling(y2, sample_weight, self.scale_y))
        _, n_outputs, y_mean, y_scale = target
        y_scaled = torch.from_numpy(((y2 - y_mean) / y_scale).astype(np.float32))
        weight = None
        if sample_weight is not None:
            mean_weight = sample_weight.mean()
            if mean_weight <= 0:
                raise ValueError(
                    "sample_weight sums to zero: at least one sample needs a positive weight."
                )
            weight = torch.from_numpy((sample_weight / mean_weight).astype(np.float32))
        # Off the CPU, the training data move to the device once, not per batch.
        data = SequenceData(
            X, lengths, y_scaled, weight, device=None if device == "cpu" else device
        )

        seed = _seed(self.random_state)
        if keep:
            net = self.net_
            seed = None if seed is None else seed + self.n_iter_
        else:
            net = None
        with _seeded(seed, device), _thread_policy(self._threads()), torch.enable_grad():
            if net is None:
                net = self._build_net(device, X.shape[2], n_outputs)
            # Shuffling draws from torch's generator, so it follows random_state
            # (or the caller's torch.manual_seed when random_state is None).
            net.iterator_train__seed = int(torch.randint(0, 2**62, ()))
            net.set_params(
                train_split=TailSplit(self.validation_fraction) if early_stopping else None,
                callbacks=callbacks,
                batch_size=min(self.batch_size, n_samples),
                # A warm start continues with the parameters as they are now.
                lr=self.lr,
            )
            net.iterator_train__shuffle = self.shuffle
            if self.weight_decay or "weight_decay" in net.optimizer_.param_groups[0]:
                net.set_params(optimizer__weight_decay=self.weight_decay)
            net.max_grad_norm = self.max_grad_norm
            net.initialize_callbacks()
            try:
                net.partial_fit(data, None, epochs=epochs)
            except FloatingPointError as exc:
                raise ValueError(
                    f"Training diverged: the training loss became {exc.args[0]} in epoch "
                    f"{exc.args[1]}. Lower lr (now {self.lr}), set max_grad_norm to clip "
                    "gradients, or scale X (e.g. StandardScaler); keep scale_y=True for "
                    "targets of large magnitude. The model is left as it was before this call."
                ) from None

        if not keep:
            self._set_input(input_info)
            self._y_1d, self.n_outputs_, self._y_mean, self._y_scale = target
        self.net_ = net
        history = net.history
        self.n_iter_ = len(history)
        self.loss_curve_ = [float(row["train_loss"]) for row in history]
        self.validation_loss_curve_ = [
            float(row["valid_loss"]) for row in history if "valid_loss" in row
        ]
        if net.interrupted_:
            warnings.warn(
                f"Training was interrupted; the model keeps the weights of the last "
                f"completed epoch ({self.n_iter_}).",
                UserWarning,
                stacklevel=3,
            )
        return self

    def _build_net(self, device, n_features, n_outputs):
        if self.module is None:
            module = RecurrentNetwork
            module_kwargs = dict(
                cell=self.cell,
                hidden_size=self.hidden_size,
                num_layers=self.num_layers,
                dropout=self.dropout,
                bidirectional=self.bidirectional,
            )
        else:
            module = self.module
            module_kwargs = dict(self.module_kwargs or {})
            clash = sorted({"n_features", "n_outputs"} & set(module_kwargs))
            if clash:
                raise TypeError(
                    f"module_kwargs must not set {' or '.join(clash)}: the model passes "
                    f"n_features={n_features} and n_outputs={n_outputs} from the data. "
                    "Remove them from module_kwargs."
                )
        optimizer = OPTIMIZERS.get(self.optimizer, self.optimizer)
        optimizer_kwargs = _fused_optimizer(optimizer, device)
        if self.weight_decay:
            if not _accepts(optimizer, "weight_decay"):
                raise ValueError(
                    f"weight_decay={self.weight_decay} was given, but optimizer "
                    f"{optimizer.__name__} takes no weight_decay argument; set "
                    "weight_decay=0.0 or choose an optimizer that supports it."
                )
            optimizer_kwargs["optimizer__weight_decay"] = self.weight_decay
        module_args = dict(n_features=n_features, n_outputs=n_outputs, **module_kwargs)
        try:
            inspect.signature(module).bind(**module_args)
        except TypeError as exc:
            raise TypeError(
                f"Could not build module {module.__name__!r} as "
                f"module(n_features={n_features}, n_outputs={n_outputs}, "
                f"**{module_kwargs!r}): {exc}. Its __init__ must accept n_features and "
                "n_outputs, and module_kwargs must match its other arguments."
            ) from None
        net = SequenceNet(
            module=module,
            **{f"module__{k}": v for k, v in module_args.items()},
            criterion=LOSSES[self.loss],
            criterion__reduction="none",
            optimizer=optimizer,
            **optimizer_kwargs,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train=BatchIterator,
            iterator_train__shuffle=self.shuffle,
            iterator_valid=BatchIterator,
            dataset=SequenceData,
            train_split=None,
            device=device,
            verbose=0,
        )
        net.pass_lengths = _accepts(module.forward, "lengths")
        net.max_grad_norm = self.max_grad_norm
        if self.module is not None:
            # Checked per batch for custom modules only: the built-in network
            # always returns (batch, n_outputs).
            net.n_outputs = n_outputs
        try:
            # float32 weights whatever the caller's torch.set_default_dtype.
            with _default_dtype(torch.float32):
                net.initialize()
        except ValueError as exc:
            built = getattr(net, "module_", None)
            if isinstance(built, torch.nn.Module) and not any(
                p.requires_grad for p in built.parameters()
            ):
                raise ValueError(
                    f"module {module.__name__} has no trainable parameters, so there is "
                    "nothing to train; give it at least one torch.nn.Parameter (e.g. an "
                    "nn.Linear head)."
                ) from exc
            raise
        return net

    def _callbacks(self, early_stopping, epochs):
        callbacks = []
        if early_stopping:
            callbacks.append(("early_stopping", EarlyStopping(self.n_iter_no_change, self.tol)))
        if self.verbose:
            callbacks.append(("progress", Progress(epochs, int(self.verbose))))
        for i, cb in enumerate(self.callbacks or ()):
            name, callback = cb if isinstance(cb, tuple) and len(cb) == 2 else (f"user_{i}", cb)
            if not isinstance(name, str) or not isinstance(callback, Callback):
                raise TypeError(
                    f"callbacks[{i}] must be a skorch Callback instance or a (name, "
                    f"Callback) pair; got {cb!r}."
                )
            callbacks.append((name, callback))
        return callbacks

    def _threads(self):
        width = self.hidden_size * (2 if self.bidirectional else 1)
        if self.module is None and width <= SMALL_HIDDEN:
            return 1
        return None

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
        check_is_fitted(self)
        X, lengths, _ = self._check_X(X, reset=False)
        data = SequenceData(X, lengths)
        net = self.net_
        n_samples, n_steps, n_features = X.shape
        # A chunk's activations, not its input, dominate memory: the built-in
        # network keeps gates x hidden values per step for every sequence.
        width = n_features
        if self.module is None:
            gates = {"lstm": 4, "gru": 3, "rnn": 1}[self.cell]
            width = max(width, gates * self.hidden_size * (2 if self.bidirectional else 1))
        rows = max(1, PREDICT_ELEMENTS // (n_steps * width) // ROW_TILE) * ROW_TILE
        out = np.empty((n_samples, self.n_outputs_), dtype=np.float64)
        module = net.module_
        training = module.training
        if training:
            module.eval()
        try:
            with torch.inference_mode(), _thread_policy(self._threads()):
                for start in range(0, n_samples, rows):
                    (Xb, lb), _ = data.batch(slice(start, start + rows))
                    n = len(lb)
                    if n % ROW_TILE and self.module is None:
                        # Matrix kernels round the rows of a partial tile
                        # differently; whole tiles make each row's prediction
                        # independent of the rows it is batched with. (A
                        # custom module gets exactly the rows asked for.)
                        fill = ROW_TILE - n % ROW_TILE
                        Xb = torch.cat([Xb, Xb.new_zeros((fill, *Xb.shape[1:]))])
                        lb = torch.cat([lb, lb.new_full((fill,), n_steps)])
                    out[start : start + n] = net.infer((Xb, lb))[:n].cpu().numpy()
        finally:
            if training:
                module.train()
        out *= self._y_scale
        out += self._y_mean
        return out[:, 0] if self._y_1d else out

    # ---------------------------------------------------------- validation

    def _check_X(self, X, *, reset):
        """Validate X; return it as 3-D (n, steps, features), the observed lengths,
        and what fit records about it (set by :meth:`_set_input` once fit succeeds)."""
        # A float ndarray such as the windower's has nothing for check_array to
        # convert and no names to compare: skipping them saves about 250 us,
        # most of the fixed cost of a one-window predict.
        plain = (
            not reset
            and type(X) is np.ndarray
            and X.ndim == 3
            and X.dtype in (np.float32, np.float64)
            and X.size > 0
            and not hasattr(self, "feature_names_in_")
        )
        names = _get_feature_names(X) if reset else None
        if not plain:
            if not reset:
                _check_feature_names(self, X, reset=False)
            with numeric_input("X"):
                X = check_array(
                    X,
                    dtype=FLOAT_DTYPES,
                    allow_nd=True,
                    ensure_all_finite=False,
                    input_name="X",
                    estimator=self,
                )
        if X.ndim == 2:
            # 2-D input has no padding convention: NaN there is an error.
            try:
                X = check_array(X, dtype=None, input_name="X", estimator=self)
            except ValueError as exc:
                if "NaN" not in str(exc):
                    raise
                raise ValueError(
                    "Input X contains NaN. 2-D X holds fixed-length univariate "
                    "sequences, so NaN there is not padding: pass 3-D X of shape "
                    "(n_samples, n_timesteps, 1) with leading NaN steps for shorter "
                    "sequences (as SequenceWindower makes), or impute the values."
                ) from None
        ndim = X.ndim
        if ndim == 2:
            n_features_in = X.shape[1]
            X = X[:, :, None]
            lengths = observed_lengths(X)
        elif X.ndim == 3:
            n_features_in = X.shape[2]
            if X.shape[1] == 0 or X.shape[2] == 0:
                raise ValueError(
                    f"X has shape {X.shape}: each sample needs at least one time step "
                    "and one feature."
                )
            lengths = observed_lengths(X)
        else:
            raise ValueError(
                f"X must be 2-D (n_samples, n_timesteps) or 3-D (n_samples, "
                f"n_timesteps, n_features); got {X.ndim} dimensions, shape {X.shape}."
            )
        if reset:
            return X, lengths, (n_features_in, ndim, names)
        if n_features_in != self.n_features_in_ or (self._input_ndim == 3 and ndim != 3):
            expected = (
                f"3-D X with {self.n_features_in_} feature(s) on the last axis"
                if self._input_ndim == 3
                else f"2-D X with {self.n_features_in_} columns (time steps)"
            )
            got = f"{ndim}-D X of shape {X.shape[:ndim]}"
            raise ValueError(
                f"X has {n_features_in} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input: it was fitted on "
                f"{expected}; got {got}."
            )
        return X, lengths, None

    def _set_input(self, info):
        self.n_features_in_, self._input_ndim, names = info
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    # -------------------------------------------------------------- pickling

    @property
    def module_(self):
        """The trained PyTorch module (``net_.module_``)."""
        check_is_fitted(self)
        return self.net_.module_

    @property
    def device_(self):
        """The device the model lives on."""
        check_is_fitted(self)
        return str(self.net_.device)

    def __getstate__(self):
        # The state travels as one pickled payload with its SHA-256, so that a
        # file damaged after saving is refused with a clear error instead of
        # failing deep inside pickle/torch or loading altered weights.
        payload = pickle.dumps(super().__getstate__(), protocol=pickle.HIGHEST_PROTOCOL)
        return {
            "_sklearn_rnn_version": __version__,
            "payload": payload,
            "sha256": hashlib.sha256(payload).hexdigest(),
        }

    def __setstate__(self, state):
        version = state.pop("_sklearn_rnn_version", "pre-0.1")
        if "payload" in state or "sha256" in state:
            payload = state.get("payload")
            if not isinstance(payload, bytes) or (
                hashlib.sha256(payload).hexdigest() != state.get("sha256")
            ):
                raise ValueError(
                    f"Cannot load {type(self).__name__}: the saved model is corrupted "
                    "(its checksum does not match), so the file was damaged after it was "
                    "written. Load an intact copy, or fit the model again."
                )
            state = pickle.loads(payload)
        if version != __version__:
            warnings.warn(
                _VersionWarning(
                    estimator_name=type(self).__name__,
                    current_sklearn_version=__version__,
                    original_sklearn_version=version,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        tags.non_deterministic = self.random_state is None
        return tags


class _VersionWarning(InconsistentVersionWarning):
    """Loading a model pickled under another sklearn_rnn version."""

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from sklearn_rnn "
            f"version {self.original_sklearn_version} when using version "
            f"{self.current_sklearn_version}. This might lead to breaking code or "
            "invalid results. Use at your own risk: refit the model with this version, "
            "or load it with the version that saved it."
        )


def observed_lengths(X):
    """Observed steps per sequence of a 3-D float array, checking its values.

    Leading all-NaN steps are padding. Any inf, a step only partly NaN, a NaN
    step after an observed one, a sequence with no observed step, or a value
    beyond float32's range (the network's precision, where it would become
    inf) raises ValueError. Scans a bounded number of rows at a time, so a
    strided view (the windower's output) is never expanded whole.
    """
    n_samples, n_steps, n_features = X.shape
    lengths = np.full(n_samples, n_steps, dtype=np.int64)
    rows = max(1, SCAN_ELEMENTS // (n_steps * n_features))
    for start in range(0, n_samples, rows):
        block = X[start : start + rows]
        if block.size and -FLOAT32_MAX <= block.min() and block.max() <= FLOAT32_MAX:
            continue  # all finite, in range: the common case, two passes, no copies
        if np.isinf(block).any():
            raise ValueError(
                "X contains infinity. Only leading NaN steps (padding) are allowed in "
                "3-D X; replace or drop the infinite values."
            )
        with np.errstate(invalid="ignore"):
            peak = np.nanmax(np.abs(block), initial=0.0)
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
                f"X[{start + partial[0]}] has a time step with only some features NaN. "
                "NaN may only fill whole leading steps (padding before the first "
                "observation); impute missing values before the network."
            )
        n_leading = np.argmin(step_missing, axis=1)
        empty = np.flatnonzero(step_missing.all(axis=1))
        if empty.size:
            raise ValueError(
                f"X[{start + empty[0]}] has no observed time step (all NaN). Each "
                "sequence needs at least one observed step; drop such samples."
            )
        inner = np.flatnonzero(step_missing.sum(axis=1) != n_leading)
        if inner.size:
            raise ValueError(
                f"X[{start + inner[0]}] has a NaN step after an observed one. NaN may "
                "only fill leading steps (padding before the first observation); "
                "impute missing values inside a sequence before the network."
            )
        lengths[start : start + len(block)] -= n_leading
    return lengths


def resolve_device(device):
    """The torch device string for the ``device`` parameter, checked."""
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if device == "cpu":
        return "cpu"
    if device == "cuda" or device.startswith("cuda:"):
        index = device[5:]
        if index and not index.isdigit():
            raise ValueError(
                f"device={device!r} is not a valid CUDA device; use 'cuda' or 'cuda:N'."
            )
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available on this "
                "machine (torch.cuda.is_available() is False). Use device='auto' or "
                "device='cpu'."
            )
        if index and int(index) >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but only {torch.cuda.device_count()} "
                "CUDA device(s) are visible."
            )
        return device
    if device == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(
                "device='mps' was requested but MPS is not available on this machine. "
                "Use device='auto' or device='cpu'."
            )
        return "mps"
    raise ValueError(
        f"device={device!r} is not supported; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
    )


def _fused_optimizer(optimizer, device):
    """``optimizer__fused=True`` where this torch has a fused Adam/AdamW kernel for
    ``device`` (on the CPU since torch 2.4): the same update in one kernel instead
    of a dozen small ones per parameter tensor."""
    if optimizer not in (torch.optim.Adam, torch.optim.AdamW):
        return {}
    try:
        optimizer([torch.zeros(1, device=device, requires_grad=True)], fused=True)
    except (RuntimeError, TypeError, ValueError):
        return {}
    return {"optimizer__fused": True}


def _check_module_class(module):
    if not (isinstance(module, type) and issubclass(module, torch.nn.Module)):
        raise TypeError(
            f"module must be a torch.nn.Module subclass (the class, not an instance); "
            f"got {module!r}."
        )
    if module.forward is torch.nn.Module.forward:
        raise TypeError(
            f"module {module.__name__} defines no forward method; it needs "
            "forward(X) (or forward(X, lengths)) returning (batch, n_outputs)."
        )


def _accepts(function, name):
    """Whether ``function`` takes keyword ``name`` (or ``**kwargs``)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def _target_scaling(y, sample_weight, scale):
    n_outputs = y.shape[1]
    if not scale:
        return np.zeros(n_outputs), np.ones(n_outputs)
    mean = np.average(y, axis=0, weights=sample_weight)
    std = np.sqrt(np.average((y - mean) ** 2, axis=0, weights=sample_weight))
    # A constant target has nothing to standardise; keep its scale as is.
    std[~(std > 1e-12 * np.maximum(1.0, np.abs(mean)))] = 1.0
    return mean, std


def _seed(random_state):
    if random_state is None:
        return None
    if isinstance(random_state, Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(2**31 - 1))


@contextmanager
def _seeded(seed, device):
    """Seed torch for the block without touching the caller's random state."""
    if seed is None:
        yield
        return
    devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
    with torch.random.fork_rng(devices=devices, device_type="cuda"):
        torch.manual_seed(seed)
        yield


@contextmanager
def _temporarily(get, set_, value):
    """Run with ``set_(value)`` (None: as it is), then restore what ``get()`` gave."""
    before = get()
    if value is None or value == before:
        yield
        return
    set_(value)
    try:
        yield
    finally:
        set_(before)


def _thread_policy(n_threads):
    """Run with ``n_threads`` intra-op threads (None: as set), then restore."""
    return _temporarily(torch.get_num_threads, torch.set_num_threads, n_threads)


def _default_dtype(dtype):
    return _temporarily(torch.get_default_dtype, torch.set_default_dtype, dtype)
