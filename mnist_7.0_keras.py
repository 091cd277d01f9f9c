"""Stage 7.0: the same network in Keras (stage 5.0's speedrun, in layers, trained by fit).

Every stage so far built its network variable by variable and trained it with a loop
written out in trainer.py: draw a batch, run the network under a GradientTape, take
the gradients, let the optimiser step, print figures now and then. Keras, TensorFlow's
high-level API, packs each part into one object: a layer holds its own variables and
knows its own maths; model.compile(...) names the optimiser, the loss and the figures;
model.fit(...) is the loop. This stage is 5.0's network, settings and schedule, written
that way; the result is the same to within noise (see the log at the end).

    X  [256, 28, 28, 1]   a batch of 256 images, 28 x 28 grey levels in [0, 1]
    |  conv1: Conv2D, 5 x 5, no padding, no bias   conv1 kernel [5, 5, 1, 16]    (5.0: W1)
    .. [256, 24, 24, 16]
    |  pool1: MaxPooling2D 2 x 2
    |  bn1: BatchNormalization, offset, no scale   bn1 beta [16]                 (5.0: B1)
    |  relu1: ReLU                                 bn1 moving mean, variance [16]
    Y1 [256, 12, 12, 16]
    |  conv2: Conv2D, 3 x 3, no padding, no bias   conv2 kernel [3, 3, 16, 32]   (5.0: W2)
    .. [256, 10, 10, 32]
    |  pool2, bn2, relu2                           bn2 beta [32]                 (5.0: B2)
    Y2 [256, 5, 5, 32]
    |  flatten: Flatten
    YY [256, 800]         800 = 5 * 5 * 32
    |  dense3: Dense, no bias; bn3; relu3          dense3 kernel [800, 128]      (5.0: W3)
    Y3 [256, 128]                                  bn3 beta [128]                (5.0: B3)
    |  dense4: Dense                               dense4 kernel [128, 10]       (5.0: W4)
    Ylogits [256, 10]                              dense4 bias [10]              (5.0: B4)

The model's output is the logits: the loss takes them (from_logits=True, as every stage
since 2.0 computes it), the dashboard sees they are not probabilities and applies
softmax, and the network saved for predict.py ends with softmax.

What fit does that trainer.py did by hand (see the guide, "The same network in Keras"):
- batches: it takes them from run.batches, one per step, in order (shuffle=False: here
  the batches mnistdata draws, the other stages' own, so that --restore can go on
  exactly where it stopped; given arrays, fit(x, y, batch_size=256) cuts and shuffles
  them itself);
- the tape and the optimiser step: model.compile's loss and optimiser; fit's train step
  runs the model in training mode (batch statistics, moving averages updated) under
  a GradientTape, takes the gradients of the loss and applies them with Adam;
- the loop, compiled: fit runs TRAIN_EVERY steps per call of its compiled train step
  (steps_per_execution), as trainer.py runs the steps between two figures in one call;
- the figures, the dashboard, checkpoints, TensorBoard, stopping: callbacks, objects
  whose on_train_batch_end(...) fit calls after every step (codelab/kerastrainer.py
  has ours, run.callbacks, with trainer.py's own plumbing; it feeds
  tensorflowvisu.KerasDashboard, the dashboard for any Keras model).

One difference from 5.0, in the batch norm. Keras' moving averages decay at a constant
rate (momentum); 5.0's start fast and slow down, min(0.99, (1 + step) / (10 + step)),
0.96 at its last step. With Keras' usual 0.99 the averages still remember 10 % of their
starting guesses (0 and 1) after 234 steps: 0.986 on the test set instead of 0.993
(seed 0). 0.95, near what 5.0 uses towards its end, forgets them within 100 steps.

Run it: python3 mnist_7.0_keras.py    (-h lists the flags)
"""

import trainer

# ---------------------------------------------------------------------- settings
BATCH_SIZE = 256  # images per training step, as in 5.0
ITERATIONS = 234  # training steps: one epoch = 60,000 / 256 = 234 steps
LR_MAX = 0.02  # the peak of the one-cycle learning rate
WARMUP = 0.3  # fraction of the run during which the learning rate climbs from 0 to LR_MAX
ADAM_BETAS = (0.7, 0.9)  # Adam's memory of gradients and of their squares (usual: 0.9, 0.999)
LABEL_SMOOTHING = 0.1  # share of each training target spread evenly over the 10 digits
TRAIN_EVERY = 5  # steps between training figures
DRAWN_TEST_EVERY = 20  # steps between test figures on the dashboard (headless: first, last)
K = 16  # first convolutional layer output depth (channels)
L = 32  # second convolutional layer output depth
N = 128  # neurons in the fully connected layer
BN_MOMENTUM = 0.95  # weight of the past in the moving averages (5.0: 0.1 rising to 0.96)
BN_EPSILON = 1e-5  # keeps the division safe when a variance is 0

# ---------------------------------------------------------- flags, data, TensorFlow
args = trainer.parse_args(__doc__, ITERATIONS, batch_size=BATCH_SIZE)
mnist = trainer.read_data(args)  # images [N, 28, 28, 1] in [0, 1], labels one-hot [N, 10]
trainer.load_tensorflow()  # with its CPU options set and its start-up notices hidden
import keras
from keras import layers

