"""Tests of safefiles: the "can I write here?" answers, atomic writes of files and
folders, and the clean-up after a process killed while writing. Real files in
temporary folders; a killed writer is a real process killed with SIGKILL."""

import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from codelab import safefiles

from helpers import REPO


def names(folder):
    return sorted(path.name for path in folder.iterdir())


# ----------------------------------------------------------------------------
# Can I write here?


def test_check_writable_returns_the_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert safefiles.check_writable("out.png", "--save-image") == tmp_path / "out.png"
    assert safefiles.check_writable("new/deeper", "--logdir", folder=True) == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checking creates nothing


@pytest.mark.parametrize("case,folder,problem", [
    ("empty", False, "the path is empty"),
    ("a-folder", False, "{tmp}/a-folder is a folder; give a file name in it"),
    ("no-folder/out.png", False, "the folder {tmp}/no-folder does not exist; create it first"),
    ("notes.txt/out.png", False, "{tmp}/notes.txt is a file, not a folder"),
    ("notes.txt", True, "{tmp}/notes.txt is a file, not a folder"),
    ("notes.txt/run/logs", True, "{tmp}/notes.txt/run/logs cannot be created: {tmp}/notes.txt is a "
                                 "file, not a folder"),
    ("broken-link", True, "{tmp}/broken-link is a broken link, not a folder"),
])
def test_check_writable_says_why_not(tmp_path, monkeypatch, case, folder, problem):
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "notes.txt").write_text("my notes")
    (tmp_path / "broken-link").symlink_to(tmp_path / "gone")
    monkeypatch.chdir(tmp_path)
    before = names(tmp_path)
    path = "" if case == "empty" else str(tmp_path / case)
    with pytest.raises(safefiles.PathError) as error:
        safefiles.check_writable(path, "--flag", folder=folder)
    remedy = ", or choose another path" if case in ("a-folder", "no-folder/out.png") \
        else "; choose another path"  # the first two offer a remedy of their own
    assert str(error.value) == f"--flag: {problem.format(tmp=tmp_path)}{remedy}"
    assert safefiles.why_not_writable(path, folder) == problem.format(tmp=tmp_path)
    assert names(tmp_path) == before and (tmp_path / "notes.txt").read_text() == "my notes"


def test_a_special_file_is_not_replaced():
    assert safefiles.why_not_writable("/dev/null") == "/dev/null is a special file, not a regular file"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root may write anywhere; needs POSIX permissions")
def test_a_read_only_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert safefiles.why_not_writable(locked / "out.png") == f"no permission to write in {locked}"
        assert (safefiles.why_not_writable(locked / "sub", folder=True)
                == f"no permission to write in {locked}")
    finally:
        locked.chmod(0o700)


# ----------------------------------------------------------------------------
# Atomic writes


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "results.txt"
    target.write_text("old results")
    with pytest.raises(RuntimeError):
        with safefiles.atomic_write(target, "w") as file:
            file.write("half of the new")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old results" and names(tmp_path) == ["results.txt"]

    with safefiles.atomic_write(target, "w", encoding="utf-8") as file:
        file.write("new results ✓")
        assert target.read_text() == "old results"  # not until the block ends
    assert target.read_text(encoding="utf-8") == "new results ✓" and names(tmp_path) == ["results.txt"]


def test_atomic_path_keeps_the_extension_for_writers_that_go_by_it(tmp_path):
    target = tmp_path / "digit.png"
    with safefiles.atomic_path(target) as temporary:
        assert temporary.parent == tmp_path and temporary.name.startswith(".digit.png.")
        assert temporary.suffix == ".png"
        Image.new("L", (4, 4)).save(temporary)  # Pillow picks PNG from the name
    assert Image.open(target).format == "PNG" and names(tmp_path) == ["digit.png"]


def test_atomic_path_onto_a_folder_fails_and_leaves_nothing(tmp_path):
    (tmp_path / "out.png").mkdir()
    with pytest.raises(OSError):
        with safefiles.atomic_path(tmp_path / "out.png") as temporary:
            Image.new("L", (4, 4)).save(temporary)
    assert names(tmp_path) == ["out.png"] and (tmp_path / "out.png").is_dir()


def write_model(folder, text):
    folder.mkdir()
    (folder / "saved_model.pb").write_text(text)


def test_replace_folder(tmp_path):
    target = tmp_path / "saved_model"
    with safefiles.replace_folder(target) as temporary:  # nothing there yet
        write_model(temporary, "first")
    assert (target / "saved_model.pb").read_text() == "first"

    with pytest.raises(RuntimeError):
        with safefiles.replace_folder(target) as temporary:
            write_model(temporary, "half")
            raise RuntimeError("interrupted")
    assert (target / "saved_model.pb").read_text() == "first" and names(tmp_path) == ["saved_model"]

    with safefiles.replace_folder(target) as temporary:
        write_model(temporary, "second")
    assert (target / "saved_model.pb").read_text() == "second" and names(tmp_path) == ["saved_model"]


def test_replace_folder_refuses_to_replace_a_file(tmp_path):
    (tmp_path / "saved_model").write_text("my notes")
    with pytest.raises(safefiles.PathError, match="saved_model is a file, not a folder"):
        with safefiles.replace_folder(tmp_path / "saved_model"):
            pytest.fail("the block must not run")
    assert (tmp_path / "saved_model").read_text() == "my notes" and names(tmp_path) == ["saved_model"]


