"""The figures of a step (training batch, test set): printed, drawn on the dashboard, logged for TensorBoard."""

import functools

import numpy as np

from codelab import report
from codelab import runfolder
from codelab import tfmessages
from codelab.stepping import any_batch_size, evaluate_in_chunks


class Figures:
    """Measures the stage's figures with its loss_and_accuracy and hands them on:
    progress lines, the dashboard (its pictures only when `pictures`: someone sees or
    saves them) and TensorBoard (`logger`, or None). Keeps the best test accuracy."""

    def __init__(self, stage, mnist, batch_size, dashboard, logger, max_accuracy):
        import tensorflow as tf
        self.stage, self.mnist, self.batch_size = stage, mnist, batch_size
        self.dashboard, self.logger = dashboard, logger
        self.max_accuracy = max_accuracy
        self.test_images = tf.constant(mnist.test.images)  # to the device once, not per test
        self.test_labels = tf.constant(mnist.test.labels)
        self.evaluate = any_batch_size(stage.loss_and_accuracy, mnist.test.images,
                                       mnist.test.labels)
        self.pictures = False  # set once the dashboard knows where it appears
        self.last_test_step = None  # the step of the latest test, in this process

    def training(self, step, batch_X, batch_Y):
        import tensorflowvisu
        Y, loss, accuracy = self.evaluate(batch_X, batch_Y)
        Y, loss, accuracy = Y.numpy(), float(loss), float(accuracy)
        # As the latest step used it (.numpy(): in a distributed run a mirrored variable).
        lr = float(self.stage.optimizer.learning_rate.numpy())
        report.training_line(step, accuracy, loss, lr)
        self.dashboard.append_training_curves_data(step, accuracy, loss)
        if self.pictures:
            values4, values5 = (np.asarray(v) for v in self.stage.histograms.values(batch_X))
            self.dashboard.append_data_histograms(step, values4, values5)
            mosaic = functools.partial(tensorflowvisu.mnist_mosaic, batch_X, Y, batch_Y,
                                       n=tensorflowvisu.TRAIN_MOSAIC_COUNT)
            self.dashboard.update_image1(mosaic)  # made only if it gets drawn or saved
            if self.logger:
                self.logger.training(step, accuracy, loss, lr, values4, values5, mosaic)

    def test(self, step):
        import tensorflowvisu
        Y, loss, accuracy = evaluate_in_chunks(self.evaluate, self.test_images,
                                               self.test_labels)
        self.max_accuracy = max(self.max_accuracy, accuracy)
        self.last_test_step = step
        report.test_line(step, step * self.batch_size / self.mnist.train.num_examples,
                         accuracy, loss)
        self.dashboard.append_test_curves_data(step, accuracy, loss)
        if self.pictures:
            # 1000 of the test digits, the misrecognised ones first: the red block's
            # height on panel 6's scale (for 10,000: 100 % to 90 %) reads as the error rate.
            mosaic = functools.partial(tensorflowvisu.test_digits_mosaic,
                                       self.mnist.test.images, Y, self.mnist.test.labels)
            self.dashboard.update_image2(mosaic, test_count=len(self.mnist.test.images))
            if self.logger:
                self.logger.test(step, accuracy, loss, mosaic)


def more_tests_every(dashboard, args, first_step, logged, drawn_test_every, train_every):
    """More test figures during the first test_every steps, where the curves climb
    fastest (every drawn_test_every steps, by default at the training cadence), for
    drawn curves only: each costs a pass over the test set (benchmarks/README.md,
    "Speed of the training loop", says how much). None: no more."""
    drawn = first_step == 0 and bool(
        dashboard.live or args.save_image or args.save_movie or logged)
    return (drawn_test_every or train_every) if drawn else None


def dashboard_files(datavis, args, saver):
    """The final dashboard picture and movie, written once the network is saved:
    ([paths written], None), or ([], a one-paragraph message) if they could not be."""
    try:
        return datavis.finish(save_image=args.save_image), None
    except Exception as error:  # a full disk, a folder removed meanwhile, a missing program...
        asked = " and ".join(f"--{flag} {path}" for flag, path in
                             (("save-image", args.save_image), ("save-movie", args.save_movie))
                             if path)
        kept = (f"the trained network is saved in {saver.folder / runfolder.SAVED_MODEL}" if saver else
                "its figures are printed above (add --save-model DIR to keep the network)")
        return [], (f"the dashboard could not be written ({asked}): {type(error).__name__}: "
                    f"{tfmessages.reason(error)}. Training is over and {kept}; only the picture is lost. "
                    f"Before the next run, check that its folder exists and has free space.")
