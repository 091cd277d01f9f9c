"""Search a stage's settings with Optuna, on the validation split, never the test set.

    python3 tune.py mnist_5.1_speedrun_augmented.py --trials 30
    python3 tune.py mnist_5.1_speedrun_augmented.py --trials 30 --seed 1 --iterations 400
    python3 tune.py mnist_5.1_speedrun_augmented.py --trials 30 --seeds 0,1,2

The stage file says what may change, and in which range: its TUNABLE dict, under its
settings. Each trial is one real run of the stage with the settings Optuna's TPE
sampler picks, headless, trained on the first 55,000 training images and measured on
the last 5,000 (the validation split); its score is its final validation accuracy
(with --seeds, the mean of one run per seed: a seed alone varies by about 0.1 %).
A trial whose training figures fall clearly behind the others' (more than 0.02 below
their median at the same point of the run, from 30 % of it on) is pruned: its process
is stopped (codelab/pruning.py says why so leniently). Flags this script does not know
(--seed, --iterations, --data-dir, ...) go to every trial's stage.

The study lives in a file next to the run, tune-<stage>.db (SQLite): stop it with
Ctrl-C and the same command goes on with it. Several processes or machines share one
study through --storage (a database URL, or a journal file on a shared disk) and
--study NAME: each takes the next trial, none twice. docs/tuning.md has the details.

A new study's first trial is the stage's own settings (those in TUNABLE's ranges): the
end says how it did beside the best trial, and the command that reruns the best on the
test set (--rerun N).
Exit codes: 0 done, 1 the storage could not be used, 2 bad flags or TUNABLE, 130 Ctrl-C
(143 SIGTERM).
"""
import argparse
import shlex
import shutil
import signal
import sys
import tempfile
import warnings
from pathlib import Path

import trainer
from codelab import tuning, validation

COUNTED = ("complete", "pruned", "failed")  # trials that count towards --trials
MAX_SKIPPED = 200  # trials in a row against --constraint before the search gives up
REFUSED_FLAGS = ("save_model", "restore", "fresh", "save_image", "save_movie", "logdir")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", type=Path, help="the stage script, e.g. mnist_5.1_speedrun_augmented.py")
    parser.add_argument("--trials", type=int, default=20, metavar="N",
                        help="trials the study should hold in all (default: 20); run the "
                             "command again with a larger N for more")
    parser.add_argument("--study", metavar="NAME", help="the study's name (default: the stage's)")
    parser.add_argument("--storage", metavar="URL",
                        help="where the study lives: sqlite:///FILE.db, postgresql://..., "
                             "mysql://..., or a journal file FILE.log (default: "
                             "sqlite:///tune-<stage>.db in this folder)")
    parser.add_argument("--constraint", metavar="EXPR",
                        help="a Python expression over the stage's settings, e.g. "
                             "\"ITERATIONS * K <= 10000\": a trial that breaks it is skipped, "
                             "not run (recorded as pruned)")
    parser.add_argument("--seeds", metavar="S,S,...",
                        help="score each trial by the mean final validation accuracy of one "
                             "run per seed (e.g. 0,1,2): slower, steadier; pruning watches the "
                             "first seed's run")
    parser.add_argument("--rerun", type=int, metavar="N",
                        help="run trial N's settings once on the test set, with the stage's "
                             "flags (for the recipe you keep), instead of searching")
    args, stage_flags = parser.parse_known_args()
    if args.trials < 1:
        parser.error(f"--trials must be at least 1, got {args.trials}")
    if not args.stage.is_file():
        parser.error(f"{args.stage}: no such stage script")
    stage_parser = trainer.make_parser("", None, prog=f"{parser.prog} {args.stage.name}")
    given = stage_parser.parse_args(stage_flags)  # a mistyped stage flag: the usage, exit 2
    refused = [flag for flag in REFUSED_FLAGS if getattr(given, flag) and args.rerun is None]
    if refused:
        parser.error(f"--{refused[0].replace('_', '-')} is for one run, not for every trial: "
                     f"give it with --rerun N, to the trial you keep")
    args.stage_flags, args.given = stage_flags, given
    args.seeds = parse_seeds(parser, args.seeds, stage_flags) if args.seeds is not None else None
    args.study = args.study or args.stage.stem
    args.storage_given = args.storage
    args.storage = args.storage or f"sqlite:///tune-{args.stage.stem}.db"
    return args


