"""Every script in examples/ runs to the end and saves its picture."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Every script is an example; a module named with a leading underscore would be
# a helper shared by scripts, not a story of its own.
EXAMPLES = sorted(
    path
    for path in (Path(__file__).resolve().parents[1] / "examples").glob("*.py")
    if not path.name.startswith("_")
)

# Scripts whose data ship in an optional extra: skipped where it is missing.
NEEDS = {"plot_sequence_classification.py": "sktime"}


def test_examples_are_found():
    assert EXAMPLES, "no example scripts found in examples/"


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_runs_and_saves_a_png(script, tmp_path):
    if script.name in NEEDS:
        pytest.importorskip(NEEDS[script.name], reason="an optional extra of this example")
    out = tmp_path / "images"
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "SKLEARN_RNN_EXAMPLES_OUT": str(out),
    }
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (
        f"{script.name} exited with {result.returncode}\n"
        f"--- stdout ---\n{result.stdout[-3000:]}\n"
        f"--- stderr ---\n{result.stderr[-3000:]}"
    )
    assert result.stdout.strip(), f"{script.name} printed no results"
    pngs = list(out.glob("*.png"))
    assert pngs, f"{script.name} saved no PNG into SKLEARN_RNN_EXAMPLES_OUT ({out})"
    assert all(png.stat().st_size > 1000 for png in pngs)
