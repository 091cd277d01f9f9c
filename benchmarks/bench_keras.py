"""Stage 7.0 (Keras, model.fit) against its low-level twin, stage 5.0, and what the
KerasDashboard callback costs fit.

1. The twins: for each seed, 5.0 then 7.0, headless, full data, their default budget
   (234 steps of 256), run one after the other so that a busy machine slows both
   alike. Per run: the final test accuracy (last test line, all 10,000 images) and the
   training loop (the script's "trained N steps in T s"). Then the differences in
   accuracy and the ratio of the loops, seed by seed: compare ratios, not seconds,
   when the machine is shared.
2. The callback: 7.0's network and compile settings, fit for --callback-steps steps on
   the same batches, without a callback, with KerasDashboard headless (training figures
   every 5 steps, tests at the first and last step: the curves only) and with
   KerasDashboard drawing off screen as a window would (live=True, every picture
   painted; a test every 20 steps): in one process, in turn, --repeat times.

    python3 benchmarks/bench_keras.py                        # seeds 0-2, 3 repeats
    python3 benchmarks/bench_keras.py --seeds 0 --skip-twins --repeat 1
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from runs import REPO, fmt, machine, median, run_script  # noqa: E402

TWIN, KERAS = REPO / "mnist_5.0_speedrun.py", REPO / "mnist_7.0_keras.py"
ACCURACY_BAR = 0.002  # 7.0's final accuracy within 0.2 % of its twin's



def stage_model(keras, steps):
    """7.0's network, compiled as the stage compiles it: its settings and model sections,
    read from the script and run here (the script itself would train at once)."""
    source = KERAS.read_text(encoding="utf-8")
    begin = source.index("BATCH_SIZE =")
    settings = source[begin:source.index("# ----", begin)]
    model = source[source.index("weights = keras"):source.index("with kerastrainer")]
    namespace = {"keras": keras, "layers": keras.layers,
                 "args": argparse.Namespace(iterations=steps)}
    exec(settings, namespace)
    exec(model, namespace)
    return namespace["model"]


def callback_worker(steps, repeat):
    """In a child process: fit without a callback, with KerasDashboard headless, with it
    drawing, in turn; one RESULT line per fit."""
    sys.path.insert(0, str(REPO))
    import mnistdata
    import trainer
    trainer.import_tensorflow()
    import keras
    from codelab import kerastrainer
    from tensorflowvisu import KerasDashboard
    mnist = mnistdata.read_data_sets(None, one_hot=True, reshape=False, seed=0)
    for _ in range(repeat):
        for kind in ("none", "headless", "drawn"):
            keras.utils.set_random_seed(0)
            model = stage_model(keras, steps)
            train = mnistdata.read_data_sets(None, one_hot=True, reshape=False, seed=0).train
            batches = kerastrainer.Batches(train, 256, steps)
            callbacks = []
            if kind != "none":
                dashboard = KerasDashboard(
                    mnist.test.images, mnist.test.labels, headless=True,
                    training_images=mnist.train.images, training_labels=mnist.train.labels,
                    training_count=256, train_every=5,
                    test_every=20 if kind == "drawn" else steps)
                dashboard.datavis.live = kind == "drawn"  # drawn off screen, every picture
                callbacks = [dashboard]
            began = time.perf_counter()
            model.fit(batches, epochs=1, shuffle=False, callbacks=callbacks, verbose=0)
            print(f"RESULT {kind} {time.perf_counter() - began:.2f}", flush=True)


def twins(seeds):
    rows = []
    for seed in seeds:
        for script in (TWIN, KERAS):
            run = run_script(script, ["--headless", "--seed", seed])
            if not run.ok:
                sys.exit(f"error: {script.name} --seed {seed} failed (exit {run.returncode})")
            seconds = run.trained_steps / run.steps_per_second
            rows.append((seed, script.name, run.final_accuracy, seconds))
            print(f"seed {seed} {script.name:24} final {run.final_accuracy:.4f} "
                  f"loop {seconds:5.1f} s", flush=True)
    print("\n| seed | 5.0 final | 7.0 final | difference | 7.0 loop / 5.0 loop |")
    print("|---|---|---|---|---|")
    worst = 0.0
    ratios = []
    for seed in seeds:
        (_, _, twin_accuracy, twin_s), (_, _, keras_accuracy, keras_s) = [
            row for row in rows if row[0] == seed]
        worst = max(worst, abs(keras_accuracy - twin_accuracy))
        ratios.append(keras_s / twin_s)
        print(f"| {seed} | {twin_accuracy:.4f} | {keras_accuracy:.4f} | "
              f"{keras_accuracy - twin_accuracy:+.4f} | {keras_s / twin_s:.2f} "
              f"({keras_s:.1f} s / {twin_s:.1f} s) |")
    print(f"\nlargest difference {worst:.4f} (bar {ACCURACY_BAR}); median loop ratio "
          f"{fmt(median(ratios), '.2f')}")
    return worst <= ACCURACY_BAR


def callback_cost(steps, repeat):
    child = subprocess.run([sys.executable, __file__, "--callback-worker", "--repeat",
                            str(repeat), "--callback-steps", str(steps)],
                           capture_output=True, text=True, cwd=REPO,
                           env=dict(os.environ, MPLBACKEND="Agg"))
    times = {}
    for line in child.stdout.splitlines():
        if line.startswith("RESULT "):
            _, kind, seconds = line.split()
            times.setdefault(kind, []).append(float(seconds))
    if child.returncode != 0 or not times:
        sys.exit(f"error: the callback benchmark failed:\n{child.stderr[-3000:]}")
    print(f"\nfit of {steps} steps, seconds per run ({repeat} runs each, in turn):")
    base = median(times["none"])
    for kind, label in (("none", "no callback"), ("headless", "KerasDashboard, headless"),
                        ("drawn", "KerasDashboard, drawn (live, off screen)")):
        print(f"  {label:42} {' '.join(f'{s:.1f}' for s in times[kind])}  median "
              f"{median(times[kind]):.1f} s, x{median(times[kind]) / base:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="+", default=["0", "1", "2"])
    parser.add_argument("--repeat", type=int, default=3, help="callback runs of each kind")
    parser.add_argument("--callback-steps", type=int, default=234)
    parser.add_argument("--skip-twins", action="store_true")
    parser.add_argument("--skip-callback", action="store_true")
    parser.add_argument("--callback-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.callback_worker:
        callback_worker(args.callback_steps, args.repeat)
        return 0
    print(machine())
    started = time.perf_counter()
    ok = True
    if not args.skip_twins:
        ok = twins(args.seeds)
    if not args.skip_callback:
        callback_cost(args.callback_steps, args.repeat)
    print(f"\n({time.perf_counter() - started:.0f} s in all)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
