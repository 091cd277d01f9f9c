"""The accuracy ladder: does every stage reach its target at its full budget?

Runs each stage script headless (`python3 <script> --headless --seed 0`) in a
subprocess from the repository, one after the other, and prints a table: steps,
max and final test accuracy, wall time, steps/s, target and pass/fail; then the
same table in Markdown for the README, with the date and the machine. Each run's
output is streamed to <log-dir>/stage_<N>.log (watch it with `tail -f`).
Exits with status 1 if a stage misses its target or fails.

Targets are for the full budget on CPU (4.0 and 4.1 have none). A full ladder
takes hours on a laptop CPU; for a smoke run, cut the budget (no pass/fail then):

    python3 benchmarks/bench_ladder.py                            # everything, full budget
    python3 benchmarks/bench_ladder.py --stages 1.0 3.1           # some stages
    python3 benchmarks/bench_ladder.py --iterations 20 --log-dir /tmp/ladder
    python3 benchmarks/bench_ladder.py --record                   # into results.json

--record writes each stage's figures into benchmarks/results.json ("ladder"), which
README.md, stages.py and the guide read (full budget and seed 0 only).
"""
import argparse
import sys
import tempfile
from pathlib import Path

from runs import (STAGE_IDS, duration, fmt, machine, markdown_table, record, run_script,
                   select_stages)

HEADERS = ["stage", "steps", "max test accuracy", "final test accuracy", "wall time",
           "steps/s", "target", "result"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stages", nargs="+", metavar="STAGE",
                        help=f"stages to run (default: all of {' '.join(STAGE_IDS)})")
    parser.add_argument("--iterations", type=int, metavar="N",
                        help="override every stage's budget (smoke runs; targets are then not judged)")
    parser.add_argument("--seed", type=int, default=0, help="seed passed to every stage (default 0)")
    parser.add_argument("--log-dir", help="folder for the per-stage logs (default: a new temporary folder)")
    parser.add_argument("--record", action="store_true",
                        help="write the figures into benchmarks/results.json (full budget, seed 0)")
    args = parser.parse_args()
    if args.record and (args.iterations or args.seed != 0):
        parser.error("--record is for the full budget and seed 0: leave out --iterations and --seed")

    log_dir = Path(args.log_dir or tempfile.mkdtemp(prefix="mnist_ladder_")).resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    extra = ["--iterations", args.iterations] if args.iterations else []
    rows, failed, measured = [], [], {}
    for stage, script, target in select_stages(args.stages):
        if not script.exists():
            print(f"stage {stage}: {script.name} not found, skipped")
            rows.append([stage, "-", "-", "-", "-", "-", fmt(target, ".3f") if target else "-",
                         "skipped (no script)"])
            continue
        log_path = log_dir / f"stage_{stage}.log"
        print(f"stage {stage}: running {script.name} (log: {log_path})", flush=True)
        run = run_script(script, ["--headless", "--seed", args.seed, *extra], log_path=log_path)
        if not run.ok:
            result = f"FAILED (exit {run.returncode}, see log)"
        elif args.iterations:
            result = "not judged (reduced budget)"
        elif target is None:
            result = "no target"
        else:
            result = "pass" if run.max_accuracy >= target else "MISSED"
        if result.startswith(("FAILED", "MISSED")):
            failed.append(stage)
        steps = run.trained_steps
        if steps is None and run.progress:  # no timing line: the last step it reported
            steps = run.progress[-1][1]
        if run.ok and not run.stopped:
            measured[stage] = {"steps": steps, "max_test_accuracy": run.max_accuracy,
                               "final_test_accuracy": run.final_accuracy,
                               "seconds": round(run.seconds)}
        rows.append([stage, fmt(steps, "d"), fmt(run.max_accuracy, ".4f"), fmt(run.final_accuracy, ".4f"),
                     duration(run.seconds), fmt(run.steps_per_second, ".1f"),
                     fmt(target, ".3f") if target else "-", result])
        print(f"stage {stage}: {result}, max test accuracy {fmt(run.max_accuracy, '.4f')}, "
              f"{duration(run.seconds)}", flush=True)

    widths = [max(len(str(cell)) for cell in column) for column in zip(HEADERS, *rows)]
    print()
    for row in [HEADERS, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))
    budget = f"--iterations {args.iterations}" if args.iterations else "full budget"
    print(f"\nAccuracy ladder ({budget}, seed {args.seed}), {machine()}:\n")
    print(markdown_table(HEADERS, rows))
    print(f"\nlogs: {log_dir}")
    if args.record and measured:
        record("ladder", "python3 benchmarks/bench_ladder.py --record (every stage at its full "
               "budget, seed 0, headless)", measured, "stages")
    if failed:
        print(f"missed or failed: {' '.join(failed)}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
