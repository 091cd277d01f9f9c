"""Where the MNIST data is kept: the data folder, checked before anything is read.

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
"""

import os
import sys
from pathlib import Path

from codelab.mnistfiles import IDX_FILES, DataError


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

