"""GPU: ``RNNRegressor`` on CUDA against a hand-written CUDA loop, prediction,
mixed precision as a comparison, a CUDA-trained pickle loaded without a GPU,
and the GPU-marked tests. On a machine without CUDA it says so and exits with
status 2, having measured nothing (``--smoke-test-on-cpu`` runs every part on
the CPU instead, to check the script itself).

- fit: ``RNNRegressor(device="cuda").fit(W, y)`` (``W`` the windower's view, as
  users have it) against a hand-written loop on device-resident data: a
  contiguous float32 tensor of the same windows on the GPU, sliced with a
  ``torch.randperm`` on the GPU every epoch, the same ``RecurrentNetwork``
  (cuDNN), fused Adam and MSE. The loop reads the loss with ``.item()`` every
  batch, as ``RNNRegressor`` (skorch) does. "cuDNN throughput" is the same loop
  without that per-batch synchronisation (the loss summed on the GPU, read
  once an epoch): the most the network itself allows.
- mixed precision: the loop under ``torch.autocast`` with bfloat16 and with
  float16 (and a ``GradScaler``), against float32; a comparison only, the
  estimator trains in float32.
- predict: ``predict`` on 100,000 windows against the raw module, both from
  host memory (the tensor copied to the GPU and the output back) and on a
  tensor already on the GPU.
- persistence: a model trained on CUDA is pickled and loaded in a subprocess
  with ``CUDA_VISIBLE_DEVICES=""``; it must load on the CPU (with a warning)
  and predict what it predicted on the GPU, to float32 rounding.
- tests: ``pytest -m gpu``.

Goals: fit <= 1.05x the hand-written loop, and >= 90 % of cuDNN throughput.

    python benchmarks/bench_gpu.py            # about 4 minutes on one GPU
    python benchmarks/bench_gpu.py --quick    # about 1 minute
"""

import os
import pickle
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import torch
from _common import interleaved, machine, median, parser, table
from torch import nn

from sklearn_rnn import RNNRegressor, SequenceWindower
from sklearn_rnn._modules import RecurrentNetwork

WINDOW = 30
# "cpu" with --smoke-test-on-cpu: the same script, run where no GPU is, to
# check the script itself (its figures then mean nothing).
DEVICE = "cuda"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def synced(fn):
    """``fn`` followed by a CUDA synchronisation, so that timing covers its work."""

    def run():
        out = fn()
        if DEVICE == "cuda":
            torch.cuda.synchronize()
        return out

    return run


def make_data(n, n_features, seed=0):
    rng = np.random.default_rng(seed)
    rows = np.cumsum(rng.normal(size=(n, n_features)), axis=0)
    rows = ((rows - rows.mean(0)) / rows.std(0)).astype(np.float32)
    y = np.roll(rows[:, 0], -1) + 0.1 * rng.normal(size=n)
    windows = SequenceWindower(window=WINDOW).fit_transform(rows)
    X_t = torch.from_numpy(np.nan_to_num(windows)).to(DEVICE)
    y_t = torch.from_numpy(y.astype(np.float32)[:, None]).to(DEVICE)
    return windows, y, X_t, y_t


def fit_ours(windows, y, cell, hidden, batch, epochs):
    return RNNRegressor(
        cell=cell,
        hidden_size=hidden,
        batch_size=batch,
        max_epochs=epochs,
        scale_y=False,
        # The loop's network: no linear skip, no per-window normalisation.
        linear_skip=False,
        window_norm=None,
        random_state=0,
        device=DEVICE,
    ).fit(windows, y)


