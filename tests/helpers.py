"""What the test modules share, in one place: the repository's path (REPO); MNIST
written as IDX files (the one IDX writer); starting a stage (launch(), the one way: in a
subprocess, as a learner does; load_stage() runs one in this process, to reach its
variables); reading what it prints; stopping it with a signal; a private X display
(Xvfb) with a stage in a real window on it; a cell in a real Jupyter kernel.

conftest.py marks `stage` every test that reaches STAGE_STARTERS (directly, or through
a function, class or fixture of the tests), and the starters refuse to run in a test
that is not so marked: the quick tier (`-m quick`) is the tests that start no stage.

The lines a run prints are read with trainer's own patterns (trainer.PROGRESS_LINE,
TEST_LINE, TIMING_LINE, MAX_ACCURACY_LINE), defined beside the code that prints them.
The fixtures (the small MNIST, the speedrun's reference run) are in conftest.py.
"""

import contextlib
import gzip
import hashlib
import os
import queue
import re
import runpy
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from codelab import runfolder
import trainer

REPO = Path(__file__).resolve().parent.parent  # the repository: tests/ is one level down

STAGE_1_0 = "mnist_1.0_softmax.py"
STAGE_2_0 = "mnist_2.0_five_layers_sigmoid.py"
STAGE_2_1 = "mnist_2.1_five_layers_relu_lrdecay.py"
STAGE_2_2 = "mnist_2.2_five_layers_relu_lrdecay_dropout.py"
SPEEDRUN_STEPS = 100  # stage 5.0 squeezed to 100 steps: its whole schedule, in seconds


# ------------------------------------------------------------ MNIST as IDX files

IDX_NAMES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
             "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


def idx_bytes(array):
    """A uint8 array in the IDX format, written here independently of mnistdata: the
    magic (0, 0, 0x08 for unsigned bytes, the number of axes), each axis's size as a
    big-endian 32-bit integer, then the bytes."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    return header + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_idx(path, array):
    """Write a uint8 array as an IDX file, gzipped when the name ends in .gz."""
    data = idx_bytes(array)
    Path(path).write_bytes(gzip.compress(data) if str(path).endswith(".gz") else data)


def write_mnist_dir(folder, train_images, train_labels, test_images, test_labels, gz=True):
    """The four canonical IDX files of a (small) MNIST in `folder`, gzipped or not."""
    os.makedirs(folder, exist_ok=True)
    arrays = {"train_images": train_images, "train_labels": train_labels,
              "test_images": test_images, "test_labels": test_labels}
    for key, name in IDX_NAMES.items():
        write_idx(Path(folder, name + ".gz" if gz else name), arrays[key])
    return folder


# ------------------------------------------------------------ starting a stage

# The test running now (conftest.py sets it): the starters check that it is marked `stage`.
running_test = None


def check_marked_stage():
    """A test that starts a stage must be marked `stage` (conftest.py does it); one that
    is not would slow the quick tier down unseen."""
    if running_test is not None and running_test.get_closest_marker("stage") is None:
        raise AssertionError(
            f"{running_test.nodeid} starts a stage but is not marked `stage`: call one of "
            "helpers.STAGE_STARTERS by its name (directly, or in a function, class or "
            "fixture of the tests), which conftest.py finds and marks")


def stage_environment(env_extra=None):
    """The environment a stage runs in: the tests' own, no window unless asked;
    env_extra's variables added (or, given as None, removed)."""
    env = dict(os.environ, MPLBACKEND="Agg")
    for name, value in (env_extra or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def launch(script, *flags, cwd=None, env_extra=None, python_flags=(), **popen):
    """Start a stage script (or predict.py) as a learner does, `python3 script flags`, in
    a new process: the one way the tests start one. `script` is a path in the repository
    or one of its own (a learner's edited copy); python_flags go before it (-X
    importtime; -c CODE, with the script and flags as CODE's sys.argv[1:]); `popen`
    goes to subprocess.Popen (stdout and stderr are text pipes unless it says otherwise)."""
    check_marked_stage()
    popen = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, **popen}
    return subprocess.Popen([sys.executable, *python_flags, str(Path(REPO, script)), *flags],
                            cwd=cwd, env=stage_environment(env_extra), **popen)


