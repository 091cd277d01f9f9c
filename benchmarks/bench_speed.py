"""Speed: steps/s and start-up of every stage, and time to 99 % for stage 3.1
against the same network in PyTorch.

Part "speed": a short headless run per stage (--iterations 300 by default) gives
  - steps/s from the script's timing line ("trained N steps in T s (R steps/s)"):
    the training loop only, test evaluations included, start-up excluded;
  - start-up: from process launch to the first progress line ("step 0: ..."),
    after one discarded warm-up run so that the data is already cached.
  With torch installed, benchmarks/pytorch_stage31.py gets a row too.
Part "tta": time to 99 % test accuracy for stage 3.1, whole process from launch:
  the script runs at its full budget and is stopped at its first test line with
  test accuracy >= 0.99. With torch installed, benchmarks/pytorch_stage31.py is
  timed the same way, in turn with it, and the ratio PyTorch / TensorFlow is
  printed (target: >= 1.5), then the ratio of their paces (seconds per 100 steps
  after start-up), which the time ratio approaches on long runs. Exits with status 1
  if the target is missed, or a run fails or never reaches the accuracy.

Every figure is the median of --repeat runs. Prints Markdown tables with the date
and the machine. The machine should be otherwise idle.

    python3 benchmarks/bench_speed.py                        # both parts, once each
    python3 benchmarks/bench_speed.py --parts speed --repeat 3 --stages 1.0 3.1
    python3 benchmarks/bench_speed.py --parts tta --repeat 3
"""
import argparse
import importlib.util
import sys
from pathlib import Path

from runs import STAGE_IDS, fmt, machine, markdown_table, median, run_script, select_stages, version

TORCH_SCRIPT = Path(__file__).resolve().parent / "pytorch_stage31.py"
STAGE_31 = select_stages(["3.1"])[0][1]
RATIO_TARGET = 1.5


def speed(stages, iterations, repeat, with_torch, torch_args):
    """Rows of (label, steps/s, start-up s), medians over `repeat` runs."""
    scripts = [(f"{stage} TensorFlow", script, []) for stage, script, _ in stages if script.exists()]
    for stage, script, _ in stages:
        if not script.exists():
            print(f"stage {stage}: {script.name} not found, skipped")
    if with_torch:
        scripts.append(("3.1 PyTorch", TORCH_SCRIPT, torch_args))
    if not scripts:
        return [], False
    print(f"warm-up run (data into the cache): {scripts[0][1].name}", flush=True)
    run_script(scripts[0][1], ["--headless", "--iterations", 1, *scripts[0][2]])
    rows, failed = [], False
    for label, script, extra in scripts:
        runs = []
        for i in range(repeat):
            args = ["--iterations", iterations, "--seed", 0, *extra]
            run = run_script(script, (["--headless"] if "TensorFlow" in label else []) + args)
            failed |= not run.ok
            print(f"{label}: run {i + 1}: {fmt(run.steps_per_second, '.1f')} steps/s, "
                  f"start-up {fmt(run.startup_seconds, '.1f')} s" + ("" if run.ok else " FAILED"), flush=True)
            runs.append(run)
        rows.append([label, fmt(median(r.steps_per_second for r in runs), ".1f"),
                     fmt(median(r.startup_seconds for r in runs), ".1f")])
    return rows, failed


def time_to_accuracy(script, args, accuracy, timeout):
    """Launch `script`, stop it at its first test line >= accuracy:
    (seconds, step, start-up seconds, ok); seconds and step are None if never reached."""
    run = run_script(script, args, stop_when=lambda r: bool(r.tests) and r.tests[-1][2] >= accuracy,
                     timeout=timeout)
    if not run.stopped:
        return None, None, run.startup_seconds, run.ok
    return run.seconds, run.tests[-1][1], run.startup_seconds, True


