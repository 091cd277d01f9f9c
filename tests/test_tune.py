"""tune.py for real: tune processes running a stage on the small MNIST's validation split,
their study read back with Optuna itself. The stage is stage 1.0 with a TUNABLE line
(its learning rate), short runs; the bad inputs stop before any training."""

import glob
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from helpers import REPO, answer_ctrl_c, launch, read_until, run_script, trial_run

optuna = pytest.importorskip("optuna")
TUNE = os.path.join(REPO, "tune.py")
TRIAL_LINE = re.compile(r"^trial +(\d+): (.*)$", re.MULTILINE)
STEPS = ["--iterations", "30"]  # a trial: TensorFlow's start and 30 steps of stage 1.0


def tunable_stage(folder, tunable='{"LEARNING_RATE": (0.003, 0.01, "log")}'):
    """Stage 1.0 with a TUNABLE line under its settings."""
    source = Path(REPO, "mnist_1.0_softmax.py").read_text(encoding="utf-8")
    settings = "TRAIN_EVERY, TEST_EVERY = 10, 50"
    assert settings in source
    path = Path(folder) / "stage.py"
    path.write_text(source.replace(settings, f"{settings}\nTUNABLE = {tunable}"), encoding="utf-8")
    return path


def tune(*flags, cwd, timeout=300):
    """tune.py, which runs stages: started as the tests start a stage."""
    return run_script(TUNE, *map(str, flags), cwd=cwd, timeout=timeout)


def start_tune(*flags, cwd, env_extra=None):
    return launch(TUNE, *map(str, flags), cwd=cwd, env_extra=env_extra, preexec_fn=answer_ctrl_c)


def load(db, study="stage"):
    return optuna.load_study(study_name=study, storage=db if "://" in str(db) else f"sqlite:///{db}")


@pytest.fixture
def postgresql():
    """A real PostgreSQL server (Debian's postgresql package), on 127.0.0.1 and a free port,
    in a folder of its own, with a user and password: the URL of an empty database in it,
    as several machines would share. Stopped and removed afterwards."""
    psycopg = pytest.importorskip("psycopg", reason="pip install -r requirements-test.txt")
    programs = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not programs:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    bin_dir = Path(programs[-1]).parent
    user = {"user": "postgres"} if os.geteuid() == 0 else {}  # postgres refuses to run as root
    folder = Path(tempfile.mkdtemp(prefix="mnist-postgresql-"))  # not under pytest's root-only tmp
    server = None
    try:
        (folder / "password").write_text("secret-word\n")
        if user:
            shutil.chown(folder, "postgres")
        subprocess.run([bin_dir / "initdb", "-D", folder / "data", "-U", "codelab", "--auth",
                        "scram-sha-256", "--pwfile", folder / "password", "-E", "UTF8"],
                       check=True, capture_output=True, timeout=120, **user)
        from codelab.workers import free_ports
        port = free_ports(1)[0]
        server = subprocess.Popen([bin_dir / "postgres", "-D", folder / "data", "-h", "127.0.0.1",
                                   "-p", str(port), "-k", folder], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, **user)
        address = f"host=127.0.0.1 port={port} user=codelab password=secret-word"
        deadline = time.monotonic() + 60
        while True:
            try:
                with psycopg.connect(f"{address} dbname=postgres", autocommit=True) as connection:
                    connection.execute("CREATE DATABASE mnist_tuning")
                break
            except psycopg.OperationalError:
                assert server.poll() is None and time.monotonic() < deadline, "PostgreSQL did not start"
                time.sleep(0.3)
        yield f"postgresql+psycopg://codelab:secret-word@127.0.0.1:{port}/mnist_tuning"
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)  # "fast" shutdown: open sessions are ended
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(folder, ignore_errors=True)


