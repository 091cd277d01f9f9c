"""TensorFlow's messages, cut to what a learner needs: the notices its C++ code prints on
stderr, hidden, and the operating system's reason found in its long error messages.

    with tfmessages.stderr_lines_hidden(tfmessages.start_up_notices()):
        import tensorflow                   # no notices; and on a machine without GPU ...
        tensorflow.config.list_physical_devices()  # ... no CUDA lines
    with tfmessages.stderr_lines_hidden(tfmessages.FAILED_OPERATION_NOTICES):
        manager.save()                      # a full disk: no C++ warnings, only the error
    ...
    except (OSError, tf.errors.OpError) as error:
        raise MyError(f"cannot write ... ({tfmessages.reason(error)})")

trainer.py (the loop, TensorBoard, TensorFlow's start-up) and runfolder.py (checkpoints,
the exported network) use it; it imports neither, nor TensorFlow.
"""

import contextlib
import ctypes
import errno
import os
import re
import sys
import tempfile

# What TensorFlow 2.21 prints on stderr while it loads, whatever TF_CPP_MIN_LOG_LEVEL
# says: a notice (INFO) that its C++ code logs before reading that setting, through absl,
# which first announces that it is not set up yet. Twice each: two of TensorFlow's
# libraries carry a copy of absl. Hidden, like the other notices, unless the level is 0.
START_UP_NOTICES = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|I\d{4} [\d:. ]+\d+ port\.cc:\d+\] oneDNN custom operations are on\.")

# What the full `tensorflow` package (built for NVIDIA GPUs; tensorflow-cpu is not) adds on a
# machine without an NVIDIA driver, also whatever TF_CPP_MIN_LOG_LEVEL says: while it loads,
# that it found no CUDA runtime library ("Could not find cuda drivers", a notice, twice), and
# when it first looks for devices, an error from the driver library that is not there
# (cuInit). Hidden only where that library is missing (no_nvidia_driver()): beside a GPU the
# same lines are the GPU's real errors, for example a driver without the CUDA libraries
# (pip install "tensorflow[and-cuda]", INSTALL.txt "GPU").
NO_GPU_NOTICES = re.compile(
    r"I\d{4} [\d:. ]+\d+ cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine"
    r"|E\d{4} [\d:. ]+\d+ cuda_\w+\.cc:\d+\] failed call to cuInit: ")

# What TensorFlow's C++ code logs when an operation fails (a checkpoint or a summary on a
# full disk), before the Python error that we turn into one line: two warnings, each
# followed by lines of detail that start with a tab.
FAILED_OPERATION_NOTICES = re.compile(
    r"[WE]\d{4} [\d:. ]+\d+ (op_kernel|local_rendezvous)\.cc:\d+\]")


def start_up_notices():
    """What to hide while TensorFlow loads and finds its devices: START_UP_NOTICES, and
    NO_GPU_NOTICES too where no NVIDIA driver is installed."""
    if not no_nvidia_driver():
        return START_UP_NOTICES
    return re.compile(f"{START_UP_NOTICES.pattern}|{NO_GPU_NOTICES.pattern}")


def no_nvidia_driver():
    """True where NVIDIA's driver library, which comes with the driver of an NVIDIA GPU
    (Linux, WSL), cannot be loaded: TensorFlow then has no GPU to use or to report on.
    False where it loads, and on other systems (TensorFlow uses CUDA only on Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        ctypes.CDLL("libcuda.so.1")  # the name TensorFlow loads, on the same library path
    except OSError:
        return True
    return False


@contextlib.contextmanager
def stderr_lines_hidden(pattern):
    """Catch what is written to file descriptor 2 (stderr, where C++ code writes) inside
    the block; afterwards write it on, but for the lines `pattern` matches (and the
    tab-indented lines that follow them)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        caught = tempfile.TemporaryFile()
    except (AttributeError, OSError, ValueError):  # no stderr, not a real file, no space
        yield
        return
    with caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            _write_on(caught.read().decode(errors="replace"), pattern)


def _write_on(text, pattern):
    """Write `text` to stderr but for the lines `pattern` matches and their tab-indented
    details."""
    others, hiding = [], False
    for line in text.splitlines(keepends=True):
        hiding = bool(pattern.match(line)) or (hiding and line.startswith("\t"))
        if not hiding:
            others.append(line)
    if others:
        sys.stderr.write("".join(others))
        sys.stderr.flush()


def reason(error):
    """The operating system's words for why a write failed ("No space left on device"),
    from an OSError or from TensorFlow's long messages; else their first line."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(error)
    for number in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.ENOENT,
                   errno.ENAMETOOLONG, errno.EIO):
        if os.strerror(number) in text:
            return os.strerror(number)
    first = text.strip().splitlines()[0] if text.strip() else ""
    return re.sub(r"\{\{function_node [^}]*\}\}\s*", "", first)[:200] or type(error).__name__
