"""Stage 4.1: stage 2.1's five ReLU layers with batch normalisation (about 98.5 % right).

Batch normalisation rescales each neuron's weighted sums, over the 100 images of a
batch, to mean 0 and variance 1, before the activation. Each layer then sees inputs
of a steady scale however the layers below it change, so training can go faster
with a higher learning rate. The biases B1..B4 move after the normalisation, where
they act as learned offsets (before it, the centring would cancel them). ReLU needs
no learned scale: relu(a * x) is a * relu(x), and the next layer's weights can absorb
a. At test time there is no batch to average over: the network uses moving averages
of the training batches' means and variances instead.

    X  [100, 28, 28, 1]   a batch of 100 images, 28 x 28 grey levels in [0, 1]
    |  reshape
    XX [100, 784]
    |  relu(bn(XX . W1) + B1)      W1 [784, 200]  B1 [200]
    Y1 [100, 200]
    |  relu(bn(Y1 . W2) + B2)      W2 [200, 100]  B2 [100]
    Y2 [100, 100]
    |  relu(bn(Y2 . W3) + B3)      W3 [100, 60]   B3 [60]
    Y3 [100, 60]
    |  relu(bn(Y3 . W4) + B4)      W4 [60, 30]    B4 [30]
    Y4 [100, 30]
    |  Y4 . W5 + B5                W5 [30, 10]    B5 [10]
    Ylogits [100, 10]
    |  softmax
    Y  [100, 10]          probabilities of the digits 0..9 for each image

bn(x) = (x - mean) / sqrt(variance + epsilon), per neuron: the batch's mean and
variance in training, their moving averages at test time:
    MEAN1 [200] VAR1 [200]    MEAN2 [100] VAR2 [100]
    MEAN3 [60]  VAR3 [60]     MEAN4 [30]  VAR4 [30]

Run it: python3 mnist_4.1_batchnorm_five_layers_relu.py    (-h lists the flags)
"""

import trainer

# ---------------------------------------------------------------------- settings
ITERATIONS = 10000  # training steps of 100 images (one epoch = 600 steps)
LR_MIN = 0.0001  # the learning rate decays towards LR_MIN ...
LR_DECAYING = 0.03  # ... from LR_MIN + LR_DECAYING, its decaying part ...
LR_DECAY_STEPS = 1000  # ... being divided by e every 1000 steps
TRAIN_EVERY, TEST_EVERY = 20, 100  # steps between training figures, between test figures
L, M, N, O = 200, 100, 60, 30  # neurons in the four hidden layers
BN_DECAY = 0.999  # weight of the past in the moving averages of means and variances
BN_EPSILON = 1e-5  # keeps the division safe when a variance is 0

# ---------------------------------------------------------- flags, data, TensorFlow
# In this order: TensorFlow takes seconds to load, and -h, a mistyped flag or missing
# data should not wait for it.
args = trainer.parse_args(__doc__, ITERATIONS)
mnist = trainer.read_data(args)  # images [N, 28, 28, 1] in [0, 1], labels one-hot [N, 10]
trainer.load_tensorflow()  # with its CPU options set and its start-up notices hidden
import tensorflow as tf
import keras

keras.utils.set_random_seed(args.seed)  # the same seed gives the same numbers (on CPU)

# --------------------------------------------------------------------- variables
# Weights start small and random (truncated normal, stddev 0.1): if they all started
# equal, every neuron of a layer would compute the same thing and learn the same thing.
# Biases start slightly positive (0.1) so that ReLU neurons start active, not dead.
W1 = tf.Variable(tf.random.truncated_normal([784, L], stddev=0.1), name="W1")
B1 = tf.Variable(tf.ones([L]) / 10, name="B1")
W2 = tf.Variable(tf.random.truncated_normal([L, M], stddev=0.1), name="W2")
B2 = tf.Variable(tf.ones([M]) / 10, name="B2")
W3 = tf.Variable(tf.random.truncated_normal([M, N], stddev=0.1), name="W3")
B3 = tf.Variable(tf.ones([N]) / 10, name="B3")
W4 = tf.Variable(tf.random.truncated_normal([N, O], stddev=0.1), name="W4")
B4 = tf.Variable(tf.ones([O]) / 10, name="B4")
W5 = tf.Variable(tf.random.truncated_normal([O, 10], stddev=0.1), name="W5")
B5 = tf.Variable(tf.ones([10]) / 10, name="B5")
trainable = [W1, B1, W2, B2, W3, B3, W4, B4, W5, B5]


# Moving averages of the batch means and variances: not trained, but saved.
def moving_averages(size, i):
    return (tf.Variable(tf.zeros([size]), trainable=False, name=f"MEAN{i}"),
            tf.Variable(tf.ones([size]), trainable=False, name=f"VAR{i}"))


