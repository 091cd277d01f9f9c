"""benchmarks/bench_recipes.py: the copy of stage 5.1 with more settings. Its figures in
benchmarks/README.md rest on two claims, checked here on real (small) data: with the
added settings at 0 the copy computes what the stage computes, and each added setting
runs."""
import os
import sys

from helpers import REPO, numbers_printed, run_script

STAGE = "mnist_5.1_speedrun_augmented.py"
EVERY_SETTING = ["TTA=8", "CLEAN_END=0.5", "CONV3=8", "STRIDED=2", "SCALE=0.1", "SHEAR=0.1",
                 "DROPOUT=0.2", "WD=0.1", "CROP=2", "SELECT=0.5", "SELECT_FROM=0.5",
                 "MUON=0.1", "MUON_DENSE=1", "WHOLE=1", "K=8", "L=16", "N=32"]


def edited_copy(folder, settings):
    sys.path.insert(0, os.path.join(REPO, "benchmarks"))
    try:
        import bench_recipes
    finally:
        sys.path.remove(os.path.join(REPO, "benchmarks"))
    replacements = [(old, new, "bench_recipes.py") for old, new in bench_recipes.PATCHES]
    folder.mkdir()
    return bench_recipes.runs.edited_stage(REPO / STAGE, settings, folder, replacements)


def test_the_copy_computes_the_stage_until_a_setting_is_added(tmp_path, small_mnist_dir):
    flags = ["--headless", "--data-dir", small_mnist_dir, "--iterations", "20", "--seed", "3"]
    env = {"PYTHONPATH": str(REPO)}
    stage = run_script(STAGE, *flags, cwd=tmp_path)
    same = run_script(edited_copy(tmp_path / "same", []), *flags, cwd=tmp_path, env_extra=env)
    assert stage.returncode == 0 and same.returncode == 0, same.stderr[-2000:]
    assert numbers_printed(same.stdout) == numbers_printed(stage.stdout)
    assert len(numbers_printed(stage.stdout)) >= 4  # the training lines, two tests, the max

    every = run_script(edited_copy(tmp_path / "every", EVERY_SETTING), *flags, cwd=tmp_path,
                       env_extra=env)
    assert every.returncode == 0, every.stderr[-2000:]
    figures = numbers_printed(every.stdout)
    assert figures and figures != numbers_printed(stage.stdout)
    assert "test accuracy" in every.stdout