def processes_naming(text):
    """Ids of the processes whose command line holds `text` (Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:
            pass
    return found


@pytest.mark.parametrize("storage", ["sqlite", "postgresql"])
def test_two_processes_share_one_study_and_split_its_trials(tmp_path, small_mnist_dir, storage,
                                                            request):
    """Two processes on one machine share the default SQLite file, or a PostgreSQL database
    as two machines would: one with the password in the URL, the other with docs/tuning.md's
    URL and the password in PGPASSWORD."""
    stage = tunable_stage(tmp_path)
    url = request.getfixturevalue("postgresql") if storage == "postgresql" else None
    flags = [stage, "--trials", 3, "--data-dir", small_mnist_dir, *STEPS]
    first = start_tune(*flags, *(["--storage", url] if url else []), cwd=tmp_path)
    if url:
        assert "--storage postgresql+psycopg://USER@HOST/" in Path(REPO, "docs", "tuning.md").read_text()
        second = start_tune(*flags, "--storage", url.replace(":secret-word@", "@"), cwd=tmp_path,
                            env_extra={"PGPASSWORD": "secret-word"})
    else:
        second = start_tune(*flags, cwd=tmp_path)
    outputs = [process.communicate(timeout=300) for process in (first, second)]
    for process, (out, err) in zip((first, second), outputs):
        assert process.returncode == 0, out + err
        assert "secret-word" not in out + err, "the password is shown as ***"
    numbers = [{int(n) for n, _ in TRIAL_LINE.findall(out)} for out, _ in outputs]
    assert numbers[0] and numbers[1], "each process runs trials"
    assert not numbers[0] & numbers[1], "no trial runs twice"
    study = load(url or tmp_path / "tune-stage.db")
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert {t.number for t in complete} == numbers[0] | numbers[1]
    assert len(complete) in (3, 4)  # two processes starting their last trial together: one more
    for trial in complete:  # its line says what the study holds
        out = outputs[0][0] if trial.number in numbers[0] else outputs[1][0]
        line = re.search(rf"^trial +{trial.number}: LEARNING_RATE=(\S+): validation accuracy "
                         rf"([\d.]+)", out, re.M)
        assert float(line[1]) == pytest.approx(trial.params["LEARNING_RATE"], rel=1e-3)
        assert float(line[2]) == pytest.approx(trial.value, abs=1e-4)
        assert 0.003 <= trial.params["LEARNING_RATE"] <= 0.01
    assert "best: trial" in outputs[0][0] and "--rerun" in outputs[0][0]
    if url:  # the first had the password in its URL: its lines show ***, and say so
        assert f"--storage '{url.replace(':secret-word@', ':***@')}' --rerun " in outputs[0][0]
        assert "(*** stands for the password of --storage)" in outputs[0][0]
        assert "***" not in outputs[1][0]  # the other's URL had none
    # Both started a new study; the one that created it queued the stage's own rate first.
    own = [t for t in study.trials if t.user_attrs.get("own")]
    assert [(t.number, t.params) for t in own] == [(0, {"LEARNING_RATE": 0.005})]
    assert sum("a new study: its first trial runs the stage's own settings (LEARNING_RATE=0.005)"
               in out for out, _ in outputs) == 1
    if study.best_trial.number == 0:
        assert "(the stage's own settings)" in outputs[0][0]
    else:
        assert f"the stage's own settings: trial 0, validation accuracy {own[0].value:.4f}" in outputs[0][0]


def test_ctrl_c_keeps_the_study_and_the_same_command_goes_on(tmp_path, small_mnist_dir):
    stage = tunable_stage(tmp_path)
    flags = [stage, "--trials", 1, "--data-dir", small_mnist_dir, "--iterations", 3000]
    process, lines = start_tune(*flags, cwd=tmp_path), []
    read_until(process, r"^validation split \(in (\S+)\)", lines)
    split = re.match(r"^validation split \(in (\S+)\)", lines[-1])[1]
    deadline = time.monotonic() + 120
    while not processes_naming(split):  # the trial's stage has started
        assert time.monotonic() < deadline and process.poll() is None, lines
        time.sleep(0.2)
    time.sleep(3)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, out + err
    assert "stopped: the study is kept in sqlite:///tune-stage.db; the same command goes on" in out
    assert "Traceback" not in err
    assert processes_naming(split) == [], "the trial's stage was stopped"
    study = load(tmp_path / "tune-stage.db")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL]

    again = tune(stage, "--trials", 1, "--data-dir", small_mnist_dir, *STEPS, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 trials so far" in again.stdout  # the interrupted one does not count
    states = [t.state for t in load(tmp_path / "tune-stage.db").trials]
    assert states == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]
    assert "2 trials: 1 complete, 1 stopped" in again.stdout


def test_a_trial_that_fails_is_recorded_and_the_search_goes_on(tmp_path, small_mnist_dir):
    """Stage 1.0's hand-written cross-entropy becomes NaN at a huge learning rate."""
    stage = tunable_stage(tmp_path, '{"LEARNING_RATE": (0.001, 10000.0, "log")}')
    db = tmp_path / "trials.db"
    study = optuna.create_study(study_name="stage", storage=f"sqlite:///{db}", direction="maximize")
    study.enqueue_trial({"LEARNING_RATE": 5000.0})  # the first two trials, in this order
    study.enqueue_trial({"LEARNING_RATE": 0.004})
    result = tune(stage, "--trials", 2, "--storage", f"sqlite:///{db}", "--data-dir",
                  small_mnist_dir, *STEPS, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^trial +0: LEARNING_RATE=5000: failed: the loss became NaN at step \d+",
                     result.stdout, re.M), result.stdout
    trials = load(db).trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]
    assert "NaN" in trials[0].user_attrs["reason"]
    assert not any(t.user_attrs.get("own") for t in trials), "not a new study: no first trial queued"
    assert "best: trial 1" in result.stdout

    # The command it prints reruns trial 1 on the test set: the stage's own data folder,
    # the trial's learning rate.
    command = result.stdout.rstrip().splitlines()[-1].split()
    assert command[:3] == ["python3", TUNE, str(stage)] and "--rerun" in command
    rerun = run_script(command[1], *command[2:], "--headless", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"loaded from the IDX files in {small_mnist_dir}" in rerun.stdout
    assert re.search(r"lr: 0\.004000$", rerun.stdout, re.M)
    assert re.search(r"^max test accuracy: ", rerun.stdout, re.M)


def test_a_pruned_trial_is_stopped_by_its_process_id(tmp_path, small_mnist_dir):
    """A real Optuna trial whose pruner stops every trial at its first report."""
    from codelab import validation
    stage = tunable_stage(tmp_path)
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(upper=0.0))
    trial = study.ask({"LEARNING_RATE": optuna.distributions.FloatDistribution(0.003, 0.01, log=True)})
    split = validation.validation_folder(small_mnist_dir)
    try:
        run = trial_run(stage, ["--iterations", "3000"], split, tmp_path / "work")
        copy, settings = run.prepare(trial)
        assert settings["LEARNING_RATE"] == trial.params["LEARNING_RATE"]
        with pytest.raises(optuna.TrialPruned,
                           match=r"pruned at 0 % of the run \(training accuracy 0\.\d+\)"):
            run.run(trial, copy, settings["ITERATIONS"])
    finally:
        shutil.rmtree(split)
    assert run.child.returncode == 143, "stopped with SIGTERM, cleanly"
    assert processes_naming(str(copy)) == []