def parse_seeds(parser, text, stage_flags):
    """--seeds 0,1,2 as [0, 1, 2]: whole numbers, each once, not with the stage's --seed."""
    try:
        seeds = [int(seed) for seed in text.split(",")]
    except ValueError:
        parser.error(f"--seeds: whole numbers with commas between, e.g. 0,1,2 (got '{text}')")
    if len(set(seeds)) != len(seeds) or min(seeds) < 0:
        parser.error(f"--seeds: each seed once, none negative (got '{text}')")
    if any(flag == "--seed" or flag.startswith("--seed=") for flag in stage_flags):
        parser.error("--seeds and --seed: give one (--seeds runs each trial once per seed)")
    return seeds


def mean_of(seeds):
    """How a trial's lines name a score taken over several seeds."""
    return f"the mean of seeds {', '.join(map(str, seeds))}"


def main():
    args = parse_args()
    import optuna  # (after the flags, so that -h is quick)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # our own line per trial instead
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    try:
        tunables = tuning.read_tunable(args.stage)
        defaults = tuning.stage_settings(args.stage.read_text(encoding="utf-8"))
        if args.constraint:
            tuning.check_constraint(args.constraint, with_flags(defaults, args))
        storage = tuning.open_storage(args.storage)
        study, created = open_study(storage, args.study)
    except tuning.TuningError as error:
        default = ("" if args.storage_given or error.exit_code != 1 else
                   " (the default study file, in this folder: run tune.py from a folder you can "
                   "write to, or give --storage sqlite:///PATH.db)")
        print(f"error: {error}{default}", file=sys.stderr)
        sys.exit(error.exit_code)
    if args.rerun is not None:
        sys.exit(rerun(args, study))
    # A new study: the stage as it is comes first, queued at once (before another process
    # sharing the study can ask for a trial).
    first = first_trial(study, tunables, defaults) if created else None
    search(args, study, tunables, first)


def open_study(storage, name):
    """(the study, whether this process created it). Of several processes starting one new
    study together, the storage lets exactly one create it."""
    import optuna
    from codelab import pruning  # (imports Optuna)
    sampler, pruner = optuna.samplers.TPESampler(), pruning.BehindPruner()
    try:
        return optuna.create_study(study_name=name, storage=storage, direction="maximize",
                                   sampler=sampler, pruner=pruner), True
    except optuna.exceptions.DuplicatedStudyError:
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner), False


def first_trial(study, tunables, defaults):
    """Queue the stage's own settings (those that lie in TUNABLE's ranges) as trial 0:
    {NAME: value}, or None where none does."""
    own = tuning.own_settings(tunables, defaults)
    if own:
        study.enqueue_trial(own, user_attrs={"own": True})
    return own or None


def with_flags(settings, args):
    """The stage's settings as a run with these flags uses them (--iterations)."""
    if args.given.iterations is not None:
        settings = dict(settings, ITERATIONS=args.given.iterations)
    return settings


def counted(study):
    """Trials that count towards --trials: run (or running), not skipped or interrupted."""
    import optuna
    return sum(1 for t in study.get_trials(deepcopy=False)
               if t.state == optuna.trial.TrialState.RUNNING or t.user_attrs.get("outcome") in COUNTED)


