"""The decoded copy of the data, kept beside it: `mnistdata-cache-<dataset>.npz`.

Decoding the files is the slow part of a load (benchmarks/README.md, "Data", has the
times), so the decoded bytes are kept in the data folder (uint8, uncompressed, about
55 MB); later loads read that instead. The cache remembers where it came from (a
fingerprint: the size and date of the files, or a package's version) and is rebuilt
when that changes. It is checked on every load: a damaged one is rebuilt, with one
line on stderr. A file of that name that mnistdata did not write (or that is not a
regular file: a named pipe) is left alone (mnistsources says so on every run, and
the data is decoded each time). Files that are not ours are never deleted or
overwritten.
"""

import os
import stat
import zipfile

import numpy as np

from codelab import safefiles
from codelab.mnistfiles import ARRAY_NAMES, DataError, check_arrays, notice


def cache_path(data_dir, dataset):
    """The decoded copy of `dataset` in data_dir."""
    return data_dir / f"mnistdata-cache-{dataset}.npz"


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