def finished_trial(figures):
    """A complete trial that reported `figures` at 0, 10, 20 ... percent of its run."""
    return optuna.trial.create_trial(
        value=figures[-1], intermediate_values={10 * i: f for i, f in enumerate(figures)},
        params={}, distributions={})


def test_the_pruner_stops_only_a_trial_clearly_behind_the_others_median():
    """codelab.pruning.BehindPruner in a real (in-memory) Optuna study: four finished
    trials, then a fifth, reported 0.980 ... 0.984 at each tenth of their runs (the
    five's median 0.982)."""
    from codelab.pruning import BehindPruner
    study = optuna.create_study(direction="maximize", pruner=BehindPruner(margin=0.02, after=30))
    for i in range(4):
        study.add_trial(finished_trial([0.980 + 0.001 * i] * 10))

    def pruned(figure, percent):
        trial = study.ask()
        trial.report(figure, percent)
        decision = trial.should_prune()
        study.tell(trial, state=optuna.trial.TrialState.FAIL)  # not counted by the pruner
        return decision

    assert not pruned(0.5, 40), "four others only: no decision yet"
    study.add_trial(finished_trial([0.984] * 10))
    assert pruned(0.961, 40), "0.021 below the median 0.982"
    assert not pruned(0.963, 40), "0.019 below: within the margin"
    assert not pruned(0.5, 20), "before 30 % of the run, never"
    assert pruned(0.5, 30)
    assert not pruned(0.5, 35), "no other trial reported at 35 %"


