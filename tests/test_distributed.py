"""Stage 8.0 on several worker processes (workers.py): real processes on 127.0.0.1, real
signals, on 1,000 real digits.

Four runs, shared by the tests in order: one worker alone; two workers (--workers 2);
the two workers resumed and one of them killed with SIGKILL; the two workers resumed
again and stopped with Ctrl-C on the launcher. Then a worker whose port is taken, the
Slurm path (the resolver given the environment that srun sets for two tasks on one
node), and what needs no TensorFlow.
"""

import os
import re
import signal
import subprocess

import numpy as np
import pytest
from PIL import Image

from codelab import workers
from helpers import REPO, launch, numbers_printed, read_until, run_script, snapshot

STAGE = os.path.join(REPO, "mnist_8.0_distributed.py")
STEPS = 5  # the first runs' length, and their checkpoint
START_LINE = re.compile(r"^worker (\d+) of (\d+): pid (\d+), 127\.0\.0\.1:(\d+)$", re.MULTILINE)
END_LINE = re.compile(r"^worker (\d+) of (\d+): ended at step (\d+), variables ([0-9a-f]{16})$",
                      re.MULTILINE)


def environment(scratch):
    # TMPDIR: the workers' temporary folders land where the test can see them go.
    scratch.mkdir(exist_ok=True)
    return {"TMPDIR": str(scratch)}


def start(*flags, scratch, cwd):
    return launch(STAGE, "--headless", *flags, cwd=cwd, env_extra=environment(scratch))


def finish(process, timeout=240):
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has ended: only its parent's wait is due
        return stat.read().split(")")[-1].split()[0] != "Z"


@pytest.fixture(scope="module")
def runs(small_mnist_dir, tmp_path_factory):
    """One worker alone (A) and two (B), STEPS steps each, seed 0, both saving a model."""
    where = tmp_path_factory.mktemp("distributed")
    flags = ("--iterations", str(STEPS), "--seed", "0", "--data-dir", small_mnist_dir)
    alone = start(*flags, "--save-model", str(where / "A"), scratch=where / "tmp-A", cwd=where)
    alone = finish(alone)
    two = finish(start(*flags, "--workers", "2", "--save-model", str(where / "B"),
                       scratch=where / "tmp-B", cwd=where))
    for run in (alone, two):
        assert run.returncode == 0, run.stderr[-3000:]
    return where, flags, alone, two


def test_two_workers_start_on_their_own_ports_and_end_with_identical_variables(runs):
    where, _, _, two = runs
    started = START_LINE.findall(two.stdout)
    assert sorted(index for index, *_ in started) == ["0", "1"], two.stdout[:2000]
    assert {count for _, count, *_ in started} == {"2"}
    assert len({pid for *_, pid, _ in started}) == len({port for *_, port in started}) == 2
    ended = END_LINE.findall(two.stdout)
    assert sorted(index for index, *_ in ended) == ["0", "1"], two.stdout[-2000:]
    assert {step for *_, step, _ in ended} == {str(STEPS)}
    # The same digest of the exact values of every variable, on both workers.
    assert len({digest for *_, digest in ended}) == 1, ended
    # Only the chief prints the progress, once; the other only its start and end lines.
    assert len(re.findall(rf"^step {STEPS}: training accuracy", two.stdout, re.M)) == 1
    assert two.stdout.count("max test accuracy") == 1
    # Only the chief writes the user's files; the other's copies are gone.
    assert sorted(os.listdir(where / "B")) == ["checkpoints", "saved_model", "stage.json"]
    assert os.listdir(where / "tmp-B") == []


