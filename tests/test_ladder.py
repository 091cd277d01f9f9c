"""The accuracy ladder at full budget: each stage reaches its target (slow: about an hour
on 2 CPU cores in all; run with python3 -m pytest -m slow). benchmarks/bench_ladder.py
runs the same and prints the table for README."""

import pytest

from benchmarks._runs import STAGES, run_script


@pytest.mark.slow
@pytest.mark.parametrize("stage, script, target",
                         [s for s in STAGES if s[2] is not None], ids=lambda v: str(v))
def test_stage_reaches_its_target_at_full_budget(stage, script, target):
    run = run_script(script, ["--headless", "--seed", "0"])
    assert run.returncode == 0
    assert run.max_accuracy >= target, f"stage {stage}: {run.max_accuracy} < {target}"