def run_script(script, *flags, cwd=None, timeout=300, **launch_args):
    """launch() and wait for the end: a subprocess.CompletedProcess with its output."""
    process = launch(script, *flags, cwd=cwd, **launch_args)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def train(script, data_dir, folder, *flags, cwd):
    """A headless run that saves into `folder`; it must succeed."""
    result = run_script(script, "--headless", "--data-dir", data_dir,
                        "--save-model", str(folder), *flags, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def load_stage(script, data_dir, *flags):
    """Run a stage for one step (unless flags say otherwise) in this process and return
    its module globals."""
    check_marked_stage()
    argv = sys.argv
    sys.argv = [str(script), "--headless", "--iterations", "1", "--data-dir", data_dir, *flags]
    try:
        return runpy.run_path(str(Path(REPO, script)), run_name="__main__")
    finally:
        sys.argv = argv


def randomise(stage, seed=1):
    """Give every variable random values, so that no check passes by symmetry."""
    rng = np.random.default_rng(seed)
    for var in stage["variables"]:
        values = rng.normal(0, 0.1, var.shape)
        if var.name.startswith("VAR"):  # a moving variance is positive
            values = np.abs(values) + 0.5
        var.assign(values.astype(np.float32))


def numbers_printed(stdout):
    """The lines that carry figures; the timing line varies from run to run."""
    return [line for line in stdout.splitlines()
            if trainer.PROGRESS_LINE.match(line) or trainer.TEST_LINE.match(line)
            or trainer.MAX_ACCURACY_LINE.match(line)]


def stopped_by_ctrl_c_and_resumed(script, flags, model_dir, at_step, cwd):
    """`script` with `flags`, saving into model_dir, stopped by Ctrl-C once step
    `at_step`'s training line shows (exit 130), then run again with --restore:
    (the step it stopped at, its stderr, the resumed run)."""
    process = start_stage(script, *flags, "--save-model", str(model_dir), cwd=cwd)
    _, out, err = ctrl_c_after(process, rf"step {at_step}: training accuracy")
    assert process.returncode == 130, err[-3000:]
    steps = flags[flags.index("--iterations") + 1]
    stop = int(re.search(rf"stopped at step (\d+) of {steps} \(Ctrl-C\)", out)[1])
    assert at_step <= stop < int(steps)
    resumed = run_script(script, *flags, "--save-model", str(model_dir), "--restore", cwd=cwd)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    return stop, err, resumed


def figures_after(stdout, stop):
    """The progress and test lines of the steps after `stop`."""
    return [line for line in numbers_printed(stdout)
            if line.startswith("step ") and int(line.split()[1].rstrip(":")) > stop]


def checkpoint_step(folder):
    """The step of the latest checkpoint of the run in `folder`."""
    return runfolder.latest_checkpoint_step(folder)


def snapshot(folder):
    """{relative path: sha256} of every file under `folder`: to show nothing changed."""
    folder = Path(folder)
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def no_traceback(result):
    assert "Traceback" not in result.stderr, result.stderr[-3000:]


# ------------------------------------------------------ a running stage, stopped

def start_stage(script, *flags, cwd, env_extra=None):
    """A stage running headless in the background: read its lines with read_until."""
    return launch(script, *flags, cwd=cwd, env_extra=env_extra, preexec_fn=answer_ctrl_c)


def answer_ctrl_c():
    """In the child: Ctrl-C as in a terminal, even when the tests run in the background
    (where the shell makes every child ignore it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def read_until(process, pattern, lines, timeout=240):
    """Read stdout lines into `lines` until one matches `pattern` (re.match)."""
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if re.match(pattern, line):
            return
        assert time.monotonic() < deadline, f"no line matching {pattern!r} in {timeout} s"
    raise AssertionError(f"the run ended without a line matching {pattern!r}: "
                         + "\n".join(lines[-20:]) + "\n" + process.stderr.read()[-3000:])


def signal_after(process, pattern, signal_number, before=None):
    """Send a signal once a line matches `pattern` (after calling before(), if given);
    (lines before, rest of stdout, stderr)."""
    lines = []
    try:
        read_until(process, pattern, lines)
        if before:
            before()
        process.send_signal(signal_number)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    return lines, out, err


def ctrl_c_after(process, pattern):
    """Press Ctrl-C once a line matches `pattern`; (lines before, rest of stdout, stderr)."""
    return signal_after(process, pattern, signal.SIGINT)


# ------------------------------------------------------ a real window, on Xvfb

WINDOW_TOOLS = ("Xvfb", "xdotool", "ffmpeg")
needs_window_tools = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in WINDOW_TOOLS),
    reason="needs Xvfb, xdotool and ffmpeg (apt install xvfb xdotool ffmpeg)")


@contextlib.contextmanager
def x_display(size):
    """A private X display (Xvfb) of `size` pixels, e.g. ':7', closed at the end."""
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-nolisten", "tcp",
                               "-screen", "0", f"{size[0]}x{size[1]}x24"],
                              pass_fds=(write,), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    try:
        assert number, "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


class WindowStage:
    """A stage script running in a Tk window on `display`; its stdout lines arrive on a
    queue; stderr is read at the end (it is short)."""

    def __init__(self, display, script, *flags):
        self.process = launch(script, *flags, env_extra={"DISPLAY": display, "MPLBACKEND": "TkAgg"})
        self.lines, self.stdout = queue.Queue(), []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.stdout.append(line.rstrip("\n"))
            self.lines.put(line)

    def wait_for(self, start, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.process.poll() is None, self.process.stderr.read()[-3000:]
                continue
            if line.startswith(start):
                return line
        raise AssertionError(f"no line starting with {start!r} within {timeout} s")

    def wait_until_ended(self, timeout):
        """The exit code, once the process has ended and all its lines are read."""
        code = self.process.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return code

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def xdotool(display, *args):
    done = subprocess.run(["xdotool", *args], env=dict(os.environ, DISPLAY=display),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def press(display, window, key, settle=1.0):
    xdotool(display, "windowfocus", "--sync", window)
    xdotool(display, "key", "--clearmodifiers", key)
    time.sleep(settle)                     # the next tick repaints (within ~0.1 s of training)


# ------------------------------------------------------ a real Jupyter kernel

def run_cell(source, folder, monkeypatch):
    """Run one notebook cell in a real Jupyter kernel (nbclient) in `folder`. Returns its
    outputs, its stdout and the kernel's messages counted by type. Needs nbformat,
    nbclient and ipykernel: the callers skip without them."""
    check_marked_stage()
    import nbclient
    import nbformat

    class CountingClient(nbclient.NotebookClient):
        """Counts the kernel's messages by type while the cell runs."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.counts = {}

        def process_message(self, msg, cell, cell_index):
            kind = msg["msg_type"]
            if kind == "comm_msg" and msg.get("buffers"):
                kind = "comm_msg with data"     # ipympl sends each new picture this way
            self.counts[kind] = self.counts.get(kind, 0) + 1
            return super().process_message(msg, cell, cell_index)

    monkeypatch.delenv("MPLBACKEND", raising=False)   # the kernel picks its own, as in Jupyter
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    client = CountingClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    client.execute()
    outputs = notebook.cells[0].outputs
    stdout = "".join(out.get("text", "") for out in outputs
                     if out.output_type == "stream" and out.name == "stdout")
    errors = [out for out in outputs if out.output_type == "error"]
    assert not errors, errors[0]["traceback"][-1]
    return outputs, stdout, client.counts


# What starts a stage (or, for run_cell, trains in a kernel): conftest.py marks `stage`
# every test that reaches one of these.
def train_here(run_arguments, *flags, iterations=1, prog="tiny_stage.py"):
    """trainer.run() in the test's own process, as a stage script calls it, for a stage
    that the test writes itself (run_arguments: what run() takes besides the flags and
    the data)."""
    check_marked_stage()
    import trainer
    args = trainer.parse_args("A stage of the tests.", iterations, prog=prog,
                              argv=["--headless", *flags])
    return trainer.run(args, trainer.read_data(args), **run_arguments)


def trial_run(stage, flags, split, workdir):
    """tune.py's runner of one trial (codelab/tuning.py TrialRun), which starts the stage
    as its own process when the test calls its run()."""
    check_marked_stage()
    from codelab import tuning
    return tuning.TrialRun(stage, flags, split, workdir)


def starts_a_stage_script(command):
    """Whether a command line (a list, as Popen takes it) runs a stage script: a Python file
    that calls trainer.parse_args, as every stage does (a learner's copy too)."""
    if not isinstance(command, (list, tuple)):  # a shell string: not a stage started as the tests do
        return False
    for part in command[1:3]:  # python3 [-u] script.py ...
        if str(part).endswith(".py") and os.path.isfile(part):
            try:
                return "trainer.parse_args(" in Path(part).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return False
    return False


STAGE_STARTERS = (launch, load_stage, run_cell, train_here, trial_run)
