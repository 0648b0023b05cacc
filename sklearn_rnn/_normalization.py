"""Per-window normalisation: each window is made relative to itself before the
network, and the network's outputs are mapped back (reversible instance
normalisation, Kim et al., ICLR 2022).

A network that reads global levels cannot forecast a series that leaves its
training range (a trend, a level shift): a saturating recurrent layer does not
extrapolate. Relative to its own last value (``"last"``) or to its own mean and
spread (``"standard"``), every window looks like the windows seen in training.
torch only; the estimator fits the statistics (:func:`fit_window_stats`).
"""

import numpy as np
import torch

MODES = ("last", "standard")
# Rows converted to a tensor at once when fitting the statistics: bounds the
# memory used beyond the input.
FIT_ELEMENTS = 1 << 22


class WindowNorm:
    """The two maps of per-window normalisation, with fitted statistics.

    Parameters
    ----------
    mode : {"last", "standard"}
        ``"last"``: every step minus the window's last (observed) step;
        outputs are that last value plus the network's output. ``"standard"``:
        every step minus the window's mean, divided by its standard deviation
        (observed steps only); outputs are mapped back with the same two numbers.
    target_index : array of int, shape (n_outputs,)
        The input feature whose units each output shares.
    in_scale : array, shape (n_features,)
        Typical size of the normalised inputs, fitted on the training rows, so
        that the network reads values of order one.
    out_scale : array, shape (n_outputs,)
        Typical size of the normalised targets, likewise.
    y_mean, y_scale : array, shape (n_outputs,)
        The estimator's target scaling: outputs are returned in the units the
        loss is computed in, ``(y - y_mean) / y_scale``.
    eps : array, shape (n_features,)
        Floor of a window's standard deviation (``"standard"``), in the
        feature's units.
    """

    def __init__(self, mode, target_index, in_scale, out_scale, y_mean, y_scale, eps):
        self.mode = mode
        self.target_index = torch.as_tensor(np.asarray(target_index, dtype=np.int64))
        as32 = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
        self.in_scale = as32(in_scale)
        self.out_scale = as32(out_scale)
        self.y_mean = as32(y_mean)
        self.y_scale = as32(y_scale)
        self.eps = as32(eps)

    def to(self, device):
        for name in ("target_index", "in_scale", "out_scale", "y_mean", "y_scale", "eps"):
            setattr(self, name, getattr(self, name).to(device))
        return self

    def center_spread(self, X, lengths):
        """Each window's center and spread, ``(batch, n_features)`` each, and the
        mask of its observed steps, ``(batch, steps, 1)``."""
        n_steps = X.shape[1]
        steps = torch.arange(n_steps, device=X.device)
        first = (n_steps - lengths.to(X.device)).unsqueeze(1)
        observed = (steps.unsqueeze(0) >= first).unsqueeze(2).to(X.dtype)
        if self.mode == "last":
            return X[:, -1], torch.ones_like(X[:, -1]), observed
        count = observed.sum(dim=1)
        mean = (X * observed).sum(dim=1) / count
        var = (((X - mean.unsqueeze(1)) * observed) ** 2).sum(dim=1) / count
        return mean, torch.sqrt(var + self.eps**2), observed

    def inputs(self, X, lengths):
        """The normalised windows (padding steps stay 0), and the center and
        spread that :meth:`outputs` needs."""
        center, spread, observed = self.center_spread(X, lengths)
        Xn = (X - center.unsqueeze(1)) / (spread * self.in_scale).unsqueeze(1)
        return Xn * observed, center, spread

    def outputs(self, out, center, spread):
        """The network's outputs mapped back, in the loss's units."""
        c = center[:, self.target_index]
        s = spread[:, self.target_index]
        y = c + s * self.out_scale * out
        return (y - self.y_mean) / self.y_scale


def fit_window_stats(X, lengths, y, mode, target_index):
    """Statistics of :class:`WindowNorm` from training windows ``X`` (3-D, NaN
    padding) and raw targets ``y`` (2-D), as plain arrays.

    Processes a bounded number of windows at a time, so a strided window view
    is never expanded whole.
    """
    n_samples, n_steps, n_features = X.shape
    last = np.asarray(X[:, -1], dtype=np.float64)
    eps = 1e-3 * last.std(axis=0)
    eps[~(eps > 0)] = 1e-3
    norm = WindowNorm(
        mode, target_index, np.ones(n_features), np.ones(len(target_index)), 0.0, 1.0, eps
    )
    squares_in = np.zeros(n_features)
    squares_out = np.zeros(len(target_index))
    count_in = 0.0
    rows = max(1, FIT_ELEMENTS // (n_steps * n_features))
    for start in range(0, n_samples, rows):
        block = torch.from_numpy(np.nan_to_num(np.asarray(X[start : start + rows], np.float64)))
        lb = torch.from_numpy(np.ascontiguousarray(lengths[start : start + rows]))
        with torch.no_grad():
            Xn, center, spread = norm.inputs(block, lb)
            target = torch.from_numpy(np.asarray(y[start : start + rows], np.float64))
            tn = (target - center[:, norm.target_index]) / spread[:, norm.target_index]
        squares_in += (Xn**2).sum(dim=(0, 1)).numpy()
        count_in += float(lb.sum())
        squares_out += (tn**2).sum(dim=0).numpy()
    in_scale = np.sqrt(squares_in / max(count_in, 1.0))
    out_scale = np.sqrt(squares_out / max(n_samples, 1))
    # A feature constant within every window (or windows of one step) has
    # nothing to scale.
    in_scale[~(in_scale > 1e-12)] = 1.0
    out_scale[~(out_scale > 1e-12)] = 1.0
    return {
        "mode": mode,
        "target_index": np.asarray(target_index, dtype=np.int64),
        "in_scale": in_scale,
        "out_scale": out_scale,
        "eps": eps,
    }
