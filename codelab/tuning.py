"""What tune.py needs besides Optuna: a stage's TUNABLE settings read from its file, the
study's storage from a URL or a file name, and one trial: the stage run as its own
process on the validation split, its lines read as they come, stopped if Optuna
prunes it.

The stage file declares what the tuner may change, next to its settings:

    TUNABLE = {"LR_MAX": (0.005, 0.05, "log"), "EPOCHS": (1.0, 4.0, 0.25), "K": (8, 32)}

(low, high): any value between, a whole number if both are whole numbers; a third
item "log" searches on a log scale, a number searches in steps of that size; a list
instead of a pair is a set of choices. The stage itself never reads TUNABLE.
"""
import ast
import math
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from codelab import safefiles, validation

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from trainer import PROGRESS_LINE, TEST_LINE, TIMING_LINE  # noqa: E402  (the lines stages print)

SMOOTHING = 5  # training figures averaged into each value reported for pruning
REPORT_EVERY = 10  # percent of a run between two values reported for pruning
OPEN_ATTEMPTS = 3  # tries to open a database before giving up
STOP_WAIT = 30  # seconds a stopped trial gets to end cleanly before it is killed
# What `constraint` expressions may call besides the stage's settings:
CONSTRAINT_FUNCTIONS = {"min": min, "max": max, "abs": abs, "round": round, "int": int,
                        "float": float, "sqrt": math.sqrt, "log": math.log}


class TuningError(Exception):
    """Bad input to the tuner (exit code 2), or a storage it cannot use (1): the message
    is one line that says what and how to fix it."""

    def __init__(self, message, exit_code=2):
        super().__init__(message)
        self.exit_code = exit_code


# --------------------------------------------------------------- tunable settings

@dataclass
class Tunable:
    """One setting the tuner may change: its range, as the stage file declares it."""
    name: str
    low: object = None
    high: object = None
    log: bool = False
    step: object = None
    choices: tuple = None

    def suggest(self, trial):
        if self.choices is not None:
            return trial.suggest_categorical(self.name, self.choices)
        if isinstance(self.low, int) and isinstance(self.high, int):
            return trial.suggest_int(self.name, self.low, self.high, log=self.log,
                                     step=self.step or 1)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log, step=self.step)

    def holds(self, value):
        """Whether `value` is one the tuner could pick: one of the choices, or a number in the
        range (and on its step), a whole number for a whole-number range. Returns it as the
        tuner would give it (4 for 4.0 in a whole-number range), or None."""
        if self.choices is not None:
            return value if value in self.choices else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if not self.low <= value <= self.high:
            return None
        if self.step is not None:
            steps = (value - self.low) / self.step
            if abs(steps - round(steps)) > 1e-8:
                return None
        if isinstance(self.low, int) and isinstance(self.high, int):
            return int(value) if float(value).is_integer() else None
        return float(value)


def read_tunable(script):
    """The stage's TUNABLE settings, checked: [Tunable]. Raises TuningError."""
    source = Path(script).read_text(encoding="utf-8")
    name = Path(script).name
    node = next((n for n in ast.parse(source).body if isinstance(n, ast.Assign)
                 and any(getattr(t, "id", None) == "TUNABLE" for t in n.targets)), None)
    if node is None:
        raise TuningError(f"{name} declares no tunable settings: add a line such as "
                          f'TUNABLE = {{"LR_MAX": (0.005, 0.05, "log")}} under its settings '
                          f"(docs/tuning.md)")
    try:
        declared = ast.literal_eval(node.value)
    except ValueError:
        raise TuningError(f"{name}, line {node.lineno}: TUNABLE must be written with numbers, "
                          f"strings, tuples and lists only")
    if not isinstance(declared, dict) or not declared:
        raise TuningError(f"{name}, line {node.lineno}: TUNABLE must be a dict of at least "
                          f"one setting, NAME: (low, high)")
    settings = stage_settings(source)
    return [_checked(name, setting, bounds, settings) for setting, bounds in declared.items()]


