"""Output files done safely: say before a long run why a path cannot be written,
and write so that an interruption never leaves half a file under the final name.

    from codelab import safefiles
    path = safefiles.check_writable(args.save_image, "--save-image")  # absolute Path, or PathError
    folder = safefiles.check_writable(args.logdir, "--logdir", folder=True)

    with safefiles.atomic_write(path, "wb") as file:     # a file object
        file.write(data)
    with safefiles.atomic_path(path) as temporary:       # a file name, for writers that
        figure.savefig(temporary)                        # want one (matplotlib, ffmpeg)
    with safefiles.replace_folder(model_dir) as temporary:
        tf.saved_model.save(module, str(temporary))      # a whole folder, swapped in at the end

    safefiles.remove_leftovers(path)  # temporaries that a killed process left beside `path`

    with safefiles.FolderLock(model_dir, "mnist_2.1... --save-model m"):  # one run at a time
        ...                                              # or FolderInUse, naming the other run

why_not_writable(path, folder=False) gives the reason as text (or None) for callers
that raise their own error type.

How the writes work: the new content goes to a hidden temporary beside the target
(same folder, so the final rename stays on one file system), named
`.NAME.<pid>-<random>.part` plus the target's extension (writers pick the format by
it). Only when the block ends without an error does it take the target's name, with
os.replace, which is atomic: readers see the old file or the new one, never a mix.
On an error or Ctrl-C the temporary is removed. A process that is killed outright
cannot clean up; remove_leftovers() does that later.
"""

import contextlib
import datetime
import os
import re
import secrets
import shutil
import socket
import sys
import time
from pathlib import Path

# A temporary is taken for a leftover once its writer is gone: when the process named
# in it is no longer running and the file has not changed for SETTLE_SECONDS (a pid
# seen from another machine or container says nothing), or in any case once it has not
# changed for ABANDONED_SECONDS (Windows, where we do not probe processes).
SETTLE_SECONDS = 60
ABANDONED_SECONDS = 3600
# Room that the temporary name takes beside the target's name: `.` NAME `.<pid>-<8 hex>.part`
# (the extension comes on top), with a pid of up to 7 digits (Linux's largest).
TEMPORARY_NAME_EXTRA = len(".") + len(".1234567-01234567.part")
NAME_MAX = 255  # bytes in a file name on the usual file systems (ext4, APFS, NTFS...)


class PathError(ValueError):
    """An output path cannot be used as asked; the message names the flag and the path."""


# ----------------------------------------------------------------------------
# Before writing: can we?


def why_not_writable(path, folder=False):
    """Why `path` cannot be written, as a short sentence naming the culprit, or None.

    folder=False: `path` is a file to create or replace; its folder must exist.
    folder=True: `path` is a folder to write into; missing folders are fine if they
    can be created.
    """
    if os.fspath(path) == "":
        return "the path is empty"
    path = _absolute(path)
    if folder:
        if os.path.lexists(path) and not path.is_dir():
            return f"{path} is {_what_it_is(path)}, not a folder"
        existing = path
        while not os.path.lexists(existing):
            existing = existing.parent
        if not existing.is_dir():
            return f"{path} cannot be created: {existing} is {_what_it_is(existing)}, not a folder"
        if not os.access(existing, os.W_OK | os.X_OK):
            return f"no permission to write in {existing}"
        return None
    if path.is_dir():
        return f"{path} is a folder; give a file name in it"
    if not path.parent.is_dir():
        if os.path.lexists(path.parent):
            return f"{path.parent} is {_what_it_is(path.parent)}, not a folder"
        return f"the folder {path.parent} does not exist; create it first"
    if os.path.lexists(path) and not path.is_file():
        return f"{path} is {_what_it_is(path)}, not a regular file"
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return f"no permission to write in {path.parent}"
    return _name_too_long(path)


