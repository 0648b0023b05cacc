"""Windowing speed and memory: ``SequenceWindower`` against the tutorial loop.

The loop is the one most time-series tutorials use to build LSTM inputs::

    xs = []
    for i in range(len(data) - w):
        xs.append(data[i:i + w])
    windows = np.array(xs)

It copies every row ``w`` times, through a Python list of ``len(data)`` views.
``SequenceWindower(window=w).fit_transform(X)`` returns a read-only strided
view of one padded copy of ``X``; with ``flatten=True`` it returns the
``(n, w * n_features)`` lag table.

The two do not give exactly the same rows: the windower keeps one window per
input row (the first ``w - 1`` padded with NaN), while the loop drops the first
``w - 1`` rows and, through its ``len(data) - w``, the last one as well. The
shared windows are checked to be equal before anything is timed.

Each measurement runs in a fresh child process, so that memory freed by one
case cannot hide the next one's allocations, after one warm-up call on 100
rows. Time is the median over a few repeats for the small sizes, one run from
1e6 rows. Peak memory is what the windowing allocates on top of the input, in
two readings: the ``tracemalloc`` peak of a separate run (exact for numpy and
Python objects, and the column the ratios use), and the rise of the resident
set's high-water mark (Linux ``VmHWM``, reset just before the timed run),
which also shows allocator overhead and page granularity.

Runs whose output would exceed ``--max-gb`` (or half the memory available)
are skipped and say so: the loop on 1e7 rows x 8 features would need about
19 GB. The estimate for the windower comes from a small probe run, so it stays
right if the windower's memory use changes.

    python benchmarks/bench_windowing.py                  # 1e4 .. 1e7 rows
    python benchmarks/bench_windowing.py --quick          # up to 1e5 rows
"""

import argparse
import gc
import multiprocessing
import os
import platform
import statistics
import sys
import time
import tracemalloc

import numpy as np

import sklearn_rnn
from sklearn_rnn import SequenceWindower

ROW_COUNTS = (10_000, 100_000, 1_000_000, 10_000_000)
# A list slot plus a numpy view object per window, measured on CPython 3.11
# and numpy 2 (about 120 bytes); rounded up so the estimate errs safe.
LOOP_BYTES_PER_WINDOW = 160


def tutorial_loop(data, w):
    xs = []
    for i in range(len(data) - w):
        xs.append(data[i : i + w])
    return np.array(xs)


def ours_3d(data, w):
    return SequenceWindower(window=w).fit_transform(data)


def ours_flat(data, w):
    return SequenceWindower(window=w, flatten=True).fit_transform(data)


METHODS = {"loop": tutorial_loop, "ours 3-D": ours_3d, "ours flatten": ours_flat}


# --------------------------------------------------------------------------
# Memory measurement
# --------------------------------------------------------------------------


def _status_kib(field):
    """A ``kB`` field of /proc/self/status (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"{field} not in /proc/self/status")


def _reset_peak_rss():
    """Reset this process's VmHWM to its current RSS; False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        _status_kib("VmHWM")
    except OSError:
        return False
    return True


def _make_data(n, n_features, seed=0):
    # Filled in place: no temporary copy inflates the baseline.
    X = np.empty((n, n_features))
    np.random.default_rng(seed).standard_normal(out=X)
    return X


def _measure(method, n, n_features, w, repeats):
    """Median seconds, tracemalloc peak and resident-set peak of one method."""
    func = METHODS[method]
    X = _make_data(n, n_features)
    # Lazy imports and first-call caches belong to no row count: pay them here.
    func(_make_data(100, n_features), w)
    gc.collect()

    rss_ok = _reset_peak_rss()
    base = _status_kib("VmRSS") if rss_ok else 0
    start = time.perf_counter()
    out = func(X, w)
    times = [time.perf_counter() - start]
    rss_peak = (_status_kib("VmHWM") - base) * 1024 if rss_ok else None
    del out
    gc.collect()

    for _ in range(repeats - 1):
        start = time.perf_counter()
        out = func(X, w)
        times.append(time.perf_counter() - start)
        del out
        gc.collect()

    # Traced separately: tracemalloc slows the Python loop, not the numbers.
    tracemalloc.start()
    out = func(X, w)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del out
    return {"seconds": statistics.median(times), "peak": traced_peak, "rss": rss_peak}


def _child(conn, *args):
    try:
        conn.send(_measure(*args))
    except BaseException as exc:  # report, do not hang the parent
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        conn.close()


def measure_in_child(method, n, n_features, w, repeats):
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, method, n, n_features, w, repeats))
    proc.start()
    child.close()
    try:
        result = parent.recv()
    except EOFError:
        result = {"error": f"child exited with code {proc.exitcode} (out of memory?)"}
    proc.join()
    return result


# --------------------------------------------------------------------------
# Estimates, checks, report
# --------------------------------------------------------------------------


def probe_ours_bytes_per_input_byte(w):
    """Peak extra memory of each windower mode per input byte, on a small run."""
    X = _make_data(20_000, 4)
    ratios = {}
    for method in ("ours 3-D", "ours flatten"):
        gc.collect()
        tracemalloc.start()
        out = METHODS[method](X, w)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del out
        ratios[method] = peak / X.nbytes
    return ratios