def fit_loop(X_t, y_t, cell, hidden, batch, epochs, sync=True, amp=None):
    torch.manual_seed(0)
    net = RecurrentNetwork(X_t.shape[2], 1, cell=cell, hidden_size=hidden).to(DEVICE)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
    scaler = torch.amp.GradScaler(DEVICE, enabled=amp is torch.float16)
    loss_fn = nn.MSELoss()
    n = len(X_t)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(n, device=DEVICE)
        total = 0.0 if sync else torch.zeros((), device=DEVICE)
        for start in range(0, n, batch):
            index = order[start : start + batch]
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(DEVICE, dtype=amp or torch.float32, enabled=amp is not None):
                loss = loss_fn(net(X_t[index]).float(), y_t[index])
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if sync:
                total += loss.item() * len(index)
            else:
                total += loss.detach() * len(index)
        losses.append(float(total) / n)
    return net, losses


def fit_runs(n, cell, hidden, n_features, batch, epochs):
    windows, y, X_t, y_t = make_data(n, n_features)
    runs = {
        "ours": synced(lambda: fit_ours(windows, y, cell, hidden, batch, epochs)),
        "loop": synced(lambda: fit_loop(X_t, y_t, cell, hidden, batch, epochs)),
        "cudnn": synced(lambda: fit_loop(X_t, y_t, cell, hidden, batch, epochs, sync=False)),
    }
    if DEVICE == "cuda":  # CPU kernels lack half-precision LSTMs
        for name, dtype in [("bf16", torch.bfloat16), ("fp16", torch.float16)]:
            runs[name] = synced(
                lambda d=dtype: fit_loop(X_t, y_t, cell, hidden, batch, epochs, False, d)
            )
    return runs


def part_fit(quick, rounds):
    n = 4000 if quick else 20000
    epochs = 1 if quick else 2
    cases = (
        [("lstm", 64, 4, 256)]
        if quick
        else [
            ("lstm", 64, 4, 64),
            ("lstm", 64, 4, 256),
            ("lstm", 256, 32, 256),
            ("gru", 128, 8, 1024),
        ]
    )
    rows = []
    for cell, hidden, n_features, batch in cases:
        runs = fit_runs(n, cell, hidden, n_features, batch, epochs)
        for run in runs.values():  # warm-up: cuDNN plans, allocator
            run()
        times = interleaved(runs, rounds)

        def ratio(a, b, times=times):
            return median([x / z for x, z in zip(times[a], times[b], strict=True)])

        rows.append(
            [
                f"{cell} h{hidden} f{n_features} b{batch}",
                f"{median(times['ours']) / epochs:.3f}",
                f"{median(times['loop']) / epochs:.3f}",
                f"{median(times['cudnn']) / epochs:.3f}",
                f"{ratio('ours', 'loop'):.3f}",
                f"{100 / ratio('ours', 'cudnn'):.0f} %",
                *(f"{ratio(k, 'cudnn'):.2f}" if k in times else "" for k in ("bf16", "fp16")),
            ]
        )
        print(" | ".join(rows[-1]), flush=True)
    print(
        f"\nfit on CUDA, {n} windows of {WINDOW} steps, {epochs} epoch(s), median of "
        f"{rounds} rounds. Goals: ours/loop <= 1.05, ours >= 90 % of cuDNN throughput. "
        "bf16/fp16: the loop under autocast (no per-batch sync) / the same in float32."
    )
    print(
        table(
            [
                "case",
                "ours s/epoch",
                "loop s/epoch",
                "cuDNN (no per-batch sync) s/epoch",
                "ours/loop",
                "ours / cuDNN throughput",
                "bf16/fp32",
                "fp16/fp32",
            ],
            rows,
        )
    )


def part_predict(quick, rounds):
    n = 20000 if quick else 100000
    windows, y, X_t, _ = make_data(n, 8)
    model = fit_ours(windows[:2000], y[:2000], "lstm", 64, 256, 1)
    module = model.module_
    host = X_t.cpu()

    def raw(X):
        def run():
            with torch.inference_mode():
                return module(X.to(DEVICE, non_blocking=True)).cpu().numpy()

        return run

    runs = {
        "ours": synced(lambda: model.predict(windows)),
        "raw from host": synced(raw(host)),
        "raw on device": synced(raw(X_t)),
    }
    for run in runs.values():
        run()
    times = interleaved(runs, rounds)
    base = times["raw from host"]
    row = [
        f"{median(times['ours']) * 1e3:.1f}",
        f"{median(base) * 1e3:.1f}",
        f"{median(times['raw on device']) * 1e3:.1f}",
        f"{median([a / b for a, b in zip(times['ours'], base, strict=True)]):.2f}",
    ]
    print(f"\npredict on CUDA, {n} windows of {WINDOW} steps x 8 features, LSTM hidden 64")
    print(
        table(["ours ms", "raw from host ms", "raw on device ms", "ours / raw from host"], [row])
    )


