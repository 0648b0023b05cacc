"""torch process settings for one fit or predict call: device, seed, threads,
default dtype, and the optimizer built for the device."""

import inspect
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


@contextmanager
def seeded(seed, device):
    """Seed torch for the block without touching the caller's random state."""
    if seed is None:
        yield
        return
    devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
    with torch.random.fork_rng(devices=devices, device_type="cuda"):
        torch.manual_seed(seed)
        yield


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