def _checked(script, name, bounds, settings):
    where = f"{script}: TUNABLE[{name!r}] = {bounds!r}"
    if name not in settings:
        raise TuningError(f"{where}: the stage has no line '{name} = ...' for the tuner to change")
    if isinstance(bounds, list):
        if not bounds:
            raise TuningError(f"{where}: a list of choices needs at least one")
        return Tunable(name, choices=tuple(bounds))
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if not isinstance(bounds, tuple) or len(bounds) not in (2, 3) or not all(map(number, bounds[:2])):
        raise TuningError(f"{where}: give (low, high), (low, high, \"log\"), (low, high, step) "
                          f"or a list of choices")
    low, high = bounds[:2]
    extra = bounds[2] if len(bounds) == 3 else None
    if not low < high:
        raise TuningError(f"{where}: low must be less than high")
    if extra == "log":
        if low <= 0:
            raise TuningError(f"{where}: a log scale needs low > 0")
        return Tunable(name, low, high, log=True)
    if extra is not None and not (number(extra) and 0 < extra <= high - low):
        raise TuningError(f"{where}: the third item must be \"log\" or a step between 0 and "
                          f"high - low")
    if isinstance(low, int) and isinstance(high, int) and isinstance(extra, float):
        raise TuningError(f"{where}: a whole-number range needs a whole-number step")
    return Tunable(name, low, high, step=extra)


def own_settings(tunables, settings):
    """{NAME: value}: the stage's own value of each tunable setting that lies in its range,
    for the first trial of a new study (a baseline for the others)."""
    own = {t.name: t.holds(settings.get(t.name)) for t in tunables}
    return {name: value for name, value in own.items() if value is not None}


def stage_settings(source):
    """{NAME: value} of the stage's module-level settings (upper-case names assigned from
    numbers and earlier settings), as the stage computes them: ITERATIONS from EPOCHS."""
    values = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id.isupper()):
            continue
        try:
            values[node.targets[0].id] = eval(compile(ast.Expression(node.value), "<setting>", "eval"),
                                              {"__builtins__": CONSTRAINT_FUNCTIONS}, dict(values))
        except Exception:  # a setting computed from the flags or TensorFlow: not one to tune
            continue
    return values


def settings_lines(params):
    """The trial's settings as the stage file would write them: NAME=VALUE, exactly."""
    return [f"{name}={value!r}" for name, value in params.items()]


def shown(params):
    """The trial's settings for a person: NAME=VALUE, floats to 4 digits."""
    return " ".join(f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
                    for name, value in params.items())


def check_constraint(expression, settings):
    """Whether the settings meet `expression` (a Python expression over them). Raises
    TuningError for an expression that does not work on these settings."""
    try:
        return bool(eval(expression, {"__builtins__": CONSTRAINT_FUNCTIONS}, dict(settings)))
    except NameError as error:
        raise TuningError(f"--constraint {expression!r}: {error} among the stage's settings")
    except Exception as error:
        raise TuningError(f"--constraint {expression!r}: {type(error).__name__}: {error}")


# ----------------------------------------------------------------------- storage

def open_storage(where):
    """Optuna's storage for `where`: a database URL (sqlite:///FILE, postgresql://...,
    mysql://...) or a journal file (a path ending in .log). Raises TuningError."""
    import optuna
    if "://" not in where:
        if not where.endswith(".log"):
            raise TuningError(f"--storage {where}: give a database URL (sqlite:///FILE.db, "
                              f"postgresql://USER:PASSWORD@HOST/DB, mysql://...) or a journal "
                              f"file whose name ends in .log")
        from optuna.storages.journal import JournalFileBackend
        try:
            return optuna.storages.JournalStorage(JournalFileBackend(where))
        except OSError as error:
            raise TuningError(f"--storage {where}: {error.strerror or error}", exit_code=1)
    scheme = where.split("://", 1)[0].split("+", 1)[0]
    if scheme not in ("sqlite", "postgresql", "mysql"):
        raise TuningError(f"--storage {where}: unknown kind of storage '{scheme}'; give "
                          f"sqlite:///FILE.db, postgresql://..., mysql://... or a journal file FILE.log")
    problem = scheme == "sqlite" and sqlite_problem(where)
    if problem:
        raise TuningError(f"--storage {where}: SQLite cannot keep the study there: {problem}",
                          exit_code=1)
    engine = {"connect_args": {"timeout": 60}} if scheme == "sqlite" else {"pool_pre_ping": True}
    for attempt in range(OPEN_ATTEMPTS):
        try:  # the heartbeat lets another process fail a trial whose process died
            return optuna.storages.RDBStorage(where, engine_kwargs=engine, heartbeat_interval=10,
                                              grace_period=60)
        except ImportError as error:  # Optuna's, from SQLAlchemy's: the database's driver
            raise TuningError(f"--storage {shown_url(where)}: "
                              f"{missing_driver(error, scheme)}") from None
        except Exception as error:  # SQLAlchemy's: no server there, refused, bad password, ...
            # ... or two processes creating a new database's tables at the same moment:
            # one of them fails; a moment later the tables are there.
            problem = str(error).splitlines()[0]
            time.sleep(1 + attempt)
    raise TuningError(f"--storage {shown_url(where)}: cannot open it: {problem}", exit_code=1)


