"""Stage 8.0: stage 3.1's network trained on several machines at once (data parallelism).

One machine trains stage 3.1 in minutes. A bigger network or dataset outgrows it, and
the usual next step is to share each batch between several workers: every worker holds
a copy of the network, computes the gradients on its slice of the batch, and an
all-reduce adds the workers' gradients together, so that every worker applies the same
update and the copies stay identical. tf.distribute.MultiWorkerMirroredStrategy does
the bookkeeping; this script shows each step of it in a custom loop (strategy.run, the
slice, the all-reduce), where model.fit, what most people use, would hide them.

Stage 3.1's network, so that its results compare: with the same seed and the same
global batch of 100 images, 1 worker and 2 (or any number that divides 100) compute the
same updates, up to the order in which floating-point numbers are added. Its dropout mask is drawn for the whole
global batch from the step number, so every worker switches off the same neurons as a
single worker would, and keeps the rows of its own images.

    X  [100, 28, 28, 1]   the global batch: every worker draws the same one and keeps
    |                     its slice: [100 / W, 28, 28, 1] on each of W workers
    |  relu(conv(X, W1, stride 1) + B1)      W1 [6, 6, 1, 6]    B1 [6]
    Y1 [100, 28, 28, 6]
    |  relu(conv(Y1, W2, stride 2) + B2)     W2 [5, 5, 6, 12]   B2 [12]
    Y2 [100, 14, 14, 12]
    |  relu(conv(Y2, W3, stride 2) + B3)     W3 [4, 4, 12, 24]  B3 [24]
    Y3 [100, 7, 7, 24]
    |  reshape
    YY [100, 1176]        1176 = 7 * 7 * 24
    |  relu(YY . W4 + B4)                    W4 [1176, 200]     B4 [200]
    Y4 [100, 200]         dropout in training
    |  Y4 . W5 + B5                          W5 [200, 10]       B5 [10]
    Ylogits [100, 10]
    |  softmax
    Y  [100, 10]          probabilities of the digits 0..9 for each image

Run it on one machine, with 2 worker processes:  python3 mnist_8.0_distributed.py --workers 2
On several machines: the same command without --workers on each, with TF_CONFIG set, or
through Slurm: srun python3 mnist_8.0_distributed.py   (see workers.py; -h lists the flags)
"""

import trainer
from codelab import workers

# ---------------------------------------------------------------------- settings
ITERATIONS = 10000  # training steps of 100 images (one epoch = 600 steps)
GLOBAL_BATCH = 100  # images per step, all workers together
LR_MIN = 0.0001  # the learning rate decays towards LR_MIN ...
LR_DECAYING = 0.003  # ... from LR_MIN + LR_DECAYING, its decaying part ...
LR_DECAY_STEPS = 2000  # ... being divided by e every 2000 steps
TRAIN_EVERY, TEST_EVERY = 20, 100  # steps between training figures, between test figures
K = 6  # first convolutional layer output depth (channels)
L = 12  # second convolutional layer output depth
M = 24  # third convolutional layer output depth
N = 200  # neurons in the fully connected layer
DROPOUT_RATE = 0.25  # fraction of the dense layer's neurons switched off at each training step

# ---------------------------------------------------------- flags, data, TensorFlow
args = trainer.parse_args(__doc__, ITERATIONS, batch_size=GLOBAL_BATCH,
                          add_flags=workers.add_flags)
workers.launch_if_asked(args)  # --workers N: start N copies of this script, wait for them
mnist = trainer.read_data(args)  # every worker reads all of it, shuffled by the same seed
trainer.load_tensorflow()
import tensorflow as tf
import keras

# ------------------------------------------------------------------ the strategy
# First, before TensorFlow computes anything: the strategy connects to the other
# workers (from TF_CONFIG or Slurm). workers.join waits until all of them are there
# (saying whom it waits for, at most --join-timeout seconds), then makes it:
# tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=<the cluster>).
strategy = workers.join(tf.distribute.MultiWorkerMirroredStrategy, args.join_timeout)
worker = workers.start(strategy, GLOBAL_BATCH)  # prints "worker I of W: pid P, HOST:PORT"
REPLICAS = strategy.num_replicas_in_sync  # copies of the network: one per worker on CPUs
PER_REPLICA_BATCH = GLOBAL_BATCH // REPLICAS  # images each copy computes at each step
keras.utils.set_random_seed(args.seed)  # the same seed gives the same numbers (on CPU)

# --------------------------------------------------------------------- variables
# Created in the strategy's scope: each is a mirrored variable, one copy per replica,
# started from the same values and kept identical by identical updates.
with strategy.scope():
    W1 = tf.Variable(tf.random.truncated_normal([6, 6, 1, K], stddev=0.1), name="W1")
    B1 = tf.Variable(tf.ones([K]) / 10, name="B1")
    W2 = tf.Variable(tf.random.truncated_normal([5, 5, K, L], stddev=0.1), name="W2")
    B2 = tf.Variable(tf.ones([L]) / 10, name="B2")
    W3 = tf.Variable(tf.random.truncated_normal([4, 4, L, M], stddev=0.1), name="W3")
    B3 = tf.Variable(tf.ones([M]) / 10, name="B3")
    W4 = tf.Variable(tf.random.truncated_normal([7 * 7 * M, N], stddev=0.1), name="W4")
    B4 = tf.Variable(tf.ones([N]) / 10, name="B4")
    W5 = tf.Variable(tf.random.truncated_normal([N, 10], stddev=0.1), name="W5")
    B5 = tf.Variable(tf.ones([10]) / 10, name="B5")
    # Adam's moments too: mirrored, made in the scope like the variables they follow.
    optimizer = keras.optimizers.Adam(learning_rate=LR_MIN + LR_DECAYING)