def test_a_trial_far_behind_is_pruned_and_told_by_how_much(tmp_path, small_mnist_dir):
    """A real stage run as a trial, against five finished trials that reported 0.999 from
    the start: the pruner stops it at its first report and its line says by how much."""
    from codelab import validation
    from codelab.pruning import BehindPruner
    stage = tunable_stage(tmp_path)
    study = optuna.create_study(direction="maximize", pruner=BehindPruner(after=0))
    for _ in range(5):
        study.add_trial(finished_trial([0.999] * 10))
    trial = study.ask({"LEARNING_RATE": optuna.distributions.FloatDistribution(0.003, 0.01, log=True)})
    split = validation.validation_folder(small_mnist_dir)
    try:
        run = trial_run(stage, ["--iterations", "3000"], split, tmp_path / "work")
        copy, settings = run.prepare(trial)
        with pytest.raises(optuna.TrialPruned) as pruned:
            run.run(trial, copy, settings["ITERATIONS"])
    finally:
        shutil.rmtree(split)
    m = re.fullmatch(r"pruned at 0 % of the run \(training accuracy (0\.\d{4}), (0\.\d{4}) below "
                     r"the other trials' median 0\.9990\)", str(pruned.value))
    assert m, str(pruned.value)
    assert abs(0.999 - float(m[1]) - float(m[2])) <= 0.00011
    assert float(m[2]) > 0.02
    assert run.child.returncode == 143, "stopped with SIGTERM, cleanly"