def test_one_and_two_workers_compute_the_same_updates(runs, small_mnist_dir):
    import tensorflow as tf
    import mnistdata
    where, _, alone, two = runs
    assert "worker 0 of 1: pid" in alone.stdout
    # The printed figures (4 decimals) agree...
    figures = numbers_printed(alone.stdout)
    assert figures == numbers_printed(two.stdout) and len(figures) == 5
    # ... and so do the networks, to float rounding: their answers on 500 test digits.
    # (Not much further: Adam's first steps amplify the rounding differences, about
    # threefold per step here, until after 20 steps the loss differs in its third digit.)
    images = mnistdata.read_data_sets(small_mnist_dir, reshape=False).test.images
    answers = [tf.saved_model.load(str(where / run / "saved_model"))
               .signatures["serving_default"](images=tf.constant(images))["probabilities"].numpy()
               for run in ("A", "B")]
    difference = np.abs(answers[0] - answers[1]).max()
    assert difference < 1e-4, difference
    # (a check of the check: those steps moved the network by far more than that)
    first, last = [float(line.split("test loss: ")[1]) for line in figures if "test loss" in line]
    assert last < first - 10


KILLED_RUN_PRINTED = []  # the figures that the run with a killed worker printed


def test_a_killed_worker_stops_the_run_with_its_name_and_restore_goes_on(runs):
    where, flags, _, _ = runs
    folder = where / "B"
    before = snapshot(folder)
    flags = (*flags[2:], "--workers", "2", "--save-model", str(folder), "--restore",
             "--iterations", "5000")
    launcher = start(*flags, scratch=where / "tmp-C", cwd=where)
    seen = []
    read_until(launcher, r"^step 20: training", seen)
    KILLED_RUN_PRINTED.extend(numbers_printed("\n".join(seen)))
    pids = {int(index): int(pid) for index, _, pid, _ in START_LINE.findall("\n".join(seen))}
    ports = {int(index): port for index, _, _, port in START_LINE.findall("\n".join(seen))}
    os.kill(pids[1], signal.SIGKILL)
    result = finish(launcher, timeout=90)  # the survivor does not wait for it forever
    assert result.returncode == 1
    # The survivor names the worker it lost; so does the launcher; no traceback.
    assert f"error: worker 0 of 2: lost worker 1 (127.0.0.1:{ports[1]})" in result.stderr
    assert (f"worker 1 of 2 (127.0.0.1:{ports[1]}, pid {pids[1]}) was killed by SIGKILL"
            in result.stderr)
    assert f"its last checkpoint (step {STEPS})" in result.stderr
    assert "Traceback" not in result.stderr
    assert not alive(pids[0]) and not alive(pids[1])
    assert snapshot(folder) == before  # the checkpoint and the model as they were
    assert os.listdir(where / "tmp-C") == []


def test_ctrl_c_stops_every_worker_at_the_same_step_and_the_model_answers(runs, tmp_path,
                                                                           small_mnist_dir,
                                                                           capsys):
    import mnistdata
    import predict
    from codelab import runfolder
    where, flags, _, _ = runs
    folder = where / "B"
    flags = (*flags[2:], "--workers", "2", "--save-model", str(folder), "--restore",
             "--iterations", "5000")
    launcher = start(*flags, scratch=where / "tmp-D", cwd=where)
    seen = []
    read_until(launcher, rf"^restored .*ckpt-{STEPS} \(step {STEPS}\)$", seen)
    read_until(launcher, r"^step 40: training", seen)
    launcher.send_signal(signal.SIGINT)
    result = finish(launcher, timeout=90)
    stdout = "\n".join(seen) + "\n" + result.stdout
    assert result.returncode == 130, result.stderr[-3000:]
    stopped = re.search(r"^stopped at step (\d+) of 5000 \(Ctrl-C\)$", stdout, re.M)
    assert stopped, stdout
    ended = END_LINE.findall(stdout)
    assert {(step, digest) for *_, step, digest in ended} == {(stopped[1], ended[0][3])}
    assert len(ended) == 2 and runfolder.latest_checkpoint_step(folder) == int(stopped[1])
    # The killed run left the checkpoint as it was: resumed from it again, the run
    # prints the figures that the killed one had printed.
    assert KILLED_RUN_PRINTED and KILLED_RUN_PRINTED[0].startswith("step 20: training")
    assert numbers_printed(stdout)[:len(KILLED_RUN_PRINTED)] == KILLED_RUN_PRINTED
    assert os.listdir(where / "tmp-D") == []
    # The chief's SavedModel answers predict.py: a test digit, dark on light, enlarged.
    digit = mnistdata.read_data_sets(small_mnist_dir, reshape=False).test.images[0, :, :, 0]
    path = tmp_path / "digit.png"
    Image.fromarray(np.uint8(np.round(255 * (1 - digit)))).resize((112, 112)).save(path)
    capsys.readouterr()
    assert predict.main(["--model", str(folder), str(path)]) == 0
    assert re.match(rf"{re.escape(str(path))}: \d \(\d\.\d+\)", capsys.readouterr().out)


