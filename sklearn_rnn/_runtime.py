"""torch process settings for one fit or predict call: device, random numbers,
threads, default dtype, and the optimizer built for the device."""

import functools
import inspect
import os
import threading
import warnings
from contextlib import contextmanager
from numbers import Integral
from types import MethodType

import torch
from sklearn.utils import check_random_state

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}


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


def loadable_device(device, name):
    """The device on which a model saved on ``device`` loads here: the same one
    where it is available, else the CPU (with a warning saying so)."""
    device = torch.device(device)
    if device.type == "cuda":
        available = torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        available = mps is not None and mps.is_available()
    else:
        return "cpu"
    if available:
        return str(device)
    warnings.warn(
        f"{name} was trained on device {str(device)!r}, which is not available here; it is "
        "loaded on the CPU (device_ is 'cpu'). Set device='cpu' (or 'auto') to train it "
        "further here.",
        UserWarning,
        stacklevel=4,
    )
    return "cpu"


def same_device(a, b):
    """Whether device strings ``a`` and ``b`` name one device ("cuda" is the
    current CUDA device)."""
    a, b = torch.device(a), torch.device(b)
    if a.type != b.type:
        return False
    if a.type == "cuda":
        current = torch.cuda.current_device() if torch.cuda.is_available() else 0
        return (current if a.index is None else a.index) == (
            current if b.index is None else b.index
        )
    return True


def optimizer_class(optimizer):
    """The optimizer class for the ``optimizer`` parameter, checked."""
    if isinstance(optimizer, str):
        return OPTIMIZERS[optimizer]
    if not (isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer)):
        raise TypeError(
            f"optimizer must be one of {sorted(OPTIMIZERS)} or a torch.optim.Optimizer "
            f"subclass; got {optimizer!r}."
        )
    return optimizer


def optimizer_params(optimizer, device, weight_decay):
    """skorch ``optimizer__*`` parameters for ``optimizer`` on ``device``."""
    params = fused_optimizer(optimizer, device)
    if weight_decay:
        if not accepts(optimizer, "weight_decay"):
            raise ValueError(
                f"weight_decay={weight_decay} was given, but optimizer "
                f"{optimizer.__name__} takes no weight_decay argument; set "
                "weight_decay=0.0 or choose an optimizer that supports it."
            )
        params["optimizer__weight_decay"] = weight_decay
    return params


# Whether torch has a fused kernel for (optimizer, device type), found once per
# process.
_FUSED = {}


def fused_optimizer(optimizer, device):
    """``optimizer__fused=True`` where this torch has a fused Adam/AdamW kernel for
    ``device`` (on the CPU since torch 2.4): the same update in one kernel instead
    of a dozen small ones per parameter tensor, 2.6 to 3.3 times faster per step
    than torch's default (for-each or per-tensor) update for LSTMs of hidden 16
    to 256 on the CPU (benchmarks/README.md)."""
    if optimizer not in (torch.optim.Adam, torch.optim.AdamW):
        return {}
    key = (optimizer, torch.device(device).type)
    if key not in _FUSED:
        try:
            eager_optimizer(
                optimizer, [torch.zeros(1, device=device, requires_grad=True)], fused=True
            )
            _FUSED[key] = True
        except (RuntimeError, TypeError, ValueError):
            _FUSED[key] = False
    return {"optimizer__fused": True} if _FUSED[key] else {}


# The wrappers torch.optim puts around Optimizer methods so that torch.compile
# does not trace into them. Each imports torch._dynamo on its first call: about
# 800 modules and 1.4 s, paid by the first fit of every process (every joblib
# worker). Called eagerly, as fit calls them, a wrapper only forwards to the
# function it wraps.
# Named by (file, function) of their code: functools.wraps gives a wrapper the
# name of what it wraps.
_DYNAMO_WRAPPERS = {("_compile.py", "inner"), ("optimizer.py", "_use_grad")}
_HOOK_WRAPPER = {("optimizer.py", "wrapper")}


