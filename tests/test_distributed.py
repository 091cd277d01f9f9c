"""Stage 8.0 on several worker processes (workers.py): real processes on 127.0.0.1, real
signals, on 1,000 real digits.

Four runs, shared by the tests in order: one worker alone; two workers (--workers 2);
the two workers resumed and one of them killed with SIGKILL; the two workers resumed
again and stopped with Ctrl-C on the launcher. Then a worker whose port is taken, the
Slurm path (the resolver given the environment that srun sets for two tasks on one
node), and what needs no TensorFlow.
"""

import contextlib
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from codelab import runfolder, workers
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


def ended_by(signal_number, process, within):
    """Send the signal: the process must end within `within` seconds. (stdout, stderr)"""
    process.send_signal(signal_number)
    sent = time.monotonic()
    stdout, stderr = process.communicate(timeout=60)
    assert time.monotonic() - sent < within, stderr[-3000:]
    return stdout, stderr


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
    answers = [tf.saved_model.load(str(runfolder.find_saved_model(where / run)))
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


# --------------------------------------------------- TF_CONFIG and joining the cluster

def run_worker(tf_config, *flags, scratch, timeout=120):
    """One worker, told its cluster by TF_CONFIG (None: TF_CONFIG unset), to its end."""
    return finish(launch(STAGE, "--headless", *flags,
                         env_extra=dict(environment(scratch), TF_CONFIG=tf_config)), timeout)


@pytest.mark.parametrize("tf_config, says", [
    ("", "set but empty"),
    ("{'cluster': 1}", "not JSON"),
    ("{}", 'no "cluster"'),
    ("[1, 2]", "a JSON list where an object"),
    ('{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}}', 'no "task"'),
    ('{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, '
     '"task": {"type": "worker", "index": 2}}', "the task index is 2: it must be a whole number from 0 to 1"),
    ('{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, '
     '"task": {"type": "worker", "index": -1}}', "the task index is -1"),
    ('{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:x2"]}, '
     '"task": {"type": "worker", "index": 0}}', "worker 1's address \"127.0.0.1:x2\": the port 'x2' is not a number"),
    ('{"cluster": {"chief": ["127.0.0.1:1"], "worker": ["127.0.0.1:2"]}, '
     '"task": {"type": "worker", "index": 0}}', "this stage's cluster is workers only"),
])
def test_a_bad_tf_config_gets_one_line_naming_it(tf_config, says, tmp_path, small_mnist_dir):
    result = run_worker(tf_config, "--data-dir", small_mnist_dir, scratch=tmp_path / "tmp")
    assert result.returncode == 1, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: TF_CONFIG: "), result.stderr
    assert says in errors[0]
    assert "Traceback" not in result.stderr and "worker 0 of 1" not in result.stdout


def silent_listener():
    """A port where something accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return listener


def test_a_worker_waits_for_the_others_saying_whom_for_then_gives_up(tmp_path, small_mnist_dir):
    with silent_listener() as silent:
        own, not_started = (f"127.0.0.1:{port}" for port in workers.free_ports(2))
        silent_address = f"127.0.0.1:{silent.getsockname()[1]}"
        cluster = [own, not_started, "no-such-host.invalid:2222", silent_address]
        process = launch(STAGE, "--headless", "--data-dir", small_mnist_dir, "--join-timeout",
                         "12", env_extra=dict(environment(tmp_path / "tmp"),
                                              TF_CONFIG=workers.tf_config(cluster, 0)))
        try:
            stdout, stderr = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 1, stderr[-3000:]
    assert (f"worker 0 of 4: waiting for worker 1 at {not_started} (nothing listens there "
            f"yet); giving up in " in stderr), stderr
    assert ("worker 0 of 4: waiting for worker 2 at no-such-host.invalid:2222 (the host name "
            "no-such-host.invalid does not resolve)" in stderr)
    assert f"waiting for worker 3 at {silent_address} (no answer: " in stderr
    assert (f"error: worker 0 of 4: worker 1 at {not_started} did not join within 12 s "
            f"(nothing listens there yet): start it, with index 1 in its TF_CONFIG, or "
            f"correct its address; --join-timeout SECONDS waits longer") in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("signal_number, code, name", [
    (signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")])
def test_ctrl_c_and_sigterm_stop_a_worker_waiting_for_the_others(signal_number, code, name,
                                                                  tmp_path, small_mnist_dir):
    from helpers import answer_ctrl_c
    cluster = [f"127.0.0.1:{port}" for port in workers.free_ports(2)]
    process = launch(STAGE, "--headless", "--data-dir", small_mnist_dir,
                     env_extra=dict(environment(tmp_path / "tmp"),
                                    TF_CONFIG=workers.tf_config(cluster, 1)),
                     preexec_fn=answer_ctrl_c)
    try:
        waiting, deadline = "", time.monotonic() + 120
        while "waiting for worker 0" not in waiting:  # a line within 2 min, not for ever
            assert select.select([process.stderr], [], [], deadline - time.monotonic())[0], \
                "the worker did not say that it waits"
            waiting = process.stderr.readline()
            assert waiting, "the worker ended without saying that it waits"
        time.sleep(1)
        stdout, stderr = ended_by(signal_number, process, within=5)
    finally:
        if process.poll() is None:
            process.kill()
    assert waiting.startswith(f"worker 1 of 2: waiting for worker 0 at {cluster[0]} "
                              f"(nothing listens there yet); giving up in ")
    assert process.returncode == code
    assert stderr.strip() == f"worker 1 of 2: stopped by {name} while waiting for the other workers"


# ------------------------------------------------------------------- the launcher

def test_more_workers_than_the_memory_holds_are_refused_before_starting(tmp_path):
    with open("/proc/meminfo") as meminfo:  # the machine's own count, read here
        available = next(int(line.split()[1]) * 1024 for line in meminfo
                         if line.startswith("MemAvailable:"))
    too_many = [count for count in (1, 2, 4, 5, 10, 20, 25, 50, 100)
                if count * workers.WORKER_MEMORY_GB * 1e9 > available * 1.2]
    if not too_many:
        pytest.skip("this machine holds 100 workers")
    result = finish(launch(STAGE, "--headless", "--workers", str(too_many[0]),
                           env_extra=environment(tmp_path / "tmp")), timeout=60)
    assert result.returncode == 2
    assert (f"--workers: {too_many[0]} workers need about "
            f"{too_many[0] * workers.WORKER_MEMORY_GB:.1f} GB of memory "
            f"({workers.WORKER_MEMORY_GB} GB each) and this machine has ") in result.stderr
    assert "starting" not in result.stderr and os.listdir(tmp_path / "tmp") == []


def listening_ports():
    """The TCP ports listening in this network (the test's), as `ss -ltn` lists them."""
    listed = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, check=True)
    return {line.split()[3].rsplit(":", 1)[1] for line in listed.stdout.splitlines()}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's namespaces")
def test_the_local_workers_are_unreachable_from_outside_and_sigterm_ends_them_all(
        tmp_path, small_mnist_dir):
    from codelab import privatenet
    if privatenet.why_not()[0]:
        pytest.skip(privatenet.why_not()[0])
    launcher = start("--data-dir", small_mnist_dir, "--workers", "2", "--iterations", "100000",
                     "--save-model", str(tmp_path / "run"), scratch=tmp_path / "tmp",
                     cwd=tmp_path)
    seen = []
    try:
        read_until(launcher, r"^step 20: training", seen)
        started = START_LINE.findall("\n".join(seen))
        pids = [int(pid) for *_, pid, _ in started]
        ports = [port for *_, port in started]
        assert len(ports) == 2
        # From outside the workers' network, nothing listens on their ports.
        assert not set(ports) & listening_ports()
        for port in ports:
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", int(port)), timeout=5).close()
        for pid in pids:  # several workers on one GPU: each takes only what it uses
            with open(f"/proc/{pid}/environ", "rb") as environ:
                assert b"TF_FORCE_GPU_ALLOW_GROWTH=true" in environ.read().split(b"\0")
        stdout, stderr = ended_by(signal.SIGTERM, launcher, within=20)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 143, stderr[-3000:]
    assert re.search(r"^stopped at step \d+ of 100000 \(SIGTERM\)$", stdout, re.M), stdout[-2000:]
    assert "note: the workers' servers listen" not in stderr
    assert not any(alive(pid) for pid in pids)
    assert os.listdir(tmp_path / "tmp") == []  # the launcher's scratch folder is gone


def test_where_no_private_network_is_allowed_the_launcher_says_so(tmp_path):
    empty = tmp_path / "bin"  # a PATH without util-linux's unshare
    empty.mkdir()
    result = finish(launch(STAGE, "--headless", "--workers", "2", "--data-dir",
                           str(tmp_path / "no-data"),
                           env_extra=dict(environment(tmp_path / "tmp"), PATH=str(empty))),
                    timeout=120)
    assert result.returncode == 1  # the workers find no data: they never listen
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert notes == ["note: the workers' servers listen on every network interface of this "
                     "machine, without a password, while they run: util-linux's unshare, "
                     "which gives them a network of their own, is not installed"]


# ------------------------------------------------------------- what the workers say

def test_a_frozen_chief_is_named_by_the_other_worker(tmp_path, small_mnist_dir):
    launcher = start("--data-dir", small_mnist_dir, "--workers", "2", "--iterations", "100000",
                     scratch=tmp_path / "tmp", cwd=tmp_path)
    seen, pids = [], []
    try:
        read_until(launcher, r"^step 20: training", seen)
        started = {int(index): (int(pid), port)
                   for index, _, pid, port in START_LINE.findall("\n".join(seen))}
        pids = [pid for pid, _ in started.values()]
        os.kill(started[0][0], signal.SIGSTOP)  # the chief frozen
        stdout, stderr = launcher.communicate(timeout=180)
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 1
    assert (f"error: worker 1 of 2: lost worker 0, the chief (127.0.0.1:{started[0][1]}): it "
            f"stopped answering heartbeats (frozen, or cut off)") in stderr, stderr[-3000:]
    assert "another worker" not in stderr and "{{node" not in stderr


def test_a_second_run_into_a_folder_in_use_is_not_told_to_start_fresh(tmp_path, small_mnist_dir):
    """Two 2-worker runs into one folder, started together: both pass the flags' check,
    one chief takes the folder, the other stops with the "in use" line, and its other
    worker must not then advise --fresh (or --restore) while the first run goes on."""
    folder = tmp_path / "run"
    runs = [start("--data-dir", small_mnist_dir, "--workers", "2", "--iterations", "100000",
                  "--save-model", str(folder), scratch=tmp_path / f"tmp-{number}",
                  cwd=tmp_path) for number in (1, 2)]
    try:
        deadline = time.monotonic() + 240
        while all(run.poll() is None for run in runs):
            assert time.monotonic() < deadline, "neither run stopped"
            time.sleep(0.5)
        loser = next(run for run in runs if run.poll() is not None)
        winner = next(run for run in runs if run is not loser)
        stdout, stderr = loser.communicate()
    finally:
        for run in runs:
            if run.poll() is None:
                run.send_signal(signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    run.communicate(timeout=60)
            if run.poll() is None:
                run.kill()
    assert winner.returncode == 130
    assert loser.returncode == 1, stderr[-3000:]
    assert "in use by another run" in stderr, stderr[-3000:]
    assert "error: worker 1 of 2: lost worker 0, the chief" in stderr  # it stops too...
    assert "--fresh" not in stderr and "--restore" not in stderr, stderr  # ... advising nothing
    assert "Traceback" not in stderr
