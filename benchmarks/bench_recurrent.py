"""Stage 6.0, the recurrent network: its speed against Keras' own layers, and the
validation runs that chose its settings.

Three parts (--parts, default: speed):

  speed       one process times a training step of 100 images (forward, backward, Adam)
              for each way of running the same GRU of 128 numbers on the same batches:
                - the stage's own: the cell written out, a Python loop unrolled by
                  tf.function into 28 copies of the cell;
                - the same cell in a tf.scan (one cell in the graph, looped over at run time);
                - keras.layers.GRU(128, reset_after=False): the same maths, Keras' loop;
                - keras.layers.GRU(128): Keras' default (reset_after=True, the cuDNN form);
                - keras.layers.GRU(128, unroll=True);
                - keras.layers.LSTM(128): an LSTM of the same size (4 gates' work, not 3);
              in rounds, each way in turn, so that a busy machine slows all of them alike:
              compare the ratios. Also the first call (tracing) and a pass over 10,000
              test images.
  validation  the stage as it is, or with settings changed (--set NAME=VALUE, repeated),
              trained on the first 55,000 training images and measured on the last 5,000
              (held out: never the test set), at --iterations; prints the max and final
              validation accuracy. This is how the stage's settings were chosen. --plain
              runs it with a plain recurrent cell instead (no gates: what they buy).
  test        the stage at its defaults on the real test set, seed 0 (--seeds): max and
              final test accuracy, training loop, start-up. Run it once, for the settings
              that validation chose.

    python3 benchmarks/bench_recurrent.py                          # speed
    python3 benchmarks/bench_recurrent.py --parts validation --set N=64 --iterations 3000
    python3 benchmarks/bench_recurrent.py --parts validation --plain   # without the gates
    python3 benchmarks/bench_recurrent.py --parts test
"""
import argparse
import os
import runpy
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from runs import (REPO, STAMP, TEST, TIMING, edited_stage, machine,  # noqa: E402
                   markdown_table, run_script, validation_folder)

STAGE = REPO / "mnist_6.0_recurrent.py"


# ------------------------------------------------------------------------ speed

def load_stage():
    """The stage run for one step in this process: its variables and functions."""
    argv = sys.argv
    sys.argv = [str(STAGE), "--headless", "--iterations", "1"]
    try:
        return runpy.run_path(str(STAGE), run_name="__main__")
    finally:
        sys.argv = argv


def training_steps(stage):
    """{way: (training step, test pass)} for every way of running the same network."""
    import keras
    import tensorflow as tf

    N, ROWS, PIXELS = stage["N"], stage["ROWS"], stage["PIXELS"]
    cell, W, B = stage["cell"], stage["W"], stage["B"]
    stage_variables = stage["variables"]

    def scan_logits(X):
        rows = tf.transpose(tf.reshape(X, [-1, ROWS, PIXELS]), [1, 0, 2])  # [rows, batch, pixels]
        H0 = tf.zeros([tf.shape(X)[0], N])
        H = tf.scan(lambda H, Xt: cell(Xt, H)[0], rows, initializer=H0)[-1]
        return tf.matmul(H, W) + B

    def stage_logits(X):
        return stage["model"](X)[0]

    def keras_network(layer):
        network = keras.Sequential([keras.Input((ROWS, PIXELS)), layer, keras.layers.Dense(10)])
        return (lambda X: network(tf.reshape(X, [-1, ROWS, PIXELS]))), network.trainable_variables

    def make(logits_of, variables):
        optimizer = keras.optimizers.Adam(0.001)
        optimizer.build(variables)

        @tf.function
        def step(X, Y_):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(Y_, logits_of(X)))
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
            return loss

        @tf.function
        def test(X):
            return tf.argmax(logits_of(X), 1)
        return step, test

    tf.get_logger().setLevel("ERROR")  # six models traced in turn: not a retracing problem
    ways = {"6.0: Python loop, unrolled (the stage)": make(stage_logits, stage_variables),
            "6.0's cell in tf.scan": make(scan_logits, stage_variables)}
    for name, layer in [("keras GRU(128, reset_after=False)", keras.layers.GRU(N, reset_after=False)),
                        ("keras GRU(128) (default)", keras.layers.GRU(N)),
                        ("keras GRU(128, unroll=True)", keras.layers.GRU(N, unroll=True)),
                        ("keras LSTM(128)", keras.layers.LSTM(N))]:
        ways[name] = make(*keras_network(layer))
    return ways