# ----------------------------------------------------------------------------
# After a crash


def test_a_writer_killed_midway_leaves_a_leftover_that_is_removed_later(tmp_path, monkeypatch):
    target = tmp_path / "cache.npz"
    target.write_bytes(b"the previous, complete cache")
    writer = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom codelab import safefiles\n"
         "with safefiles.atomic_write(sys.argv[1]) as file:\n"
         "    file.write(b'half'); file.flush(); print('writing', flush=True); time.sleep(60)\n",
         str(target)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline() == "writing\n"
    (leftover,) = [path for path in tmp_path.iterdir() if path != target]
    assert safefiles.remove_leftovers(target) == []  # still being written
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    writer.stdout.close()
    assert target.read_bytes() == b"the previous, complete cache"

    assert safefiles.remove_leftovers(target) == []  # too recent to judge by its pid alone
    monkeypatch.setattr(safefiles, "SETTLE_SECONDS", 0)
    assert safefiles.remove_leftovers(target) == [leftover]
    assert names(tmp_path) == ["cache.npz"]


def test_old_leftovers_go_and_other_files_stay(tmp_path):
    target = tmp_path / "run.gif"
    two_hours_ago = time.time() - 7200
    leftover = tmp_path / f".run.gif.{os.getpid()}-0123abcd.part.gif"  # even with a live pid
    others = [tmp_path / ".run.gif.backup", tmp_path / "run.gif.1-0123abcd.part",
              tmp_path / ".run.gif.1-0123abcd.partial", tmp_path / ".other.gif.1-0123abcd.part.gif"]
    for path in [leftover, *others]:
        path.write_bytes(b"x")
        os.utime(path, (two_hours_ago, two_hours_ago))
    assert safefiles.remove_leftovers(target) == [leftover]
    assert sorted(tmp_path.iterdir()) == sorted(others)


def test_a_folder_swap_cut_short_is_undone(tmp_path):
    """Killed between replace_folder's two renames: the previous folder is the only copy."""
    target = tmp_path / "saved_model"
    an_hour_ago = time.time() - 7200
    old = tmp_path / ".saved_model.1-0123abcd.old"
    new = tmp_path / ".saved_model.1-4567cdef.part"
    write_model(old, "previous")
    write_model(new, "unfinished")
    for path in (old, new):
        os.utime(path, (an_hour_ago, an_hour_ago))
    assert safefiles.remove_leftovers(target) == [new]
    assert (target / "saved_model.pb").read_text() == "previous" and names(tmp_path) == ["saved_model"]


# ----------------------------------------------------------------------------
# Names that the temporary would make too long; one writer per folder


def test_a_name_whose_temporary_would_be_too_long_is_refused(tmp_path):
    longest = 255 - safefiles.TEMPORARY_NAME_EXTRA - len(".png")  # bytes
    fits = tmp_path / ("x" * (longest - len(".png")) + ".png")
    assert safefiles.why_not_writable(fits) is None
    with safefiles.atomic_write(fits) as file:  # the temporary's name fits too
        file.write(b"written")
    assert fits.read_bytes() == b"written"
    too_long = tmp_path / ("x" * (longest - len(".png") + 1) + ".png")
    problem = safefiles.why_not_writable(too_long)
    assert problem.startswith(f"the name '{too_long.name}' is too long") and "by 1 bytes" in problem
    accented = tmp_path / ("é" * 120 + ".png")  # 240 bytes in UTF-8, 124 characters
    assert "too long" in safefiles.why_not_writable(accented)


def hold_lock_in_another_process(folder):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom codelab import safefiles\n"
         "with safefiles.FolderLock(sys.argv[1], 'a run of mine'):\n"
         "    print('holding', flush=True); time.sleep(60)\n", str(folder)],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "holding\n"
    return holder


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_folder_lock_names_its_holder_and_a_dead_holder_blocks_no_one(tmp_path):
    holder = hold_lock_in_another_process(tmp_path)
    try:
        with pytest.raises(safefiles.FolderInUse) as error:
            safefiles.FolderLock(tmp_path, "mine").acquire()
        assert f"(pid {holder.pid} on " in str(error.value)
        assert str(error.value).endswith(": a run of mine)")
        assert safefiles.lock_holder(tmp_path).endswith(": a run of mine")
    finally:
        holder.send_signal(signal.SIGKILL)  # a crash: no clean-up ran
        holder.wait()
        holder.stdout.close()
    assert names(tmp_path) == [".lock"]
    assert safefiles.lock_holder(tmp_path) is None
    with safefiles.FolderLock(tmp_path, "mine"):  # taken over from the dead holder
        assert safefiles.lock_holder(tmp_path).startswith(f"pid {os.getpid()} on ")
    assert names(tmp_path) == []  # released: removed


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
def test_a_holder_that_has_not_yet_written_its_line_is_still_named(tmp_path):
    """Two runs started together: the second can find the lock taken and its file still
    empty, in the instant before the holder writes who it is. It waits for that line."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys, time\n"
         "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\n"
         "print('locked', flush=True); time.sleep(0.5)\n"
         "os.write(fd, b'pid 1 on elsewhere: the first run'); time.sleep(60)\n",
         str(tmp_path / safefiles.FolderLock.NAME)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(safefiles.FolderInUse) as error:
            safefiles.FolderLock(tmp_path, "mine").acquire()
        assert str(error.value).endswith("(pid 1 on elsewhere: the first run)")
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