# The database drivers SQLAlchemy imports, and what installs them (SQLAlchemy 2.1 takes
# psycopg for postgresql://, 2.0 psycopg2: a URL that names its driver means the same to both).
DRIVERS = {"psycopg": 'pip install "psycopg[binary]"', "psycopg2": "pip install psycopg2-binary",
           "pymysql": "pip install pymysql", "MySQLdb": "pip install mysqlclient"}


def missing_driver(error, scheme):
    """What to install for the driver whose import failed behind `error`."""
    while error is not None and not getattr(error, "name", None):
        error = error.__cause__ or error.__context__
    module = (getattr(error, "name", None) or "").split(".")[0]
    install = f": {DRIVERS.get(module, 'pip install ' + module)}" if module else ""
    return (f"the database driver {module or 'for ' + scheme} is not installed{install} "
            f"(docs/tuning.md, \"Search on several machines\")")


def shown_url(url):
    """The storage URL with its password, if any, as ***: for the lines tune.py prints."""
    if "://" not in url or "@" not in url.split("://", 1)[1]:
        return url
    try:
        import sqlalchemy
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: opening it will say so
        return url


def sqlite_problem(url):
    """Why SQLite could not write the file of sqlite:///FILE (beside it too: its journal),
    or None. SQLAlchemy's own error says only "unable to open database file"."""
    path = url.split("://", 1)[1].split("?", 1)[0]
    path = path[1:] if path.startswith("/") else path  # sqlite:///a.db: a.db; sqlite:////a.db: /a.db
    if path in ("", ":memory:"):
        return None
    return safefiles.why_not_writable(path)


# ---------------------------------------------------------------------- one trial

class StageFailed(Exception):
    """The stage stopped with an error (the loss became NaN, ...): the trial failed."""


@dataclass
class Outcome:
    accuracy: float = None  # the last validation figure
    loop_seconds: float = None  # the stage's own timing line
    pruned_at: int = None  # percent of the run
    others_median: float = None  # what the pruner compared the trial with, if it says
    seconds: float = 0.0  # launch to exit