from codelab import kerastrainer

keras.utils.set_random_seed(args.seed)  # the same seed gives the same numbers (on CPU)

# ------------------------------------------------------------------------- model
# The variables are the layers' own now, made as 5.0 makes them: weights from a truncated
# normal (stddev 0.1), biases and batch-norm offsets at 0.1.
weights = keras.initializers.TruncatedNormal(stddev=0.1)
biases = keras.initializers.Constant(0.1)


def batchnorm(name):
    """bn(x) + offset, per channel, as in 5.0: no scale (ReLU does not need one)."""
    return layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, scale=False,
                                     beta_initializer=biases, name=name)


model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    layers.Conv2D(K, 5, use_bias=False, kernel_initializer=weights, name="conv1"),
    layers.MaxPooling2D(2, name="pool1"),
    batchnorm("bn1"),
    layers.ReLU(name="relu1"),
    layers.Conv2D(L, 3, use_bias=False, kernel_initializer=weights, name="conv2"),
    layers.MaxPooling2D(2, name="pool2"),
    batchnorm("bn2"),
    layers.ReLU(name="relu2"),
    layers.Flatten(name="flatten"),
    layers.Dense(N, use_bias=False, kernel_initializer=weights, name="dense3"),
    batchnorm("bn3"),
    layers.ReLU(name="relu3"),
    layers.Dense(10, kernel_initializer=weights, bias_initializer=biases, name="dense4"),
], name="speedrun")

# ---------------------------------------------------------------------- training
# 5.0's one cycle is Keras' cosine decay with a warm-up: a straight climb from 0 to
# LR_MAX during the first WARMUP of the run, then a half cosine down to 0.
warmup_steps = int(WARMUP * args.iterations)
learning_rate = keras.optimizers.schedules.CosineDecay(
    0.0, decay_steps=args.iterations - warmup_steps, warmup_target=LR_MAX,
    warmup_steps=warmup_steps)
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate, beta_1=ADAM_BETAS[0], beta_2=ADAM_BETAS[1]),
    # 5.0's loss, mean over the batch (the figures multiply it by 100, as every stage)
    loss=keras.losses.CategoricalCrossentropy(from_logits=True,
                                              label_smoothing=LABEL_SMOOTHING),
    metrics=["accuracy"],
    steps_per_execution=TRAIN_EVERY)  # steps per call of the compiled train step

with kerastrainer.training(args, mnist, model, train_every=TRAIN_EVERY,
                           test_every=args.iterations,  # tests: first and last step
                           drawn_test_every=DRAWN_TEST_EVERY) as run:  # ... unless drawn
    model.fit(run.batches, epochs=1,  # one pass over run.batches: the whole run
              shuffle=False,  # in mnistdata's order: shuffled already, and resumable
              callbacks=run.callbacks, verbose=0)

# ------------------------------------------------------------------------ results
# Final test accuracy (the last figure, on all 10,000 test images) and the training loop
# ("trained 234 steps in T s"), headless, full data, 2 CPU cores (Intel Xeon),
# TensorFlow 2.21 CPU, Keras 3.15, benchmarks/bench_keras.py, 2026-12-07, on a machine
# shared with four other jobs (load average 8-12): the seconds are about 3 times a quiet
# machine's; compare within a line, where 5.0 and 7.0 ran in turn.
# - Seeds 0-2: 0.9928 0.9917 0.9927; stage 5.0 in the same minutes: 0.9926 0.9924
#   0.9924 (differences +0.0002 -0.0007 +0.0003). Max = final on every run.
# - Training loop against 5.0's, the two in turn, two passes over seeds 0-2: 16.5 s
#   against 22.3, 11.9 against 13.8, 11.9 against 12.3; 12.1 against 12.6, 13.1 against
#   12.7, 13.9 against 10.5: ratios 0.74 to 1.32, median 0.97, about the same.
# - The dashboard's cost, fit of 234 steps in one process (bench_keras.py): 9.1 s
#   without a callback, 13.1 s with KerasDashboard headless (+45 %: 47 training
#   figures, 2 test passes, compiling the predict function), 21.5 s drawing (+137 %).
#
# How it got here (seed 0 unless said):
# - Batch norm with Keras' default momentum, 0.99: 0.9862 (the averages still hold 10 %
#   of their starting guesses after 234 steps); 0.9: 0.9929; 0.95: 0.9928 (kept: near
#   5.0's own decay at the end of its run, 0.96).
# - fit shuffles the order of the batches it is given unless shuffle=False: with 5.0's
#   batches in a shuffled order, seeds 0-2 gave 0.9930 0.9937 0.9918, but a resumed
#   run could not go on where it stopped. Now in mnistdata's order (shuffle=False).
# - One step per call of fit's train step, then five (steps_per_execution=TRAIN_EVERY):
#   the same numbers to the last digit, 234 steps in 45 s against 58 s, and 35 s
#   against 45 s, in turn (busy).
# - fit given the arrays to cut and shuffle itself (235 steps, the last of 96 images):
#   0.9855 with momentum 0.99.
