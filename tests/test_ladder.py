"""The accuracy ladder at full budget: each stage reaches its target (slow: about an hour
on 2 CPU cores in all; run with python3 -m pytest -m slow). benchmarks/bench_ladder.py
runs the same and prints the table for README."""

import os
import re
import subprocess
import sys

import pytest

from conftest import REPO
from stages import LADDER_TARGETS, STAGES

MAX_ACCURACY = re.compile(r"^max test accuracy: ([\d.]+)$", re.MULTILINE)


@pytest.mark.slow
@pytest.mark.parametrize("stage, script", STAGES, ids=[stage for stage, _ in STAGES])
def test_stage_reaches_its_target_at_full_budget(stage, script, tmp_path):
    run = subprocess.run([sys.executable, os.path.join(REPO, script), "--headless",
                          "--seed", "0"], cwd=tmp_path, capture_output=True, text=True,
                         env=dict(os.environ, MPLBACKEND="Agg"))
    assert run.returncode == 0, run.stderr[-3000:]
    max_accuracy = float(MAX_ACCURACY.findall(run.stdout)[-1])
    assert max_accuracy >= LADDER_TARGETS[stage], f"stage {stage}: {max_accuracy}"
