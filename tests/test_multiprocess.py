"""Two processes (`jax.distributed`, gloo on 127.0.0.1) × 2 host devices run the natural
gradient on points sharded over all four devices, each process building only its own
rows (dense, chunked Cholesky/Woodbury and CG Gram products as global sums; redrawn points,
each device drawing its own); the iterates equal one process's on the same points up to the rounding of the
reordered sums (relative 1e-8). The check is `examples/multiprocess.py --launch 2`, the
command the docs give (docs/how-to/multi-device.md); it kills both processes on failure or timeout."""

import pathlib
import re
import subprocess
import sys


SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "examples" / "multiprocess.py"


def test_two_processes_match_one_process():
    cmd = [sys.executable, str(SCRIPT), "--launch", "2", "--quick", "--timeout", "150"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=200)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "2 processes, 4 devices, 256 points" in run.stdout
    gaps = [float(g) for g in re.findall(r"one process: ([0-9.e+-]+)", run.stdout)]
    assert len(gaps) == 7 and max(gaps) <= 1e-8, run.stdout
