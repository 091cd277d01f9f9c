"""Stage 8.0 on one machine: 1 worker against 2, and what more machines would give.

Measured (headless, seed 0, full MNIST):
  - speed: the training loop's steps per second (the chief's timing line) with one
    worker alone and with --workers 2, alternated --repeat times, --steps steps each;
  - threads: the chief's thread count (from /proc) at its first and its last progress
    line of a 2-worker run (a leak, as collective timeouts cause, would grow it);
  - accuracy: with --accuracy-steps S, one run of S steps with each, the max test
    accuracy of both (the same global batch, the same budget);
  - bytes all-reduced per step: 4 bytes (float32) per variable of the network that
    --save-model records (stage.json), for stage 8.0 (3.1's network) and stage 4.2
    (whose 672 batch-norm averages, not gradients, count too: 0.1 %).
Then a paper estimate of the speed-up on 2, 4 and 8 machines over 1 and 10 Gbit/s
networks (see estimate_speedup).

Its 2-worker runs are the stage's own `--workers 2`: on Linux they run in a network of
their own that holds only the loopback (codelab/privatenet.py), unreachable from other
machines; where the system does not allow it, the stage says so in a `note:` line.

    python3 benchmarks/bench_distributed.py                      # speed and bytes
    python3 benchmarks/bench_distributed.py --accuracy-steps 3000 --record
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from runs import MAX, PROGRESS, REPO, TIMING, machine, markdown_table, record  # noqa: E402

STAGE = REPO / "mnist_8.0_distributed.py"
STAGE_4_2 = REPO / "mnist_4.2_batchnorm_convolutional.py"
START = re.compile(r"^worker (\d+) of \d+: pid (\d+),")
# Stage 3.1 and 4.2 on one machine, 2 CPU cores, headless (benchmarks/README.md, "Speed of
# the training loop"): the seconds of one step of 100 images that the estimate starts from.
ONE_MACHINE_STEPS_PER_SECOND = {"8.0": 32.0, "4.2": 6.9}
RING_STEP_LATENCY = 100e-6  # seconds per message of the ring on a LAN, TensorFlow's gRPC


def threads(pid):
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            return int(re.search(r"^Threads:\s+(\d+)", status.read(), re.M)[1])
    except (OSError, TypeError):
        return None


def run(workers, steps, model_dir=None):
    """One headless run: (steps/s, max test accuracy, [threads at first, last progress])."""
    command = [sys.executable, str(STAGE), "--headless", "--iterations", str(steps)]
    if workers:
        command += ["--workers", str(workers)]
    if model_dir:
        command += ["--save-model", str(model_dir)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                               env=dict(os.environ, MPLBACKEND="Agg"))
    chief, counts, speed, best = None, [], None, None
    for line in process.stdout:
        if (match := START.match(line)) and match[1] == "0":
            chief = int(match[2])
        elif PROGRESS.match(line) and chief:
            counts.append(threads(chief))
        elif match := TIMING.match(line):
            speed = float(match[3])
        elif match := MAX.match(line):
            best = float(match[1])
    if process.wait():
        sys.exit(f"error: {' '.join(command)} ended with exit code {process.returncode}")
    return speed, best, [counts[0], counts[-1]] if counts else []


def network_bytes(script, folder):
    """The float32 bytes of every variable of the network that `script` records."""
    subprocess.run([sys.executable, str(script), "--headless", "--iterations", "1",
                    "--save-model", str(folder)], check=True, capture_output=True,
                   env=dict(os.environ, MPLBACKEND="Agg"))
    network = json.loads((Path(folder) / "stage.json").read_text())["network"]
    count = 0
    for shape in network.values():
        size = 1
        for dimension in shape:
            size *= dimension
        count += size
    return count * 4


def estimate_speedup(steps_per_second, gradient_bytes, machines, gbits):
    """Speed-up of `machines` machines over one, on paper. Each machine computes
    1/machines of the global batch (as fast per image as one machine does the whole:
    optimistic for small slices), then a ring all-reduce sends and receives
    2 (machines - 1) / machines of the gradients' bytes at the network's speed, in
    2 (machines - 1) messages of RING_STEP_LATENCY each, not overlapped with compute."""
    compute = 1 / steps_per_second / machines
    ring = 2 * (machines - 1)
    transfer = ring / machines * gradient_bytes / (gbits * 1e9 / 8) + ring * RING_STEP_LATENCY
    return (1 / steps_per_second) / (compute + transfer)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="steps of each timed run")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each (alternated)")
    parser.add_argument("--accuracy-steps", type=int, default=0,
                        help="also train this many steps with 1 and with 2 workers")
    parser.add_argument("--record", action="store_true", help="write results.json")
    args = parser.parse_args()
    print(machine())
    figures = {"steps": args.steps, "steps_per_second_1_and_2_workers": []}
    for _ in range(args.repeat):
        pair = []
        for workers in (1, 2):
            speed, _, _ = run(workers if workers > 1 else None, args.steps)
            pair.append(speed)
            print(f"{workers} worker(s): {speed:.1f} steps/s", flush=True)
        figures["steps_per_second_1_and_2_workers"].append(pair)
    if args.accuracy_steps:
        for workers in (1, 2):
            speed, best, counts = run(workers if workers > 1 else None, args.accuracy_steps)
            figures[f"{workers}_workers_max_test_accuracy"] = best
            if workers == 2:
                figures["chief_threads_first_and_last"] = counts
            print(f"{workers} worker(s), {args.accuracy_steps} steps: max test accuracy "
                  f"{best:.4f}, threads {counts}", flush=True)
        figures["accuracy_steps"] = args.accuracy_steps
    with tempfile.TemporaryDirectory() as work:
        sizes = {"8.0": network_bytes(STAGE, Path(work) / "8.0"),
                 "4.2": network_bytes(STAGE_4_2, Path(work) / "4.2")}
    rows = []
    for stage, size in sizes.items():
        figures[f"bytes_all_reduced_{stage}"] = size
        for gbits in (1, 10):
            speedups = [estimate_speedup(ONE_MACHINE_STEPS_PER_SECOND[stage], size, machines,
                                         gbits) for machines in (2, 4, 8)]
            figures[f"speedup_{stage}_{gbits}gbit"] = [round(value, 2) for value in speedups]
            rows.append([stage, f"{size / 1e6:.2f} MB", f"{gbits} Gbit/s",
                         *(f"{value:.2f}x" for value in speedups)])
    print(markdown_table(["stage", "all-reduced per step", "network", "2 machines",
                          "4 machines", "8 machines"], rows))
    print(json.dumps(figures, indent=1))
    if args.record:  # one entry per date: the figures of one measurement stay together
        record("distributed", " ".join(["python3", "benchmarks/bench_distributed.py",
                                        *sys.argv[1:]]), {"run": figures}, "figures")


if __name__ == "__main__":
    started = time.time()
    main()
    print(f"({time.time() - started:.0f} s)")
