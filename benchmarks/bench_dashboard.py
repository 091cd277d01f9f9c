"""
Does the live dashboard slow learning down?
===========================================

Runs the same synthetic training through MnistDataVis.animate twice: headless (nothing
drawn) and live (the figure redrawn off screen on the Agg canvas, as often as a window
would be), and prints both times and their ratio. The target: live at most 15 % slower.

Each step keeps the CPU busy with matrix products for --step-ms milliseconds of wall time
(a stand-in for one training step, whose length does not depend on the machine's load),
and feeds the dashboard exactly as a stage script does at the chosen
cadence: curves and weight/bias bands plus a 100-digit mosaic for training updates, and
a 1000-digit mosaic of 10,000 test images for test updates. Both runs do all of this;
they differ only in the drawing.

    python3 benchmarks/bench_dashboard.py                      # stage 1.0 cadence: 10 / 50
    python3 benchmarks/bench_dashboard.py --train-freq 20 --test-freq 100

With --stage, it times a real stage script instead, run twice per repeat, each time in a
fresh Python process (equal TensorFlow start-up) with `--headless` and MPLBACKEND=Agg:
once as is, once with the dashboard forced live (MnistDataVis(live=True): redrawn off
screen on the Agg canvas as often as a window would be). It compares the
stage's own "trained N steps in T s" line (medians over --repeat) and the whole process's
wall time, and prints how often each run redrew the figure (0 headless, never 0 live):

    python3 benchmarks/bench_dashboard.py --stage mnist_2.2_five_layers_relu_lrdecay_dropout.py \
        --iterations 1000 --repeat 3
"""

import argparse
import os
import re
import runpy
import statistics
import subprocess
import sys
import time

import matplotlib
matplotlib.use("Agg")
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
import tensorflowvisu  # noqa: E402


def busy_step(work, step_ms):
    """Stand-in for one training step: matrix products for step_ms of wall time."""
    end = time.perf_counter() + step_ms / 1000
    while time.perf_counter() < end:
        work @ work


def make_compute_step(datavis, step_ms, seed=0):
    rng = np.random.default_rng(seed)
    work = rng.random((64, 64), dtype=np.float32)
    train_images = rng.random((100, 28, 28, 1), dtype=np.float32)
    test_images = rng.random((10000, 28, 28, 1), dtype=np.float32)
    test_labels = rng.integers(0, 10, 10000)
    weights, biases = rng.normal(size=7840), rng.normal(size=10)

    def compute_step(step, update_train_data, update_test_data):
        busy_step(work, step_ms)
        if update_train_data:
            labels = rng.integers(0, 10, 100)
            predictions = np.where(rng.random(100) < 0.1, (labels + 1) % 10, labels)
            datavis.append_training_curves_data(step, 0.9, 30.0 + rng.random())
            datavis.append_data_histograms(step, weights * (1 + step / 1000), biases)
            datavis.update_image1(tensorflowvisu.mnist_mosaic(train_images, predictions, labels))
        if update_test_data:
            predictions = np.where(rng.random(10000) < 0.08, (test_labels + 1) % 10, test_labels)
            datavis.append_test_curves_data(step, 0.92, 28.0 + rng.random())
            datavis.update_image2(tensorflowvisu.mnist_mosaic(test_images, predictions,
                                                              test_labels, lines=25, n=1000))
    return compute_step


def timed_run(live, args):
    datavis = tensorflowvisu.MnistDataVis(headless=True, live=live)
    compute_step = make_compute_step(datavis, args.step_ms)
    redraws = []
    datavis.fig.canvas.mpl_connect("draw_event", lambda event: redraws.append(1))
    original_redraw = datavis.redraw
    def counted_redraw(rescale=True):
        redraws.append(0)
        return original_redraw(rescale)
    datavis.redraw = counted_redraw
    start = time.perf_counter()
    datavis.animate(compute_step, args.iterations, args.train_freq, args.test_freq,
                    more_tests_at_start=True)
    elapsed = time.perf_counter() - start
    return elapsed, redraws.count(0), redraws.count(1)


# ------------------------------------------------------------------ --stage mode

# The child process: `python3 -c CHILD_CODE headless|live script stage-flags...`
CHILD_CODE = f"import sys; sys.path.insert(0, {HERE!r}); import bench_dashboard; bench_dashboard.stage_child()"