def _unwrapped(function, wrappers):
    while hasattr(function, "__wrapped__"):
        code = getattr(function, "__code__", None)
        if code is None or (os.path.basename(code.co_filename), code.co_name) not in wrappers:
            break
        function = function.__wrapped__
    return function


def eager_optimizer(optimizer, *args, **kwargs):
    """``optimizer(*args, **kwargs)``, a torch optimizer of exactly that class,
    whose methods skip the wrappers that import ``torch._dynamo``.

    The instance's ``add_param_group``, ``zero_grad``, ``state_dict``,
    ``load_state_dict`` and ``step`` are the functions under those wrappers,
    bound to it; ``step`` keeps the optimizer's hooks and runs without
    gradients, as torch's own wrapper does. Where this torch's methods are not
    wrapped that way, they are left as they are. A pickled or copied optimizer
    carries only its state and gets torch's methods back.
    """
    instance = optimizer.__new__(optimizer)
    for name in ("add_param_group", "zero_grad", "state_dict", "load_state_dict"):
        method = getattr(optimizer, name)
        plain = _unwrapped(method, _DYNAMO_WRAPPERS)
        if plain is not method:
            setattr(instance, name, MethodType(plain, instance))
    optimizer.__init__(instance, *args, **kwargs)
    # __init__ has put the hooks around the class's step.
    hooked = optimizer.step
    plain = _unwrapped(_unwrapped(hooked, _HOOK_WRAPPER), _DYNAMO_WRAPPERS)
    hook = getattr(torch.optim.Optimizer, "profile_hook_step", None)
    if plain is not hooked and hook is not None:

        def step(self, closure=None):
            with torch.set_grad_enabled(self.defaults.get("differentiable", False)):
                return plain(self, closure)

        instance.step = MethodType(hook(step), instance)
    return instance