def tta(repeat, seed, accuracy, timeout, with_torch, torch_args):
    """Rows of (framework, seconds, step, runs reaching it), and the ratio PyTorch / TensorFlow."""
    contenders = [("TensorFlow", STAGE_31, ["--headless"])]
    if with_torch:
        contenders.append(("PyTorch", TORCH_SCRIPT, torch_args))
    results = {name: [] for name, _, _ in contenders}
    failed = False
    for i in range(repeat):  # in turn, so that both see the same machine load
        for name, script, extra in contenders:
            seconds, step, startup, ok = time_to_accuracy(script, [*extra, "--seed", seed + i],
                                                          accuracy, timeout)
            failed |= not ok or seconds is None
            print(f"{name}: run {i + 1} (seed {seed + i}): "
                  + (f"{seconds:.1f} s, step {step}, start-up {fmt(startup, '.1f')} s"
                     if seconds else "not reached"), flush=True)
            results[name].append((seconds, step, startup))
    rows, medians, paces = [], {}, {}
    for name, runs in results.items():
        reached = [r for r in runs if r[0] is not None]
        medians[name] = median(r[0] for r in reached)
        # Seconds per 100 steps after start-up: the loop's pace, whatever the step reached.
        paces[name] = median((r[0] - r[2]) / r[1] * 100 for r in reached if r[1] and r[2] is not None)
        rows.append([name, fmt(medians[name], ".1f"), fmt(median(r[1] for r in reached), ".0f"),
                     fmt(median(r[2] for r in runs if r[2] is not None), ".1f"),
                     fmt(paces[name], ".2f"), f"{len(reached)}/{len(runs)}"])
    return rows, _ratio(medians), _ratio(paces), failed


def _ratio(figures):
    """PyTorch's figure / TensorFlow's, or None without both."""
    if figures.get("PyTorch") and figures.get("TensorFlow"):
        return figures["PyTorch"] / figures["TensorFlow"]
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", nargs="+", choices=["speed", "tta"], default=["speed", "tta"],
                        help="what to measure (default: both)")
    parser.add_argument("--stages", nargs="+", metavar="STAGE",
                        help=f"stages for the speed part (default: all of {' '.join(STAGE_IDS)})")
    parser.add_argument("--iterations", type=int, default=300, help="steps per speed run (default 300)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per figure; the median is reported (default 1)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the first time-to-accuracy run (default 0)")
    parser.add_argument("--accuracy", type=float, default=0.99, help="test accuracy to reach (default 0.99)")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="give up a time-to-accuracy run after this many s")
    parser.add_argument("--no-torch", action="store_true", help="leave out PyTorch even if installed")
    parser.add_argument("--torch-threads", type=int,
                        help="--threads for pytorch_stage31.py (default: torch's)")
    args = parser.parse_args()

    with_torch = not args.no_torch and importlib.util.find_spec("torch") is not None
    if not with_torch and not args.no_torch:
        print("torch is not installed: PyTorch left out (pip install torch to include it)")
    torch_args = ["--threads", args.torch_threads] if args.torch_threads else []
    failed = False
    report = [f"Speed, {machine()}" + (f", torch {version('torch')}" if with_torch else "") + ":"]
    if "speed" in args.parts:
        rows, failed_speed = speed(select_stages(args.stages), args.iterations, args.repeat,
                                     with_torch, torch_args)
        failed |= failed_speed
        report += [f"\nSteps/s over {args.iterations} headless steps (test evaluations included) and "
                   f"start-up (launch to step 0), median of {args.repeat}:\n",
                   markdown_table(["stage", "steps/s", "start-up (s)"], rows)]
    if "tta" in args.parts:
        if not STAGE_31.exists():
            sys.exit(f"error: {STAGE_31.name} not found")
        rows, ratio, pace_ratio, failed_tta = tta(args.repeat, args.seed, args.accuracy,
                                                  args.timeout, with_torch, torch_args)
        failed |= failed_tta
        report += [f"\nStage 3.1, time from launch to test accuracy >= {args.accuracy}, "
                   f"median of {args.repeat}:\n",
                   markdown_table(["framework", "time (s)", "at step", "start-up (s)",
                                   "s per 100 steps after start-up", "runs reaching it"], rows)]
        if with_torch:
            verdict = "no ratio" if ratio is None else ("met" if ratio >= RATIO_TARGET else "MISSED")
            report.append(f"\nPyTorch time / TensorFlow time: {fmt(ratio, '.2f')} "
                          f"(target >= {RATIO_TARGET}: {verdict})")
            # The time ratio tends to the pace ratio on long runs: start-up and tracing
            # weigh less and less. A pace ratio under the target means that no run
            # length reaches it while TensorFlow starts later than PyTorch.
            report.append(f"PyTorch pace / TensorFlow pace (s per 100 steps after start-up, "
                          f"the ratio's limit on long runs): {fmt(pace_ratio, '.2f')}")
            failed |= verdict != "met"
    print("\n" + "\n".join(report))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