class Search:
    """The objective Optuna calls for each trial, and the line each trial prints."""

    def __init__(self, args, tunables, validation_dir, workdir):
        self.args, self.tunables = args, tunables
        self.stage = tuning.TrialRun(args.stage, args.stage_flags, validation_dir, workdir)
        self.current, self.skipped_in_a_row = None, 0

    def __call__(self, trial):
        import optuna
        self.current = trial.number
        for tunable in self.tunables:
            tunable.suggest(trial)
        copy, settings = self.stage.prepare(trial)
        settings = with_flags(settings, self.args)
        head = f"trial {trial.number:3d}: {tuning.shown(trial.params)}:"
        if self.args.constraint and not tuning.check_constraint(self.args.constraint, settings):
            trial.set_user_attr("outcome", "skipped")
            self.skipped_in_a_row += 1
            print(f"{head} skipped, breaks --constraint", flush=True)
            if self.skipped_in_a_row >= MAX_SKIPPED:
                trial.study.stop()
            raise optuna.TrialPruned("breaks --constraint")
        self.skipped_in_a_row = 0
        try:
            # One run, or one per seed (the pruner watches the first); the score is the mean.
            outcomes = [self.stage.run(trial, copy, settings.get("ITERATIONS"), seed=seed,
                                       report=number == 0)
                        for number, seed in enumerate(self.args.seeds or [None])]
        except optuna.TrialPruned as pruned:
            trial.set_user_attr("outcome", "pruned")
            print(f"{head} {pruned}, {trial.user_attrs['seconds']:.0f} s", flush=True)
            raise
        except tuning.StageFailed as failed:
            trial.set_user_attr("outcome", "failed")
            trial.set_user_attr("reason", str(failed))
            print(f"{head} failed: {failed}", flush=True)
            raise
        accuracy = sum(o.accuracy for o in outcomes) / len(outcomes)
        loop = sum(o.loop_seconds for o in outcomes) / len(outcomes)
        seconds = sum(o.seconds for o in outcomes)
        trial.set_user_attr("outcome", "complete")
        trial.set_user_attr("loop_seconds", loop)
        trial.set_user_attr("seconds", round(seconds, 1))
        each = ""
        if self.args.seeds:
            trial.set_user_attr("seed_accuracies", [o.accuracy for o in outcomes])
            each = (f" ({mean_of(self.args.seeds)}: "
                    f"{', '.join(f'{o.accuracy:.4f}' for o in outcomes)})")
        print(f"{head} validation accuracy {accuracy:.4f}{each}, training loop {loop:.1f} s"
              f"{' a run' if self.args.seeds else ''}, {seconds:.0f} s in all", flush=True)
        return accuracy


def search(args, study, tunables, first=None):
    """Run trials until the study holds args.trials; first: the stage's own settings that
    this process queued as the first trial of the study it created."""
    import optuna
    done = counted(study)
    print(f"study {args.study} in {tuning.shown_url(args.storage)}: {done} trials so far, "
          f"{args.trials} asked for; searching {', '.join(t.name for t in tunables)}", flush=True)
    if first:
        print(f"a new study: its first trial runs the stage's own settings ({tuning.shown(first)}"
              f"{'' if len(first) == len(tunables) else '; the others sampled'}), to measure the "
              f"others against", flush=True)
    if done < args.trials:
        validation_dir = validation.validation_folder(args.given.data_dir, args.given.dataset)
        workdir = tempfile.mkdtemp(prefix="tune-")
        print(f"validation split (in {validation_dir}): trained on the first 55,000 training "
              f"images, measured on the last 5,000 (of a smaller set: its last twelfth); "
              f"never the test set", flush=True)
        objective = Search(args, tunables, validation_dir, workdir)

        def enough(study, trial):
            if counted(study) >= args.trials:
                study.stop()

        stop_signal = []
        signal.signal(signal.SIGTERM, lambda number, frame: (stop_signal.append(number),
                                                             signal.default_int_handler(number, frame)))
        try:
            study.optimize(objective, callbacks=[enough], catch=(tuning.StageFailed,),
                           gc_after_trial=False)
        except KeyboardInterrupt:
            interrupted(args, study, objective.current)
            sys.exit(143 if stop_signal else 130)
        except tuning.TuningError as error:  # a --constraint that fails on some settings
            print(f"error: {error}", file=sys.stderr)
            sys.exit(error.exit_code)
        finally:
            shutil.rmtree(validation_dir, ignore_errors=True)
            shutil.rmtree(workdir, ignore_errors=True)
        if objective.skipped_in_a_row >= MAX_SKIPPED:
            print(f"error: --constraint: the last {MAX_SKIPPED} trials all broke it; widen the "
                  f"ranges in TUNABLE or loosen the constraint", file=sys.stderr)
            sys.exit(2)
    summary(args, study)


