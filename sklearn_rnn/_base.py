"""The base of the network estimators: shared parameters, one training template
with hooks for what differs (the target, the loss), batched prediction, and
persistence.

Data flow one way: :mod:`._inputs` checks the sequences, :mod:`._training`
batches them for skorch, :mod:`._modules` is the network, and the subclasses
(:mod:`._regressor`, :mod:`._classifier`) encode the target and decode outputs.
"""

import copy
import inspect
import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback, GradientNormClipping

from ._inputs import (
    UNKNOWN_ID,
    check_sequences,
    check_weights,
    relative_weights,
    set_input,
)
from ._modules import CELLS, ROW_TILE, RecurrentNetwork
from ._persistence import restored_state, saved_state
from ._runtime import (
    OPTIMIZERS,
    TorchRandom,
    accepts,
    default_dtype,
    loadable_device,
    on_cpu,
    optimizer_class,
    optimizer_params,
    resolve_device,
    row_tile,
    same_device,
    seed_from,
    threads_restored,
)
from ._training import (
    BatchIterator,
    EarlyStopping,
    Progress,
    SequenceData,
    SequenceNet,
    TailSplit,
    WeightAveraging,
    evaluating,
    infer_batches,
    load_network_state,
    network_state,
    prediction_threads,
    training_threads,
    with_zero_rows,
)
from ._validation import reject_bool

# The elements a prediction batch may hold: bounds the memory used beyond the
# input.
PREDICT_ELEMENTS = 1 << 21
INT_PARAMS = (
    "hidden_size",
    "num_layers",
    "batch_size",
    "max_epochs",
    "n_iter_no_change",
    "time_axis",
    "embedding_dim",
    "n_tokens",
)
# The parameters that make the network: recorded at fit (``_fitted_params``),
# what predict and loading build from, and what continued training cannot change.
BUILT_IN_PARAMS = (
    "cell",
    "hidden_size",
    "num_layers",
    "dropout",
    "bidirectional",
    "linear_skip",
    "head_dropout",
)
NETWORK_PARAMS = ("module", "module_kwargs", "optimizer", "embedding_dim", *BUILT_IN_PARAMS)
# Names of the callbacks the estimator adds itself; a user's callbacks keep
# their own names.
INTERNAL_CALLBACKS = (
    "sklearn_rnn_grad_clip",
    "sklearn_rnn_early_stopping",
    "sklearn_rnn_average",
    "sklearn_rnn_progress",
)


