"""The MNIST files: their canonical names, the IDX format they are written in, and the
checks that every copy of the data passes, wherever it came from (IDX files, a
package's copy, the decoded cache). Anything wrong raises DataError.

mnistdata.py serves the data; codelab/mnistsources.py chooses where it comes from.
"""

import gzip
import sys
import zlib

import numpy as np

IMAGE_FILES = {"train": "train-images-idx3-ubyte", "test": "t10k-images-idx3-ubyte"}
LABEL_FILES = {"train": "train-labels-idx1-ubyte", "test": "t10k-labels-idx1-ubyte"}
IDX_FILES = [IMAGE_FILES["train"], LABEL_FILES["train"], IMAGE_FILES["test"], LABEL_FILES["test"]]
ARRAY_NAMES = ["train_images", "train_labels", "test_images", "test_labels"]  # uint8, decoded

MIN_TRAIN_IMAGES = 100  # one training batch of most stages (trainer checks each stage's own)


class DataError(Exception):
    """The data could not be found, read or trusted. The message says what to do."""


def notice(message):
    """One line on stderr: something the user should know, that does not stop the run."""
    print(f"mnistdata: {message}", file=sys.stderr, flush=True)


def idx_paths(folder):
    """The IDX files that are in `folder` (plain or .gz): {canonical name: path}."""
    paths = {}
    for name in IDX_FILES:
        for candidate in (folder / name, folder / (name + ".gz")):
            if candidate.is_file():
                paths[name] = candidate
                break
    return paths


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

