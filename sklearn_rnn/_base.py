"""The base of the network estimators: shared parameters, one training template
with hooks for what differs (the target, the loss), batched prediction, and
persistence.

Data flow one way: :mod:`._inputs` checks the sequences, :mod:`._training`
batches them for skorch, :mod:`._modules` is the network, and the subclasses
(:mod:`._regressor`, :mod:`._classifier`) encode the target and decode outputs.
"""

import inspect
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback, GradientNormClipping

from ._inputs import check_sequences, check_weights, relative_weights, set_input
from ._modules import CELLS, RecurrentNetwork
from ._persistence import restored_state, saved_state
from ._runtime import (
    OPTIMIZERS,
    accepts,
    default_dtype,
    optimizer_class,
    optimizer_params,
    resolve_device,
    row_tile,
    seed_from,
    seeded,
    thread_chooser,
    threads_restored,
)
from ._training import (
    BatchIterator,
    EarlyStopping,
    Progress,
    SequenceData,
    SequenceNet,
    TailSplit,
    infer_batches,
    n_parameters,
)
from ._validation import reject_bool

# The elements a prediction batch may hold: bounds the memory used beyond the
# input.
PREDICT_ELEMENTS = 1 << 21
# Prediction batches hold a multiple of this many rows (and are padded to a
# multiple of _runtime.row_tile, see _training.infer_batches).
ROW_TILE = 16
INT_PARAMS = ("hidden_size", "num_layers", "batch_size", "max_epochs", "n_iter_no_change")
# Names of the callbacks the estimator adds itself; a user's callbacks keep
# their own names.
INTERNAL_CALLBACKS = (
    "sklearn_rnn_grad_clip",
    "sklearn_rnn_early_stopping",
    "sklearn_rnn_progress",
)


