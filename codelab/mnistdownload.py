"""Downloading the IDX files from the dataset's mirrors (codelab/mnistsources.py lists
them): each file checked against its published checksum and written into the data
folder only once complete; a file already there is never replaced.
"""

import hashlib
import http.client
import sys
import urllib.request

from codelab import safefiles
from codelab.mnistfiles import IDX_FILES, DataError, idx_paths

DOWNLOAD_TIMEOUT = 30  # seconds without an answer before we try the next mirror


def download_missing(spec, data_dir):
    """Download the IDX files missing from data_dir; return the mirrors that served them."""
    ensure_writable(data_dir)
    present = idx_paths(data_dir)
    used = []
    for name in IDX_FILES:
        if name in present:
            continue  # never replace a file that is already there
        filename = name + ".gz"
        mirror = download_one(filename, spec["mirrors"], spec["checksums"][filename], data_dir)
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

