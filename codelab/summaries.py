"""TensorBoard summaries (--logdir): the figures, histograms and mosaics under the dashboard's names; a full disk stops them with one warning."""

import contextlib
import errno
import os
import shutil
import sys

import numpy as np

from codelab import hints
from codelab import tfmessages
from codelab.errors import TrainingError


class SummaryLogger:
    """TensorBoard summaries: curves, histograms and the digit mosaics. Logs that cannot
    be written (a full disk) stop with one line on stderr; training goes on.

    TensorFlow's writer drops what a full disk does not take without a word (a large
    write is cut short silently): so each batch of summaries is flushed and its file
    must have grown, on a disk that is not full."""

    def __init__(self, logdir, histogram4_name, histogram5_name):
        import tensorflow as tf
        self.tf = tf
        self.logdir = logdir
        self.train_folder = os.path.join(logdir, "train")
        self.test_folder = os.path.join(logdir, "test")
        self.stopped = False
        # TensorBoard tags: the dashboard's panel titles, as lower_case_words.
        self.histogram_names = [name.lower().replace(" ", "_")
                                for name in (histogram4_name, histogram5_name)]
        try:
            with tfmessages.stderr_lines_hidden(tfmessages.FAILED_OPERATION_NOTICES):
                self.train_writer = tf.summary.create_file_writer(self.train_folder)
                self.test_writer = tf.summary.create_file_writer(self.test_folder)
        except (OSError, tf.errors.OpError) as error:
            raise TrainingError(f"--logdir {logdir}: cannot write TensorBoard logs there "
                                f"({tfmessages.reason(error)}); free some space or choose another "
                                f"folder") from None
        print(f"TensorBoard logs in {logdir} (view them: tensorboard --logdir "
              f"{hints.shell_path(logdir)})")

    @contextlib.contextmanager
    def _writing(self, step, writer, folder):
        try:
            with tfmessages.stderr_lines_hidden(tfmessages.FAILED_OPERATION_NOTICES):
                size = files_size(folder)
                yield
                writer.flush()
                if shutil.disk_usage(folder).free == 0 or files_size(folder) <= size:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except (OSError, self.tf.errors.OpError) as error:
            self.stopped = True
            print(f"warning: --logdir {self.logdir}: the TensorBoard logs stop at step {step}: "
                  f"they cannot be written ({tfmessages.reason(error)}); training goes on",
                  file=sys.stderr, flush=True)

    def training(self, step, accuracy, loss, lr, values4, values5, mosaic):
        if self.stopped:
            return
        summary = self.tf.summary
        with self._writing(step, self.train_writer, self.train_folder), \
                self.train_writer.as_default(step=step):
            summary.scalar("accuracy", accuracy)
            summary.scalar("loss", loss)
            summary.scalar("learning_rate", lr)
            summary.histogram(self.histogram_names[0], values4)
            summary.histogram(self.histogram_names[1], values5)
            summary.image("training_digits", mosaic()[np.newaxis])

    def test(self, step, accuracy, loss, mosaic):
        if self.stopped:
            return
        summary = self.tf.summary
        with self._writing(step, self.test_writer, self.test_folder), \
                self.test_writer.as_default(step=step):
            summary.scalar("accuracy", accuracy)
            summary.scalar("loss", loss)
            summary.image("test_digits", mosaic()[np.newaxis])

    def close(self):
        for writer in (self.train_writer, self.test_writer):
            with contextlib.suppress(OSError, self.tf.errors.OpError):
                writer.close()


def files_size(folder):
    """The bytes in the files of `folder`."""
    return sum(entry.stat().st_size for entry in os.scandir(folder) if entry.is_file())
