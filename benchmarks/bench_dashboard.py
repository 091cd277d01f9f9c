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
"""

import argparse
import os
import sys
import time

import matplotlib
matplotlib.use("Agg")
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
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
    def counted_redraw():
        redraws.append(0)
        original_redraw()
    datavis.redraw = counted_redraw
    start = time.perf_counter()
    datavis.animate(compute_step, args.iterations, args.train_freq, args.test_freq,
                    more_tests_at_start=True)
    elapsed = time.perf_counter() - start
    return elapsed, redraws.count(0), redraws.count(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--iterations", type=int, default=1000, help="training steps per run")
    parser.add_argument("--step-ms", type=float, default=15.0, help="synthetic work per step")
    parser.add_argument("--train-freq", type=int, default=10, help="training figures every N steps")
    parser.add_argument("--test-freq", type=int, default=50, help="test figures every N steps")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each kind (best kept)")
    args = parser.parse_args()

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