def speed(rounds, steps_per_round):
    import numpy as np
    stage = load_stage()
    mnist = stage["mnist"]
    rng = np.random.default_rng(0)
    batches = [rng.choice(mnist.train.num_examples, 100, replace=False) for _ in range(steps_per_round)]
    batches = [(mnist.train.images[b], mnist.train.labels[b]) for b in batches]
    test_images = mnist.test.images
    ways = training_steps(stage)
    first_call = {}
    for name, (step, test) in ways.items():
        began = time.perf_counter()
        step(*batches[0]).numpy()
        test(test_images[:2000]).numpy()
        first_call[name] = time.perf_counter() - began
    per_step = {name: [] for name in ways}
    per_test = {name: [] for name in ways}
    for round_number in range(rounds):
        order = list(ways) if round_number % 2 == 0 else list(reversed(ways))
        for name in order:
            step, test = ways[name]
            began = time.perf_counter()
            for X, Y_ in batches:
                loss = step(X, Y_)
            loss.numpy()
            per_step[name].append((time.perf_counter() - began) / len(batches) * 1000)
            began = time.perf_counter()
            for begin in range(0, len(test_images), 2000):
                test(test_images[begin:begin + 2000]).numpy()
            per_test[name].append(time.perf_counter() - began)
        print(f"round {round_number + 1} of {rounds} done", flush=True)
    reference = statistics.median(per_step[next(iter(ways))])
    rows = []
    for name in ways:
        ms = statistics.median(per_step[name])
        rows.append([name, f"{ms:.1f}", f"{ms / reference:.2f}",
                     f"{statistics.median(per_test[name]):.2f}", f"{first_call[name]:.1f}"])
    print()
    print(markdown_table(["way", "training step (ms, median)", "time against the stage's",
                          "10,000 test images (s)", "first call: tracing (s)"], rows))


# ------------------------------------------------------------------- validation

GRU_STEP = "    return Z * H + (1 - Z) * HH, Z, R"
# The plain recurrent cell that gates improve on: the new state is the candidate alone
# (computed from all of H), each step squashing the state through tanh and Uh.
PLAIN_STEP = "    return tf.tanh(tf.matmul(Xt, Wh) + tf.matmul(H, Uh) + Bh), Z, R  # no gates"


def one_run(script, flags, log_path):
    run = run_script(script, ["--headless", *flags], log_path=log_path)
    stamped = [STAMP.match(line) for line in log_path.read_text(encoding="utf-8").splitlines()]
    stamped = [(float(m[1]), m[2]) for m in stamped if m]
    tests = [(t, TEST.match(line)) for t, line in stamped if TEST.match(line)]
    timing = [TIMING.match(line) for _, line in stamped if TIMING.match(line)]
    if not run.ok or not tests or not timing:
        tail = log_path.read_text(encoding="utf-8").splitlines()[-10:]
        return dict(ok=False, tail="\n".join(tail))
    loop = float(timing[-1][2])
    return dict(ok=True, max=run.max_accuracy, final=float(tests[-1][1][3]), loop=loop,
                startup=tests[-1][0] - loop, steps=int(timing[-1][1]))


def validation(settings, iterations, seeds, plain=False):
    folder = validation_folder()
    plain_cell = [(GRU_STEP, PLAIN_STEP, "--plain")] if plain else []
    script = edited_stage(STAGE, settings, folder, plain_cell)
    os.environ["PYTHONPATH"] = str(REPO)  # the copy imports trainer from the repository
    flags = ["--data-dir", folder] + (["--iterations", iterations] if iterations else [])
    label = " ".join(settings + (["plain cell, no gates"] if plain else [])) or "as it is"
    for seed in seeds:
        r = one_run(script, [*flags, "--seed", seed], folder / "run.log")
        if not r["ok"]:
            print(f"{label}, seed {seed}: FAILED\n{r['tail']}", flush=True)
            continue
        print(f"{label}, seed {seed}, {r['steps']} steps: validation max {r['max']:.4f} "
              f"final {r['final']:.4f}, loop {r['loop']:.0f} s, load {os.getloadavg()[0]:.1f}",
              flush=True)


def test(seeds):
    folder = Path(tempfile.mkdtemp(prefix="bench_recurrent_"))
    for seed in seeds:
        r = one_run(STAGE, ["--seed", seed], folder / "run.log")
        if not r["ok"]:
            print(f"seed {seed}: FAILED\n{r['tail']}", flush=True)
            continue
        print(f"seed {seed}, {r['steps']} steps: max test accuracy {r['max']:.4f}, final "
              f"{r['final']:.4f}, training loop {r['loop']:.0f} s, start-up "
              f"{r['startup']:.1f} s, load {os.getloadavg()[0]:.1f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", choices=["speed", "validation", "test"],
                        default=["speed"])
    parser.add_argument("--rounds", type=int, default=5, help="speed: rounds (default: 5)")
    parser.add_argument("--steps", type=int, default=20,
                        help="speed: training steps per way and round (default: 20)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="validation: change a setting of the stage (repeat for several)")
    parser.add_argument("--plain", action="store_true",
                        help="validation: the cell without its gates (a plain recurrent cell)")
    parser.add_argument("--iterations", type=int, help="validation: training steps "
                        "(default: the stage's own)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    print(machine(), flush=True)
    if "speed" in args.parts:
        speed(args.rounds, args.steps)
    if "validation" in args.parts:
        validation(args.set, args.iterations, args.seeds, args.plain)
    if "test" in args.parts:
        test(args.seeds)


if __name__ == "__main__":
    main()