class BaseRNN(BaseEstimator):
    """Base class of :class:`RNNRegressor` and :class:`RNNClassifier`.

    Subclasses define ``__init__`` (listing every parameter), and the hooks
    :meth:`_prepare_target` (the target as the network trains on it, and the
    fitted state it implies) and :meth:`_criterion` (the loss). Everything else,
    the training template, prediction batches, devices, seeding, threads and
    persistence, lives here once.
    """

    _parameter_constraints: dict = {
        "cell": [StrOptions(set(CELLS))],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "bidirectional": ["boolean"],
        "module": [None, type],
        "module_kwargs": [None, dict],
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
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "callbacks": [None, list],
    }

    def __init__(
        self,
        *,
        cell,
        hidden_size,
        num_layers,
        dropout,
        bidirectional,
        module,
        module_kwargs,
        optimizer,
        lr,
        weight_decay,
        max_grad_norm,
        batch_size,
        max_epochs,
        shuffle,
        early_stopping,
        validation_fraction,
        n_iter_no_change,
        tol,
        device,
        random_state,
        verbose,
        warm_start,
        callbacks,
    ):
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.module = module
        self.module_kwargs = module_kwargs
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
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks

    # ------------------------------------------------------------- hooks

    def _check_target(self, X, y, *, keep):
        """``y`` validated for sequences ``X`` (and, with ``keep``, against the
        fitted model)."""
        raise NotImplementedError

    def _prepare_target(self, y, sample_weight, *, keep):
        """The target as the network trains on it.

        Returns ``(y_train, n_network_outputs, fitted)``: a torch tensor with one
        row per sample, the width of the network's output, and the fitted
        attributes the target implies, set on the estimator only once training
        succeeds. With ``keep`` (a warm start or ``partial_fit``) the fitted
        target state is reused and ``y`` checked against it.
        """
        raise NotImplementedError

    def _criterion(self):
        """The skorch ``criterion`` and its ``criterion__*`` parameters; the
        criterion must return one loss per sample (``reduction="none"``)."""
        raise NotImplementedError

    # --------------------------------------------------------------- fit

    def _train(self, X, y, sample_weight, *, keep, epochs, validate=True):
        """The training template behind ``fit`` and ``partial_fit``.

        Nothing fitted is set until training succeeds: a failed call leaves the
        estimator as it was (unfitted, or the previous model).
        """
        reject_bool(self, INT_PARAMS)
        X, lengths, input_info = check_sequences(self, X, reset=not keep)
        y = self._check_target(X, y, keep=keep)
        sample_weight = check_weights(sample_weight, X)
        n_samples = X.shape[0]
        early_stopping = validate and self.early_stopping
        if early_stopping and n_samples < 2:
            raise ValueError(
                f"early_stopping=True needs at least 2 samples (one to train on, one to "
                f"validate); got {n_samples}. Pass more data or set early_stopping=False."
            )
        if self.module is not None:
            _check_module_class(self.module)
        optimizer_class(self.optimizer)
        device = resolve_device(self.device)
        callbacks = self._callbacks(early_stopping, epochs)
        y_train, n_outputs, fitted = self._prepare_target(y, sample_weight, keep=keep)
        weight = relative_weights(sample_weight)
        if weight is not None:
            weight = torch.from_numpy(weight.astype(np.float32))
        # Off the CPU, the training data move to the device once, not per batch.
        data = SequenceData(
            X, lengths, y_train, weight, device=None if device == "cpu" else device
        )

        seed = seed_from(self.random_state)
        if keep:
            net = self.net_
            seed = None if seed is None else seed + self.n_iter_
        else:
            net = None
        with seeded(seed, device), threads_restored(), torch.enable_grad():
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
            set_input(self, input_info)
            for name, value in fitted.items():
                setattr(self, name, value)
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
        optimizer = optimizer_class(self.optimizer)
        optimizer_kwargs = optimizer_params(optimizer, device, self.weight_decay)
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
        criterion, criterion_kwargs = self._criterion()
        net = SequenceNet(
            module=module,
            **{f"module__{k}": v for k, v in module_args.items()},
            criterion=criterion,
            **{f"criterion__{k}": v for k, v in criterion_kwargs.items()},
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
        net.pass_lengths = accepts(module.forward, "lengths")
        if self.module is not None:
            # Checked per batch for custom modules only: the built-in network
            # always returns (batch, n_outputs).
            net.n_outputs = n_outputs
        try:
            # float32 weights whatever the caller's torch.set_default_dtype.
            with default_dtype(torch.float32):
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
        grad_clip, stopping, progress = INTERNAL_CALLBACKS
        callbacks = []
        if self.max_grad_norm is not None:
            # First, so that every other callback sees the clipped gradients.
            callbacks.append((grad_clip, GradientNormClipping(self.max_grad_norm)))
        if early_stopping:
            callbacks.append((stopping, EarlyStopping(self.n_iter_no_change, self.tol)))
        if self.verbose:
            callbacks.append((progress, Progress(epochs, int(self.verbose))))
        for i, cb in enumerate(self.callbacks or ()):
            name, callback = cb if isinstance(cb, tuple) and len(cb) == 2 else (f"user_{i}", cb)
            if not isinstance(name, str) or not isinstance(callback, Callback):
                raise TypeError(
                    f"callbacks[{i}] must be a skorch Callback instance or a (name, "
                    f"Callback) pair; got {cb!r}."
                )
            callbacks.append((name, callback))
        return callbacks

    # ----------------------------------------------------------- predict

    def _forward(self, X):
        """The network's outputs for sequences ``X``, as float64 ``(n, n_outputs)``.

        Batches are sized by the network's activations and padded to whole row
        tiles, so that a row's output does not depend on the rows batched with it.
        """
        if not hasattr(self, "net_"):
            check_is_fitted(self)
        X, lengths, _ = check_sequences(self, X, reset=False)
        data = SequenceData(X, lengths)
        net = self.net_
        n_samples, n_steps, n_features = X.shape
        # A chunk's activations, not its input, dominate memory: the built-in
        # network keeps gates x hidden values per step for every sequence.
        width = n_features
        tile = None  # a custom module gets exactly the rows asked for
        if self.module is None:
            gates = {"lstm": 4, "gru": 3, "rnn": 1}[self.cell]
            width = max(width, gates * self.hidden_size * (2 if self.bidirectional else 1))
            tile = row_tile(net.device)
        rows = max(1, PREDICT_ELEMENTS // (n_steps * width) // ROW_TILE) * ROW_TILE
        steps = -(-n_samples // rows)
        work = 0 if steps == 1 else rows * n_steps * n_parameters(net.module_)
        with threads_restored():
            return infer_batches(net, data, rows, tile, thread_chooser(work, net.device, steps))

    # -------------------------------------------------- fitted state, pickling

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

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
        return saved_state(type(self).__name__, super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(restored_state(type(self).__name__, state))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.non_deterministic = self.random_state is None
        return tags


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