MEAN1, VAR1 = moving_averages(L, 1)
MEAN2, VAR2 = moving_averages(M, 2)
MEAN3, VAR3 = moving_averages(N, 3)
MEAN4, VAR4 = moving_averages(O, 4)
variables = trainable + [MEAN1, VAR1, MEAN2, VAR2, MEAN3, VAR3, MEAN4, VAR4]


# ------------------------------------------------------------------------- model
def batchnorm(Ylogits, moving_mean, moving_variance, training, step):
    """Normalise each neuron over the batch in training, with the moving averages at test."""
    if training:
        mean, variance = tf.nn.moments(Ylogits, axes=[0])
        # The averages start from guesses (0 and 1): trust them less in the first steps.
        # (1 + step) / (10 + step) is TF1's ExponentialMovingAverage with num_updates, as
        # the original codelab used it: 0.1 at step 0, 0.5 at 8, 0.9 at 80, BN_DECAY at 8990.
        decay = tf.minimum(BN_DECAY, (1.0 + step) / (10.0 + step))
        moving_mean.assign(decay * moving_mean + (1 - decay) * mean)
        moving_variance.assign(decay * moving_variance + (1 - decay) * variance)
    else:
        mean, variance = moving_mean, moving_variance
    return (Ylogits - mean) / tf.sqrt(variance + BN_EPSILON)


def model(X, training=False, step=0.0):
    XX = tf.reshape(X, [-1, 784])
    Y1 = tf.nn.relu(batchnorm(tf.matmul(XX, W1), MEAN1, VAR1, training, step) + B1)
    Y2 = tf.nn.relu(batchnorm(tf.matmul(Y1, W2), MEAN2, VAR2, training, step) + B2)
    Y3 = tf.nn.relu(batchnorm(tf.matmul(Y2, W3), MEAN3, VAR3, training, step) + B3)
    Y4 = tf.nn.relu(batchnorm(tf.matmul(Y3, W4), MEAN4, VAR4, training, step) + B4)
    Ylogits = tf.matmul(Y4, W5) + B5
    Y = tf.nn.softmax(Ylogits)
    return Ylogits, Y, [Y1, Y2, Y3, Y4]


# ------------------------------------------------------------- loss and accuracy
def loss_and_accuracy(X, Y_, training=False, step=0.0):
    """Y_ holds the correct answers, one-hot: 7 is [0,0,0,0,0,0,0,1,0,0]."""
    Ylogits, Y, _ = model(X, training, step)
    # The same cross-entropy as stage 1.0, computed from the logits: the hand-written
    # -sum(Y_ * log(Y)) gives NaN once softmax rounds a probability to 0 (log(0) is
    # -infinity), which deeper networks soon do. This function never takes log(0).
    cross_entropy = tf.reduce_mean(
        tf.nn.softmax_cross_entropy_with_logits(labels=Y_, logits=Ylogits)) * 100
    correct = tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
    return Y, cross_entropy, accuracy


@tf.function
def activations(X):
    """For the dashboard: each neuron's largest and mean activation over the batch."""
    _, _, hidden = model(X)
    return (tf.concat([tf.reduce_max(Y, axis=0) for Y in hidden], axis=0),
            tf.concat([tf.reduce_mean(Y, axis=0) for Y in hidden], axis=0))


# ---------------------------------------------------------------------- training
# Adam adapts the step size of each variable: plain gradient descent is too slow here.
optimizer = keras.optimizers.Adam(learning_rate=LR_MIN + LR_DECAYING)


def learning_rate(step):
    """Fast at first, then slower: exponential decay towards LR_MIN."""
    return LR_MIN + LR_DECAYING * tf.exp(-step / LR_DECAY_STEPS)


@tf.function
def training_step(X, Y_, step):
    """One optimiser step: nudge every variable against its gradient."""
    optimizer.learning_rate.assign(learning_rate(step))
    with tf.GradientTape() as tape:
        _, cross_entropy, _ = loss_and_accuracy(X, Y_, training=True, step=step)
    gradients = tape.gradient(cross_entropy, trainable)
    optimizer.apply_gradients(zip(gradients, trainable))
    return cross_entropy


trainer.run(args, mnist, model=model, loss_and_accuracy=loss_and_accuracy,
            training_step=training_step, variables=variables, optimizer=optimizer,
            train_every=TRAIN_EVERY, test_every=TEST_EVERY,
            histograms=trainer.Histograms(activations, "Max activations in batch",
                                          "Mean activations in batch"))

# ------------------------------------------------------------------------ results
# Our runs (seed 0, CPU), max test accuracy:
# 2026-11-28, 10000 steps, 2 CPU cores (AMD EPYC), TensorFlow 2.21: max 0.9855, final 0.9853, 96 s
# 2026-11-29, after the speed work: max 0.9854, final 0.9849, 38 s (2.1 without batch norm: 0.9824)
# (benchmarks/bench_ladder.py measures it again)