class BaseRNN(BaseEstimator):
    """Base class of :class:`RNNRegressor` and :class:`RNNClassifier`.

    Subclasses define ``__init__`` (listing every parameter), and the hooks
    :meth:`_prepare_target` (the target as the network trains on it, and the
    fitted state it implies), :meth:`_criterion` (the loss), and optionally
    :meth:`_sample_weight` (per-sample weights the target implies),
    :meth:`_configure_net` and :meth:`_init_net`. Everything else,
    the training template, prediction batches, devices, seeding, threads and
    persistence, lives here once.
    """

    _parameter_constraints: dict = {
        "cell": [StrOptions(set(CELLS))],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "head_dropout": [Interval(Real, 0, 1, closed="left")],
        "bidirectional": ["boolean"],
        "linear_skip": ["boolean"],
        "module": [None, type],
        "module_kwargs": [None, dict],
        "optimizer": [StrOptions(set(OPTIMIZERS)), type],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "max_grad_norm": [None, Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "average": [Interval(Real, 0, 1, closed="both")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "callbacks": [None, list],
        "time_axis": [Options(Integral, {1, -1})],
        "newest_first": ["boolean"],
        "embedding_dim": [None, Interval(Integral, 1, None, closed="left")],
        "n_tokens": [None, Interval(Integral, 2, None, closed="left")],
    }

    def __init__(
        self,
        *,
        cell,
        hidden_size,
        num_layers,
        dropout,
        bidirectional,
        linear_skip,
        head_dropout,
        module,
        module_kwargs,
        optimizer,
        lr,
        weight_decay,
        max_grad_norm,
        batch_size,
        max_epochs,
        shuffle,
        average,
        early_stopping,
        validation_fraction,
        n_iter_no_change,
        tol,
        device,
        random_state,
        verbose,
        warm_start,
        callbacks,
        time_axis,
        newest_first,
        embedding_dim,
        n_tokens,
    ):
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.linear_skip = linear_skip
        self.head_dropout = head_dropout
        self.module = module
        self.module_kwargs = module_kwargs
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.shuffle = shuffle
        self.average = average
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.time_axis = time_axis
        self.newest_first = newest_first
        self.embedding_dim = embedding_dim
        self.n_tokens = n_tokens

    # ------------------------------------------------------------- hooks

    def _check_target(self, X, y, *, keep):
        """``y`` validated for sequences ``X`` (and, with ``keep``, against the
        fitted model)."""
        raise NotImplementedError

    def _prepare_target(self, X, lengths, y, sample_weight, *, keep, train_rows):
        """The target as the network trains on it.

        Returns ``(y_train, n_network_outputs, fitted)``: a torch tensor with one
        row per sample, the width of the network's output, and the fitted
        attributes the target implies, set on the estimator only once training
        succeeds. Every statistic is fitted on the rows ``train_rows`` only (a
        slice; with early stopping, the rest validate). With ``keep`` (a warm start
        or ``partial_fit``) the fitted target state is reused and ``y``
        checked against it.
        """
        raise NotImplementedError

    def _sample_weight(self, y, sample_weight, *, keep):
        """The weights the loss uses, from the checked ``y`` and ``sample_weight``
        (None or float64): the classifier folds its ``class_weight`` in here.
        ``keep`` as for :meth:`_check_target`."""
        return sample_weight

    def _configure_net(self, net, fitted):
        """Attach what the net needs of the ``fitted`` state (the fitted
        attributes of :meth:`_prepare_target`); on every fit and on loading."""

    def _init_net(self, net, data, train_rows):
        """Initialise a new net's weights from the rows ``train_rows`` (a slice)
        of ``data`` before training (optional)."""

    # Parameters of the subclass that continued training cannot change (they
    # shaped the fitted target state), recorded with the network's in
    # ``_fitted_params``; see _check_continuable.
    _fixed_target_params = ()
    # The built-in network's start of its input weights (RecurrentNetwork's
    # input_init).
    _input_init = "torch"

    def _criterion(self):
        """The skorch ``criterion`` and its ``criterion__*`` parameters; the
        criterion must return one loss per sample (``reduction="none"``)."""
        raise NotImplementedError

    # --------------------------------------------------------------- fit

    @torch.inference_mode(False)
    @torch.enable_grad()
    def _train(self, X, y, sample_weight, *, keep, epochs, validate=True):
        """The training template behind ``fit`` and ``partial_fit``.

        Nothing fitted is set until training succeeds: a failed call leaves the
        estimator as it was (unfitted, or the previous model). Training needs
        autograd, so it runs with it whatever the caller's mode
        (``torch.no_grad``, ``torch.inference_mode``).
        """
        reject_bool(self, INT_PARAMS)
        if self.module is None and self.module_kwargs:
            raise ValueError(
                f"module_kwargs={self.module_kwargs!r} was given without module: they are "
                "the keyword arguments of a custom module class. Set module to your "
                "torch.nn.Module subclass, or remove module_kwargs."
            )
        X, lengths, input_info = check_sequences(self, X, reset=not keep)
        device = resolve_device(self.device)
        if keep:
            self._check_continuable(device)
        n_tokens = self._check_token_range(X, keep=keep)
        y = self._check_target(X, y, keep=keep)
        sample_weight = self._sample_weight(y, check_weights(sample_weight, X), keep=keep)
        n_samples = X.shape[0]
        early_stopping = validate and self.early_stopping
        if early_stopping and n_samples < 2:
            raise ValueError(
                f"early_stopping=True needs at least 2 samples (one to train on, one to "
                f"validate); got {n_samples} sample. Pass more data or set early_stopping=False."
            )
        if self.module is not None:
            _check_module_class(self.module)
        optimizer_class(self.optimizer)
        # Early stopping validates on the last rows: nothing is fitted on them,
        # nor on rows of weight zero (as if dropped).
        n_train = n_samples
        if early_stopping:
            n_train = TailSplit(self.validation_fraction).n_train(n_samples)
        weight, weight_scale = relative_weights(
            sample_weight, n_train, self._fitted_params.get("weight_scale") if keep else None
        )
        y_fitted = (
            y[:n_train] if sample_weight is None else y[:n_train][sample_weight[:n_train] > 0]
        )
        callbacks = self._callbacks(early_stopping, epochs, self._average_share(y_fitted))
        y_train, n_outputs, fitted = self._prepare_target(
            X, lengths, y, sample_weight, keep=keep, train_rows=slice(0, n_train)
        )
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
            network = self._fitted_params
        else:
            net = None
            network = {
                name: copy.deepcopy(getattr(self, name))
                for name in (*NETWORK_PARAMS, *self._fixed_target_params)
            }
            network["n_steps"] = X.shape[1]
            network["n_tokens"] = n_tokens
            network["weight_scale"] = weight_scale
        random = TorchRandom(seed, device)
        with threads_restored():
            with random.drawing():
                if net is None:
                    net = self._build_net(device, _n_features(X), n_outputs, network)
                # Shuffling draws from torch's generator, so it follows random_state
                # (or the caller's torch.manual_seed when random_state is None).
                net.iterator_train__seed = int(torch.randint(0, 2**62, ()))
            # The thread count of the whole fit: one thread for small networks
            # (set here, so that the initial fit of the linear skip runs on it
            # too), timed batches for large ones (see _training.ThreadTuning).
            net.thread_chooser = training_threads(
                net, data, min(self.batch_size, n_samples), epochs
            )
            if net.thread_chooser is not None:
                net.thread_chooser.set_next()
            self._configure_net(net, fitted)
            if keep:
                # A warm start trains on with the loss as it is now.
                self._set_criterion(net)
            else:
                self._init_net(net, data, slice(0, n_train))
            # Dropout (and whatever a custom module does) draws in every
            # training forward pass.
            draws = (
                network["module"] is not None
                or (network["dropout"] > 0 and network["num_layers"] > 1)
                or network["head_dropout"] > 0
            )
            net.random_draws = random.drawing if draws else None
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
            finally:
                net.thread_chooser = None

        if not keep:
            set_input(self, input_info)
            for name, value in fitted.items():
                setattr(self, name, value)
            self._fitted_params = network
            self._network_io = (_n_features(X), n_outputs)
            if n_tokens is not None:
                self.n_tokens_ = n_tokens
            elif hasattr(self, "n_tokens_"):
                del self.n_tokens_
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

    def _check_continuable(self, device):
        """Continued training (a warm start, ``partial_fit``) trains the fitted
        network: a changed parameter that would build another one is an error,
        not silently ignored."""
        fitted = self._fitted_params
        names = ["module", "optimizer", "embedding_dim", *self._fixed_target_params]
        names += list(BUILT_IN_PARAMS) if fitted["module"] is None else ["module_kwargs"]
        changed = []
        for name in names:
            now, then = getattr(self, name), fitted.get(name)
            if name == "optimizer":
                now, then = optimizer_class(now), optimizer_class(then)
            shown = then
            if name == "target_features":
                # 0, [0], (0,) and np.array([0]) name the same feature.
                now, then = _feature_list(now), _feature_list(then)
            if not _equal(now, then):
                changed.append(f"{name}={getattr(self, name)!r} (fitted with {shown!r})")
        # None takes the number from the data: the fitted embedding's, on continuing.
        if (
            fitted.get("embedding_dim") is not None
            and self.n_tokens is not None
            and not _equal(self.n_tokens, fitted.get("n_tokens"))
        ):
            changed.append(f"n_tokens={self.n_tokens!r} (fitted with {fitted.get('n_tokens')!r})")
        if not same_device(device, self.device_):
            changed.append(f"device={self.device!r} (the model is on {self.device_!r})")
        if changed:
            raise ValueError(
                f"Continued training (warm_start=True or partial_fit) trains the fitted "
                f"network further, but these parameters have changed since it was fitted: "
                f"{'; '.join(changed)}. Set warm_start=False and call fit to train a new "
                "network with them, or set them back."
            )

    def _check_token_range(self, X, *, keep):
        """The embedding's number of rows for token ids ``X`` (None for float
        input): the fitted ``n_tokens_`` when training on, else ``n_tokens``,
        or the largest id of ``X`` plus one (at least 2: padding and unknown)."""
        if X.dtype.kind not in "iu":
            return None
        largest = int(X.max()) if X.size else 0
        if keep:
            n_tokens, where = self.n_tokens_, "the fitted n_tokens_"
        elif self.n_tokens is not None:
            n_tokens, where = self.n_tokens, "n_tokens"
        else:
            return max(largest + 1, 2)
        if largest >= n_tokens:
            raise ValueError(
                f"X holds the token id {largest}, but the embedding has {where}="
                f"{n_tokens} rows (ids 0 to {n_tokens - 1}). Pass n_tokens="
                "TextSequencer's n_tokens_ (or None to take it from the data), and fit "
                "a new model (warm_start=False) for a larger vocabulary."
            )
        return n_tokens

    def _set_criterion(self, net):
        criterion, criterion_kwargs = self._criterion()
        for key in [key for key in vars(net) if key.startswith("criterion__")]:
            delattr(net, key)
        net.criterion = criterion
        for key, value in criterion_kwargs.items():
            setattr(net, f"criterion__{key}", value)
        # Rebuilds the criterion only: the optimizer keeps its state.
        net.initialize_criterion()
        net.criterion_ = net.criterion_.to(net.device)

    def _build_net(self, device, n_features, n_outputs, network):
        """A new skorch net for the network described by ``network`` (the
        values of NETWORK_PARAMS), on ``device``."""
        if network["module"] is None:
            module = RecurrentNetwork
            module_kwargs = {name: network[name] for name in BUILT_IN_PARAMS}
            # The skip reads as many steps as the training sequences had.
            module_kwargs["skip_steps"] = module_kwargs.pop("linear_skip") and network["n_steps"]
            module_kwargs["input_init"] = self._input_init
            if network.get("embedding_dim") is not None:
                module_kwargs["n_tokens"] = network["n_tokens"]
                module_kwargs["embedding_dim"] = network["embedding_dim"]
                module_kwargs["skip_steps"] = 0
        else:
            module = network["module"]
            module_kwargs = dict(network["module_kwargs"] or {})
            clash = sorted({"n_features", "n_outputs"} & set(module_kwargs))
            if clash:
                raise TypeError(
                    f"module_kwargs must not set {' or '.join(clash)}: the model passes "
                    f"n_features={n_features} and n_outputs={n_outputs} from the data. "
                    "Remove them from module_kwargs."
                )
            if network.get("embedding_dim") is not None:
                # A custom module reading token ids gets the vocabulary size and
                # the embedding width if its __init__ takes them.
                for name, value in (
                    ("n_tokens", network["n_tokens"]),
                    ("embedding_dim", network["embedding_dim"]),
                ):
                    if name not in module_kwargs and accepts(module, name):
                        module_kwargs[name] = value
        optimizer = optimizer_class(network["optimizer"])
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
        net.token_input = network.get("embedding_dim") is not None
        if network["module"] is not None:
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

    def _average_share(self, y):
        """The share of the epochs whose weights are averaged (``average``) in
        a fit on targets ``y``."""
        return self.average

    def _callbacks(self, early_stopping, epochs, average_share):
        grad_clip, stopping, average, progress = INTERNAL_CALLBACKS
        callbacks = []
        if self.max_grad_norm is not None:
            # First, so that every other callback sees the clipped gradients.
            callbacks.append((grad_clip, GradientNormClipping(self.max_grad_norm)))
        if early_stopping:
            callbacks.append((stopping, EarlyStopping(self.n_iter_no_change, self.tol)))
        else:
            averaged = math.ceil(average_share * epochs)
            if averaged > 1:
                # Before the user's callbacks: their on_train_end sees the mean.
                callbacks.append((average, WeightAveraging(epochs - averaged)))
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
            # What the user gave the callback; what the fit adds is not saved.
            given = self.__dict__.setdefault("_callback_attributes", {})
            given.setdefault(id(callback), set(vars(callback)))
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
        order = None
        if X.dtype.kind in "iu":
            unseen = X >= self.n_tokens_
            if unseen.any():
                # Ids the embedding has no row for are unknown tokens.
                X = np.where(unseen, UNKNOWN_ID, X)
            if len(lengths) and int(lengths.min()) < X.shape[1]:
                # In order of length: each batch is cut to its longest
                # sequence, so similar lengths batched together cost their length.
                order = np.argsort(lengths, kind="stable")
                X, lengths = X[order], lengths[order]
        net = self.net_
        n_samples, n_steps = X.shape[:2]
        n_features = _n_features(X)
        # A chunk's activations, not its input, dominate memory: the built-in
        # network keeps gates x hidden values per step for every sequence. The
        # fitted network's, whatever the parameters say now.
        network = self._fitted_params
        width = n_features if network.get("embedding_dim") is None else network["embedding_dim"]
        tile = None  # a custom module gets exactly the rows asked for
        if network["module"] is None:
            gates = {"lstm": 4, "gru": 3, "rnn": 1}[network["cell"]]
            directions = 2 if network["bidirectional"] else 1
            width = max(width, gates * network["hidden_size"] * directions)
            tile = row_tile(net.device)
        rows = max(1, PREDICT_ELEMENTS // (n_steps * width) // ROW_TILE) * ROW_TILE
        # One chunk (a one-window forecast, say) is latency: it runs on one
        # thread, untimed, as the chooser would run it, without the chooser.
        one_chunk = n_samples <= rows and on_cpu(net.device)
        if (
            one_chunk
            and tile is not None
            and net.window_norm is None
            and X.dtype.kind == "f"
            and int(lengths.min()) == n_steps
        ):
            # The built-in network reads full-length float sequences the same
            # with or without their lengths: the tile goes to the module as it
            # is, without the batching around it.
            Xb = torch.from_numpy(with_zero_rows(X, -n_samples % tile))
            with threads_restored(1), evaluating(net.module_):
                return net.module_(Xb).numpy()[:n_samples].astype(np.float64)
        data = SequenceData(X, lengths)
        with threads_restored(1 if one_chunk else None):
            chooser = None if one_chunk else prediction_threads(net, data, rows)
            out = infer_batches(net, data, rows, tile, chooser)
        if order is not None:
            out[order] = out.copy()
        return out

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
        """Plain data (see :mod:`._persistence`): the parameters, the fitted
        attributes, and instead of the skorch net its weights, optimizer state
        and history as numpy arrays and lists."""
        state = dict(super().__getstate__())
        given = state.pop("_callback_attributes", {})
        if state.get("callbacks"):
            state["callbacks"] = [_as_given(callback, given) for callback in state["callbacks"]]
        net = state.pop("net_", None)
        if net is not None:
            state["_network_state"] = network_state(net)
        return saved_state(state)

    def __setstate__(self, state):
        state = restored_state(type(self).__name__, state)
        network = state.pop("_network_state", None)
        super().__setstate__(state)
        if network is not None:
            self.net_ = self._restore_net(network)

    @torch.inference_mode(False)
    def _restore_net(self, network):
        """The skorch net rebuilt from the fitted parameters, with the saved
        weights, optimizer state and history, on the saved device where there
        is one here (else on the CPU, with a warning)."""
        device = loadable_device(network["device"], type(self).__name__)
        n_features, n_outputs = self._network_io
        # The initial weights are overwritten: draw them without touching the
        # caller's generators.
        with TorchRandom(0, device).drawing():
            net = self._build_net(device, n_features, n_outputs, self._fitted_params)
        self._configure_net(net, vars(self))
        load_network_state(net, network)
        net.module_.eval()
        return net

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.non_deterministic = self.random_state is None
        return tags


def _as_given(callback, given):
    """A user's callback (or ``(name, callback)`` pair) without what fits built
    in it: skorch callbacks keep that in attributes ending in ``_`` (a
    learning-rate scheduler holding the optimizer and its tensors, scores),
    which would put torch objects in the saved state. ``given``: the names of
    each callback's attributes before its first fit (by ``id``); attributes the
    user set stay. The callback the user holds keeps them all: a fit trains
    the instances given, as skorch does."""
    if isinstance(callback, tuple) and len(callback) == 2:
        return (callback[0], _as_given(callback[1], given))
    if not isinstance(callback, Callback) or id(callback) not in given:
        return callback
    before = given[id(callback)]
    copied = copy.copy(callback)
    for name in list(vars(copied)):
        if name.endswith("_") and not name.endswith("__") and name not in before:
            delattr(copied, name)
    return copied


def _n_features(X):
    """Features per step the network is built with: 1 for token ids."""
    return X.shape[2] if X.ndim == 3 else 1


def _feature_list(features):
    """``target_features`` as a list of ints (None as it is; a value that is
    not a sequence of ints as it is, for the fit to reject)."""
    if features is None or isinstance(features, (bool, np.bool_)):
        return features
    if isinstance(features, Integral):
        return [int(features)]
    try:
        return [int(f) if isinstance(f, Integral) else f for f in features]
    except TypeError:
        return features


def _equal(a, b):
    """Parameter values ``a`` and ``b`` are the same (identical objects, or
    equal plain values)."""
    if a is b:
        return True
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):
        return False


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