def test_a_taken_port_gets_a_clear_message(tmp_path, small_mnist_dir):
    import socket
    with socket.socket() as taken:  # held, listening, for the whole run
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        other = f"127.0.0.1:{workers.free_ports(1)[0]}"
        env = dict(environment(tmp_path / "tmp"),
                   TF_CONFIG=workers.tf_config([address, other], 0))
        result = run_script(STAGE, "--headless", "--data-dir", small_mnist_dir, env_extra=env,
                            timeout=120)
    assert result.returncode == workers.EXIT_PORT_TAKEN  # the launcher's cue to try again
    assert (f"error: worker 0 could not listen on {address}: another program (or another "
            f"worker) is using that port" in result.stderr)
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------- without TensorFlow

def test_the_workers_run_this_command_line_without_workers():
    assert workers.worker_command(["--workers", "2", "--headless", "--workers=3", "--seed",
                                   "1", "--work", "4", "--w=5"]) == ["--headless", "--seed", "1"]


def test_a_worker_count_that_does_not_split_the_batch_is_refused():
    result = run_script(STAGE, "--workers", "3", timeout=60)
    assert result.returncode == 2
    assert "--workers: the global batch of 100 images must split evenly" in result.stderr


def test_slurm_environment_of_two_local_tasks_gives_the_cluster(monkeypatch):
    import tensorflow as tf
    port = 23456
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("MNIST_SLURM_PORT_BASE", str(port))
    for task in (0, 1):
        monkeypatch.setenv("SLURM_PROCID", str(task))
        monkeypatch.setenv("SLURM_STEP_NUM_TASKS", "2")
        monkeypatch.setenv("SLURM_STEP_NODELIST", "127.0.0.1")
        monkeypatch.setenv("SLURM_STEP_TASKS_PER_NODE", "2")
        resolver = workers.cluster_resolver()
        assert isinstance(resolver, tf.distribute.cluster_resolver.SlurmClusterResolver)
        assert resolver.cluster_spec().as_dict() == {
            "worker": [f"127.0.0.1:{port}", f"127.0.0.1:{port + 1}"]}
        assert (resolver.task_type, resolver.task_id) == ("worker", task)


def test_benchmarks_readme_quotes_the_recorded_figures():
    from codelab import stages
    figures = stages.MEASURED["distributed"]["figures"]["run"]
    text = open(os.path.join(REPO, "benchmarks", "README.md"), encoding="utf-8").read()
    assert f"## Stage 8.0 on several workers, {stages.MEASURED['distributed']['date']}" in text
    for (one, two) in figures["steps_per_second_1_and_2_workers"]:
        assert f"{one} against {two}" in text
    accuracies = figures["1_workers_max_test_accuracy"], figures["2_workers_max_test_accuracy"]
    assert "max test accuracy of {:.4f} with 1\nworker and {:.4f} with 2".format(*accuracies) in text
    for stage in ("8.0", "4.2"):
        assert f"{figures[f'bytes_all_reduced_{stage}']:,} bytes" in text
        for gbits in (1, 10):
            row = " | ".join(f"{value:.2f}x" for value in figures[f"speedup_{stage}_{gbits}gbit"])
            assert f"| {gbits} Gbit/s | {row} |" in text, (stage, gbits)
