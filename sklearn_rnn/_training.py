"""The skorch side of training: batching straight from (strided) arrays, a
time-ordered validation split, early stopping, progress and interruption.

Batches follow skorch's conventions, so that skorch's own callbacks work: a
batch is ``(Xi, yi)`` with ``Xi = {"X": ..., "lengths": ...}`` (plus
``"sample_weight"`` for weighted fits, as skorch's documentation suggests) and
``yi`` the target tensor. Nothing here assumes regression: the loss is
reduced per sample, whatever shape the criterion returns.
"""

import copy
import math
import sys
import time

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PassthroughScoring
from skorch.history import History

from ._inputs import observed_lengths, token_lengths
from ._runtime import OPTIMIZERS, TUNED_CHUNKS, TUNED_STEPS, eager_optimizer, thread_chooser

# Length-bucketed training batches (token ids): each epoch's shuffled rows are
# cut into pools of this many batches, each pool sorted by length before it is
# cut into batches, and the batches are shuffled again.
POOL_BATCHES = 32


class SequenceData(torch.utils.data.Dataset):
    """Sequences ``X`` (n, steps, features) with their observed lengths.

    ``X`` may be a read-only strided view (the windower's output): on the CPU,
    batches are gathered from it one batch at a time, so the 3-D array is
    never copied whole. With ``device`` given, the data are moved there once
    (see :func:`device_tensor`) and batches are gathered on the device.
    Float ``X`` reaches the network as float32 with padding set to 0; integer
    ``X`` (token ids, 2-D, padding at the front) as int64, each batch cut to
    its longest sequence, so that a batch of short sequences costs their
    length, not the longest of the data (:class:`BatchIterator` buckets them by
    length). ``y`` (any dtype the loss needs) and ``weight`` (float32) are
    tensors or None.
    """

    def __init__(self, X, lengths, y=None, weight=None, device=None, tensor=None):
        self.X = X
        self.lengths = lengths
        self.padded = bool(len(lengths)) and int(lengths.min()) < X.shape[1]
        self.token_ids = X.dtype.kind in "iu"
        if tensor is None and device is not None:
            tensor = device_tensor(X, device)
        if tensor is not None:
            y = None if y is None else y.to(tensor.device)
            weight = None if weight is None else weight.to(tensor.device)
        self.tensor = tensor
        self.y = y
        self.weight = weight

    def __len__(self):
        return self.X.shape[0]

    def subset(self, rows):
        """The rows ``rows`` (a slice), sharing memory with this data."""
        return SequenceData(
            self.X[rows],
            self.lengths[rows],
            None if self.y is None else self.y[rows],
            None if self.weight is None else self.weight[rows],
            tensor=None if self.tensor is None else self.tensor[rows],
        )

    def batch(self, index, fill=0):
        """One batch ``(Xi, y)`` from an index array or slice (see the module's
        doc), with ``fill`` more rows of zeros (full-length sequences) after it."""
        lengths = self.lengths[index]
        padded = self.padded and int(lengths.min()) < self.X.shape[1]
        if fill:
            lengths = np.concatenate([lengths, np.full(fill, self.X.shape[1], lengths.dtype)])
        lengths = torch.from_numpy(np.ascontiguousarray(lengths))
        if self.tensor is not None:
            if isinstance(index, np.ndarray):
                index = torch.from_numpy(index).to(self.tensor.device, non_blocking=True)
            Xb = self.tensor[index]
            if fill:
                Xb = torch.cat([Xb, Xb.new_zeros((fill, *Xb.shape[1:]))])
        else:
            Xb = self.X[index]
            dtype = np.int64 if Xb.dtype.kind in "iu" else np.float32
            if fill:
                Xb = with_zero_rows(Xb, fill, dtype)
            else:
                Xb = np.ascontiguousarray(Xb, dtype=dtype)
                # torch needs a writable array, and the padding is zeroed in place.
                if not Xb.flags.writeable or (padded and np.may_share_memory(Xb, self.X)):
                    Xb = Xb.copy()
            if padded:
                # Padding steps reach the network as zeros (and are skipped by
                # the built-in module); NaN is only ever leading padding.
                np.nan_to_num(Xb, nan=0.0, copy=False)
            Xb = torch.from_numpy(Xb)
            if isinstance(index, np.ndarray):
                index = torch.from_numpy(index)
        if self.token_ids and self.padded:
            longest = max(int(lengths.max()), 1)
            if longest < Xb.shape[1]:
                Xb = Xb[:, Xb.shape[1] - longest :]
        Xi = {"X": Xb, "lengths": lengths}
        if self.weight is not None:
            Xi["sample_weight"] = self.weight[index]
        return Xi, None if self.y is None else self.y[index]


