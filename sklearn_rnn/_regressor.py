"""``RNNRegressor``: what regression adds to the shared base (losses, target
scaling, predictions in the target's units)."""

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseRNN
from ._inputs import check_target
from ._normalization import MODES, WindowNorm, find_target_features, fit_window_stats
from ._training import least_squares_skip

# What window_norm="auto" uses when the target is a future value of an input
# feature and its training series leaves the range it had: at least
# AUTO_SHARE of the last fifth of the training targets lie outside the range
# of the earlier ones, as a trend or a drifting level makes them; or when its
# spread grows with its level: over its windows of the model's length, the
# rank correlation of their means and their mean absolute changes, times the
# square root of the number of disjoint windows the rows hold, reaches
# AUTO_SPREAD_Z (a one-sided 5 % test that counts the overlapping windows as
# that many independent ones), on at least AUTO_SPREAD_WINDOWS of them, for
# windows of at least AUTO_SPREAD_STEPS steps: a shorter window's mean and
# spread are too noisy to normalise by where the level itself is information
# (chosen by benchmarks/bench_accuracy.py).
AUTO_MODE = "standard"
AUTO_SHARE = 0.05
AUTO_SPREAD_Z = 1.645
AUTO_SPREAD_WINDOWS = 3
AUTO_SPREAD_STEPS = 20
# What average="auto" averages: the last three quarters of the epochs; every
# epoch for several outputs whose training target stays in its range (no
# trend; chosen by benchmarks/bench_accuracy.py, "Weight averaging",
# "Multi-step" and "The recurrent layer's start").
AUTO_AVERAGE = 0.75
AUTO_AVERAGE_OUTPUTS = 1.0
# The linear skip starts at the least-squares fit on at most this many training
# sequences, when it has at most this many inputs (steps x features).
LEAST_SQUARES_ROWS = 8192
LEAST_SQUARES_INPUTS = 2048
# ...at this share of that fit, and trains with the network: the recurrent
# layers learn the rest of the structure, which forecast better than starting
# at the whole fit, where they only overfit its residual, or at zero, where
# the linear part is learned slowly (benchmarks/bench_accuracy.py).
SKIP_START = 0.5
LOSSES = {
    "squared_error": torch.nn.MSELoss,
    "absolute_error": torch.nn.L1Loss,
    "huber": torch.nn.HuberLoss,
}


