"""Stage 2.0: five layers with sigmoid activations (about 97.5-98 % right).

One layer is not enough: stack five. Each hidden layer computes weighted sums of the
previous layer's outputs and squashes them with a sigmoid.

    X  [100, 28, 28, 1]   a batch of 100 images, 28 x 28 grey levels in [0, 1]
    |  reshape
    XX [100, 784]
    |  sigmoid(XX . W1 + B1)      W1 [784, 200]  B1 [200]
    Y1 [100, 200]
    |  sigmoid(Y1 . W2 + B2)      W2 [200, 100]  B2 [100]
    Y2 [100, 100]
    |  sigmoid(Y2 . W3 + B3)      W3 [100, 60]   B3 [60]
    Y3 [100, 60]
    |  sigmoid(Y3 . W4 + B4)      W4 [60, 30]    B4 [30]
    Y4 [100, 30]
    |  Y4 . W5 + B5               W5 [30, 10]    B5 [10]
    Ylogits [100, 10]
    |  softmax
    Y  [100, 10]          probabilities of the digits 0..9 for each image

Run it: python3 mnist_2.0_five_layers_sigmoid.py    (-h lists the flags)
"""

import trainer

# ---------------------------------------------------------------------- settings
ITERATIONS = 10000  # training steps of 100 images (one epoch = 600 steps)
LEARNING_RATE = 0.003  # Adam's step size
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
W1 = tf.Variable(tf.random.truncated_normal([784, L], stddev=0.1), name="W1")
B1 = tf.Variable(tf.zeros([L]), name="B1")
W2 = tf.Variable(tf.random.truncated_normal([L, M], stddev=0.1), name="W2")
B2 = tf.Variable(tf.zeros([M]), name="B2")
W3 = tf.Variable(tf.random.truncated_normal([M, N], stddev=0.1), name="W3")
B3 = tf.Variable(tf.zeros([N]), name="B3")
W4 = tf.Variable(tf.random.truncated_normal([N, O], stddev=0.1), name="W4")
B4 = tf.Variable(tf.zeros([O]), name="B4")
W5 = tf.Variable(tf.random.truncated_normal([O, 10], stddev=0.1), name="W5")
B5 = tf.Variable(tf.zeros([10]), name="B5")
variables = [W1, B1, W2, B2, W3, B3, W4, B4, W5, B5]


# ------------------------------------------------------------------------- model
def model(X):
    XX = tf.reshape(X, [-1, 784])
    Y1 = tf.nn.sigmoid(tf.matmul(XX, W1) + B1)
    Y2 = tf.nn.sigmoid(tf.matmul(Y1, W2) + B2)
    Y3 = tf.nn.sigmoid(tf.matmul(Y2, W3) + B3)
    Y4 = tf.nn.sigmoid(tf.matmul(Y3, W4) + B4)
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
optimizer = keras.optimizers.Adam(learning_rate=LEARNING_RATE)


@tf.function
def training_step(X, Y_, step):
    """One optimiser step: nudge every variable against its gradient."""
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
# 2026-11-28, 10000 steps, 2 CPU cores (AMD EPYC), TensorFlow 2.21: max 0.9777, final 0.9726, 93 s
# 2026-11-29, after the speed work (several steps per tf.function call): max 0.9765, final 0.9720, 47 s
# (benchmarks/bench_ladder.py measures it again)
