"""Stage 3.0: a convolutional network (about 98.9 % right).

Flattening an image into a row of pixels throws away its shape. Convolutional layers
keep it: each neuron looks at a small patch of the image (5 x 5 pixels, say) through
weights that are shared by every position, so a stroke is recognised wherever it is.
Each layer outputs several channels, one per filter. Strides of 2 halve the image
size instead of pooling. SAME padding: the filters slide over the borders too.

    X  [100, 28, 28, 1]   a batch of 100 images, 28 x 28 grey levels in [0, 1]
    |  relu(conv(X, W1, stride 1) + B1)      W1 [5, 5, 1, 4]    B1 [4]
    Y1 [100, 28, 28, 4]
    |  relu(conv(Y1, W2, stride 2) + B2)     W2 [5, 5, 4, 8]    B2 [8]
    Y2 [100, 14, 14, 8]
    |  relu(conv(Y2, W3, stride 2) + B3)     W3 [4, 4, 8, 12]   B3 [12]
    Y3 [100, 7, 7, 12]
    |  reshape
    YY [100, 588]         588 = 7 * 7 * 12
    |  relu(YY . W4 + B4)                    W4 [588, 200]      B4 [200]
    Y4 [100, 200]
    |  Y4 . W5 + B5                          W5 [200, 10]       B5 [10]
    Ylogits [100, 10]
    |  softmax
    Y  [100, 10]          probabilities of the digits 0..9 for each image

Run it: python3 mnist_3.0_convolutional.py    (-h lists the flags)
"""

import trainer

# ---------------------------------------------------------------------- settings
ITERATIONS = 10000  # training steps of 100 images (one epoch = 600 steps)
LR_MIN = 0.0001  # the learning rate decays towards LR_MIN ...
LR_DECAYING = 0.003  # ... from LR_MIN + LR_DECAYING, its decaying part ...
LR_DECAY_STEPS = 2000  # ... being divided by e every 2000 steps
TRAIN_EVERY, TEST_EVERY = 20, 100  # steps between training figures, between test figures
K = 4  # first convolutional layer output depth (channels)
L = 8  # second convolutional layer output depth
M = 12  # third convolutional layer output depth
N = 200  # neurons in the fully connected layer

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
# A convolution's weights: [filter height, filter width, input channels, output channels].
W1 = tf.Variable(tf.random.truncated_normal([5, 5, 1, K], stddev=0.1), name="W1")
B1 = tf.Variable(tf.ones([K]) / 10, name="B1")
W2 = tf.Variable(tf.random.truncated_normal([5, 5, K, L], stddev=0.1), name="W2")
B2 = tf.Variable(tf.ones([L]) / 10, name="B2")
W3 = tf.Variable(tf.random.truncated_normal([4, 4, L, M], stddev=0.1), name="W3")
B3 = tf.Variable(tf.ones([M]) / 10, name="B3")
W4 = tf.Variable(tf.random.truncated_normal([7 * 7 * M, N], stddev=0.1), name="W4")
B4 = tf.Variable(tf.ones([N]) / 10, name="B4")
W5 = tf.Variable(tf.random.truncated_normal([N, 10], stddev=0.1), name="W5")
B5 = tf.Variable(tf.ones([10]) / 10, name="B5")
variables = [W1, B1, W2, B2, W3, B3, W4, B4, W5, B5]


# ------------------------------------------------------------------------- model
def model(X):
    Y1 = tf.nn.relu(tf.nn.conv2d(X, W1, strides=1, padding="SAME") + B1)
    Y2 = tf.nn.relu(tf.nn.conv2d(Y1, W2, strides=2, padding="SAME") + B2)
    Y3 = tf.nn.relu(tf.nn.conv2d(Y2, W3, strides=2, padding="SAME") + B3)
    YY = tf.reshape(Y3, [-1, 7 * 7 * M])
    Y4 = tf.nn.relu(tf.matmul(YY, W4) + B4)
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
# 2026-11-28, 10000 steps, 2 CPU cores (AMD EPYC), TensorFlow 2.21: max 0.9902, final 0.9891, 3 min 38 s
# 2026-11-29, after the speed work: max 0.9909, final 0.9900, 89 s
# (benchmarks/bench_ladder.py measures it again)
