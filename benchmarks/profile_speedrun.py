"""Where stage 5.0's training loop spends its time, measured on the stage's own functions.

The stage is run with trainer.run replaced by a recorder, so that its pieces
(training_step, loss_and_accuracy, optimizer) can be timed one by one:
  trace       tracing + optimising the stretch-of-steps function (no step run)
  first call  the first stretch of TRAIN_EVERY steps (what the loop pays once)
  forward     loss_and_accuracy(training=True) per step
  backward    + gradients (GradientTape) per step, minus forward
  optimiser   the full training_step per step, minus forward and backward
  data        numpy gather of a stretch of batches, per step
  figures     one training-figures evaluation (one batch)
  test pass   10,000 test images in chunks of 2,000
    python3 benchmarks/profile_speedrun.py [--stage mnist_5.0_speedrun.py] [--seed 0]
"""
import argparse
import os
import runpy
import sys
import time
import types
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--stage", default=str(REPO / "mnist_5.0_speedrun.py"))
p.add_argument("--seed", type=int, default=0)
p.add_argument("--repeat", type=int, default=7)
p.add_argument("--steps", type=int, default=20)
a = p.parse_args()

sys.path.insert(0, str(REPO))
import trainer as real  # noqa: E402
from codelab import stepping  # noqa: E402

captured = {}
shim = types.ModuleType("trainer")
shim.__dict__.update({k: v for k, v in real.__dict__.items() if not k.startswith("__")})
shim.run = lambda args, mnist, **kw: captured.update(kw, args=args, mnist=mnist)
sys.modules["trainer"] = shim
sys.argv = [a.stage, "--headless", "--seed", str(a.seed)]
t = time.perf_counter()
runpy.run_path(a.stage, run_name="__main__")
print(f"stage set-up (TensorFlow import, data, variables): {time.perf_counter() - t:.2f} s")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

mnist, kw = captured["mnist"], captured
bs = kw["args"].batch_size
training_step, optimizer = kw["training_step"], kw["optimizer"]
optimizer.build([v for v in kw["variables"] if v.trainable])
loss_and_accuracy = kw["loss_and_accuracy"]
train_steps = stepping.stretch_of_steps(training_step, mnist.train.images, mnist.train.labels, bs)
evaluate = stepping.any_batch_size(loss_and_accuracy, mnist.test.images, mnist.test.labels)


def batches(n):
    picked = np.stack([mnist.train.next_batch_indices(bs) for _ in range(n)])
    return mnist.train.images[picked], mnist.train.labels[picked]


def median_time(f, repeat=a.repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
    return float(np.median(times))


rows = {}
t = time.perf_counter()
concrete = train_steps.get_concrete_function()
rows["trace (python)"] = time.perf_counter() - t
X, Y = batches(a.steps)
t = time.perf_counter(); train_steps(X, Y, tf.constant(0.0)).numpy()
rows["first call"] = time.perf_counter() - t
stretch = median_time(lambda: train_steps(X, Y, tf.constant(50.0)).numpy())


def loop_of(kind):
    @tf.function(input_signature=[tf.TensorSpec([None, bs, 28, 28, 1]), tf.TensorSpec([None, bs, 10])])
    def run(Xs, Ys):
        total = tf.constant(0.0)
        for k in tf.range(tf.shape(Xs)[0]):
            step = tf.constant(50.0)
            if kind == "forward":
                _, loss, _ = loss_and_accuracy(Xs[k], Ys[k], training=True, step=step)
            else:
                with tf.GradientTape() as tape:
                    _, loss, _ = loss_and_accuracy(Xs[k], Ys[k], training=True, step=step)
                g = tape.gradient(loss, [v for v in kw["variables"] if v.trainable])
                loss += tf.add_n([tf.reduce_sum(x) for x in g]) * 0.0
            total += loss
        return total
    run(X, Y)
    return median_time(lambda: run(X, Y).numpy()) / a.steps


forward = loop_of("forward")
gradients = loop_of("gradients")
step = stretch / a.steps
data = median_time(lambda: batches(a.steps)) / a.steps
evaluate(X[0], Y[0])
figures = median_time(lambda: [x.numpy() for x in evaluate(X[0], Y[0])])
test_X, test_Y = tf.constant(mnist.test.images), tf.constant(mnist.test.labels)
test_pass = median_time(lambda: stepping.evaluate_in_chunks(evaluate, test_X, test_Y), repeat=3)
iters = kw["args"].iterations
calls = -(-iters // kw["train_every"])
print(f"per step of {bs}: forward {forward * 1e3:.1f} ms, backward {(gradients - forward) * 1e3:.1f} ms, "
      f"optimiser {(step - gradients) * 1e3:.1f} ms, full step {step * 1e3:.1f} ms, data {data * 1e3:.2f} ms")
print(f"once: trace {rows['trace (python)']:.2f} s (then the first call of {a.steps} steps: "
      f"{rows['first call']:.2f} s, {rows['first call'] - step * a.steps:.2f} s over a normal stretch)")
print(f"figures: one batch {figures * 1e3:.1f} ms, test pass {test_pass * 1e3:.0f} ms")
est = {
    "forward": forward * iters, "backward": (gradients - forward) * iters,
    "optimiser": (step - gradients) * iters, "data (numpy gather)": data * iters,
    "trace + first-call extra": rows["trace (python)"] + rows["first call"] - step * a.steps,
    "training figures": figures * (calls + 1), "test passes (start, end)": 2 * test_pass,
}
total = sum(est.values())
print(f"estimated loop of {iters} steps ({calls} stretches): {total:.2f} s")
for k, v in est.items():
    print(f"  {k:26s} {v:5.2f} s  {100 * v / total:4.0f} %")
print(f"load {os.getloadavg()[0]:.2f}")
