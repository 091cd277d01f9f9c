"""Stage 1.0: one softmax layer reads handwritten digits (about 92 % right).

The starter file of the codelab: edit it as you go through the stages, and compare
with the solution scripts (mnist_2.0_..., mnist_3.1_...) when stuck. As the network
changes, change this first line and the drawing below too: -h prints them.

    X  [100, 28, 28, 1]   a batch of 100 images, 28 x 28 grey levels in [0, 1]
    |  reshape: each image flattened into one row of 784 pixels
    XX [100, 784]
    |  XX . W + b         W [784, 10]  b [10]     one weighted sum per digit class
    Ylogits [100, 10]
    |  softmax: exponentiate and normalise each row
    Y  [100, 10]          probabilities of the digits 0..9 for each image

Run it: python3 mnist_1.0_softmax.py    (add -h to see the flags, e.g. --headless)
"""

import trainer

# ---------------------------------------------------------------------- settings
ITERATIONS = 2000  # training steps of 100 images (one epoch = 600 steps)
LEARNING_RATE = 0.005  # gradient descent step size
TRAIN_EVERY, TEST_EVERY = 10, 50  # steps between training figures, between test figures

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
# The weights and biases that training adjusts, all starting at 0.
W = tf.Variable(tf.zeros([784, 10]), name="W")  # one column of 784 weights per digit
b = tf.Variable(tf.zeros([10]), name="b")  # one bias per digit
variables = [W, b]


# ------------------------------------------------------------------------- model
def model(X):
    XX = tf.reshape(X, [-1, 784])
    Ylogits = tf.matmul(XX, W) + b
    Y = tf.nn.softmax(Ylogits)
    return Ylogits, Y


# ------------------------------------------------------------- loss and accuracy
def loss_and_accuracy(X, Y_):
    """Y_ holds the correct answers, one-hot: 7 is [0,0,0,0,0,0,0,1,0,0]."""
    Ylogits, Y = model(X)
    # Cross-entropy, -sum(Y_ * log(Y)) over the 10 classes, averaged over the batch.
    # Times 100 so that it reads as the total over a batch of 100 images, the same
    # scale in training and test figures. Written by hand to show the formula; the
    # log of a probability rounded to 0 is -infinity: see stage 2.0 for the safe way.
    cross_entropy = -tf.reduce_mean(tf.reduce_sum(Y_ * tf.math.log(Y), axis=1)) * 100
    correct = tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
    return Y, cross_entropy, accuracy


# ---------------------------------------------------------------------- training
optimizer = keras.optimizers.SGD(learning_rate=LEARNING_RATE)


@tf.function
def training_step(X, Y_, step):
    """One step of gradient descent: nudge every variable against its gradient."""
    with tf.GradientTape() as tape:
        _, cross_entropy, _ = loss_and_accuracy(X, Y_)
    gradients = tape.gradient(cross_entropy, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return cross_entropy


trainer.run(args, mnist, model=model, loss_and_accuracy=loss_and_accuracy,
            training_step=training_step, variables=variables, optimizer=optimizer,
            train_every=TRAIN_EVERY, test_every=TEST_EVERY,
            histograms=trainer.weights_and_biases([W], [b]))

# ------------------------------------------------------------------------ results
# Our runs (seed 0, CPU), max test accuracy:
# 2026-11-28, 2000 steps, 2 CPU cores (AMD EPYC), TensorFlow 2.21: max 0.9226, final 0.9200, 18.5 s
# 2026-11-29, the same code restructured (flags before TensorFlow): max 0.9226, final 0.9200, 8 s
# (benchmarks/bench_ladder.py measures it again)
