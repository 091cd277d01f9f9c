"""MNIST (and Fashion-MNIST) for the codelab: the data a stage trains on, in batches.

    import mnistdata
    mnist = mnistdata.read_data_sets(data_dir, one_hot=True, reshape=False)
    batch_X, batch_Y = mnist.train.next_batch(100)   # [100, 28, 28, 1], [100, 10]
    mnist.test.images, mnist.test.labels             # all 10,000 test images

mnist.train holds the training images (60,000 in MNIST), mnist.test the test images
(10,000): each image 28 x 28 grey levels in [0, 1], each label a digit 0-9 (or one-hot).
next_batch() deals the training images out in a shuffled order, each one once per
epoch (one pass over them), then reshuffles.

Where the data comes from (the IDX files in data_dir, else the copy an installed
package ships, so that it works offline, else a download), where it is kept and how
it is checked is plumbing, in codelab/: mnistsources.py (the sources, in order),
mnistfolder.py (the data folder and --data-dir), mnistfiles.py (the IDX files and
their checks), mnistcache.py (the decoded copy kept beside the data) and
mnistdownload.py. Anything wrong with the data raises DataError, whose message names
the file or folder and says what to do about it.
"""

from typing import NamedTuple

import numpy as np

from codelab import mnistfolder, mnistsources
from codelab.mnistfiles import DataError  # noqa: F401  (mnistdata.DataError: what callers catch)


def read_data_sets(data_dir=None, one_hot=False, reshape=True, dataset="mnist", seed=0):
    """Load a dataset's training and test sets, fetching them first if needed.

    data_dir: folder for the data files; it must exist (None: the default folder,
              see codelab/mnistfolder.py).
    one_hot:  labels as one-hot float32 [N, 10] instead of integer class ids [N].
    reshape:  images as [N, 784] instead of [N, 28, 28, 1]. Pixels are float32 in [0, 1].
    dataset:  "mnist" or "fashion".
    seed:     seeds the shuffling done by next_batch.
    """
    spec = mnistsources.dataset_spec(dataset)
    data_dir = mnistfolder.data_folder(data_dir, dataset)
    arrays, source = mnistsources.load_uint8(dataset, data_dir)  # uint8, checked
    print(f"{spec['title']}: loaded from {source}")

    def make(split, split_seed):
        images = to_float_images(arrays.pop(f"{split}_images"), reshape)  # pop: free the bytes early
        labels = arrays.pop(f"{split}_labels").astype(np.int64)
        if one_hot:
            labels = np.eye(10, dtype=np.float32)[labels]
        return DataSet(images, labels, seed=split_seed)

    return DataSets(train=make("train", seed), test=make("test", seed + 1))


def to_float_images(images_uint8, reshape):
    """uint8 [N, 28, 28] -> float32 in [0, 1], [N, 784] or [N, 28, 28, 1], one copy only."""
    images = images_uint8.astype(np.float32)
    images /= 255.0
    return images.reshape(len(images), 784) if reshape else images.reshape(len(images), 28, 28, 1)


class DataSet:
    """Images and labels of one split, served in shuffled batches.

    next_batch(n) walks through every example exactly once per epoch, in an
    order that is reshuffled (reproducibly, from `seed`) at the start of each epoch.
    """

    def __init__(self, images, labels, seed=0):
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = images
        self.labels = labels
        self.num_examples = len(images)
        self.epochs_completed = 0
        self._rng = np.random.default_rng(seed)
        self._shuffle()
        self._position = 0  # how far into self._order the current epoch is

    def _shuffle(self):
        """A new order for the next epoch. The generator's state before it is kept, so
        that state() can give this order back without storing it."""
        self._shuffled_from = self._rng.bit_generator.state
        self._order = self._rng.permutation(self.num_examples)

    def next_batch(self, batch_size):
        """Return (images, labels) for the next `batch_size` examples."""
        picked = self.next_batch_indices(batch_size)
        return self.images[picked], self.labels[picked]

    def next_batch_indices(self, batch_size):
        """The positions in `images` and `labels` of the next `batch_size` examples:
        what next_batch() returns, for a caller that keeps its own copy of the arrays
        (trainer.py gathers the batches of several steps in one copy)."""
        if not 0 < batch_size <= self.num_examples:
            raise ValueError(f"batch_size must be between 1 and {self.num_examples}, not {batch_size}")
        picked = self._order[self._position:self._position + batch_size]
        self._position += len(picked)
        if len(picked) < batch_size:  # epoch finished: the rest comes from a fresh shuffle
            self.epochs_completed += 1
            self._shuffle()
            self._position = batch_size - len(picked)
            picked = np.concatenate([picked, self._order[:self._position]])
        elif self._position == self.num_examples:
            self.epochs_completed += 1
            self._shuffle()
            self._position = 0
        return picked

    def state(self):
        """Where the batches have got to, as plain numbers and strings (JSON-ready): the
        epoch, the position in it and the shuffling generator's state before this
        epoch's order was drawn. set_state() goes back there, so that a resumed run
        gets the very batches an uninterrupted one would (trainer.py keeps it in
        checkpoints)."""
        return {"num_examples": self.num_examples, "epochs_completed": self.epochs_completed,
                "position": self._position, "shuffled_from": self._shuffled_from}

    def set_state(self, state):
        """Go back to a state() of this data set; ValueError if it is not one."""
        try:
            if state["num_examples"] != self.num_examples:
                raise ValueError(f"the state is of a data set of {state['num_examples']} "
                                 f"examples, this one has {self.num_examples}")
            position = int(state["position"])
            if not 0 <= position < self.num_examples:
                raise ValueError(f"position {position} is outside the epoch")
            self._rng.bit_generator.state = state["shuffled_from"]
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a data set state ({type(error).__name__}: {error})") from None
        self._shuffle()
        self._position = position
        self.epochs_completed = int(state["epochs_completed"])

    def __repr__(self):
        return f"DataSet({self.num_examples} examples, images {self.images.shape}, labels {self.labels.shape})"


class DataSets(NamedTuple):
    """What read_data_sets returns: mnist.train and mnist.test."""
    train: DataSet
    test: DataSet
