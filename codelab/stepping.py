"""Training steps in stretches (one compiled call for every step between two figures), and the figures measured in chunks."""

import time

import numpy as np

from codelab.errors import TrainingError
from codelab.report import nan_message

TEST_CHUNK = 2000  # test images evaluated per call: bounds memory on the conv stages


class Stepper:
    """The stage's training step, run over stretches of steps on mnistdata's batches:
    `batch` is the next step's batch (its training figures are measured on it),
    `batches_at_step` where the drawing stood before it (what a checkpoint keeps)."""

    def __init__(self, training_step, train, batch_size):
        self.train, self.batch_size = train, batch_size
        self.train_steps = stretch_of_steps(training_step, train.images, train.labels,
                                            batch_size)
        self.seconds_per_step = float("inf")  # measured on each stretch

    def draw_first_batch(self):
        self.batches_at_step = self.train.state()  # before the batch of a step is drawn
        self.batch = self.train.next_batch_indices(self.batch_size)

    def batch_arrays(self):
        """The images and labels of the next step's batch."""
        return self.train.images[self.batch], self.train.labels[self.batch]

    def train_stretch(self, step, end):
        """Train every step from `step` up to `end` in one call. Returns `end`."""
        import tensorflow as tf
        train = self.train
        batches = [self.batch] + [train.next_batch_indices(self.batch_size)
                                  for _ in range(step + 1, end)]
        began = time.perf_counter()
        picked = np.stack(batches)  # [steps, batch_size]: one copy of the images
        losses = self.train_steps(train.images[picked], train.labels[picked],
                                  tf.constant(step, tf.float32)).numpy()
        self.seconds_per_step = (time.perf_counter() - began) / len(batches)
        diverged = np.flatnonzero(~np.isfinite(losses))
        if diverged.size:
            raise TrainingError(nan_message(step + int(diverged[0])))
        self.batches_at_step = train.state()
        self.batch = train.next_batch_indices(self.batch_size)
        return end


def stretch_of_steps(training_step, images, labels, batch_size):
    """A tf.function that runs training_step on each of a stack of batches, shaped
    [steps, batch_size, ...] as `images` and `labels` are with [batch_size, ...],
    and returns the losses.

    One call trains every step between two dashboard updates: per step, this saves
    Python's call overhead and a conversion of the batch to a tensor (measured in
    benchmarks/README.md, "Speed of the training loop"). The steps are the same ones,
    in the same order, as one call per step would run.
    """
    import tensorflow as tf

    @tf.function(input_signature=[
        tf.TensorSpec([None, batch_size, *images.shape[1:]], tf.as_dtype(images.dtype)),
        tf.TensorSpec([None, batch_size, *labels.shape[1:]], tf.as_dtype(labels.dtype)),
        tf.TensorSpec([], tf.float32)])
    def train_steps(batches_X, batches_Y, first_step):
        count = tf.shape(batches_X)[0]
        losses = tf.TensorArray(tf.float32, size=count)
        for k in tf.range(count):
            loss = training_step(batches_X[k], batches_Y[k], first_step + tf.cast(k, tf.float32))
            losses = losses.write(k, tf.cast(loss, tf.float32))
        return losses.stack()
    return train_steps


def any_batch_size(loss_and_accuracy, images, labels):
    """loss_and_accuracy as one tf.function for any number of images shaped as `images`
    and `labels`: traced once, not once for the training batches and again for the
    test chunks."""
    import tensorflow as tf
    return tf.function(loss_and_accuracy, input_signature=[
        tf.TensorSpec([None, *images.shape[1:]], tf.as_dtype(images.dtype)),
        tf.TensorSpec([None, *labels.shape[1:]], tf.as_dtype(labels.dtype))])


def evaluate_in_chunks(evaluate, images, labels):
    """evaluate() over the whole test set, TEST_CHUNK images at a time."""
    count = int(images.shape[0])
    predictions, loss_sum, correct_sum = [], 0.0, 0.0
    for begin in range(0, count, TEST_CHUNK):
        Y, loss, accuracy = evaluate(images[begin:begin + TEST_CHUNK],
                                     labels[begin:begin + TEST_CHUNK])
        size = int(Y.shape[0])
        predictions.append(Y.numpy())
        loss_sum += float(loss) * size
        correct_sum += float(accuracy) * size
    return np.concatenate(predictions), loss_sum / count, correct_sum / count