@pytest.mark.parametrize("tunable, flags, message", [
    (None, [], "mnist_1.0_softmax.py declares no tunable settings: add a line such as"),
    ('{"LEARNING_RATE": (0.1, 0.01)}', [], "low must be less than high"),
    ('{"LEARNING_RATE": (0.0, 0.1, "log")}', [], "a log scale needs low > 0"),
    ('{"LEARNING_RATE": (0.01, 0.1, 0.5)}', [], "a step between 0 and high - low"),
    ('{"LEARN_RATE": (0.01, 0.1)}', [], "the stage has no line 'LEARN_RATE = ...'"),
    ('{"LEARNING_RATE": (0.01, 0.1)}', ["--storage", "redis://localhost/0"],
     "unknown kind of storage 'redis'"),
    ('{"LEARNING_RATE": (0.01, 0.1)}', ["--storage", "study.db"], "give a database URL"),
    ('{"LEARNING_RATE": (0.01, 0.1)}', ["--storage", "postgresql+psycopg2://me:pw@127.0.0.1:9/db"],
     "--storage postgresql+psycopg2://me:***@127.0.0.1:9/db: the database driver psycopg2 is not "
     "installed: pip install psycopg2-binary"),
    ('{"LEARNING_RATE": (0.01, 0.1)}', ["--constraint", "STEPS < 10"], "name 'STEPS' is not defined"),
])
def test_bad_input_gets_one_line_and_exit_code_2(tmp_path, tunable, flags, message):
    stage = Path(REPO, "mnist_1.0_softmax.py") if tunable is None else tunable_stage(tmp_path, tunable)
    result = tune(stage, *flags, cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert message in result.stderr
    assert not list(tmp_path.glob("*.db")) and not list(tmp_path.glob("*.log")), "nothing written"


def test_a_study_file_sqlite_cannot_write_gets_one_line_and_exit_code_1(tmp_path):
    """SQLAlchemy says only "unable to open database file"; the line says why, and when the
    learner gave no --storage, that the file is the default one in this folder."""
    stage = tunable_stage(tmp_path)
    missing = tmp_path / "no_such_folder" / "study.db"
    result = tune(stage, "--storage", f"sqlite:///{missing}", cwd=tmp_path, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr == (f"error: --storage sqlite:///{missing}: SQLite cannot keep the study "
                             f"there: the folder {missing.parent} does not exist; create it first\n")
    (tmp_path / f"tune-{stage.stem}.db").mkdir()  # where the default file would go: a folder
    result = tune(stage, cwd=tmp_path, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"is a folder; give a file name in it (the default study file, in this folder: " \
           f"run tune.py from a folder you can write to, or give --storage sqlite:///PATH.db)" \
           in result.stderr
    assert result.stdout == "" and not missing.parent.exists()


def test_stage_5_1_declares_ranges_around_its_own_settings():
    from codelab import tuning
    script = Path(REPO, "mnist_5.1_speedrun_augmented.py")
    tunables = tuning.read_tunable(script)
    settings = tuning.stage_settings(script.read_text(encoding="utf-8"))
    assert {t.name for t in tunables} >= {"EPOCHS", "LR_MAX", "SHIFT", "K", "L", "N"}
    # the stage's own settings are ones the tuner could have picked: a new study starts there
    assert tuning.own_settings(tunables, settings) == {t.name: settings[t.name] for t in tunables}
    assert settings["ITERATIONS"] == int(settings["EPOCHS"] * 60000 / settings["BATCH_SIZE"])


def test_the_first_trial_takes_only_the_settings_the_ranges_hold():
    from codelab.tuning import Tunable, own_settings
    tunables = [Tunable("EPOCHS", 1.5, 4.0, step=0.25), Tunable("K", 12, 32, step=4),
                Tunable("LR_MAX", 0.005, 0.04, log=True), Tunable("ACT", choices=("relu", "gelu"))]
    stage = {"EPOCHS": 4, "K": 32, "LR_MAX": 0.02, "ACT": "relu"}
    assert own_settings(tunables, stage) == stage
    assert isinstance(own_settings(tunables, stage)["EPOCHS"], float)  # as Optuna gives it
    off = {"EPOCHS": 3.1, "K": 30, "LR_MAX": 0.05, "ACT": "tanh"}  # off the step, out of range
    assert own_settings(tunables, off) == {}
    assert own_settings(tunables, {"EPOCHS": 2.0, "K": 16.0, "LR_MAX": 0.005}) == {
        "EPOCHS": 2.0, "K": 16, "LR_MAX": 0.005}  # a stage without ACT: that one sampled
    assert own_settings([Tunable("K", 12, 32)], {"K": 12.5}) == {}  # a whole-number range


def test_seeds_score_a_trial_by_the_mean_of_one_run_per_seed(tmp_path, small_mnist_dir):
    from codelab import tuning, validation
    stage = tunable_stage(tmp_path)
    result = tune(stage, "--trials", 1, "--seeds", "0,1", "--data-dir", small_mnist_dir, *STEPS,
                  cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    line = re.search(r"^trial +0: LEARNING_RATE=\S+: validation accuracy ([\d.]+) \(the mean of "
                     r"seeds 0, 1: ([\d.]+), ([\d.]+)\), training loop [\d.]+ s a run", result.stdout, re.M)
    assert line, result.stdout
    [trial] = load(tmp_path / "tune-stage.db").trials
    assert trial.user_attrs["seed_accuracies"] == [pytest.approx(float(line[2]), abs=1e-4),
                                                   pytest.approx(float(line[3]), abs=1e-4)]
    assert trial.value == pytest.approx(sum(trial.user_attrs["seed_accuracies"]) / 2)
    assert "(the mean of seeds 0, 1)" in result.stdout  # the best trial's line
    # Each seed's figure is what the stage prints when run alone with that --seed on the
    # same split (on this tiny split two seeds may tie; then each still matches its own).
    split = validation.validation_folder(small_mnist_dir)
    try:
        (tmp_path / "copy").mkdir()
        copy = validation.edited_stage(stage, tuning.settings_lines(trial.params), tmp_path / "copy")
        alone = [run_script(copy, "--headless", "--data-dir", split, "--seed", seed, *STEPS,
                            cwd=tmp_path, env_extra={"PYTHONPATH": str(REPO)}) for seed in ("0", "1")]
    finally:
        shutil.rmtree(split)
    finals = [float(re.findall(r"^step \d+: epoch [\d.]+ test accuracy: ([\d.]+)", run.stdout, re.M)[-1])
              for run in alone]
    assert trial.user_attrs["seed_accuracies"] == [pytest.approx(final, abs=1e-6) for final in finals]


@pytest.mark.parametrize("flags, message", [
    (["--seeds", "0,x"], "--seeds: whole numbers with commas between"),
    (["--seeds", "1,1"], "--seeds: each seed once"),
    (["--seeds", "0,1", "--seed", "2"], "--seeds and --seed: give one"),
])
def test_bad_seeds_are_refused_before_anything_runs(tmp_path, flags, message):
    result = tune(tunable_stage(tmp_path), *flags, cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not list(tmp_path.glob("*.db")), "nothing written"