def estimated_bytes(method, n, n_features, w, probe):
    input_bytes = n * n_features * 8
    if method == "loop":
        return (n - w) * (w * n_features * 8 + LOOP_BYTES_PER_WINDOW)
    # The probe already counts one padded copy; allow a little slack.
    return 1.2 * probe[method] * input_bytes


def available_bytes():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_same_windows(w):
    data = _make_data(2_000, 3, seed=1)
    loop = tutorial_loop(data, w)
    ours = ours_3d(data, w)
    flat = ours_flat(data, w)
    # The loop's window i ends at row i + w - 1.
    np.testing.assert_array_equal(loop, ours[w - 1 : len(data) - 1])
    np.testing.assert_array_equal(flat, ours.reshape(len(data), -1))


def fmt_seconds(s):
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def fmt_bytes(b):
    if b is None:
        return "n/a"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(b) >= size:
            return f"{b / size:.1f} {unit}"
    return f"{b:.0f} B"


def table(header, rows):
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        padded = (str(c).rjust(wd) for c, wd in zip(cells, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    sep = "|" + "|".join("-" * (wd + 2) for wd in widths) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def machine():
    try:
        load = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        load = "load average unknown"
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(
                line.split(":", 1)[1].strip() for line in f if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    return (
        f"{model}, {os.cpu_count()} CPU(s), {load}; numpy {np.__version__}, "
        f"Python {platform.python_version()}; sklearn_rnn {sklearn_rnn.__version__} "
        f"from {os.path.dirname(sklearn_rnn.__file__)}"
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a small run: --max-rows 1e5")
    p.add_argument(
        "--max-rows",
        type=float,
        default=1e7,
        help="largest row count to run (default 1e7; 1e5 for a quick run)",
    )
    p.add_argument("--window", type=int, default=30, help="window length (default 30)")
    p.add_argument(
        "--features",
        type=int,
        nargs="+",
        default=[1, 8],
        help="feature counts to run (default 1 8)",
    )
    p.add_argument(
        "--max-gb",
        type=float,
        default=8.0,
        help="skip a run whose estimated peak exceeds this many GB (default 8)",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.max_rows = min(args.max_rows, 1e5)
    w = args.window

    print(f"# {machine()}", flush=True)
    print(f"# Windowing benchmark, window={w}, float64 input", flush=True)
    check_same_windows(w)
    print("# check: the loop's windows equal the windower's windows w-1 .. n-2")
    probe = probe_ours_bytes_per_input_byte(w)
    print(
        "# probe (20k x 4), traced peak per input byte: "
        + ", ".join(f"{k} {v:.2f}" for k, v in probe.items())
    )
    limit = args.max_gb * 1e9
    avail = available_bytes()
    if avail is not None:
        limit = min(limit, avail / 2)
    print(f"# skip threshold: {fmt_bytes(limit)} estimated peak", flush=True)

    rows, notes = [], []
    for n in (n for n in ROW_COUNTS if n <= args.max_rows):
        repeats = 5 if n <= 10_000 else 3 if n <= 100_000 else 1
        for n_features in args.features:
            res = {}
            for method in METHODS:
                need = estimated_bytes(method, n, n_features, w, probe)
                if need > limit:
                    notes.append(
                        f"{method} on {n:.0e} rows x {n_features} features skipped: "
                        f"it would need about {fmt_bytes(need)} "
                        f"(limit {fmt_bytes(limit)})"
                    )
                    res[method] = None
                    continue
                r = measure_in_child(method, n, n_features, w, repeats)
                if "error" in r:
                    notes.append(f"{method} on {n:.0e} x {n_features}: {r['error']}")
                    r = None
                res[method] = r
                print(f"  measured {method}, {n:.0e} x {n_features}", file=sys.stderr)
            rows.extend(_rows(n, n_features, res))

    header = [
        "rows",
        "features",
        "method",
        "time",
        "peak (traced)",
        "peak (RSS)",
        "time loop/this",
        "peak loop/this",
    ]
    print()
    print(table(header, rows))
    print(
        "\npeak = memory allocated on top of the input (rows x features x 8 bytes),"
        " traced by tracemalloc and as the resident-set high-water mark."
    )
    for note in notes:
        print(f"note: {note}")


def _rows(n, n_features, res):
    loop = res.get("loop")
    out = []
    for method, r in res.items():
        if r is None:
            out.append([f"{n:.0e}", n_features, method, "skipped", "", "", "", ""])
            continue
        if loop is None or method == "loop":
            t_ratio = p_ratio = "-"
        else:
            t_ratio = f"{loop['seconds'] / r['seconds']:.1f}x"
            p_ratio = f"{loop['peak'] / max(r['peak'], 1):.1f}x"
        out.append(
            [
                f"{n:.0e}",
                n_features,
                method,
                fmt_seconds(r["seconds"]),
                fmt_bytes(r["peak"]),
                fmt_bytes(r["rss"]),
                t_ratio,
                p_ratio,
            ]
        )
    return out


if __name__ == "__main__":
    main()
