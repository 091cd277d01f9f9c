"""Faults a learner meets, injected one by one: the work already done is never
lost, and every mistake ends with a one-paragraph message, not a traceback.

Lost work first, end to end through the stage scripts on 1,000 real digits (an epoch is
10 steps, so a few hundred steps cross many epochs): a folder that holds a run, another
stage's checkpoint, Ctrl-C, a closed window, a resumed run. Then the output paths checked
before training, the messages that replace tracebacks, and a quiet start.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import trainer

from helpers import (REPO, SPEEDRUN_STEPS, STAGE_1_0, STAGE_2_0, STAGE_2_1, STAGE_2_2,
                     WindowStage, checkpoint_step, ctrl_c_after, figures_after,
                     needs_window_tools, no_traceback, numbers_printed, press, run_script,
                     snapshot, start_stage, stopped_by_ctrl_c_and_resumed, train, x_display,
                     xdotool)


# ------------------------------------------------------------------ lost work

def test_a_folder_that_holds_a_run_is_refused_without_restore_and_kept(small_mnist_dir,
                                                                      tmp_path):
    model_dir = tmp_path / "model"
    train(STAGE_2_1, small_mnist_dir, model_dir, "--iterations", "30", cwd=tmp_path)
    before = snapshot(model_dir)

    again = run_script(STAGE_2_1, "--headless", "--data-dir", small_mnist_dir,
                       "--iterations", "10", "--save-model", str(model_dir), cwd=tmp_path)
    assert again.returncode == 2
    message = again.stderr
    assert "already holds a run of mnist_2.1_five_layers_relu_lrdecay.py (at step 30)" in message
    assert "--restore" in message and "--fresh" in message
    assert "step " not in again.stdout  # refused before training
    no_traceback(again)
    assert snapshot(model_dir) == before


def test_fresh_moves_the_earlier_run_aside_and_starts_over(small_mnist_dir, tmp_path):
    model_dir = tmp_path / "model"
    train(STAGE_2_1, small_mnist_dir, model_dir, "--iterations", "30", cwd=tmp_path)
    before = snapshot(model_dir)

    fresh = train(STAGE_2_1, small_mnist_dir, model_dir, "--iterations", "20", "--fresh",
                  cwd=tmp_path)
    assert f"moved the run that was in {model_dir} to {model_dir / 'previous-1'}" in fresh.stdout
    assert snapshot(model_dir / "previous-1") == before  # the earlier run, whole
    assert checkpoint_step(model_dir) == 20 and checkpoint_step(model_dir / "previous-1") == 30
    # The earlier run is still a run: it can be resumed where it is.
    resumed = train(STAGE_2_1, small_mnist_dir, model_dir / "previous-1", "--iterations", "40",
                    "--restore", cwd=tmp_path)
    assert "(step 30)" in resumed.stdout

    again = train(STAGE_2_1, small_mnist_dir, model_dir, "--iterations", "10", "--fresh",
                  cwd=tmp_path)
    assert f"to {model_dir / 'previous-2'}" in again.stdout
    assert sorted(path.name for path in model_dir.iterdir()) == [
        "checkpoints", "previous-1", "previous-2", "saved_model", "stage.json"]


def test_another_stages_checkpoint_is_refused_even_with_the_same_shapes(small_mnist_dir,
                                                                       tmp_path):
    """2.0 and 2.1 have the very same variables; only the record tells them apart."""
    model_dir = tmp_path / "model"
    train(STAGE_2_0, small_mnist_dir, model_dir, "--iterations", "20", cwd=tmp_path)
    record = json.loads((model_dir / "stage.json").read_text())
    assert record["stage"] == STAGE_2_0
    assert record["network"]["W1"] == [784, 200] and record["network"]["B5"] == [10]
    before = snapshot(model_dir)

    restored = run_script(STAGE_2_1, "--headless", "--data-dir", small_mnist_dir,
                          "--iterations", "40", "--save-model", str(model_dir), "--restore",
                          cwd=tmp_path)
    assert restored.returncode == 2
    assert f"holds a run of {STAGE_2_0}, not of {STAGE_2_1}" in restored.stderr
    assert "its own --save-model folder (e.g. models/2.1)" in restored.stderr
    no_traceback(restored)
    assert snapshot(model_dir) == before  # 2.0's model is not overwritten


def test_an_edited_network_is_not_restored(small_mnist_dir, tmp_path):
    """A learner widens the first layer of their 2.1 and resumes their earlier run."""
    model_dir = tmp_path / "model"
    train(STAGE_2_1, small_mnist_dir, model_dir, "--iterations", "20", cwd=tmp_path)
    before = snapshot(model_dir)
    edited_dir = tmp_path / "mine"
    edited_dir.mkdir()
    source = Path(REPO, STAGE_2_1).read_text()
    edited = source.replace("L, M, N, O = 200, 100, 60, 30", "L, M, N, O = 300, 100, 60, 30")
    assert edited != source
    (edited_dir / STAGE_2_1).write_text(edited)

    result = run_script(
        edited_dir / STAGE_2_1, "--headless", "--data-dir", small_mnist_dir, "--iterations", "40",
        "--save-model", str(model_dir), "--restore", cwd=tmp_path,
        env_extra={"PYTHONPATH": str(REPO)})
    assert result.returncode == 1
    assert result.stderr.startswith("error: --restore: the network in")
    assert "W1 [784, 200] there, [784, 300] here" in result.stderr
    assert "--fresh" in result.stderr
    no_traceback(result)
    assert snapshot(model_dir) == before


def test_ctrl_c_stops_cleanly_with_everything_saved(small_mnist_dir, tmp_path):
    model_dir = tmp_path / "model"
    process = start_stage(STAGE_2_1, "--headless", "--data-dir", small_mnist_dir,
                          "--iterations", "1000000", "--save-model", str(model_dir),
                          cwd=tmp_path)
    lines, out, err = ctrl_c_after(process, r"step 60: training accuracy")
    lines += out.splitlines()
    assert process.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    stopped = [re.fullmatch(r"stopped at step (\d+) of 1000000 \(Ctrl-C\)", line)
               for line in lines]
    step = int(next(match for match in stopped if match)[1])
    assert step >= 60
    # the max test accuracy is of the tests before the stop: the summary says which was last
    last_test = max(int(m["step"]) for m in trainer.TEST_LINE.finditer("\n".join(lines)))
    said = (f"the test set was last measured at step {last_test}: the max test accuracy below "
            f"is of the tests up to there")
    assert (said in lines) == (last_test < step), (last_test, step)
    assert f"saved the trained network in {model_dir / 'saved_model'}" in "\n".join(lines)
    assert any(line.startswith(f"trained {step} steps in ") for line in lines)
    assert re.fullmatch(r"max test accuracy: 0\.\d{4}", lines[-1])
    assert checkpoint_step(model_dir) == step
    assert (model_dir / "saved_model" / "1" / "saved_model.pb").is_file()

    resumed = train(STAGE_2_1, small_mnist_dir, model_dir, "--iterations", str(step + 20),
                    "--restore", cwd=tmp_path)
    assert f"(step {step})" in resumed.stdout
    assert "trained 20 steps" in resumed.stdout


@needs_window_tools
def test_closing_the_window_stops_cleanly_with_everything_saved(small_mnist_dir, tmp_path):
    model_dir = tmp_path / "model"
    with x_display((1400, 850)) as display:
        stage = WindowStage(display, STAGE_1_0, "--iterations", "1000000",
                            "--data-dir", small_mnist_dir, "--save-model", str(model_dir))
        try:
            stage.wait_for("step 40:")
            window = xdotool(display, "search", "--sync", "--name", "^MNIST")
            press(display, window, "q", settle=0.0)
            assert stage.wait_until_ended(timeout=120) == 0
        finally:
            stage.kill()
    lines = stage.stdout
    assert "Traceback" not in stage.process.stderr.read()
    match = next(m for m in (re.fullmatch(r"stopped at step (\d+) of 1000000 \(the dashboard "
                                          r"window was closed\)", line) for line in lines) if m)
    step = int(match[1])
    assert any(line.startswith(f"saved the trained network in {model_dir}") for line in lines)
    assert any(line.startswith(f"trained {step} steps in ") for line in lines)
    assert lines[-1].startswith("max test accuracy: ")
    assert checkpoint_step(model_dir) == step


@pytest.mark.parametrize("script", [STAGE_2_1, STAGE_2_2], ids=["2.1", "2.2 (dropout)"])
def test_a_resumed_run_prints_the_numbers_of_an_uninterrupted_one(small_mnist_dir, tmp_path,
                                                                  script):
    straight = run_script(script, "--headless", "--data-dir", small_mnist_dir,
                          "--iterations", "300", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr[-3000:]
    model_dir = tmp_path / "model"
    train(script, small_mnist_dir, model_dir, "--iterations", "200", cwd=tmp_path)
    resumed = train(script, small_mnist_dir, model_dir, "--iterations", "300", "--restore",
                    cwd=tmp_path)

    def from_step_200(stdout):
        lines = numbers_printed(stdout)
        first = next(i for i, line in enumerate(lines) if line.startswith("step 200:"))
        return lines[first:]

    assert from_step_200(resumed.stdout) == from_step_200(straight.stdout)
    assert len(from_step_200(resumed.stdout)) == 6 + 2 + 1  # 200..300 by 20, tests, max
    # the best test accuracy covers the first 200 steps too
    assert resumed.stdout.splitlines()[-1] == straight.stdout.splitlines()[-1]


def test_an_interrupted_augmented_speedrun_moves_the_same_images_when_resumed(small_mnist_dir,
                                                                             tmp_path):
    """Stage 5.1 moves its training images at random. Stopped by Ctrl-C and resumed with
    --restore, it prints what the uninterrupted run prints after the stop: the generator
    of the moves is in the checkpoint, so the steps after the stop move the same images
    the same way."""
    script = "mnist_5.1_speedrun_augmented.py"
    flags = ("--headless", "--data-dir", small_mnist_dir, "--iterations", "60", "--seed", "0")
    straight = run_script(script, *flags, cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr[-3000:]
    stop, _, resumed = stopped_by_ctrl_c_and_resumed(script, flags, tmp_path / "model", 20,
                                                     cwd=tmp_path)
    assert len(figures_after(straight.stdout, stop)) >= 2
    assert figures_after(resumed.stdout, stop) == figures_after(straight.stdout, stop)


def test_an_interrupted_speedrun_resumes_on_its_own_schedule(small_mnist_dir, tmp_path,
                                                            speedrun_headless):
    """Stage 5.0: batches of 256 and a learning rate planned over --iterations. Stopped
    by Ctrl-C and resumed with --restore, it prints what the uninterrupted run prints
    after the stop, and its saved network answers predict.py."""
    from PIL import Image
    script = "mnist_5.0_speedrun.py"
    straight = speedrun_headless  # the same flags, uninterrupted
    model_dir = tmp_path / "model"
    flags = ("--headless", "--data-dir", small_mnist_dir, "--iterations", str(SPEEDRUN_STEPS),
             "--seed", "0")
    stop, _, resumed = stopped_by_ctrl_c_and_resumed(script, flags, model_dir, 60, cwd=tmp_path)
    assert len(figures_after(straight.stdout, stop)) >= 2
    assert figures_after(resumed.stdout, stop) == figures_after(straight.stdout, stop)
    test_image = tmp_path / "digit.png"
    import mnistdata
    mnist = mnistdata.read_data_sets(small_mnist_dir, one_hot=False, reshape=False)
    Image.fromarray(np.uint8(np.round(255 * (1 - mnist.test.images[0, ..., 0])))).save(test_image)
    answer = subprocess.run([sys.executable, os.path.join(REPO, "predict.py"), "--model",
                             str(model_dir), str(test_image)],
                            capture_output=True, text=True, timeout=300)
    assert answer.returncode == 0, answer.stderr[-3000:]
    label = int(mnist.test.labels[0])  # a clear 7: a network at 99 % knows it
    assert re.search(rf"digit\.png: {label} \(\d\.\d{{3}}\)", answer.stdout), answer.stdout
    assert "absl" not in answer.stderr and "oneDNN" not in answer.stderr, answer.stderr


def test_the_batch_order_is_restored_across_epochs():
    import mnistdata
    images = np.arange(250, dtype=np.float32)
    data = mnistdata.DataSet(images, images, seed=5)
    for _ in range(7):  # into the third epoch, mid-way
        data.next_batch_indices(100)
    state = json.loads(json.dumps(data.state()))  # as a checkpoint keeps it
    expected = [data.next_batch_indices(100) for _ in range(6)]
    other = mnistdata.DataSet(images, images, seed=99)
    other.set_state(state)
    assert all(np.array_equal(a, b) for a, b in zip(expected, [other.next_batch_indices(100)
                                                               for _ in range(6)]))
    assert other.epochs_completed == data.epochs_completed
    with pytest.raises(ValueError, match="250"):
        mnistdata.DataSet(images[:200], images[:200]).set_state(state)


# ---------------------------------------------------- output paths, before training

@pytest.mark.parametrize("inside", ["saved_model", "checkpoints"])
def test_a_file_where_the_model_folder_has_a_folder_is_reported_and_kept(small_mnist_dir,
                                                                         tmp_path, inside):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / inside).write_text("my notes\n")
    result = run_script(STAGE_1_0, "--headless", "--data-dir", small_mnist_dir,
                        "--save-model", str(model_dir), cwd=tmp_path)
    assert result.returncode == 2
    assert f"{model_dir / inside} is a file" in result.stderr
    assert "step " not in result.stdout
    no_traceback(result)
    assert (model_dir / inside).read_text() == "my notes\n"
    assert sorted(path.name for path in model_dir.iterdir()) == [inside]


def test_a_model_folder_that_is_a_file_is_reported(tmp_path):
    path = tmp_path / "model"
    path.write_text("mine\n")
    result = run_script(STAGE_1_0, "--save-model", str(path), cwd=tmp_path)
    assert result.returncode == 2 and f"{path} is a file, not a folder" in result.stderr
    assert path.read_text() == "mine\n"


@pytest.mark.parametrize("flags, message", [
    (["--restore", "--fresh", "--save-model", "m"], "choose one"),
    (["--fresh"], "--fresh needs --save-model"),
    (["--seed", "4294967296"], "--seed: must be at most 4294967295"),
])
def test_more_bad_flags_are_refused_with_the_flag_named(flags, message, tmp_path):
    result = run_script(STAGE_1_0, *flags, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    no_traceback(result)


# ------------------------------------------------------ messages, not tracebacks

def test_a_truncated_checkpoint_gives_a_message(small_mnist_dir, tmp_path):
    model_dir = tmp_path / "model"
    train(STAGE_1_0, small_mnist_dir, model_dir, "--iterations", "20", cwd=tmp_path)
    [data_file] = (model_dir / "checkpoints").glob("ckpt-20.data-*")
    data_file.write_bytes(data_file.read_bytes()[:100])  # a copy cut short

    result = run_script(STAGE_1_0, "--headless", "--data-dir", small_mnist_dir,
                        "--iterations", "40", "--save-model", str(model_dir), "--restore",
                        cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: --restore: cannot read the checkpoint "
                                    f"{model_dir / 'checkpoints' / 'ckpt-20'}")
    assert "--fresh" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    no_traceback(result)


def test_data_errors_end_with_one_message(tmp_path):
    result = run_script(STAGE_1_0, "--data-dir", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "nowhere" in result.stderr
    no_traceback(result)


# ------------------------------------------------------------------ a quiet start

def modules_after(script, *flags):
    """Run a stage with `flags` in a fresh Python (they must make it exit) and return
    what it printed, with whether TensorFlow and matplotlib were loaded."""
    code = ("import runpy, sys\n"
            "sys.argv = sys.argv[1:]  # the stage and its flags\n"
            "try:\n"
            "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
            "except SystemExit as exit:\n"
            "    print('exit', exit.code)\n"
            "print('loaded', 'tensorflow' in sys.modules, 'matplotlib' in sys.modules)\n")
    return run_script(script, *flags, python_flags=("-c", code), timeout=60, cwd=REPO)


@pytest.mark.parametrize("flags", [["-h"], ["--iterations", "0"], ["--seed", "-3"]])
def test_help_and_flag_errors_answer_without_loading_tensorflow(flags):
    """They answer at once: without TensorFlow (seconds to load) or matplotlib."""
    result = modules_after(STAGE_2_1, *flags)
    assert "loaded False False" in result.stdout, result.stdout + result.stderr
    assert f"exit {0 if flags == ['-h'] else 2}" in result.stdout, result.stdout


def test_start_up_prints_no_tensorflow_notices_and_keeps_other_lines(small_mnist_dir,
                                                                     tmp_path):
    """TensorFlow's start-up notices are hidden; whatever else reaches stderr while it
    loads is kept: here the lines of Python's -X importtime, one per module imported.
    With TF_CPP_MIN_LOG_LEVEL=0 (all of TensorFlow's notices, asked for) they show."""
    env = {"TF_CPP_MIN_LOG_LEVEL": None, "TF_ENABLE_ONEDNN_OPTS": None}  # as on a fresh machine
    flags = [STAGE_2_1, "--headless", "--iterations", "1", "--data-dir", small_mnist_dir]
    result = run_script(*flags, python_flags=("-X", "importtime"), cwd=tmp_path, env_extra=env)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    assert any(re.fullmatch(r"import time: +\d+ \| +\d+ \| +tensorflow", line)
               for line in lines), lines[-20:]
    assert [line for line in lines if not line.startswith("import time:")] == []
    env["TF_CPP_MIN_LOG_LEVEL"] = "0"
    shown = run_script(*flags, cwd=tmp_path, env_extra=env)
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert "oneDNN custom operations are on" in shown.stderr, shown.stderr[-3000:]


# ------------------------------------------------------------------ the tests

def test_a_deprecation_raised_from_our_code_fails_the_tests():
    """pytest.ini turns the deprecations of the project's own code into errors."""
    import warnings
    with pytest.raises(DeprecationWarning):
        warnings.warn("an API on its way out", DeprecationWarning)
