"""Speedrun: stage 5.0's time to 99 % and final test accuracy, seed by seed.

For each seed the stage runs headless at its default settings, as a learner would
start it, and its output lines are timestamped as they come. Per run:
  - start-up: launch to the start of the training loop (Python, TensorFlow, the
    data, the variables): the time of the last test line, which ends the loop,
    minus the loop's seconds;
  - loop: the script's own timing line ("trained N steps in T s"): first step to
    the end, tracing of the training step and test passes included;
  - time to 99 %: from the start of the loop to the first test line with test
    accuracy >= 0.99 (the stage tests at the start and the end only, so this is
    the loop's length when the end reaches 99 %), and that line's step;
  - final: the last test accuracy, on all 10,000 test images (not the maximum).
Then the medians, and whether every run's final accuracy reached the target and
the median loop stayed within the time limit (exit status 1 if not).

The machine should be otherwise idle: before each run the script notes the
1-minute load average (flagged above 1.0; our own previous run counts in it) and
the share of CPU in use over 2 s (others only, since nothing of ours runs then);
--wait-quiet S waits up to S seconds for that share to fall under 10 %.

    python3 benchmarks/bench_speedrun.py                  # seeds 0-4
    python3 benchmarks/bench_speedrun.py --seeds 0 1 2 --repeat 2
    python3 benchmarks/bench_speedrun.py --wait-quiet 120 --record   # into results.json
"""
import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _runs import (REPO, TEST, TIMING, fmt, machine, markdown_table, median,  # noqa: E402
                   record, run_script)

STAGE = REPO / "mnist_5.0_speedrun.py"
TARGET_ACCURACY = 0.99
TARGET_SECONDS = 10.0  # median training loop
BUSY_LOAD = 1.0  # 1-minute load average above which a timing is flagged
QUIET_BUSY = 0.10  # --wait-quiet: CPU share used by others under which a run may start
STAMP = re.compile(r"^\[\s*([\d.]+) s\] (.*)$")  # a line of run_script's log


def cpu_busy(seconds=2.0):
    """Share of the machine's CPU time used by anything, over `seconds` (Linux), or None."""
    def sample():
        with open("/proc/stat", encoding="ascii") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        return values[3] + values[4], sum(values)  # idle + iowait, total
    try:
        idle0, total0 = sample()
        time.sleep(seconds)
        idle1, total1 = sample()
    except OSError:
        return None
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def wait_until_quiet(max_wait):
    """Wait (up to max_wait seconds) until the CPU is less than 10 % busy; the share seen."""
    deadline = time.monotonic() + max_wait
    while True:
        busy = cpu_busy()
        if busy is None or busy < QUIET_BUSY or time.monotonic() > deadline:
            return busy
        print(f"    machine {busy:.0%} busy: waiting", flush=True)
        time.sleep(10)


