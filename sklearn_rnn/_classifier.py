"""``RNNClassifier``: what classification adds to the shared base (label
encoding, class weights, cross-entropy, probabilities and labels out)."""

import math
from contextlib import contextmanager
from numbers import Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from ._base import BaseRNN
from ._inputs import check_target


class RNNClassifier(ClassifierMixin, BaseRNN):
    """Recurrent neural network (RNN, LSTM or GRU) classifier on sequences.

    One sequence per sample goes in, one label comes out. The network is a
    stack of PyTorch recurrent layers with a linear head on the last observed
    step giving one logit per class, trained with the cross-entropy loss
    through skorch; the fitted skorch net is ``net_``. ``predict``,
    ``predict_proba``, ``predict_log_proba`` and ``decision_function`` all
    come from the same logits.

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
        have) to the network's logits: a skip connection learned jointly with
        the recurrent layers. Ignored with a custom ``module``.

    head_dropout : float, default=0.0
        Dropout on the recurrent summary that the output layer reads, in
        training only. Ignored with a custom ``module``.

    module : torch.nn.Module subclass, default=None
        None for the built-in network. Otherwise a class built as
        ``module(n_features=..., n_outputs=..., **module_kwargs)`` with
        ``n_outputs`` the number of classes (2 for binary problems); its
        ``forward(X)`` gets a float32 tensor ``(batch, n_timesteps,
        n_features)`` with padding steps set to 0 and returns the logits
        ``(batch, n_classes)``. If ``forward`` accepts ``lengths``, it also
        gets the observed steps of each sequence (int64, on the CPU).

    module_kwargs : dict, default=None
        Extra keyword arguments for ``module``.

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

    average : float in [0, 1], default=0.0
        Stochastic weight averaging: the fitted weights are the mean of the
        weights at the end of each epoch in the last ``average`` fraction of
        the epochs (0.5: the second half); 0 keeps the last epoch's weights,
        the default here (the classification benchmarks are measured
        without it; :class:`RNNRegressor` averages the last three quarters,
        or every epoch for several outputs). It applies
        to the epochs of each ``fit`` call (``partial_fit`` runs one), not
        with ``early_stopping``, which keeps its best epoch's weights.

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

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, ``{label: weight}`` (finite
        numbers >= 0, for classes of ``y``); labels not listed weigh 1, and
        a batch of :meth:`partial_fit` need not hold every weighted class.
        ``"balanced"`` weighs each class by
        ``n_samples / (n_classes * np.bincount(y))``, the samples counted by
        their ``sample_weight`` when it is given (so that a weight of 2 is a
        row repeated, as in ``LogisticRegression``). Multiplied with
        ``sample_weight`` when both are given, as in scikit-learn.

    time_axis : {1, -1}, default=1
        The axis of 3-D ``X`` that holds the time steps: 1 for
        ``(n_samples, n_timesteps, n_features)``; -1 for ``(n_samples,
        n_features, n_timesteps)`` (sktime's ``numpy3D`` panels).

    newest_first : bool, default=False
        Whether the time steps come newest first; they are then read in
        reverse, so that the network still runs from the oldest step.

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
        caller's global random state is left as it was. Threads as for
        :class:`RNNRegressor`: networks with enough work per batch choose
        their thread count by timing their batches (never more than
        ``torch.get_num_threads()``) and agree to float32 rounding from one
        fit to the next; smaller ones train on one thread and repeat exactly.

    verbose : int, default=0
        0: silent; 1: a progress bar over epochs with the losses; 2: also a
        line per epoch.

    warm_start : bool, default=False
        Make ``fit`` continue from the current weights (and classes).

    callbacks : list of skorch callbacks, default=None
        Extra callbacks for the skorch net, as for :class:`RNNRegressor`: a
        fit trains the instances given.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted, of the type given in ``y``.

    n_tokens_ : int
        With ``embedding_dim``: the rows of the embedding (token ids 0 to
        ``n_tokens_ - 1``).

    net_ : skorch.NeuralNet
        The fitted skorch net.

    module_ : torch.nn.Module
        The trained PyTorch module.

    n_features_in_ : int
        Features per time step for 3-D input; the column count (time steps)
        for 2-D input.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, for DataFrame input only.

    n_iter_ : int
        Epochs run since the weights were initialised.

    loss_curve_ : list of float
        Training loss (mean cross-entropy) per epoch.

    validation_loss_curve_ : list of float
        Validation loss per epoch, with early stopping.

    device_ : str
        The device the model lives on.

    See Also
    --------
    RNNRegressor : The same network for continuous targets.
    SequenceWindower : Turn a time-ordered table into one window per row.

    Notes
    -----
    ``X`` takes every form :class:`RNNRegressor` takes: 3-D arrays (leading
    NaN steps mark shorter sequences), 2-D arrays (fixed-length univariate
    sequences), and lists of sequences of different lengths, padded
    internally into one array of ``(n_samples, longest, n_features)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rnn import RNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 10, 1)).astype("float32")
    >>> y = np.where(X[:, 0, 0] > X[:, -1, 0], "falls", "rises")
    >>> clf = RNNClassifier(hidden_size=16, lr=1e-2, max_epochs=30, random_state=0)
    >>> clf.fit(X, y).classes_
    array(['falls', 'rises'], dtype='<U5')
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        **BaseRNN._parameter_constraints,
        "class_weight": [None, dict, StrOptions({"balanced"})],
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
        head_dropout=0.0,
        module=None,
        module_kwargs=None,
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        max_grad_norm=None,
        batch_size=64,
        max_epochs=100,
        shuffle=True,
        average=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        class_weight=None,
        time_axis=1,
        newest_first=False,
        embedding_dim=None,
        n_tokens=None,
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
            time_axis=time_axis,
            newest_first=newest_first,
            embedding_dim=embedding_dim,
            n_tokens=n_tokens,
            device=device,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
            callbacks=callbacks,
        )
        self.class_weight = class_weight

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network on sequences ``X`` and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or list of arrays
            Sequences. In 3-D input, leading all-NaN steps mark a sequence
            that is shorter than ``n_timesteps`` (the windower's padding);
            2-D input is one univariate sequence per row; a list may hold
            sequences of different lengths, each ``(length, n_features)``
            (or 1-D for univariate sequences).

        y : array-like of shape (n_samples,)
            Class labels (numbers, strings or booleans), at least two
            distinct ones.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss.

        Returns
        -------
        self : RNNClassifier
            The fitted classifier.
        """
        keep = self.warm_start and hasattr(self, "net_")
        return self._train(X, y, sample_weight, keep=keep, epochs=self.max_epochs)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one more epoch on the data given (no early stopping).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or list of arrays
            Sequences, as for :meth:`fit`.

        y : array-like of shape (n_samples,)
            Class labels, all among ``classes`` (or ``classes_``).

        classes : array-like of shape (n_classes,), default=None
            Every label the model will ever see. Required on the first call
            (``y`` of one batch may not hold them all), and may be omitted
            afterwards; if given again it must equal ``classes_``.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss, times
            ``class_weight``'s. They are divided by the
            mean weight of the call that started the network, not by this
            call's: a later batch whose samples all weigh the same still
            counts as much as its weights say.

        Returns
        -------
        self : RNNClassifier
            The updated classifier.
        """
        first = not hasattr(self, "net_")
        if isinstance(self.class_weight, str):
            raise ValueError(
                "class_weight='balanced' is not supported for partial_fit: one batch "
                "does not show the class frequencies. Compute the weights once with "
                "sklearn.utils.class_weight.compute_class_weight('balanced', "
                "classes=classes, y=y) on enough of the labels, and pass them as a "
                "dict class_weight."
            )
        given = None
        if classes is not None:
            given = np.asarray(classes)
            if given.ndim != 1:
                raise ValueError(
                    f"classes must be 1-D, every label once (like np.unique(y_all)); got "
                    f"an array of shape {given.shape}."
                )
            given = _sorted_labels(given, "classes")
            if not first and set(given.tolist()) != set(self.classes_.tolist()):
                raise ValueError(
                    f"classes={given.tolist()!r} is not the same as on the first call to "
                    f"partial_fit, {self.classes_.tolist()!r}; fit a new model to change "
                    "the classes."
                )
        elif first:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: the labels "
                "of one batch may not be all of them. Pass classes=np.unique(y_all)."
            )
        with self._classes_given(given):
            return self._train(X, y, sample_weight, keep=not first, epochs=1, validate=False)

    @contextmanager
    def _classes_given(self, classes):
        # partial_fit's classes, read by the target hooks for the first call.
        self._partial_fit_classes = classes
        try:
            yield
        finally:
            del self._partial_fit_classes

    # ------------------------------------------------------------- hooks

    def _check_target(self, X, y, *, keep):
        y = check_target(self, X, y, dtype=None)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if y.ndim == 1:
            # Before type_of_target, which fails on mixed types with a bare TypeError.
            labels = _sorted_labels(y, "y")
        check_classification_targets(y)
        if y.ndim != 1:
            raise ValueError(
                f"{type(self).__name__} predicts one label per sequence, so y must be 1-D "
                f"(n_samples,); got {type_of_target(y, input_name='y')} y of shape "
                f"{y.shape}. For several labels per sequence, fit one classifier per "
                "column, e.g. with sklearn.multioutput.MultiOutputClassifier."
            )
        if keep:
            known, where = self.classes_, "classes_ of the fitted model"
        else:
            known = getattr(self, "_partial_fit_classes", None)
            where = "classes given to partial_fit"
        if known is None:
            if len(labels) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes to train, "
                    f"but y holds only one class: {labels.tolist()[0]!r}."
                )
        else:
            if len(known) < 2:
                raise ValueError(
                    f"partial_fit needs at least 2 classes; classes holds only one class: "
                    f"{known.tolist()!r}."
                )
            known_labels = set(known.tolist())
            unseen = [label for label in labels.tolist() if label not in known_labels]
            if unseen:
                raise ValueError(
                    f"y contains labels {unseen!r} that are not among the {where} "
                    f"{known.tolist()!r}. Fit a new model (warm_start=False, or a first "
                    "partial_fit call with every label in classes) to add classes."
                )
        return y

    def _prepare_target(self, X, lengths, y, sample_weight, *, keep, train_rows):
        if keep:
            classes, fitted = self.classes_, {}
        else:
            classes = getattr(self, "_partial_fit_classes", None)
            if classes is None:
                classes = _sorted_labels(y, "y")
            fitted = {"classes_": classes}
        codes = np.searchsorted(classes, y).astype(np.int64)
        return torch.from_numpy(codes), len(classes), fitted

    def _criterion(self):
        return torch.nn.CrossEntropyLoss, {"reduction": "none"}

    def _sample_weight(self, y, sample_weight, *, keep):
        if self.class_weight is None:
            return sample_weight
        if isinstance(self.class_weight, str):
            weight = _balanced_weights(y, sample_weight)
        else:
            weight = self._weights_of_classes(y, keep=keep)
        return weight if sample_weight is None else weight * sample_weight

    def _weights_of_classes(self, y, *, keep):
        """Each sample's weight under a dict ``class_weight``, checked against
        every class the model knows (a batch of ``partial_fit`` may lack some)."""
        if keep:
            classes = self.classes_
        else:
            classes = getattr(self, "_partial_fit_classes", None)
            if classes is None:
                classes = _sorted_labels(y, "y")
        known = set(classes.tolist())
        unknown = [label for label in self.class_weight if label not in known]
        if unknown:
            raise ValueError(
                f"class_weight names labels {unknown!r} that are not classes of y "
                f"({classes.tolist()!r}); give weights of these classes only."
            )
        weight = np.ones(len(y))
        for label, value in self.class_weight.items():
            if not (isinstance(value, Real) and math.isfinite(value) and value >= 0):
                raise ValueError(
                    f"class_weight[{label!r}] must be a finite number >= 0; got {value!r}."
                )
            weight[y == label] = value
        if not any(self.class_weight.get(label, 1) > 0 for label in classes.tolist()):
            raise ValueError(
                f"class_weight={self.class_weight!r} gives every class weight 0, so no "
                "sample counts in the loss; give at least one class a positive weight."
            )
        return weight

    # -------------------------------------------------------------- predict

    def decision_function(self, X):
        """The network's confidence scores (logits).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or list of arrays
            Sequences, as for :meth:`fit`; they may be of another length than
            in training.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, the logit of ``classes_[1]`` minus that of
            ``classes_[0]`` (positive: ``classes_[1]`` is predicted); for
            more, one logit per class.
        """
        logits = self._forward(X)
        if logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict(self, X):
        """Predict one label per sequence.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or list of arrays
            Sequences, as for :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The most probable class of each sequence, from ``classes_``.
        """
        logits = self._forward(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def predict_proba(self, X):
        """Class probabilities (the softmax of the logits).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or list of arrays
            Sequences, as for :meth:`fit`.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``; each row sums to 1.
        """
        proba = _log_softmax(self._forward(X))
        return np.exp(proba, out=proba)

    def predict_log_proba(self, X):
        """Logarithms of the class probabilities (the log-softmax of the logits).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or list of arrays
            Sequences, as for :meth:`fit`.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``, accurate even
            where a probability is too small for float64.
        """
        return _log_softmax(self._forward(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = False
        return tags


def _log_softmax(logits):
    """Row-wise log-softmax of float64 ``logits``, in place."""
    logits -= logits.max(axis=1, keepdims=True)
    logits -= np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return logits


def _sorted_labels(labels, name):
    """The distinct labels of 1-D ``labels``, sorted, of their own type."""
    try:
        return np.unique(labels)
    except TypeError:
        kinds = sorted({type(label).__name__ for label in labels})
        raise ValueError(
            f"{name} mixes labels of different types ({', '.join(kinds)}), which cannot "
            "be sorted into classes; give every label the same type (e.g. all strings)."
        ) from None


def _balanced_weights(y, sample_weight):
    """Each sample's ``class_weight="balanced"`` weight, ``total / (n_classes *
    class total)``, with the totals of ``sample_weight`` (counts without it),
    so that a weight of 2 is a row repeated (as LogisticRegression counts)."""
    labels, codes = np.unique(y, return_inverse=True)
    weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    totals = np.bincount(codes, weights=weight, minlength=len(labels))
    with np.errstate(divide="ignore"):
        per_class = np.where(totals > 0, weight.sum() / (len(labels) * totals), 0.0)
    return per_class[codes]