def interrupted(args, study, number):
    """After Ctrl-C: this process's trial is failed (Optuna does it, unless the signal came
    between two of its steps), and not counted: the same command runs it again."""
    import optuna
    if number is not None:
        trial = study.get_trials(deepcopy=False)[number]
        if trial.state == optuna.trial.TrialState.RUNNING:
            study.tell(number, state=optuna.trial.TrialState.FAIL)
    print(f"\nstopped: the study is kept in {tuning.shown_url(args.storage)}; the same command "
          f"goes on with it ({counted(study)} of {args.trials} trials so far)", flush=True)


def rerun(args, study):
    """Trial args.rerun's settings, on the test set: the stage's exit code."""
    trial = next((t for t in study.get_trials(deepcopy=False) if t.number == args.rerun), None)
    if trial is None or not trial.params:
        print(f"error: --rerun {args.rerun}: study {args.study} in "
              f"{tuning.shown_url(args.storage)} has no such trial ({len(study.trials)} trials, numbered from 0)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="tune-rerun-") as folder:
        copy = validation.edited_stage(args.stage, tuning.settings_lines(trial.params), folder)
        print(f"{args.stage.name} with trial {trial.number}'s settings ({tuning.shown(trial.params)}), "
              f"on the test set", flush=True)
        child = tuning.start_stage([sys.executable, str(copy), *args.stage_flags], Path.cwd(),
                                   own_group=False, capture=False)
        while True:
            try:
                return child.wait()  # Ctrl-C reaches the stage too: it stops cleanly
            except KeyboardInterrupt:
                continue


def summary(args, study):
    import optuna
    trials = study.get_trials(deepcopy=False)
    # A trial failed without an outcome of ours was stopped: Ctrl-C, or its process died.
    outcomes = [t.user_attrs.get("outcome", "running" if t.state == optuna.trial.TrialState.RUNNING
                                 else "stopped") for t in trials]
    print(f"\nstudy {args.study}: {len(trials)} trials: " + ", ".join(
        f"{outcomes.count(o)} {o}" for o in ("complete", "pruned", "failed", "skipped",
                                             "stopped", "running") if outcomes.count(o)))
    try:
        best = study.best_trial
    except ValueError:
        print("no trial completed: nothing to rerun")
        return
    seeds = f" ({mean_of(args.seeds)})" if args.seeds else ""
    own = next((t for t in trials if t.user_attrs.get("own")), None)  # the first trial, as a rule
    mark = " (the stage's own settings)" if own and own.number == best.number else ""
    print(f"best: trial {best.number}, validation accuracy {best.value:.4f}{seeds}: "
          f"{tuning.shown(best.params)}{mark}")
    if own and not mark:
        outcome = outcomes[trials.index(own)]
        figure = {"complete": f"validation accuracy {own.value or 0:.4f}",
                  "skipped": "skipped, breaks --constraint"}.get(outcome, outcome)
        print(f"the stage's own settings: trial {own.number}, {figure}")
    command = ["python3", "tune.py" if Path.cwd() == tuning.REPO else str(tuning.REPO / "tune.py"),
               str(args.stage)]
    command += ["--study", args.study] if args.study != args.stage.stem else []
    storage = tuning.shown_url(args.storage_given) if args.storage_given else None
    command += ["--storage", storage] if storage else []
    command += ["--rerun", str(best.number), *args.stage_flags]
    print("rerun it on the test set (once, for the recipe you keep):\n    " + shlex.join(command))
    if storage != args.storage_given:
        print("    (*** stands for the password of --storage)")


if __name__ == "__main__":
    main()
