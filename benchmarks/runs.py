"""Shared by the benchmarks: the stage list, running a script while timestamping
its output lines, parsing the lines every stage script prints, machine facts,
Markdown tables, and (from codelab/validation.py) the validation split: a stage trained
on the first 55,000 training images, measured on the last 5,000, with some of its
settings changed."""
import datetime
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

sys.path.insert(0, str(REPO))
from codelab import safefiles  # noqa: E402
from codelab import stages  # noqa: E402  (the one list of stages)
# The validation split and edited copies of a stage (bench_speedrun, bench_recurrent):
from codelab.validation import edited_stage, validation_folder  # noqa: E402,F401

RESULTS = REPO / "benchmarks" / "results.json"  # the one copy of the measured figures

# What the original codelab reported for each stage at its full budget (README.md, "The stages"),
# the benchmark's target for the max test accuracy; None where it gave no figure.
ORIGINAL_RESULTS = {"1.0": 0.92, "2.0": 0.975, "2.1": 0.980, "2.2": 0.980, "3.0": 0.989,
                    "3.1": 0.992, "4.0": 0.981, "4.1": 0.985, "4.2": 0.995}
STAGES = [(stage, script, ORIGINAL_RESULTS.get(stage)) for stage, script in stages.STAGES]
STAGE_IDS = [stage for stage, _, _ in STAGES]

# The lines every stage script prints, as trainer.py defines them beside its prints.
from trainer import MAX_ACCURACY_LINE as MAX  # noqa: E402
from trainer import PROGRESS_LINE as PROGRESS  # noqa: E402
from trainer import TEST_LINE as TEST  # noqa: E402
from trainer import TIMING_LINE as TIMING  # noqa: E402

STAMP = re.compile(r"^\[\s*([\d.]+) s\] (.*)$")  # a line of run_script's log: [seconds] line


def select_stages(wanted=None):
    """[(stage, script path, target)] for the stages asked for (all by default), in order."""
    unknown = set(wanted or []) - set(STAGE_IDS)
    if unknown:
        sys.exit(f"error: unknown stage(s) {', '.join(sorted(unknown))}; choose from {' '.join(STAGE_IDS)}")
    return [(stage, REPO / script, target) for stage, script, target in STAGES
            if not wanted or stage in wanted]


@dataclass
class Run:
    """What one run printed, each line with its time in seconds since launch."""
    command: list
    progress: list = field(default_factory=list)  # (t, step)
    tests: list = field(default_factory=list)  # (t, step, accuracy)
    trained_steps: int = None
    steps_per_second: float = None  # from the timing line: the training loop, no start-up
    max_accuracy: float = None
    returncode: int = None
    seconds: float = None  # launch to exit (or to being stopped)
    stopped: bool = False  # stopped by us once `stop_when` held

    @property
    def startup_seconds(self):
        """Launch to the first progress line."""
        return self.progress[0][0] if self.progress else None

    @property
    def final_accuracy(self):
        return self.tests[-1][2] if self.tests else None

    @property
    def ok(self):
        return self.stopped or (self.returncode == 0 and self.max_accuracy is not None)

    def read(self, line, t):
        if m := PROGRESS.match(line):
            self.progress.append((t, int(m[1])))
        elif m := TEST.match(line):
            self.tests.append((t, int(m[1]), float(m[3])))
        elif m := TIMING.match(line):
            self.trained_steps, self.steps_per_second = int(m[1]), float(m[3])
        elif m := MAX.match(line):
            self.max_accuracy = float(m[1])


def run_script(script, args=(), log_path=None, stop_when=None, echo=False, timeout=None):
    """Run `python3 script args` from the repository, reading its output line by line.

    Every line goes to log_path (flushed, so `tail -f` shows a long run) and, with
    echo, to our stdout. stop_when(run) -> True ends the child there (time-to-accuracy).
    """
    command = [sys.executable, str(script), *map(str, args)]
    env = dict(os.environ, PYTHONUNBUFFERED="1", MPLBACKEND="Agg")
    run = Run(command)
    log = open(log_path, "w", encoding="utf-8") if log_path else None
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=REPO, env=env, text=True, bufsize=1,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for line in child.stdout:
            t = time.perf_counter() - start
            run.read(line, t)
            if log:
                log.write(f"[{t:8.2f} s] {line}")
                log.flush()
            if echo:
                print(f"    {line}", end="", flush=True)
            if stop_when and stop_when(run):
                run.stopped = True
                run.seconds = t
                break
            if timeout and t > timeout:
                print(f"    timeout after {timeout} s: stopping {Path(script).name}")
                break
    finally:
        if child.poll() is None:
            child.terminate()
        run.returncode = child.wait()
        if run.seconds is None:
            run.seconds = time.perf_counter() - start
        if log:
            log.close()
    return run


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def version(*packages):
    for package in packages:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return "not installed"


def machine():
    """One line: date, CPU model, cores, TensorFlow version (read without importing it)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    tf = version("tensorflow", "tensorflow-cpu")
    return (f"{datetime.date.today().isoformat()}, {cpu}, {os.cpu_count()} cores, "
            f"TensorFlow {tf}, Python {platform.python_version()}")


def markdown_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def duration(seconds):
    """12.3 s, or 20 min 34 s."""
    if seconds < 100:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds:02d} s"


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def machine_description():
    """The machine, without the date: CPU model, cores, memory, TensorFlow, Python."""
    return machine().split(", ", 1)[1]


def record(section, command, entries, key):
    """Write what a benchmark measured into results.json: `entries` ({stage or seed:
    figures}) replace those of the same name in `section`, with today's date, this
    machine and the command. The pages and tests read the file; re-measuring updates it."""
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    kept = results.get(section, {}).get(key, {})
    kept.update(entries)
    results[section] = {"command": command, "date": datetime.date.today().isoformat(),
                        "machine": machine_description(), key: kept}
    with safefiles.atomic_write(RESULTS, "w", encoding="utf-8") as file:
        json.dump(results, file, indent=2)
        file.write("\n")
    print(f"recorded in {RESULTS.relative_to(REPO)} ({section}: {', '.join(entries)})")


def record_ladder_stage(stage, figures, how):
    """One stage's entry in results.json's ladder, measured on its own (by another
    benchmark, another day): it carries its own date and machine (with `how`), and the
    ladder's own date, machine and command stay as the ladder run wrote them."""
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    results["ladder"]["stages"][stage] = {
        **figures, "date": datetime.date.today().isoformat(),
        "machine": f"{machine_description()}; {how}"}
    with safefiles.atomic_write(RESULTS, "w", encoding="utf-8") as file:
        json.dump(results, file, indent=2)
        file.write("\n")
    print(f"recorded in {RESULTS.relative_to(REPO)} (ladder: {stage})")
