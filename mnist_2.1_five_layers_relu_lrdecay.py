"""Stage 2.1: five layers with ReLU and a decaying learning rate (about 98 % right).

Two changes to stage 2.0. ReLU, max(0, x), replaces the sigmoid: its gradient does
not vanish for large inputs, so deep layers keep learning. And the learning rate
starts high and decays, so that the noisy accuracy curve of 2.0 settles.

    X  [100, 28, 28, 1]   a batch of 100 images, 28 x 28 grey levels in [0, 1]
    |  reshape
    XX [100, 784]
    |  relu(XX . W1 + B1)      W1 [784, 200]  B1 [200]
    Y1 [100, 200]
    |  relu(Y1 . W2 + B2)      W2 [200, 100]  B2 [100]
    Y2 [100, 100]
    |  relu(Y2 . W3 + B3)      W3 [100, 60]   B3 [60]
    Y3 [100, 60]
    |  relu(Y3 . W4 + B4)      W4 [60, 30]    B4 [30]
    Y4 [100, 30]
    |  Y4 . W5 + B5            W5 [30, 10]    B5 [10]
    Ylogits [100, 10]
    |  softmax
    Y  [100, 10]          probabilities of the digits 0..9 for each image

Run it: python3 mnist_2.1_five_layers_relu_lrdecay.py    (-h lists the flags)
"""

import trainer

# ---------------------------------------------------------------------- settings
ITERATIONS = 10000  # training steps of 100 images (one epoch = 600 steps)
LR_MIN = 0.0001  # the learning rate decays towards LR_MIN ...
LR_DECAYING = 0.003  # ... from LR_MIN + LR_DECAYING, its decaying part ...
LR_DECAY_STEPS = 2000  # ... being divided by e every 2000 steps
TRAIN_EVERY, TEST_EVERY = 20, 100  # steps between training figures, between test figures
L, M, N, O = 200, 100, 60, 30  # neurons in the four hidden layers

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
variables = [W1, B1, W2, B2, W3, B3, W4, B4, W5, B5]


# ------------------------------------------------------------------------- model
def model(X):
    XX = tf.reshape(X, [-1, 784])
    Y1 = tf.nn.relu(tf.matmul(XX, W1) + B1)
    Y2 = tf.nn.relu(tf.matmul(Y1, W2) + B2)
    Y3 = tf.nn.relu(tf.matmul(Y2, W3) + B3)
    Y4 = tf.nn.relu(tf.matmul(Y3, W4) + B4)
    Ylogits = tf.matmul(Y4, W5) + B5
    Y = tf.nn.softmax(Ylogits)
    return Ylogits, Y


# ------------------------------------------------------------- loss and accuracy
def loss_and_accuracy(X, Y_):
    """Y_ holds the correct answers, one-hot: 7 is [0,0,0,0,0,0,0,1,0,0]."""
    Ylogits, Y = model(X)
    # The same cross-entropy as stage 1.0, computed from the logits: the hand-written
    # -sum(Y_ * log(Y)) gives NaN once softmax rounds a probability to 0 (log(0) is
    # -infinity), which deeper networks soon do. This function never takes log(0).
    cross_entropy = tf.reduce_mean(
        tf.nn.softmax_cross_entropy_with_logits(labels=Y_, logits=Ylogits)) * 100
    correct = tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
    return Y, cross_entropy, accuracy


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
        _, cross_entropy, _ = loss_and_accuracy(X, Y_)
    gradients = tape.gradient(cross_entropy, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return cross_entropy


trainer.run(args, mnist, model=model, loss_and_accuracy=loss_and_accuracy,
            training_step=training_step, variables=variables, optimizer=optimizer,
            train_every=TRAIN_EVERY, test_every=TEST_EVERY,
            histograms=trainer.weights_and_biases([W1, W2, W3, W4, W5],
                                                  [B1, B2, B3, B4, B5]))

# ------------------------------------------------------------------------ results
# Our runs (seed 0, CPU), max test accuracy:
# 2026-11-28, 10000 steps, 2 CPU cores (AMD EPYC), TensorFlow 2.21: max 0.9811, final 0.9806, 98 s
# 2026-11-29, after the speed work: max 0.9824, final 0.9815, 54 s; the test loss bottoms near
#   7.3 around step 2,000 and climbs to 10.5 by the end (overfitting: see stage 2.2)
# (benchmarks/bench_ladder.py measures it again)