def one_run(script, seed, extra, log_path, max_wait):
    """Run the stage once; its figures, read from the timestamped log of its output."""
    busy = wait_until_quiet(max_wait) if max_wait else cpu_busy()
    load = os.getloadavg()[0]
    run = run_script(script, ["--headless", "--seed", seed, *extra], log_path=log_path)
    stamped = [STAMP.match(line) for line in log_path.read_text(encoding="utf-8").splitlines()]
    stamped = [(float(m[1]), m[2]) for m in stamped if m]
    timing = [(t, TIMING.match(line)) for t, line in stamped if TIMING.match(line)]
    tests = [(t, TEST.match(line)) for t, line in stamped if TEST.match(line)]
    if not run.ok or not timing or not tests:
        return dict(seed=seed, ok=False, load=load, busy=busy)
    loop = float(timing[-1][1][2])
    # The loop ends with the last test line (the timing line follows after the
    # dashboard has finished), so the loop started `loop` seconds before it.
    startup = tests[-1][0] - loop
    reached = next(((t, int(m[1])) for t, m in tests if float(m[3]) >= TARGET_ACCURACY), None)
    return dict(seed=seed, ok=True, load=load, busy=busy, startup=startup, loop=loop,
                final=float(tests[-1][1][3]), steps=int(timing[-1][1][1]),
                t99=None if reached is None else reached[0] - startup,
                step99=None if reached is None else reached[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--repeat", type=int, default=1, help="runs per seed (default: 1)")
    parser.add_argument("--script", type=Path, default=STAGE, help=f"the stage (default: {STAGE.name})")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="S",
                        help="before each run, wait up to S seconds for the CPU to be "
                             f"less than {QUIET_BUSY:.0%} busy (default: 0, no wait)")
    parser.add_argument("--pause", type=float, default=0, metavar="S",
                        help="wait S seconds before each run, so that the load average "
                             "forgets the run before (default: 0)")
    parser.add_argument("--record", action="store_true",
                        help="write each seed's figures into benchmarks/results.json "
                             "(\"speedrun\"; default settings only)")
    parser.add_argument("extra", nargs="*", help="more flags for the stage, after --")
    args = parser.parse_args()
    if args.record and (args.extra or args.script != STAGE or args.repeat != 1):
        parser.error("--record is for stage 5.0 at its defaults, one run per seed")
    print(machine())
    print(f"warm-up run (data into the cache, files into the page cache): {args.script.name}", flush=True)
    run_script(args.script, ["--headless", "--iterations", 1])
    runs = []
    log_path = Path(tempfile.mkdtemp(prefix="bench_speedrun_")) / "run.log"
    for repeat in range(args.repeat):
        for seed in args.seeds:
            time.sleep(args.pause)
            r = one_run(args.script, seed, args.extra, log_path, args.wait_quiet)
            runs.append(r)
            if not r["ok"]:
                print(f"seed {seed}: FAILED (load {r['load']:.2f})", flush=True)
                continue
            print(f"seed {seed}: final {r['final']:.4f}, loop {r['loop']:.1f} s, "
                  f"time to 99 % {fmt(r['t99'], '.1f')} s (step {fmt(r['step99'], 'd')}), "
                  f"start-up {r['startup']:.1f} s, load {r['load']:.2f}, "
                  f"CPU busy before {fmt(r['busy'], '.0%')}", flush=True)
    good = [r for r in runs if r["ok"]]
    rows = [[r["seed"], f"{r['final']:.4f}", f"{r['loop']:.1f}", fmt(r["t99"], ".1f"),
             fmt(r["step99"], "d"), f"{r['startup']:.1f}",
             f"{r['load']:.2f}" + (" (busy)" if r["load"] > BUSY_LOAD else ""),
             fmt(r["busy"], ".0%")] for r in good]
    rows.append(["median", fmt(median(r["final"] for r in good), ".4f"),
                 fmt(median(r["loop"] for r in good), ".1f"), fmt(median(r["t99"] for r in good), ".1f"),
                 "", fmt(median(r["startup"] for r in good), ".1f"), "", ""])
    print()
    print(markdown_table(["seed", "final test accuracy", "training loop (s)", "time to 99 % (s)",
                          "step", "start-up (s)", "load before", "CPU busy before"], rows))
    accurate = len(good) == len(runs) and all(r["final"] >= TARGET_ACCURACY for r in good)
    loop_median = median(r["loop"] for r in good)
    fast = loop_median is not None and loop_median <= TARGET_SECONDS
    if args.record and good:
        record("speedrun", "python3 benchmarks/bench_speedrun.py --record (stage 5.0 headless at "
               "its defaults, seed by seed)",
               {str(r["seed"]): {"final_test_accuracy": r["final"], "loop_seconds": round(r["loop"], 1)}
                for r in good}, "seeds")
    print(f"\nfinal accuracy >= {TARGET_ACCURACY} on every run: {'yes' if accurate else 'NO'}; "
          f"median training loop <= {TARGET_SECONDS:.0f} s: {'yes' if fast else 'NO'}")
    sys.exit(0 if accurate and fast else 1)


if __name__ == "__main__":
    main()