variables = [W1, B1, W2, B2, W3, B3, W4, B4, W5, B5]


# ------------------------------------------------------------------------- model
def model(X, keep=None):
    """keep: which neurons of the dense layer dropout keeps, per image (training only)."""
    Y1 = tf.nn.relu(tf.nn.conv2d(X, W1, strides=1, padding="SAME") + B1)
    Y2 = tf.nn.relu(tf.nn.conv2d(Y1, W2, strides=2, padding="SAME") + B2)
    Y3 = tf.nn.relu(tf.nn.conv2d(Y2, W3, strides=2, padding="SAME") + B3)
    YY = tf.reshape(Y3, [-1, 7 * 7 * M])
    Y4 = tf.nn.relu(tf.matmul(YY, W4) + B4)
    if keep is not None:
        Y4 = tf.where(keep, Y4 / (1 - DROPOUT_RATE), 0.0)  # dropout, scaled as tf.nn.dropout
    Ylogits = tf.matmul(Y4, W5) + B5
    Y = tf.nn.softmax(Ylogits)
    return Ylogits, Y


def dropout_mask(step):
    """The neurons kept at this step for every image of the global batch: drawn from the
    seed and the step alone, so that every worker draws the same mask, and a resumed run
    the mask an uninterrupted one would."""
    seed = tf.stack([tf.constant(args.seed, tf.int64), tf.cast(step, tf.int64)])
    return tf.random.stateless_uniform([GLOBAL_BATCH, N], seed) >= DROPOUT_RATE


# ------------------------------------------------------------- loss and accuracy
def loss_and_accuracy(X, Y_):
    """The figures of a whole batch, on one worker: for the progress lines."""
    Ylogits, Y = model(X)
    cross_entropy = tf.reduce_mean(
        tf.nn.softmax_cross_entropy_with_logits(labels=Y_, logits=Ylogits)) * 100
    correct = tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
    return Y, cross_entropy, accuracy


# ---------------------------------------------------------------------- training
def learning_rate(step):
    """Fast at first, then slower: exponential decay towards LR_MIN."""
    return LR_MIN + LR_DECAYING * tf.exp(-step / LR_DECAY_STEPS)


def replica_step(X, Y_, step):
    """On each replica: the gradients of its slice of the global batch, summed over all
    replicas by an all-reduce, then the update."""
    replica = tf.distribute.get_replica_context()
    begin = replica.replica_id_in_sync_group * PER_REPLICA_BATCH
    X, Y_ = X[begin:begin + PER_REPLICA_BATCH], Y_[begin:begin + PER_REPLICA_BATCH]
    keep = dropout_mask(step)[begin:begin + PER_REPLICA_BATCH]
    with tf.GradientTape() as tape:
        Ylogits, _ = model(X, keep)
        # Summed over this slice, divided by the GLOBAL batch: the replicas' losses add
        # up to the mean over the global batch, whatever the number of replicas.
        cross_entropy = tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(
            labels=Y_, logits=Ylogits)) * 100 / GLOBAL_BATCH
    gradients = tape.gradient(cross_entropy, variables)
    # Called in a replica, apply_gradients starts with the all-reduce: every replica
    # sends its gradients and gets back their sum, the gradients of the global batch's
    # loss. Then every replica applies the same update: the copies stay identical.
    optimizer.apply_gradients(zip(gradients, variables))
    # The loss of the global batch, for the progress lines: an all-reduce of its own.
    return replica.all_reduce(tf.distribute.ReduceOp.SUM, cross_entropy)


@tf.function
def training_step(X, Y_, step):
    """One step of every worker: X, Y_ the global batch, the same on each of them."""
    optimizer.learning_rate.assign(learning_rate(step))
    return strategy.run(replica_step, args=(X, Y_, step))


workers.run(worker, args, mnist, model=model, loss_and_accuracy=loss_and_accuracy,
            training_step=training_step, variables=variables, optimizer=optimizer,
            train_every=TRAIN_EVERY, test_every=TEST_EVERY,
            histograms=trainer.weights_and_biases([W1, W2, W3, W4, W5],
                                                  [B1, B2, B3, B4, B5]))

# ------------------------------------------------------------------------ results
# Our runs (seed 0, CPU), max test accuracy:
# 2026-12-07, 3000 steps, 2 CPU cores (Intel Xeon), TensorFlow 2.21, machine shared:
#   1 worker 0.9923, 2 workers (--workers 2) 0.9915; stage 3.1 at 10000 steps: 0.9933
#   2 workers on 2 cores are no faster than 1 (benchmarks/README.md says why)