class RNNRegressor(RegressorMixin, BaseRNN):
    """Recurrent neural network (RNN, LSTM or GRU) regressor on sequences.

    One sequence per sample goes in, one prediction (or one row of
    predictions) comes out. The network is a stack of PyTorch recurrent
    layers with a linear head on the last observed step (and, when
    bidirectional, on the backward direction at the first observed step,
    where it has seen the whole sequence), trained through skorch; the
    fitted skorch net is ``net_``. The first recurrent layer's input
    weights start uniform in ±1 (``RecurrentNetwork(input_init="unit")``),
    not at PyTorch's ±1/sqrt(hidden_size): each standardised input moves the
    gates by order one from the first epoch, and the network learns within
    its 100 epochs what a linear map of the window misses (the phase of a
    season whose swing grows with its level: 0.96 to 0.83 of Ridge's RMSE
    in ``benchmarks/README.md``, "The recurrent layer's start").

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

    linear_skip : bool, default=True
        Add a linear map of the last steps (as many as the training sequences
        have) to the network's output: an autoregressive skip connection (as
        in LSTNet). It starts at half the ridge fit of the training rows
        (penalty chosen by leave-one-out error, in closed form), with the
        recurrent layers' output at zero, and trains with the network: the
        model begins halfway to the best linear autoregression of its
        windows, fits the linear part of a problem that a recurrent layer
        alone needs many epochs for, and leaves the recurrent layers the rest
        to learn (starting at the whole fit, they only overfitted its
        residual). When the skip would have more than 2048 inputs (steps x
        features), it starts at zero. Ignored with a custom ``module``.

    head_dropout : float, default=0.2
        Dropout on the recurrent summary that the output layer reads, in
        training only: each recurrent feature is dropped from the head's
        input with this probability. It keeps the recurrent layers from
        overfitting what the linear skip leaves on short series (the sunspot
        forecast's RMSE fell by 9 %, see benchmarks/README.md "Accuracy").
        Ignored with a custom ``module``.

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

    average : "auto" or float in [0, 1], default="auto"
        Stochastic weight averaging: the fitted weights are the mean of the
        weights at the end of each epoch in the last ``average`` fraction of
        the epochs (0.5: the second half), not the last epoch's. The mean of
        weights that wander around a minimum fits less of the training noise
        than any one of them. ``"auto"``: every epoch (1.0) for several
        outputs, such as a direct multi-step forecast, whose far steps the
        last epochs overfit, unless the training target leaves its range (the
        trend rule of ``window_norm="auto"``); otherwise the last three
        quarters (0.75). Against Ridge, with PyTorch's start of the recurrent
        layer, the second half took the sunspot forecast from 0.85 to 0.79
        and elnino's from 1.01 to 0.98; twelve steps ahead, from 1.39 to 1.17
        and from 1.21 to 1.01 (every epoch: 1.24 and 1.17). The built-in
        network's unit-scale input weights at the start learn faster, and
        overfit sooner, so they average more epochs: three quarters brought
        elnino from 1.01 to 0.99 and nile from 1.00 to 0.99 with them. A series still
        learning in the last epochs loses: twelve steps ahead on a trending
        target, every epoch averaged went from 0.95 to 1.18, which is why a
        trending target keeps the one-output share (``benchmarks/README.md``,
        "Weight averaging", "Multi-step" and "The recurrent layer's start").
        0 keeps the last epoch's weights. It costs no training time. It
        applies to the epochs of each ``fit`` call (``partial_fit`` runs one),
        not with ``early_stopping``, which keeps its best epoch's weights;
        ``loss_curve_`` is the loss of the weights as trained, epoch by epoch.

    early_stopping : bool, default=False
        Hold out the last ``validation_fraction`` of the rows (time order
        kept) and stop when their loss stops improving; the best epoch's
        weights are kept. Worth setting for direct multi-step forecasts
        (several target columns) from a few hundred rows, where the default
        100 epochs fit the noise of the far steps; on a trending series the
        model then never trains on its most recent rows
        (``benchmarks/README.md``, "Multi-step").

    validation_fraction : float, default=0.1
        Fraction of rows, taken from the end, used for early stopping.

    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before stopping.

    tol : float, default=1e-4
        Minimum improvement of the validation loss that counts.

    scale_y : bool, default=True
        Standardise the target inside the model; undone at predict.

    window_norm : {"auto", "standard", "last", "log"} or None, default="auto"
        Per-window normalisation, for forecasting: each window is normalised
        by its own statistics, the network predicts in those units, and its
        outputs are mapped back (exactly), so that a series that leaves its
        training range is forecast from where it is. ``"standard"``: each
        feature by the mean and standard deviation of the window's observed
        steps (as RevIN does); ``"last"``: each feature minus its last observed
        value, divided by a fixed scale; ``"log"`` (for a positive ``y``):
        each target feature read as the logarithm of its values in ``y``'s
        units, minus the window's mean logarithm (other features as
        ``"standard"``), and the network forecasts, and is trained on, the
        logarithm of ``y`` (the loss and ``loss_curve_`` are in those units),
        whose exponential ``predict`` returns: for a series whose swings grow
        in proportion to its level (inputs at or below 0.001 of the smallest
        training target are read as that). Padding never counts. The outputs
        must share units with input features (``target_features``).
        ``"auto"``: when the target is a future value of an input feature (as
        :func:`make_supervised` builds it; found from the training rows, with
        the exact affine map between its units and ``y``'s, so that a scaler
        before the windower changes nothing) and the training target leaves
        the range it had (at least 5 % of the last fifth of the training rows
        outside the range of the rows before: a trend or a drifting level) or
        varies more where it is higher (over its windows of the model's
        length, the rank correlation of their means with their mean absolute
        changes, times the square root of the number of disjoint windows the
        rows hold, at least 1.645: a one-sided test at 5 %; sunspots, prices,
        sales; windows of at least 20 steps, whose mean and spread are not
        too noisy to normalise by), ``"standard"``; otherwise none. A custom
        ``module`` gets its windows as they are under ``"auto"``.
        ``window_norm_`` says what was used.

    target_features : int, sequence of int or None, default=None
        The input feature each output is a future value of, for
        ``window_norm``: one index, or one per target column (or per target
        when ``y``'s columns are several steps of each, step-major as
        :func:`make_supervised` gives them), as an int, a list, a tuple or an
        array; used as given, with the affine map to ``y``'s units found
        from the data where it is there. None: found from the data; where
        the data do not show it, an explicit mode needs it when ``X`` has
        several features (with one, it is that one).

    embedding_dim : int or None, default=None
        None: ``X`` holds float features, as described above. An int: ``X``
        holds integer token ids ``(n_samples, n_timesteps)`` (the output of
        :class:`~sklearn_rnn.TextSequencer`, or a list of 1-D id sequences of
        any lengths), read through an embedding of this width
        (``nn.Embedding(n_tokens_, embedding_dim, padding_idx=0)``): id 0 is
        padding, whose embedding row is zero and never trained, and padding
        never reaches the recurrent layer (zeros before a sequence's first
        token or after its last one are padding, as TextSequencer's
        ``padding="pre"`` and ``"post"`` write them). A row of padding only
        (an empty document) is read as the recurrent layer's initial state.
        ``n_features_in_`` is then 1 (one id per step) and the sequence length
        may differ between fit and predict. Training batches are bucketed by
        length and each cut to its longest sequence, so short sequences cost
        their own length. ``linear_skip`` and per-window normalisation do not
        apply to ids. A custom ``module`` gets the ids as an int64 tensor
        ``(batch, n_timesteps)`` (and ``lengths``), and is built with
        ``n_features=1`` plus ``n_tokens`` and ``embedding_dim`` if its
        ``__init__`` takes them.

    n_tokens : int or None, default=None
        With ``embedding_dim``: the number of token ids, the rows of the
        embedding (``n_tokens_``). None: the largest id in the training data
        plus one. Pass ``TextSequencer``'s ``n_tokens_`` when training data
        may not hold every id (a fixed vocabulary). Ids at or above
        ``n_tokens_`` are an error in training and are read as the unknown id
        1 in prediction (TextSequencer's convention); negative ids are an
        error.

    device : str, default="auto"
        ``"auto"`` (CUDA, then MPS, then CPU: the first available),
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and shuffling. With an int the
        same data and parameters give the same model on the same device; on
        CUDA, as far as the GPU's kernels allow (call
        ``torch.use_deterministic_algorithms(True)`` and set
        ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` for deterministic kernels). The
        caller's global random state is left as it was, and fits running at
        the same time in other threads of the process (dask threads, joblib's
        threading backend) do not change the model: each seeded fit draws
        from its own states of torch's generators (the CPU's and the one
        device's it runs on), swapped in under a process-wide lock around
        what draws from them, so seeded fits with dropout or a custom module
        run their forward passes one at a time. On the CPU, networks with
        enough work per batch choose their thread count by timing their
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
        Extra callbacks for the skorch net (instances, or ``(name, callback)``
        pairs). skorch's own callbacks work (``EpochScoring``, ``LRScheduler``,
        ``Checkpoint``, ``EarlyStopping``, ``ProgressBar``, ...); a batch is
        ``({"X": ..., "lengths": ...}, y)`` as skorch's documentation describes
        for dict input, with ``"sample_weight"`` for weighted fits. The
        callbacks the model adds itself are named ``"sklearn_rnn_*"``. As in
        skorch, a fit trains the instances given, so afterwards they hold what
        it built (scores, a learning-rate scheduler); a saved model keeps them
        as given, without it.

    time_axis : {1, -1}, default=1
        The axis of 3-D ``X`` that holds the time steps: 1 for
        ``(n_samples, n_timesteps, n_features)`` (tslearn, Keras); -1 for
        ``(n_samples, n_features, n_timesteps)``, sktime's ``numpy3D`` panels
        and torch's ``Conv1d`` layout (``n_features_in_`` is then axis 1).
        2-D ``X`` has its steps on axis 1 either way.

    newest_first : bool, default=False
        Whether the time steps come newest first, as lag columns ``lag_1,
        lag_2, ...`` do (skforecast's): they are then read in reverse, so that
        the network still runs from the oldest step to the newest. Missing
        history is then trailing NaN steps (the oldest ones).

    Attributes
    ----------
    n_tokens_ : int
        With ``embedding_dim``: the rows of the embedding (token ids 0 to
        ``n_tokens_ - 1``).

    net_ : skorch.NeuralNet
        The fitted skorch net. ``net_.predict(X)`` and ``net_.forward(X)`` take
        3-D (or 2-D) arrays or tensors as ``fit`` does, leading NaN steps as
        padding, and give the network's raw outputs: with ``scale_y=True``,
        the target standardised (``predict`` undoes that).

    module_ : torch.nn.Module
        The trained PyTorch module.

    n_features_in_ : int
        Features per time step for 3-D input; the column count (time steps)
        for 2-D input.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, for DataFrame input only.

    n_outputs_ : int
        Values predicted per sample.

    window_norm_ : {"standard", "last", "log"} or None
        The per-window normalisation used (see ``window_norm``).

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
        "average": [Interval(Real, 0, 1, closed="both"), StrOptions({"auto"})],
        "scale_y": ["boolean"],
        "window_norm": [None, StrOptions({"auto", *MODES})],
        "target_features": [None, Integral, list, tuple, np.ndarray],
    }

    def __init__(
        self,
        *,
        cell="lstm",
        hidden_size=64,
        num_layers=1,
        dropout=0.0,
        bidirectional=False,
        linear_skip=True,
        head_dropout=0.2,
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
        average="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        scale_y=True,
        window_norm="auto",
        target_features=None,
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        callbacks=None,
        time_axis=1,
        newest_first=False,
        embedding_dim=None,
        n_tokens=None,
    ):
        super().__init__(
            cell=cell,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout,
            bidirectional=bidirectional,
            linear_skip=linear_skip,
            head_dropout=head_dropout,
            module=module,
            module_kwargs=module_kwargs,
            optimizer=optimizer,
            lr=lr,
            weight_decay=weight_decay,
            max_grad_norm=max_grad_norm,
            batch_size=batch_size,
            max_epochs=max_epochs,
            shuffle=shuffle,
            average=average,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            device=device,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
            callbacks=callbacks,
            time_axis=time_axis,
            newest_first=newest_first,
            embedding_dim=embedding_dim,
            n_tokens=n_tokens,
        )
        self.loss = loss
        self.scale_y = scale_y
        self.window_norm = window_norm
        self.target_features = target_features

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network on sequences ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or list of arrays
            Sequences. In 3-D input, leading all-NaN steps mark a sequence
            that is shorter than ``n_timesteps`` (the windower's padding);
            2-D input is one univariate sequence per row; a list may hold
            sequences of different lengths, each ``(length, n_features)``
            (or 1-D for univariate sequences), padded internally into one
            array of ``(n_samples, longest, n_features)``. See ``time_axis``
            and ``newest_first`` for other layouts. float32 and float64 are
            used as they are; float16 is read as float32 (the network's
            precision), other numbers as float64.

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
            Non-negative weights of the samples in the loss. They are divided
            by the mean weight of the call that started the network, not by
            this call's: a later batch whose samples all weigh the same still
            counts as much as its weights say.

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

    _fixed_target_params = ("scale_y", "window_norm", "target_features")
    # Unit-scale input weights at the start (RecurrentNetwork's input_init):
    # the gates respond to the standardised windows from the first epoch, and
    # the network learns more of what a linear map of the window misses
    # (chosen by benchmarks/bench_accuracy.py, "The recurrent layer's start").
    _input_init = "unit"

    def _prepare_target(self, X, lengths, y, sample_weight, *, keep, train_rows):
        y2 = y.reshape(len(y), -1)
        # What the network forecasts, and is trained on: y, or its logarithm.
        # "auto" never chooses "log", so the mode is "log" exactly when asked.
        goal = y2
        if (self.window_norm_ if keep else self.window_norm) == "log":
            _check_positive(y2, "window_norm='log'")
            goal = np.log(y2)
        if keep:
            names = ("_y_1d", "n_outputs_", "_y_mean", "_y_scale", "_window_stats", "window_norm_")
            fitted = {name: getattr(self, name) for name in names}
        else:
            weight = None if sample_weight is None else sample_weight[train_rows]
            # On y itself first: a y too large to standardise is refused here.
            y_mean, y_scale = _target_scaling(y2[train_rows], weight, self.scale_y)
            mode, stats = self._window_norm_stats(
                X[train_rows], lengths[train_rows], y2[train_rows], weight
            )
            if goal is not y2:
                y_mean, y_scale = _target_scaling(goal[train_rows], weight, self.scale_y)
            fitted = dict(
                _y_1d=y.ndim == 1,
                n_outputs_=y2.shape[1],
                _y_mean=y_mean,
                _y_scale=y_scale,
                _window_stats=stats,
                window_norm_=mode,
            )
        y_mean, y_scale = fitted["_y_mean"], fitted["_y_scale"]
        y_train = torch.from_numpy(((goal - y_mean) / y_scale).astype(np.float32))
        return y_train, y2.shape[1], fitted

    def _average_share(self, y):
        if self.average != "auto":
            return self.average
        y2 = y.reshape(len(y), -1)
        if y2.shape[1] > 1 and not _leaves_its_range(y2):
            return AUTO_AVERAGE_OUTPUTS
        return AUTO_AVERAGE

    def _configure_net(self, net, fitted):
        stats = fitted["_window_stats"]
        net.window_norm = None
        if stats is not None:
            net.window_norm = WindowNorm(
                y_mean=fitted["_y_mean"], y_scale=fitted["_y_scale"], **stats
            ).to(net.device)

    def _window_norm_stats(self, X, lengths, y, sample_weight=None):
        """The per-window normalisation used (``window_norm_``) and its statistics
        (weighted as the loss weighs the windows)."""
        mode = self.window_norm
        # A custom module gets the windows as they are unless asked otherwise.
        if mode is None or (mode == "auto" and self.module is not None):
            return None, None
        if X.ndim == 2:
            # Token ids have no units to normalise.
            if mode == "auto":
                return None, None
            raise ValueError(
                f"window_norm={mode!r} normalises float features, but embedding_dim="
                f"{self.embedding_dim} makes X token ids; set window_norm=None or 'auto'."
            )
        n_features = X.shape[2]
        features = None
        if self.target_features is not None:
            features = self._target_index(n_features, y.shape[1])
        # The target's feature is a relation between rows in time order, so
        # it is searched on every row (rows taken out here and there would
        # break the lag between a window and its target); what the rows'
        # values decide (the auto rule, the units check) is decided without
        # the zero-weight ones, as if they were dropped.
        kept = slice(None) if sample_weight is None else sample_weight > 0
        found = find_target_features(X[:, -1], y, features)
        auto = mode == "auto"
        if auto:
            if found is None and features is None:
                return None, None
            if not _auto_normalises(y[kept], X.shape[1]):
                return None, None
            mode = AUTO_MODE
        if found is None:
            index = self._target_index(n_features, y.shape[1]) if features is None else features
            _check_units(X[kept], y[kept], index)
            return mode, fit_window_stats(X, lengths, y, mode, index, sample_weight=sample_weight)
        index, scale, offset = found
        return mode, fit_window_stats(
            X, lengths, y, mode, index, scale, offset, sample_weight=sample_weight
        )

    def _fitted_skip(self, net):
        """The built-in network's linear skip when it starts at (a share of)
        the least-squares fit (at most LEAST_SQUARES_INPUTS inputs), else None."""
        skip = getattr(net.module_, "skip", None) if self.module is None else None
        if skip is None or skip.in_features > LEAST_SQUARES_INPUTS:
            return None
        return skip

    def _init_net(self, net, data, train_rows):
        if self._fitted_skip(net) is None:
            return
        n_train = len(range(*train_rows.indices(len(data))))
        rows = np.linspace(0, n_train - 1, min(n_train, LEAST_SQUARES_ROWS))
        index = np.unique(rows.astype(np.int64))
        least_squares_skip(net, data, index, SKIP_START)

    def _target_index(self, n_features, n_outputs):
        """The input feature each output shares units with (``target_features``)."""
        features = self.target_features
        if features is None:
            if n_features > 1:
                raise ValueError(
                    f"window_norm={self.window_norm!r} maps each output back to the units "
                    f"of an input feature, but X has {n_features} features and "
                    "target_features is None. Set target_features to the index of the "
                    "feature the target is a future value of (e.g. target_features=0), or "
                    "a list with one index per target column, or set window_norm=None."
                )
            features = [0]
        features = [features] if isinstance(features, Integral) else list(features)
        if any(isinstance(f, (bool, np.bool_)) for f in features):
            raise TypeError(
                f"target_features={self.target_features!r} holds a bool; it names input "
                "features by their index (an int, or a list of ints)."
            )
        bad = [f for f in features if not isinstance(f, Integral) or not 0 <= f < n_features]
        if bad or not features or n_outputs % len(features):
            raise ValueError(
                f"target_features={self.target_features!r} must name input features "
                f"(ints in [0, {n_features})), one per target column or one per target "
                f"when y's {n_outputs} columns are several steps of each (step-major, "
                "as make_supervised gives them)."
            )
        return np.tile(np.asarray(features, dtype=np.int64), n_outputs // len(features))

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
        if self.window_norm_ == "log":
            out = np.exp(out)
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _leaves_its_range(y):
    """Whether a training target (rows in time order) leaves the range it had:
    at least AUTO_SHARE of its last fifth lies outside the range of the rows
    before. A network on levels cannot follow such a series beyond the range
    it was trained on; a series that returns to its mean stays inside."""
    tail = max(1, len(y) // 5)
    if len(y) - tail < 2:
        return False
    head, last = y[:-tail], y[-tail:]
    outside = (last > head.max(axis=0)) | (last < head.min(axis=0))
    return bool(outside.mean(axis=0).max() >= AUTO_SHARE)


def _auto_normalises(y, steps):
    """Whether ``window_norm="auto"`` standardises the windows of ``steps``
    rows of a forecasting target ``y`` (rows in time order): it leaves its
    range, or its spread grows with its level."""
    return _leaves_its_range(y) or _spread_grows_with_level(y, steps)


def _spread_grows_with_level(y, steps):
    """Whether a training target (rows in time order) varies more where its
    level is higher, as counts, prices and sales do, by
    :func:`_spread_statistic` on windows of ``steps`` rows: at least
    AUTO_SPREAD_Z, on windows of at least AUTO_SPREAD_STEPS steps."""
    if steps < AUTO_SPREAD_STEPS:
        return False
    statistic = _spread_statistic(y, steps)
    return statistic is not None and bool(statistic >= AUTO_SPREAD_Z)


def _spread_statistic(y, steps):
    """The rank correlation of the means of the target's windows of ``steps``
    rows with their mean absolute step-to-step changes, scaled by the square
    root of ``len(y) / steps`` (the disjoint windows the rows hold): about
    standard normal where level and spread are unrelated. The largest over
    ``y``'s columns; None below AUTO_SPREAD_WINDOWS disjoint windows or where
    no column varies."""
    n = len(y)
    if steps < 2 or n < AUTO_SPREAD_WINDOWS * steps:
        return None
    y = np.asarray(y, dtype=np.float64).reshape(n, -1)
    zero = np.zeros((1, y.shape[1]))
    level = np.concatenate([zero, np.cumsum(y, axis=0)])
    change = np.concatenate([zero, np.cumsum(np.abs(np.diff(y, axis=0)), axis=0)])
    means = level[steps:] - level[:-steps]
    changes = change[steps - 1 :] - change[: -(steps - 1)]
    best = None
    for column in range(y.shape[1]):
        if np.ptp(means[:, column]) == 0 or np.ptp(changes[:, column]) == 0:
            continue
        ranks = [np.argsort(np.argsort(v[:, column], kind="stable")) for v in (means, changes)]
        statistic = np.corrcoef(*ranks)[0, 1] * np.sqrt(n / steps)
        best = statistic if best is None else max(best, statistic)
    return best


def _check_positive(y, what):
    if not np.all(y > 0):
        raise ValueError(
            f"{what} forecasts the logarithm of the target, but y has values <= 0 "
            f"(the smallest is {np.min(y):.6g}). Use window_norm='standard', or shift "
            "y to positive values."
        )


def _check_units(X, y, index):
    """Warn when the target cannot be in the units of the input features it is
    mapped back to: a scaler before the windower that scaled X but not y."""
    last = np.asarray(X[:, -1], dtype=np.float64)[:, index]
    spread = np.maximum(y.std(axis=0), 1e-12)
    gap = np.abs(last.mean(axis=0) - y.mean(axis=0))
    # Both flat (a constant series, or one of a few tiny steps), the spreads
    # say nothing about the units, and the levels are compared relative to
    # each other (float32 and float64 roundings of one constant are one level).
    flat = _flat(last) & _flat(y)
    ratio = np.where(flat, 1.0, last.std(axis=0) / spread)
    shift = np.where(flat, gap / np.maximum(np.abs(y.mean(axis=0)), 1e-12), gap / spread)
    if np.any((ratio < 0.2) | (ratio > 5) | (shift > 3)):
        warnings.warn(
            "window_norm maps the network's outputs back to the units of X's target "
            "feature(s), but y does not look like it is in those units (its mean or "
            "spread differs widely from the feature's). If a scaler before the "
            "windower scaled X but not y, drop it: the regressor normalises each "
            "window itself.",
            UserWarning,
            stacklevel=4,
        )


def _flat(values):
    """Columns whose spread is nothing beside their level (or below 1e-9)."""
    return values.std(axis=0) <= 1e-9 * np.maximum(1.0, np.abs(values.mean(axis=0)))


def _target_scaling(y, sample_weight, scale):
    n_outputs = y.shape[1]
    if not scale:
        return np.zeros(n_outputs), np.ones(n_outputs)
    with np.errstate(over="ignore", invalid="ignore"):
        mean = np.average(y, axis=0, weights=sample_weight)
        # Squares of the deviations over their largest, so that targets beyond
        # 1e154 do not overflow.
        largest = np.abs(y - mean).max(axis=0)
        unit = np.where(largest > 0, largest, 1.0)
        std = unit * np.sqrt(np.average(((y - mean) / unit) ** 2, axis=0, weights=sample_weight))
    if not (np.isfinite(mean).all() and np.isfinite(std).all()):
        raise ValueError(
            "y holds values too large to standardise (their mean or spread overflows "
            "float64). Divide y by a power of ten, e.g. with "
            "TransformedTargetRegressor(func=..., inverse_func=...)."
        )
    # A constant target (up to the mean's rounding) has nothing to
    # standardise; keep its scale as is. A target that varies on a tiny scale
    # is standardised.
    floor = np.maximum(1e-10 * np.abs(y).max(axis=0), np.finfo(np.float64).tiny)
    std[~(std > floor)] = 1.0
    return mean, std