def stage_child():
    """Run a stage script as `python3 script flags` would, the dashboard forced live if
    asked; count its redraws (ours) and full canvas draws, and print them at the end."""
    mode, script, *flags = sys.argv[1:]
    counts = {"redraws": 0, "full draws": 0}
    vis = tensorflowvisu.MnistDataVis
    original_init, original_redraw = vis.__init__, vis.redraw

    def init(self, *args, **kwargs):
        if mode == "live":
            kwargs["live"] = True
        original_init(self, *args, **kwargs)
        self.fig.canvas.mpl_connect("draw_event", count_full_draw)

    def count_full_draw(event):
        counts["full draws"] += 1

    def redraw(self, rescale=True):
        counts["redraws"] += 1
        return original_redraw(self, rescale)

    vis.__init__, vis.redraw = init, redraw
    sys.argv = [script, *flags]
    sys.path[0] = os.path.dirname(script)     # as for `python3 script`: trainer is found there
    runpy.run_path(script, run_name="__main__")
    print(f"dashboard: {counts['redraws']} redraws, {counts['full draws']} full draws")


def run_stage(script, mode, iterations):
    """One stage run in a fresh process: (training s, process s, redraws, full draws)."""
    command = [sys.executable, "-c", CHILD_CODE, mode, script,
               "--iterations", str(iterations), "--headless"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, MPLBACKEND="Agg"))
    wall = time.perf_counter() - start
    trained = re.search(r"^trained \d+ steps in ([\d.]+) s", done.stdout, re.M)
    draws = re.search(r"^dashboard: (\d+) redraws, (\d+) full draws", done.stdout, re.M)
    if done.returncode or not (trained and draws):
        sys.exit(f"the {mode} run failed (exit status {done.returncode}):\n"
                 f"{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return float(trained[1]), wall, int(draws[1]), int(draws[2])


def compare_stages(args):
    script = os.path.abspath(args.stage if os.path.exists(args.stage)
                             else os.path.join(ROOT, args.stage))
    if not os.path.isfile(script):
        sys.exit(f"no stage script {args.stage} (here or in {ROOT})")
    print(f"{os.path.basename(script)}, {args.iterations} steps, {args.repeat} run(s) of each, "
          f"matplotlib {matplotlib.__version__}, {os.cpu_count()} CPUs")
    times = {"headless": [], "live": []}
    for _ in range(args.repeat):              # alternate, so that load changes hit both
        for mode in times:
            training, wall, redraws, full = run_stage(script, mode, args.iterations)
            print(f"  {mode:8s} training {training:6.1f} s, process {wall:6.1f} s  "
                  f"({redraws} redraws, {full} full draws)")
            if mode == "live" and redraws == 0:
                sys.exit("the live run never redrew the dashboard: nothing was measured")
            times[mode].append((training, wall))
    for i, what in enumerate(("training", "process")):
        headless, live = (statistics.median(t[i] for t in times[mode]) for mode in times)
        ratio = live / headless
        verdict = "OK" if ratio <= 1.15 else "TOO SLOW"
        print(f"median {what:8s}: headless {headless:.1f} s, live {live:.1f} s, "
              f"ratio {ratio:.3f} ({(ratio - 1) * 100:+.1f} %): {verdict} (target <= 1.15)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--stage", metavar="SCRIPT",
                        help="time this stage script (e.g. mnist_2.2_...py) instead of the synthetic steps")
    parser.add_argument("--iterations", type=int, default=1000, help="training steps per run")
    parser.add_argument("--step-ms", type=float, default=15.0, help="synthetic work per step")
    parser.add_argument("--train-freq", type=int, default=10, help="training figures every N steps")
    parser.add_argument("--test-freq", type=int, default=50, help="test figures every N steps")
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs of each kind (best kept; median with --stage)")
    args = parser.parse_args()
    if args.stage:
        return compare_stages(args)

    print(f"{args.iterations} steps of {args.step_ms:.0f} ms of matrix products, "
          f"figures every {args.train_freq} / {args.test_freq} steps, "
          f"matplotlib {matplotlib.__version__}, {os.cpu_count()} CPUs")
    best = {}
    for _ in range(args.repeat):              # alternate, so that load changes hit both
        for live in (False, True):
            elapsed, redraws, full = timed_run(live, args)
            name = "live" if live else "headless"
            print(f"  {name:8s} {elapsed:6.2f} s  ({redraws} redraws, {full} full draws)")
            best[name] = min(best.get(name, float("inf")), elapsed)
    ratio = best["live"] / best["headless"]
    verdict = "OK" if ratio <= 1.15 else "TOO SLOW"
    print(f"headless {best['headless']:.2f} s, live {best['live']:.2f} s, "
          f"ratio {ratio:.3f} ({(ratio - 1) * 100:+.1f} %): {verdict} (target <= 1.15)")


if __name__ == "__main__":
    main()
