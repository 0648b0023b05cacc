"""Shared helpers for the benchmark scripts: interleaved timing, medians of
ratios, a busy-core helper, RSS sampling and a description of the machine.

Every figure the scripts print is a ratio against a reference measured in the
same process, in rounds that alternate the runs being compared, so that a
machine whose load changes during the run shifts both sides alike.
"""

import argparse
import importlib.util
import multiprocessing
import os
import platform
import statistics
import sys
import threading
import time
from contextlib import contextmanager


def parser(description):
    """An argument parser with the ``--quick`` flag every script takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a small, fast run")
    return p


def machine():
    """One line naming the CPU, its cores, the load and the library versions."""
    import numpy
    import sklearn
    import skorch
    import torch

    import sklearn_rnn

    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        load = "load average unknown"
    return (
        f"{model}, {os.cpu_count()} CPU(s), {load}; torch {torch.__version__} "
        f"(default threads {torch.get_num_threads()}), skorch {skorch.__version__}, "
        f"scikit-learn {sklearn.__version__}, numpy {numpy.__version__}, "
        f"Python {platform.python_version()}; sklearn_rnn {sklearn_rnn.__version__} "
        f"from {os.path.dirname(sklearn_rnn.__file__)}"
    )


def load_candidate(checkout):
    """The ``sklearn_rnn`` package of another checkout (a proposed change),
    imported under another name so that both can run in one process."""
    init = os.path.join(checkout, "sklearn_rnn", "__init__.py")
    spec = importlib.util.spec_from_file_location(
        "sklearn_rnn_candidate", init, submodule_search_locations=[os.path.dirname(init)]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = package
    spec.loader.exec_module(package)
    return package.RNNRegressor


def interleaved(runs, rounds):
    """Time each callable in ``runs`` (a dict) once per round, in turn.

    Returns a dict of lists of seconds, one entry per round. The order of
    the runs alternates between rounds (forward, then backward) so that
    neither side always runs first after a warm cache or a quiet moment.
    """
    names = list(runs)
    times = {name: [] for name in names}
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    return times


def median_ratio(times, num, den):
    """Median over rounds of ``times[num][r] / times[den][r]``."""
    return statistics.median(a / b for a, b in zip(times[num], times[den], strict=True))


def median(values):
    return statistics.median(values)


@contextmanager
def torch_threads(n):
    """Run the block with torch set to ``n`` intra-op threads (None: as set),
    then restore the setting."""
    import torch

    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def thread_probe():
    """A skorch callback that records torch's thread count in every training
    batch (``counts_``), to show what ``RNNRegressor`` chose."""
    import torch
    from skorch.callbacks import Callback

    class ThreadsSeen(Callback):
        def initialize(self):
            self.counts_ = []
            return self

        def on_batch_end(self, net, training=False, **kwargs):
            if training:
                self.counts_.append(torch.get_num_threads())

    return ThreadsSeen()


def thread_share(counts):
    """``counts`` (thread counts, one per batch) as e.g. ``"2: 97%, 1: 3%"``."""
    total = len(counts) or 1
    shares = sorted({c: counts.count(c) for c in counts}.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{c}: {100 * k / total:.0f}%" for c, k in shares)


def _spin(stop):
    while not stop.is_set():
        pass


@contextmanager
def busy_core():
    """Keep one CPU core busy (a spinning process) for the block."""
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    proc = ctx.Process(target=_spin, args=(stop,), daemon=True)
    proc.start()
    try:
        time.sleep(0.2)
        yield
    finally:
        stop.set()
        proc.join(5)
        if proc.is_alive():
            proc.terminate()
            proc.join()


def rss_bytes():
    """Resident set size of this process now, in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Sample this process's resident memory in a thread; ``peak`` is the
    highest value seen while the block ran (torch's allocations included,
    which ``tracemalloc`` does not see)."""

    def __init__(self, interval=0.002):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.interval)

    def __enter__(self):
        self.start = rss_bytes()
        self.peak = self.start
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())
        return False


def table(header, rows):
    """Rows of strings as a Markdown table, columns padded to line up."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        padded = (str(c).ljust(w) for c, w in zip(cells, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out.extend(line(r) for r in rows)
    return "\n".join(out)