class TrialRun:
    """One trial: the stage with the trial's settings, headless, on the validation
    folder, as its own process. Its training figures (smoothed) are reported to Optuna
    every tenth of the run; a trial that Optuna prunes is stopped by its process id."""

    def __init__(self, script, stage_flags, validation_dir, workdir):
        self.script, self.stage_flags = Path(script), list(stage_flags)
        self.validation_dir, self.workdir = validation_dir, Path(workdir)
        self.child = None

    def command(self, copy, seed=None):
        seed_flags = ["--seed", str(seed)] if seed is not None else []
        return [sys.executable, str(copy), *self.stage_flags, "--headless",
                "--data-dir", str(self.validation_dir), *seed_flags]

    def prepare(self, trial):
        """The stage copied with the trial's settings: (its path, its settings {NAME: value})."""
        folder = self.workdir / f"trial-{trial.number}"
        folder.mkdir(parents=True, exist_ok=True)
        copy = validation.edited_stage(self.script, settings_lines(trial.params), folder)
        return copy, stage_settings(copy.read_text(encoding="utf-8"))

    def run(self, trial, copy, iterations, seed=None, report=True):
        """Train the copy; return an Outcome. Raises optuna.TrialPruned or StageFailed.
        iterations: the run's length in steps, to report its progress in percent; seed:
        the run's --seed (None: the stage flags'); report: False for a trial's second
        run and later, whose progress Optuna has already seen once."""
        import optuna
        outcome, recent, reported = Outcome(), [], -1
        started = time.perf_counter()
        self.child = start_stage(self.command(copy, seed), copy.parent)
        tail = []  # the last lines, for a failure's reason
        try:
            for line in self.child.stdout:
                line = line.rstrip("\n")
                tail = (tail + [line])[-20:]
                if m := TEST_LINE.match(line):
                    outcome.accuracy = float(m["accuracy"])
                elif m := TIMING_LINE.match(line):
                    outcome.loop_seconds = float(m["seconds"])
                elif m := PROGRESS_LINE.match(line):
                    recent = (recent + [float(m["accuracy"])])[-SMOOTHING:]
                    # Every trial reports at the same points (0, 10, ... 90 % of its run),
                    # which the pruner compares across trials.
                    percent = min(100, int(m["step"]) * 100 // (iterations or 1)) // REPORT_EVERY * REPORT_EVERY
                    if report and iterations and reported < percent < 100:  # at 100 %: the score is next
                        reported = percent
                        trial.report(sum(recent) / len(recent), percent)
                        if trial.should_prune():
                            outcome.pruned_at = percent
                            outcome.others_median = _others_median(trial, percent)
                            break
        finally:
            self.stop()
            outcome.seconds = time.perf_counter() - started
        if outcome.pruned_at is not None:
            trial.set_user_attr("seconds", round(outcome.seconds, 1))
            figure = sum(recent) / len(recent)
            behind = ("" if outcome.others_median is None else
                      f", {outcome.others_median - figure:.4f} below the other trials' median "
                      f"{outcome.others_median:.4f}")
            raise optuna.TrialPruned(f"pruned at {outcome.pruned_at} % of the run (training "
                                     f"accuracy {figure:.4f}{behind})")
        if self.child.returncode != 0 or outcome.accuracy is None:
            raise StageFailed(_reason(tail, self.child.returncode))
        return outcome

    def stop(self):
        """Stop the trial's process if it still runs (as Ctrl-C would: it ends cleanly),
        and wait for it; killed if it has not ended after STOP_WAIT seconds."""
        child = self.child
        if child is None:
            return
        if child.poll() is None:
            child.send_signal(signal.CTRL_BREAK_EVENT if sys.platform == "win32" else signal.SIGTERM)
            try:
                child.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                child.kill()
        child.wait()
        child.stdout.close()


def start_stage(command, folder, own_group=True, capture=True):
    """A stage copy as a process (it imports trainer from this repository). own_group:
    in a process group of its own, so that Ctrl-C in the terminal reaches the tuner
    only, which stops the trial itself. capture: its output, line by line, to read."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    group = {}
    if own_group:
        group = ({"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if sys.platform == "win32"
                 else {"start_new_session": True})
    if not capture:
        return subprocess.Popen(command, cwd=folder, env=env, **group)
    env.update(PYTHONUNBUFFERED="1", MPLBACKEND="Agg")
    return subprocess.Popen(command, cwd=folder, env=env, text=True, bufsize=1,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            encoding="utf-8", errors="replace", **group)


def _others_median(trial, step):
    """The figure a codelab.pruning.BehindPruner compared a pruned trial with (None for
    another pruner)."""
    others_median = getattr(trial.study.pruner, "others_median", None)
    return others_median(trial.study, trial, step) if others_median else None


def _reason(tail, returncode):
    """Why a stage failed, in one line: its `error:` line, else its last line."""
    errors = [line for line in tail if line.startswith("error: ")]
    line = errors[-1] if errors else (tail[-1] if tail else "no output")
    line = re.sub(r"^error: ", "", line)
    return f"{line[:160]} (exit code {returncode})"