LOAD_ON_CPU = """
import pickle, sys, warnings
import numpy as np
import torch
assert not torch.cuda.is_available()
folder = sys.argv[1]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with open(folder + "/model.pkl", "rb") as f:
        model = pickle.load(f)
X = np.load(folder + "/X.npy")
expected = np.load(folder + "/expected.npy")
pred = model.predict(X)
print(model.device_, len(caught), float(np.max(np.abs(pred - expected))))
"""


def part_pickle():
    windows, y, _, _ = make_data(3000, 4)
    model = fit_ours(windows, y, "lstm", 32, 64, 3)
    expected = model.predict(windows)
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "model.pkl"), "wb") as f:
            pickle.dump(model, f)
        np.save(os.path.join(folder, "X.npy"), np.ascontiguousarray(windows))
        np.save(os.path.join(folder, "expected.npy"), expected)
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        out = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(LOAD_ON_CPU), folder],
            capture_output=True,
            text=True,
            env=env,
        )
    if out.returncode:
        print("\nCUDA pickle loaded without a GPU: FAILED\n" + out.stderr[-3000:])
        return False
    device, n_warnings, diff = out.stdout.split()
    warned = int(n_warnings) >= 1 or DEVICE == "cpu"  # a CPU model loads silently
    ok = (
        device == "cpu" and warned and float(diff) < 1e-4 * max(1.0, float(np.abs(expected).max()))
    )
    print(
        f"\nCUDA pickle loaded with CUDA_VISIBLE_DEVICES='': device_={device}, "
        f"{n_warnings} warning(s), largest |CPU - CUDA prediction| {float(diff):.2e}: "
        f"{'ok' if ok else 'FAILED'}"
    )
    return ok


def part_tests():
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "tests"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    tail = "\n".join(out.stdout.strip().splitlines()[-3:])
    print(f"\npytest -m gpu ({time.perf_counter() - start:.0f} s), exit status {out.returncode}:")
    print(tail)
    return out.returncode == 0


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument(
        "--only", choices=["fit", "predict", "pickle", "tests"], help="run one part only"
    )
    p.add_argument(
        "--smoke-test-on-cpu",
        action="store_true",
        help="run every part on the CPU, to check the script where no GPU is",
    )
    args = p.parse_args()
    print(machine())
    global DEVICE
    if args.smoke_test_on_cpu:
        DEVICE = "cpu"
        print("Smoke test on the CPU: the figures below say nothing about a GPU.")
    elif not torch.cuda.is_available():
        print(
            f"bench_gpu.py: no CUDA device is available (torch {torch.__version__}, "
            f"CUDA build: {torch.version.cuda or 'no'}; torch.cuda.is_available() is "
            "False), so nothing was measured. Run it on a machine with an NVIDIA GPU and "
            "a CUDA build of torch, or pass --smoke-test-on-cpu to check the script.",
            file=sys.stderr,
        )
        return 2
    else:
        print(
            f"GPU: {torch.cuda.get_device_name()}, torch CUDA {torch.version.cuda}, "
            f"cuDNN {torch.backends.cudnn.version()}"
        )
    rounds = args.rounds or (3 if args.quick else 5)
    ok = True
    if args.only in (None, "fit"):
        part_fit(args.quick, rounds)
    if args.only in (None, "predict"):
        part_predict(args.quick, rounds)
    if args.only in (None, "pickle"):
        ok &= part_pickle()
    if args.only in (None, "tests"):
        ok &= part_tests()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