def _name_too_long(path):
    """Why the temporary name that `path` is written under would be too long, or None."""
    try:
        limit = os.pathconf(path.parent, "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):  # Windows has no pathconf
        limit = NAME_MAX
    longest = len(os.fsencode(path.name)) + TEMPORARY_NAME_EXTRA + len(os.fsencode(path.suffix))
    if longest <= limit:
        return None
    return (f"the name {path.name!r} is too long: it is written under a temporary name "
            f"{TEMPORARY_NAME_EXTRA + len(os.fsencode(path.suffix))} bytes longer, and the file "
            f"system takes names of at most {limit} bytes; shorten it by "
            f"{longest - limit} bytes (characters beyond ASCII count 2 to 4)")


def check_writable(path, what, folder=False):
    """The absolute Path, or PathError('<what>: <why not>; choose another path').

    what: how the user named it, usually the flag ("--save-image").
    """
    problem = why_not_writable(path, folder)
    if problem:
        raise PathError(f"{what}: {with_remedy(problem, 'choose another path')}")
    return _absolute(path)


def with_remedy(problem, remedy):
    """why_not_writable's sentence, then `remedy`: as an alternative where the sentence
    offers one already ("...; create it first, or choose another path")."""
    return f"{problem}, or {remedy}" if "; " in problem else f"{problem}; {remedy}"


def _absolute(path):
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def _what_it_is(path):
    if os.path.islink(path) and not path.exists():
        return "a broken link"
    if path.is_file():
        return "a file"
    return "a folder" if path.is_dir() else "a special file"


# ----------------------------------------------------------------------------
# Writing


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary file name beside `path`; the file written there becomes `path`
    when the block ends without an error, and is removed otherwise."""
    path = Path(path)
    temporary = _sibling(path, "part")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        _remove(temporary)  # still there only if something failed


@contextlib.contextmanager
def atomic_write(path, mode="wb", **open_args):
    """Like open(path, mode) for writing ("w" or "wb"), but `path` changes only when the
    block ends without an error. open_args go to open() (encoding=..., newline=...)."""
    with atomic_path(path) as temporary:
        with open(temporary, mode, **open_args) as file:
            yield file


@contextlib.contextmanager
def replace_folder(path):
    """Yield a temporary folder name beside `path` (not created yet: the writer makes it).
    When the block ends without an error, that folder takes the place of `path` and the
    previous `path`, if any, is deleted; otherwise the temporary folder is deleted and
    `path` stays as it was. Raises PathError if `path` exists and is not a folder."""
    path = Path(path)
    if os.path.lexists(path) and not path.is_dir():
        raise PathError(f"{_absolute(path)} is {_what_it_is(path)}, not a folder; "
                        "move it away or choose another path")
    temporary = _sibling(path, "part")
    try:
        yield temporary
        old = _sibling(path, "old")
        had_old = os.path.lexists(path)
        if had_old:
            os.rename(path, old)
        try:
            os.rename(temporary, path)
        except OSError:
            if had_old:
                os.rename(old, path)  # put the previous one back
            raise
        if had_old:
            _remove(old)
    finally:
        _remove(temporary)


def _sibling(path, kind):
    """`.NAME.<pid>-<random>.<kind>[.ext]` beside `path` (kind: "part" or "old")."""
    extension = path.suffix if kind == "part" else ""
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.{kind}{extension}")


def _remove(path):
    """Delete a file or folder if it is there."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


# ----------------------------------------------------------------------------
# After a crash


def remove_leftovers(path):
    """Delete the temporaries that interrupted writes to `path` left beside it; return them.

    Only names this module makes are touched (and the `.NAME.xxxxxxxx.part` files of
    mnistdata's earlier writer), and only once their writer is gone (see SETTLE_SECONDS).
    A folder swap by replace_folder() that was cut short between its two renames left
    the previous folder as `.NAME.<pid>-<random>.old` and nothing at `path`: that folder
    is put back at `path`, not deleted.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return []
    pattern = re.compile(
        rf"\.{re.escape(path.name)}\.(?:(?P<pid>\d+)-[0-9a-f]{{8}}|[a-z0-9_]{{8}})"
        rf"\.(?P<kind>part|old)(?:{re.escape(path.suffix)})?")
    removed = []
    for entry in sorted(path.parent.iterdir()):
        match = pattern.fullmatch(entry.name)
        if not match:
            continue
        try:
            age = time.time() - entry.lstat().st_mtime
        except FileNotFoundError:
            continue  # its writer just finished with it
        if not _writer_is_gone(match["pid"], age):
            continue
        if match["kind"] == "old" and not os.path.lexists(path):
            os.rename(entry, path)  # the only copy: restore it
            continue
        _remove(entry)
        removed.append(entry)
    return removed


def _writer_is_gone(pid, age):
    if age > ABANDONED_SECONDS:
        return True
    if pid is None or age < SETTLE_SECONDS or sys.platform == "win32":
        return False  # on Windows, os.kill(pid, 0) would stop the process, not probe it
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists but belongs to someone else
    return False


# ----------------------------------------------------------------------------
# One writer at a time


class FolderInUse(PathError):
    """Another live process holds the folder's lock; the message names it."""


class FolderLock:
    """`folder`/.lock, held by one process at a time from acquire() to release() (or its
    end: the operating system drops the lock of a process that dies, so a crash leaves
    nothing that blocks the next run). The file says who holds it, for the message that
    a second process gets: FolderInUse, at once, without waiting."""

    NAME = ".lock"

    def __init__(self, folder, description):
        self.path = Path(folder) / self.NAME
        self.description = description  # what the holder is doing, for the others to read
        self._fd = None

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exception):
        self.release()

    def acquire(self):
        while self._fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if not _try_lock(fd):
                holder = _read_holder(fd)
                os.close(fd)
                error = FolderInUse(f"{self.path.parent} is in use by another run ({holder})")
                error.holder = holder
                raise error
            # A holder that was finishing may have removed the file after we opened it:
            # then our lock is on a file that no one else will see. Take the new one.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            started = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
            text = (f"pid {os.getpid()} on {socket.gethostname()}, started {started}: "
                    f"{self.description}")
            self._fd = fd
            try:
                os.lseek(fd, 0, os.SEEK_SET)
                os.ftruncate(fd, 0)
                os.write(fd, text.encode("utf-8", "backslashreplace"))
            except OSError:  # a full disk: no lock, and no empty file left behind
                self.release()
                raise

    def release(self):
        if self._fd is None:
            return
        # Removed while still held (POSIX), so that no one takes a lock on a file that is
        # about to go; Windows cannot remove an open file: there, after closing it.
        if sys.platform != "win32":
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        os.close(self._fd)
        self._fd = None
        if sys.platform == "win32":
            with contextlib.suppress(OSError):
                os.unlink(self.path)


def lock_holder(folder):
    """Who holds `folder`/.lock now (the text the holder wrote), or None: a quick look
    before a long start, without taking the lock."""
    try:
        fd = os.open(Path(folder) / FolderLock.NAME, os.O_RDWR)
    except OSError:
        return None
    try:
        if _try_lock(fd):
            return None  # released when fd closes
        return _read_holder(fd)
    finally:
        os.close(fd)


_LOCKED_BYTE = 1 << 20  # Windows locks a byte range: one far from the text, which stays readable


def _try_lock(fd):
    """Lock the open file `fd` for this process without waiting; False if another has it."""
    try:
        if sys.platform == "win32":
            import msvcrt
            os.lseek(fd, _LOCKED_BYTE, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _read_holder(fd, patience=2.0):
    """Who holds the lock, as the holder wrote it. A holder writes that line just after
    taking the lock: a file still empty is read again, for up to `patience` seconds."""
    give_up = time.monotonic() + patience
    while True:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 4096).decode("utf-8", "replace").strip()
        if text or time.monotonic() > give_up:
            return text or "starting"
        time.sleep(0.02)