def accepts(function, name):
    """Whether ``function`` takes keyword ``name`` (or ``**kwargs``)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def seed_from(random_state):
    """An int seed for torch from ``random_state`` (None stays None)."""
    if random_state is None:
        return None
    if isinstance(random_state, Integral):
        return int(random_state)
    return int(check_random_state(random_state).randint(2**31 - 1))


# torch draws weight initialisations and dropout masks from process-wide
# generators (nn.Module constructors and dropout take no generator argument).
# Every such draw that sklearn_rnn makes holds this lock, so that fits running
# side by side in threads (dask's threads, joblib's threading backend) never
# draw from each other's generator states.
_TORCH_GENERATORS = threading.RLock()


class TorchRandom:
    """The random numbers of one fit: torch's generators for the CPU and for
    the one accelerator the fit runs on, and nothing else.

    :meth:`drawing` brackets each section that draws from torch's global
    generators, under a process-wide lock. With a seed, the fit keeps its own
    generator states: a section puts them in place (seeded on the first
    section) and, when it ends, keeps their new values and puts the caller's
    back (``torch.random.fork_rng`` over exactly those generators). So the same
    seed gives the same draws whatever runs beside the fit, and the caller's
    generators never move. Without a seed, sections draw from the caller's
    generators as they are; the lock only keeps them from interleaving with a
    seeded fit's section (an uncontended lock costs well under a microsecond).

    Code outside sklearn_rnn that draws from torch's generators in another
    thread at the same time takes no part in this and can still disturb a
    seeded fit.
    """

    def __init__(self, seed, device):
        self.seed = seed
        device = torch.device(device)
        self.device_type = device.type
        if device.type == "cuda":
            self.devices = [torch.cuda.current_device() if device.index is None else device.index]
        elif device.type == "mps":
            self.devices = [0]
        else:
            self.devices = []
        self.states = None

    @contextmanager
    def drawing(self):
        with _TORCH_GENERATORS:
            if self.seed is None:
                yield
                return
            with torch.random.fork_rng(devices=self.devices, device_type=self.device_type):
                if self.states is None:
                    self._seed()
                else:
                    self._set(self.states)
                try:
                    yield
                finally:
                    self.states = self._get()

    def _seed(self):
        torch.random.default_generator.manual_seed(self.seed)
        if self.device_type == "cuda":
            with torch.cuda.device(self.devices[0]):
                torch.cuda.manual_seed(self.seed)
        elif self.device_type == "mps":
            torch.mps.manual_seed(self.seed)

    def _get(self):
        cpu = torch.random.default_generator.get_state()
        if self.device_type == "cuda":
            return cpu, torch.cuda.get_rng_state(self.devices[0])
        if self.device_type == "mps":
            return cpu, torch.mps.get_rng_state()
        return cpu, None

    def _set(self, states):
        cpu, accelerator = states
        torch.random.default_generator.set_state(cpu)
        if self.device_type == "cuda":
            torch.cuda.set_rng_state(accelerator, self.devices[0])
        elif self.device_type == "mps":
            torch.mps.set_rng_state(accelerator)


@contextmanager
def temporarily(get, set_, value):
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


def row_tile(device):
    """The rows a prediction batch of the built-in network is padded to a
    multiple of, on ``device``, so that each row's prediction does not depend
    on the rows batched with it.

    Matrix kernels round the rows of a partial register tile differently from
    those of whole ones. On AVX2 CPUs every multiple of 4 rows gave the same
    outputs as any other, for RNN, LSTM and GRU, hidden 1 to 200, 1 or 2
    layers, one or two directions, on 1 or 2 threads; on an AMD EPYC
    reporting AVX512, a row in 4 rows gave the same outputs as in 16 in
    every configuration of that kind tried; on an Intel Xeon reporting
    AVX512 it did not (in 137 of 936 configurations: RNN of hidden 2 to 11
    and 100 to 200, GRU of hidden 2, 3 and 100 to 200), while 16 rows gave
    the same as every multiple of 16 up to 128 in all of them
    (benchmarks/README.md).
    The instruction set does not tell: the matrix kernels do. So where it
    may pay, the first call checks 4 rows against 16 on this CPU
    (:func:`_four_rows_exact`, once a process), and a one-window prediction
    runs 4 rows (1.2 times the cost of one row instead of 2 to 2.5) only
    where they gave the same. Elsewhere, it stays 16.
    """
    if on_cpu(device) and _cpu_capability() in ("AVX2", "AVX512") and _four_rows_exact():
        return 4
    return 16


@functools.cache
def _four_rows_exact():
    """Whether each row of 4 gets the same bits as in 16 rows, for the
    built-in cells at widths that fill a register tile in part (hidden 3 to
    100, one feature), on one thread and on torch's thread count. Drawn
    under the fits' generator lock with a seed of its own: the caller's
    generators do not move. A few milliseconds, once a process."""
    counts = sorted({1, torch.get_num_threads()})
    with TorchRandom(0, "cpu").drawing(), torch.no_grad():
        for cell in (torch.nn.RNN, torch.nn.GRU, torch.nn.LSTM):
            for hidden in (3, 8, 9, 16, 33, 100):
                net = cell(1, hidden, batch_first=True)
                X = torch.randn(16, 6, 1)
                for count in counts:
                    with threads_restored(count):
                        if not torch.equal(net(X[:4])[0], net(X)[0][:4]):
                            return False
    return True


def on_cpu(device):
    return str(device).partition(":")[0] == "cpu"


@functools.cache
def _cpu_capability():
    return torch.backends.cpu.get_cpu_capability()


# The fits and predictions of sklearn_rnn running now in this process's
# threads (joblib's threading backend, dask's threads, the user's own).
_RUNNING = [0]
_RUNNING_LOCK = threading.Lock()


class threads_restored:
    """Run the block (on ``count`` intra-op threads, if given), then give torch
    back the thread count it had (a :class:`ThreadChooser` changes it between
    steps). The block counts as running for :func:`running_beside`.

    A class (named as contextlib's are), not a generator: it is entered on
    every prediction, a one-window forecast's included, where a generator's
    frames cost a few microseconds."""

    __slots__ = ("count", "before")

    def __init__(self, count=None):
        self.count = count

    def __enter__(self):
        self.before = torch.get_num_threads()
        if self.count is not None and self.count != self.before:
            torch.set_num_threads(self.count)
        # Counted last: nothing after it can fail and leave the count raised.
        with _RUNNING_LOCK:
            _RUNNING[0] += 1

    def __exit__(self, *exc):
        with _RUNNING_LOCK:
            _RUNNING[0] -= 1
        if torch.get_num_threads() != self.before:
            torch.set_num_threads(self.before)


def running_beside():
    """Whether another fit or prediction of sklearn_rnn runs in another thread
    of this process now (inside a :func:`threads_restored` block, this one
    counts itself)."""
    return _RUNNING[0] > 1


# Below this much arithmetic per step (parameters x rows x time steps; an
# LSTM of hidden 32 on batches of 64 windows of 30 steps of 4 features is 9.4
# million), a second thread gains at most about 15 % on an idle machine, while
# a busy one makes every step several times slower: such steps run on one
# thread, without timing, so that small fits (the test suite's, scikit-learn's
# estimator checks) repeat bit for bit (benchmarks/README.md).
TUNED_WORK = 1 << 24
# Nor are fewer steps than this timed: one trial step on a count that the load
# makes many times slower would cost more than more threads could win back.
TUNED_STEPS = 64
# Prediction chunks are timed from this many: a chunk's outputs are the same
# on any thread count (a trained step's are not, to float rounding), and a
# trial on a count the load makes slower ends after two chunks.
TUNED_CHUNKS = 8


def thread_chooser(work, device, steps, min_steps):
    """The :class:`ThreadChooser` for ``steps`` steps of ``work`` (parameters x
    rows x time steps) each on ``device``, or None off the CPU (torch's setting
    is left as it is there). Fewer than ``min_steps`` steps (``TUNED_STEPS``
    for training, ``TUNED_CHUNKS`` for prediction) run on one thread, untimed."""
    if not on_cpu(device):
        return None
    timed = work >= TUNED_WORK and steps >= min_steps
    return ThreadChooser(torch.get_num_threads() if timed else 1)


def _median(values):
    # The statistics module costs more to import than all of this file.
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


class ThreadChooser:
    """Chooses torch's intra-op thread count for a run of similar steps
    (training batches, prediction chunks) by timing the steps themselves.

    It starts on one thread, and never uses more than ``most`` (torch's own
    setting: ``torch.set_num_threads``, ``OMP_NUM_THREADS`` or torch's
    default). One thread is close to the best for small recurrent networks on
    an idle machine, and many times faster than two when another process holds
    a core. Then it tries the next count up (doubling, up to ``most``) on
    alternate steps, so that a change in the machine's load shifts both sides
    alike, and keeps it only if its steps are measurably faster. A count that
    lost is tried again later, as is the count below the choice, less often
    the more it lost by, so that such trials cost about 1 % of the steps; a
    step time that moves by half (the load changed) brings the next trial
    forward. The first step at each count is not compared (it sets up kernels).

    While another fit or prediction of sklearn_rnn runs in another thread of
    the process (:func:`running_beside`), every step runs on one thread and
    nothing is compared: torch's thread pools belong to the calling threads,
    so two fits on two threads each would ask for twice the cores.

    Call :meth:`next` for the count to run the next step with, then
    :meth:`record` with its duration.
    """

    SAMPLES = 3  # timed steps per side of a comparison
    MARGIN = 0.03  # more threads must be at least this much faster
    CLEAR_LOSS = 1.5  # a step this much slower ends a trial at once
    WARM_LOSS = 8.0  # ...and a first step (setting up kernels) this much slower
    FIRST_WAIT = 16  # steps before a losing count is tried again
    LONGEST_WAIT = 1024  # ...when it lost by little, however often
    BUDGET = 0.01  # the share of the steps that trials of a loser may cost

    def __init__(self, most):
        most = max(1, int(most))
        counts = [1]
        while counts[-1] * 2 < most:
            counts.append(counts[-1] * 2)
        if counts[-1] != most:
            counts.append(most)
        self.counts = counts
        self.current = 0
        self.recent = []  # the last timed steps at the current count
        self.level = None  # their median when the count was last compared
        self.trial = None  # the index of the count on trial
        self.trial_turn = False
        self.samples = {}
        self.warm = set()
        self.wait = [0] * len(counts)
        self.misses = [0] * len(counts)
        self.shared = False  # whether the last step ran on one thread beside other fits

    @property
    def choice(self):
        """The count chosen so far."""
        return self.counts[self.current]

    def _turn(self):
        return self.trial if self.trial is not None and self.trial_turn else self.current

    def next(self):
        """The thread count for the next step."""
        self.shared = len(self.counts) > 1 and running_beside()
        return 1 if self.shared else self.counts[self._turn()]

    def set_next(self):
        """Set torch's intra-op thread count to :meth:`next`'s."""
        count = self.next()
        if torch.get_num_threads() != count:
            torch.set_num_threads(count)

    def record(self, seconds, comparable=True):
        """The duration of the step just run at :meth:`next`'s count;
        ``comparable=False`` for a step of another size (it is not compared)."""
        if len(self.counts) == 1 or self.shared:
            return
        index = self._turn()
        first = index not in self.warm
        self.warm.add(index)
        if not comparable:
            return
        if self.trial is None:
            if not first:
                self._settled(seconds)
            return
        reference = _median(self.samples[self.current] or self.recent)
        if first:
            if index == self.trial and seconds > self.WARM_LOSS * reference:
                self._end_trial(False, seconds / reference)
            return
        self.samples[index].append(seconds)
        if index == self.trial and seconds > self.CLEAR_LOSS * reference:
            self._end_trial(False, seconds / reference)
            return
        self.trial_turn = not self.trial_turn
        if min(len(v) for v in self.samples.values()) >= self.SAMPLES:
            tried = _median(self.samples[self.trial])
            current = _median(self.samples[self.current])
            bar = 1 - self.MARGIN if self.trial > self.current else 1 + self.MARGIN
            accept = tried < bar * current
            self._end_trial(accept, current / tried if accept else tried / current)

    def _settled(self, seconds):
        self.recent = [*self.recent[-(self.SAMPLES - 1) :], seconds]
        self.wait = [w - 1 for w in self.wait]
        if len(self.recent) == self.SAMPLES:
            typical = _median(self.recent)
            if self.level is None:
                self.level = typical
            elif not self.level / self.CLEAR_LOSS < typical < self.CLEAR_LOSS * self.level:
                # The load changed: what lost before may win now.
                self.level = typical
                self.wait = [0] * len(self.wait)
        for index in (self.current + 1, self.current - 1):
            if 0 <= index < len(self.counts) and self.wait[index] <= 0:
                self.trial = index
                self.trial_turn = True
                self.samples = {index: [], self.current: []}
                return

    def _end_trial(self, accept, ratio):
        # The loser's next trial waits until the steps it costs, should it
        # lose by as much again, are at most BUDGET of the steps in between.
        loser = self.current if accept else self.trial
        cost = (len(self.samples[self.trial]) + 1) * max(0.0, ratio - 1)
        self.misses[loser] += 1
        backoff = min(self.FIRST_WAIT * 2 ** (self.misses[loser] - 1), self.LONGEST_WAIT)
        self.wait[loser] = max(backoff, cost / self.BUDGET)
        if accept:
            self.misses[self.trial] = 0
            self.current = self.trial
        self.recent = self.samples[self.current][-self.SAMPLES :] or self.recent
        if self.samples[self.current]:
            self.level = _median(self.samples[self.current])
        self.trial = None


def default_dtype(dtype):
    """Run with torch's default dtype set to ``dtype``, then restore."""
    return temporarily(torch.get_default_dtype, torch.set_default_dtype, dtype)
