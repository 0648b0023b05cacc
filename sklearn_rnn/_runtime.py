"""torch process settings for one fit or predict call: device, random numbers,
threads, default dtype, and the optimizer built for the device."""

import inspect
import threading
import warnings
from contextlib import contextmanager
from numbers import Integral

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


def fused_optimizer(optimizer, device):
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


def thread_policy(n_threads):
    """Run with ``n_threads`` intra-op threads (None: as set), then restore."""
    return temporarily(torch.get_num_threads, torch.set_num_threads, n_threads)


def default_dtype(dtype):
    """Run with torch's default dtype set to ``dtype``, then restore."""
    return temporarily(torch.get_default_dtype, torch.set_default_dtype, dtype)