def with_zero_rows(X, fill, dtype=np.float32):
    """A new ``dtype`` array: the rows of ``X``, then ``fill`` rows of zeros."""
    whole = np.zeros((len(X) + fill, *X.shape[1:]), dtype=dtype)
    whole[: len(X)] = X
    return whole


def device_tensor(X, device):
    """``X`` as a float32 tensor on ``device`` (padding NaN set to 0), or None;
    token ids as an int64 tensor.

    The tensor keeps ``X``'s strides, so a window view travels as the memory it
    spans (about the input's size), not as ``n * window`` copied rows. None
    when ``X``'s layout does not allow that (negative strides, or gaps that
    would more than double the memory), or when it would take more than half
    the device's free memory: batches are then gathered on the CPU.
    """
    if X.dtype.kind in "iu":
        return torch.from_numpy(np.ascontiguousarray(X, dtype=np.int64)).to(device)
    itemsize = X.itemsize
    if X.size == 0 or any(s < 0 or s % itemsize for s in X.strides):
        return None
    span = sum((d - 1) * s for d, s in zip(X.shape, X.strides, strict=True)) // itemsize + 1
    if span > 2 * X.size:
        return None
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if 4 * span > free // 2:
            return None
    flat = np.lib.stride_tricks.as_strided(X, shape=(span,), strides=(itemsize,))
    base = torch.tensor(flat, dtype=torch.float32).to(device)
    torch.nan_to_num_(base, nan=0.0)
    return base.as_strided(X.shape, [s // itemsize for s in X.strides])


class BatchIterator:
    """Mini-batches fetched with one indexing operation each (no per-sample collation).

    Shuffled batches of token ids of different lengths are bucketed by length
    (see ``POOL_BATCHES``): each batch holds sequences of similar lengths, and
    costs about their length once cut to its longest (``SequenceData.batch``).
    The batches still differ every epoch, drawn from ``seed``.
    """

    def __init__(self, dataset, batch_size, shuffle=False, seed=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        size = self.batch_size
        if self.shuffle:
            order = self.rng.permutation(n)
            if getattr(self.dataset, "token_ids", False) and self.dataset.padded:
                yield from self._bucketed(order)
                return
            for start in range(0, n, size):
                yield self.dataset.batch(order[start : start + size])
        else:
            for start in range(0, n, size):
                yield self.dataset.batch(slice(start, start + size))

    def _bucketed(self, order):
        size = self.batch_size
        pool = size * POOL_BATCHES
        lengths = self.dataset.lengths
        batches = []
        for start in range(0, len(order), pool):
            rows = order[start : start + pool]
            rows = rows[np.argsort(lengths[rows], kind="stable")]
            batches.extend(rows[i : i + size] for i in range(0, len(rows), size))
        for b in self.rng.permutation(len(batches)):
            yield self.dataset.batch(batches[b])


class TailSplit:
    """Validate on the last ``fraction`` of the rows, keeping time order."""

    def __init__(self, fraction):
        self.fraction = fraction

    def n_train(self, n):
        """How many of ``n`` rows (the first ones) are trained on."""
        return n - min(max(1, math.ceil(n * self.fraction)), n - 1)

    def __call__(self, dataset, y=None, **params):
        n = len(dataset)
        n_train = self.n_train(n)
        return dataset.subset(slice(0, n_train)), dataset.subset(slice(n_train, n))


def state_copy(net):
    """A detached copy of the module's and the optimizer's state."""
    return (
        {k: v.detach().clone() for k, v in net.module_.state_dict().items()},
        copy.deepcopy(net.optimizer_.state_dict()),
    )


def load_state(net, state):
    net.module_.load_state_dict(state[0])
    net.optimizer_.load_state_dict(state[1])


def check_output(out, name, expected):
    """A module's ``forward`` must give one row of ``n_outputs`` per sequence:
    anything else would broadcast against the target into a wrong loss."""
    if not isinstance(out, torch.Tensor):
        raise TypeError(
            f"{name}.forward returned a {type(out).__name__}; it must return one tensor "
            f"of shape (batch, n_outputs) = {expected}."
        )
    if tuple(out.shape) != expected:
        raise ValueError(
            f"{name}.forward returned a tensor of shape {tuple(out.shape)}; expected "
            f"(batch, n_outputs) = {expected}: one row of predictions per sequence "
            "(e.g. a linear head on the last step)."
        )


class SequenceNet(NeuralNet):
    """skorch ``NeuralNet`` specialised for :class:`SequenceData` batches.

    Training runs through skorch's own ``train_step``/``get_loss``/callback
    contract; only ``infer`` (the lengths and the sample weights travel in the
    batch's ``X`` dict) and ``get_loss`` (per-sample weighting) are specialised.
    Extra attributes set by the estimator: ``pass_lengths`` (the module's
    ``forward`` takes ``lengths``), ``n_outputs`` (set for custom modules,
    whose output shape is then checked every batch), and ``random_draws`` (a
    context manager factory bracketing each training forward pass, for
    modules that draw random numbers there, see ``_runtime.TorchRandom``),
    and ``thread_chooser`` (the :class:`._runtime.ThreadChooser` of the
    training under way, see :class:`ThreadTuning`).

    ``predict``, ``predict_proba``, ``forward`` and ``fit`` also take plain
    arrays or tensors, as skorch nets do (see :meth:`get_dataset`); ``predict``
    then returns the network's raw outputs (for the regressor, the target
    standardised as ``scale_y`` made it).
    """

    pass_lengths = True
    n_outputs = None
    # The module reads integer token ids (a model with embedding_dim).
    token_input = False
    # A _normalization.WindowNorm on the net's device, or None.
    window_norm = None
    random_draws = None
    thread_chooser = None

    def get_dataset(self, X, y=None):
        """``X`` as :class:`SequenceData`: a SequenceData (or any Dataset) as it
        is, or a numpy array or tensor of shape ``(n, n_timesteps,
        n_features)`` (``(n, n_timesteps)``: one feature per step), leading NaN
        steps as padding; ``y`` as a tensor (floats as float32, 1-D as one
        column)."""
        if isinstance(X, torch.utils.data.Dataset):
            return X
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        X = np.asarray(X)
        if self.token_input:
            # Token ids (a model with embedding_dim).
            X, lengths = token_lengths(X.astype(np.int64, copy=False))
        else:
            if X.ndim == 2:
                X = X[:, :, None]
            if X.dtype.kind == "f":
                lengths = observed_lengths(X)
            else:
                lengths = np.full(X.shape[0], X.shape[1], dtype=np.int64)
        if y is not None:
            y = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
            if y.is_floating_point():
                y = y.to(torch.float32).reshape(len(y), -1)
        return SequenceData(X, lengths, y)

    def get_default_callbacks(self):
        return [
            ("sklearn_rnn_threads", ThreadTuning()),
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
        ]

    def initialize_optimizer(self, triggered_directly=None):
        """skorch's optimizer, built so that the first fit in a process does not
        import torch._dynamo (see :func:`._runtime.eager_optimizer`)."""
        if self.optimizer not in OPTIMIZERS.values() or triggered_directly is not None:
            return super().initialize_optimizer(triggered_directly)
        args, kwargs = self.get_params_for_optimizer("optimizer", self.get_all_learnable_params())
        self.optimizer_ = eager_optimizer(self.optimizer, *args, **kwargs)
        return self

    def infer(self, x, **fit_params):
        X = x["X"].to(self.device, non_blocking=True)
        norm = self.window_norm
        if norm is not None:
            X, center, spread = norm.inputs(X, x["lengths"])
        if self.random_draws is not None and self.module_.training:
            with self.random_draws():
                out = self._forward_module(X, x["lengths"])
        else:
            out = self._forward_module(X, x["lengths"])
        if self.n_outputs is not None:
            check_output(out, type(self.module_).__name__, (X.shape[0], self.n_outputs))
        if norm is not None:
            out = norm.outputs(out, center, spread)
        return out

    def _forward_module(self, X, lengths):
        if self.pass_lengths:
            return self.module_(X, lengths=lengths)
        return self.module_(X)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_true = y_true.to(self.device, non_blocking=True)
        losses = self.criterion_(y_pred, y_true)
        weight = X.get("sample_weight") if isinstance(X, dict) else None
        if weight is None:
            return losses.mean()
        if losses.dim() > 1:
            losses = losses.reshape(losses.shape[0], -1).mean(dim=1)
        return (losses * weight.to(self.device, non_blocking=True)).mean()

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """skorch's ``partial_fit``, all or nothing: whatever stops it (a
        non-finite loss, a callback raising, a full disk), the weights, the
        optimizer's state and the history go back to where the call started,
        and the error is raised again. Ctrl-C is the exception: see
        :meth:`fit_loop`."""
        if not self.initialized_:
            self.initialize()
        start = self.call_start_ = state_copy(self), len(self.history)
        try:
            return super().partial_fit(X, y, classes, **fit_params)
        except BaseException:
            load_state(self, start[0])
            del self.history[start[1] :]
            raise
        finally:
            del self.call_start_

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """Train for ``epochs`` epochs, stopping early when a callback asks.

        A callback asks by setting ``stop_training_``, or, as skorch's own
        ``EarlyStopping`` does, by raising KeyboardInterrupt in
        ``on_epoch_end``: the epoch is complete and is kept. A KeyboardInterrupt
        anywhere else (Ctrl-C) ends training and rolls the weights back to the
        end of the last completed epoch; ``interrupted_`` records it. A
        non-finite training loss raises FloatingPointError (and
        :meth:`partial_fit` rolls back to the weights the call started from:
        the epochs before may already have pushed them to the edge).
        """
        self.check_training_readiness()
        epochs = self.max_epochs if epochs is None else epochs
        dataset_train, dataset_valid = self.get_split_datasets(X, y)
        on_epoch_kwargs = {"dataset_train": dataset_train, "dataset_valid": dataset_valid}
        iterator_train = self.get_iterator(dataset_train, training=True)
        iterator_valid = None
        if dataset_valid is not None:
            iterator_valid = self.get_iterator(dataset_valid, training=False)

        self.stop_training_ = False
        self.interrupted_ = False
        # The state at the end of the last completed epoch: at first, the copy
        # partial_fit took when the call began.
        last_good = getattr(self, "call_start_", None) or (state_copy(self), len(self.history))
        try:
            for _ in range(epochs):
                self.notify("on_epoch_begin", **on_epoch_kwargs)
                self.run_single_epoch(
                    iterator_train, training=True, prefix="train", step_fn=self.train_step
                )
                self.run_single_epoch(
                    iterator_valid, training=False, prefix="valid", step_fn=self.validation_step
                )
                try:
                    self.notify("on_epoch_end", **on_epoch_kwargs)
                except KeyboardInterrupt:
                    self.stop_training_ = True
                train_loss = self.history[-1, "train_loss"]
                if not math.isfinite(train_loss):
                    raise FloatingPointError(train_loss, self.history[-1, "epoch"])
                if self.stop_training_:
                    break
                last_good = state_copy(self), len(self.history)
        except KeyboardInterrupt:
            self.interrupted_ = True
            load_state(self, last_good[0])
            del self.history[last_good[1] :]
        # Left in inference mode, so that predict needs no mode switch (about
        # 100 us a call); every epoch sets the mode it needs.
        self.module_.eval()
        return self


def n_parameters(module):
    return sum(p.numel() for p in module.parameters())


def _step_work(net, data, rows):
    """The arithmetic of one step of ``rows`` sequences of ``data``:
    parameters x rows x time steps."""
    return n_parameters(net.module_) * rows * data.X.shape[1]


def training_threads(net, data, rows, epochs):
    """The :class:`._runtime.ThreadChooser` for training ``net`` on ``data``
    in batches of ``rows`` for at most ``epochs`` epochs (early stopping may
    end it sooner), or None off the CPU."""
    if not len(data):
        return None
    steps = math.ceil(len(data) / rows) * epochs
    return thread_chooser(_step_work(net, data, rows), net.device, steps, TUNED_STEPS)


def prediction_threads(net, data, rows):
    """The :class:`._runtime.ThreadChooser` for predicting ``data`` in chunks
    of ``rows``: one thread, untimed, for fewer than ``TUNED_CHUNKS`` chunks
    (whose work is then not counted: a one-window predict is latency)."""
    steps = math.ceil(len(data) / rows)
    work = 0 if steps < TUNED_CHUNKS else _step_work(net, data, rows)
    return thread_chooser(work, net.device, steps, TUNED_CHUNKS)


class ThreadTuning(Callback):
    """Runs each training batch at the thread count that the net's
    ``thread_chooser`` (a :class:`._runtime.ThreadChooser`, set by the
    estimator; None leaves torch's setting alone) picks from the batches'
    durations. The estimator gives torch its setting back after the fit
    (:func:`._runtime.threads_restored`)."""

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.chooser_ = getattr(net, "thread_chooser", None)
        if self.chooser_ is not None:
            # Every batch but an epoch's last has this many rows.
            self.rows_ = min(net.batch_size, len(X))

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training and self.chooser_ is not None:
            self.chooser_.set_next()
            self.start_ = time.perf_counter()

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training and self.chooser_ is not None:
            seconds = time.perf_counter() - self.start_
            self.chooser_.record(seconds, comparable=len(batch[0]["lengths"]) == self.rows_)


def ridge_loo(Z, goal, n_alphas=13):
    """Ridge coefficients ``(n_inputs, n_outputs)`` of ``goal`` on ``Z``, with the
    penalty chosen by leave-one-out error (closed form, from one SVD), as
    scikit-learn's ``RidgeCV`` does: few rows and many lags must not overfit.
    Also returns the leave-one-out residuals at that penalty."""
    U, s, Vt = torch.linalg.svd(Z, full_matrices=False)
    Uy = U.T @ goal
    scale = (s**2).mean().clamp_min(1e-12)
    best, best_error = None, None
    for alpha in torch.logspace(-6, 2, n_alphas, dtype=Z.dtype) * scale:
        shrink = s**2 / (s**2 + alpha)
        fitted = U @ (shrink.unsqueeze(1) * Uy)
        hat = (U**2) @ shrink
        loo = (goal - fitted) / (1 - hat).clamp_min(1e-6).unsqueeze(1)
        error = float((loo**2).mean())
        if best_error is None or error < best_error:
            best_error = error
            best = Vt.T @ ((s / (s**2 + alpha)).unsqueeze(1) * Uy), loo
    return best


def least_squares_skip(net, data, index, share):
    """Start the built-in network at (``share`` of) the least-squares linear model.

    The skip connection's weights are set to ``share`` times the ridge
    solution (penalty by leave-one-out error, :func:`ridge_loo`) that maps the
    skip inputs of sequences ``index`` of ``data`` to their targets (as the
    network's output gives them: through the net's per-window normalisation,
    if any), the head's bias to the intercept that goes with those weights,
    and the head's weights to zero.
    """
    module = net.module_
    Xi, y = data.batch(index)
    X = Xi["X"].to(net.device)
    goal = y.to(net.device)
    norm = net.window_norm
    with torch.no_grad():
        if norm is not None:
            X, center, spread = norm.inputs(X, Xi["lengths"])
            goal = norm.targets(goal * norm.y_scale + norm.y_mean, center, spread)
        goal = goal.double()
        Z = module.skip_inputs(X).double()
        weight = Xi.get("sample_weight")
        weight = Z.new_ones(len(Z)) if weight is None else weight.to(Z)
        coef = Z.new_zeros(Z.shape[1], goal.shape[1])
        intercept = goal.new_zeros(goal.shape[1])
        if norm is None:
            groups = [(torch.arange(goal.shape[1]), weight)]
        else:
            # The loss compares the outputs mapped back: fit each window as it
            # weighs there. In normalised units, the few windows of one or two
            # observed steps (normalised targets huge) would outweigh the rest.
            # Outputs of one target feature share their weights.
            features = norm.target_index.cpu()
            error_weight = norm.error_weight(spread.double())
            groups = []
            for f in torch.unique(features).tolist():
                columns = torch.nonzero(features == f).flatten()
                groups.append((columns, weight * error_weight[:, columns[0]]))
        for columns, rows in groups:
            coef[:, columns], intercept[columns] = _ridge_with_intercept(
                Z, goal[:, columns], rows, share
            )
        module.skip.weight.copy_(coef.T.to(module.skip.weight))
        module.head.weight.zero_()
        module.head.bias.copy_(intercept.to(module.head.bias))


def _ridge_with_intercept(Z, goal, weight, share):
    """``share`` times the weighted ridge coefficients (:func:`ridge_loo`) of
    ``goal`` on ``Z``, and the unpenalised intercept that goes with them:
    ``(coef, intercept)``."""
    mass = (weight / weight.sum()).unsqueeze(1)
    z_mean, goal_mean = (mass * Z).sum(0), (mass * goal).sum(0)
    root = weight.sqrt().unsqueeze(1)
    coef = share * ridge_loo((Z - z_mean) * root, (goal - goal_mean) * root)[0]
    return coef, goal_mean - z_mean @ coef


def network_state(net):
    """What a saved model keeps of its skorch net: plain data only.

    The module's ``state_dict`` and the optimizer's state (which warm starts
    continue from) with every tensor as a numpy array, the history as a list
    of dicts, and the device. Arrays may share memory with the live weights.
    """
    return {
        "device": str(net.device),
        "module": _numpy_tree(net.module_.state_dict()),
        "optimizer": _numpy_tree(net.optimizer_.state_dict()),
        "history": net.history.to_list(),
    }


def load_network_state(net, state):
    """Load :func:`network_state`'s output into a net built like the saved one."""
    net.module_.load_state_dict(_tensor_tree(state["module"]))
    built = [dict(group) for group in net.optimizer_.param_groups]
    net.optimizer_.load_state_dict(_tensor_tree(state["optimizer"]))
    # How the update runs depends on the device loaded on, not on the saved one.
    for group, fresh in zip(net.optimizer_.param_groups, built, strict=True):
        for key in ("fused", "foreach", "capturable"):
            if key in fresh:
                group[key] = fresh[key]
    net.history = History(state["history"])


def _numpy_tree(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().numpy()
    if isinstance(obj, dict):
        return {key: _numpy_tree(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_numpy_tree(value) for value in obj)
    return obj


def _tensor_tree(obj):
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj) if obj.flags.writeable else torch.tensor(obj)
    if isinstance(obj, dict):
        return {key: _tensor_tree(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_tensor_tree(value) for value in obj)
    return obj


def infer_batches(net, data, rows, tile=None, threads=None):
    """The module's outputs for all of ``data``, ``rows`` sequences at a time,
    as a float64 array, in inference mode.

    With ``tile``, each batch is padded to a multiple of ``tile`` rows: matrix
    kernels round the rows of a partial tile differently, and whole tiles make
    each row's output independent of the rows it is batched with. With
    ``threads`` (a :class:`._runtime.ThreadChooser`), each batch runs at the
    thread count it picks; the caller restores torch's setting.
    """
    out = None
    with evaluating(net.module_):
        for start in range(0, len(data), rows):
            n = min(rows, len(data) - start)
            if threads is not None:
                threads.set_next()
                began = time.perf_counter()
            Xi, _ = data.batch(slice(start, start + n), -n % tile if tile else 0)
            chunk = net.infer(Xi).cpu().numpy()[:n]
            if n == len(data):
                out = chunk.astype(np.float64)
            else:
                if out is None:
                    out = np.empty((len(data), chunk.shape[1]), dtype=np.float64)
                out[start : start + n] = chunk
            if threads is not None:
                threads.record(time.perf_counter() - began, comparable=n == rows)
    return out


class evaluating:
    """Run the block with ``module`` in eval mode (restored after) and torch
    in inference mode (a class for the reason :class:`._runtime.threads_restored` is)."""

    __slots__ = ("module", "training", "inference")

    def __init__(self, module):
        self.module = module

    def __enter__(self):
        self.training = self.module.training
        if self.training:
            self.module.eval()
        self.inference = torch.inference_mode()
        self.inference.__enter__()

    def __exit__(self, *exc):
        self.inference.__exit__(*exc)
        if self.training:
            self.module.train()


class EarlyStopping(Callback):
    """Stop when the validation loss has not improved by ``tol`` for
    ``patience`` epochs, then restore the best epoch's weights: those of the
    lowest validation loss, however little lower (as scikit-learn's MLP)."""

    def __init__(self, patience, tol):
        self.patience = patience
        self.tol = tol

    def on_train_begin(self, net, **kwargs):
        self.best_loss_ = math.inf  # the loss that the patience counts from
        self.lowest_loss_ = math.inf
        self.best_state_ = None
        self.misses_ = 0

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1, "valid_loss"]
        if loss < self.lowest_loss_:
            self.lowest_loss_ = loss
            self.best_state_ = state_copy(net)
        if loss < self.best_loss_ - self.tol:
            self.best_loss_ = loss
            self.misses_ = 0
        else:
            self.misses_ += 1
            if self.misses_ >= self.patience:
                net.stop_training_ = True

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            load_state(net, self.best_state_)


class WeightAveraging(Callback):
    """Stochastic weight averaging (Izmailov et al., 2018): training ends with
    the mean of the module's floating-point parameters at the end of each
    epoch after the first ``skip`` epochs of the call (buffers keep their last
    values). An interrupted call keeps the last completed epoch's weights, as
    it would without averaging."""

    def __init__(self, skip):
        self.skip = skip

    @staticmethod
    def _params(net):
        return [p for p in net.module_.parameters() if p.is_floating_point()]

    def on_train_begin(self, net, **kwargs):
        self.epochs_ = 0
        self.mean_ = None

    @torch.no_grad()
    def on_epoch_end(self, net, **kwargs):
        self.epochs_ += 1
        count = self.epochs_ - self.skip
        if count < 1:
            return
        if self.mean_ is None:
            self.mean_ = [p.clone() for p in self._params(net)]
            return
        for mean, p in zip(self.mean_, self._params(net), strict=True):
            mean.add_(p - mean, alpha=1.0 / count)

    @torch.no_grad()
    def on_train_end(self, net, **kwargs):
        mean, self.mean_ = self.mean_, None
        if mean is None or getattr(net, "interrupted_", False):
            return
        for p, value in zip(self._params(net), mean, strict=True):
            p.copy_(value)


class Progress(Callback):
    """A progress bar over epochs with the current losses (verbose >= 1);
    with verbose >= 2, also one line per epoch."""

    def __init__(self, total, verbose):
        self.total = total
        self.verbose = verbose

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=self.total, unit="epoch", file=sys.stderr, leave=True)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        losses = {k: row[k] for k in ("train_loss", "valid_loss") if k in row}
        self.bar_.set_postfix({k: f"{v:.4g}" for k, v in losses.items()}, refresh=False)
        self.bar_.update(1)
        if self.verbose >= 2:
            text = "  ".join(f"{k}={v:.6g}" for k, v in losses.items())
            self.bar_.write(
                f"epoch {row['epoch']:>4}  {text}  ({row['dur']:.2f}s)", file=sys.stderr
            )

    def on_train_end(self, net, **kwargs):
        self.bar_.close()
