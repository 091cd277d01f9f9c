"""The one place where errors end a run: `error: <message>` on stderr and the documented exit code."""

import contextlib
import gc
import sys

import mnistdata
from codelab import safefiles
from codelab.signals import STOP_SIGNALS, StoppedAtOnce, StoppedBySignal

EXIT_ERROR = 1


class TrainingError(Exception):
    """Training cannot go on; the message says why and what to do."""


def known_errors():
    """The error types whose message is all a user needs: no traceback.
    (safefiles.PathError covers runfolder.RunFolderError and tensorflowvisu's
    OutputPathError.)"""
    return (mnistdata.DataError, TrainingError, safefiles.PathError)


@contextlib.contextmanager
def exit_on_error():
    """The one place where errors end the program: a known error's message after
    `error: `, exit code 1; Ctrl-C (outside training, or twice) exit code 130, SIGTERM
    or SIGHUP received twice 143 or 129.
    Any other exception is a bug, and keeps its traceback."""
    try:
        yield
    except StoppedBySignal as stop:
        sys.exit(stop.exit_code)
    except KeyboardInterrupt as stop:
        why, exit_code = (stop.why, stop.exit_code) if isinstance(stop, StoppedAtOnce) else \
            STOP_SIGNALS["SIGINT"]
        print(f"stopped by {why}", file=sys.stderr, flush=True)
        _exit_now(stop, exit_code)
    except Exception as error:
        if not isinstance(error, known_errors()):
            raise
        sys.stdout.flush()
        print(f"error: {error}", file=sys.stderr, flush=True)
        _exit_now(error, EXIT_ERROR)


def _exit_now(stop, exit_code):
    """sys.exit, once what the finished calls under the stop kept alive is collected,
    while Python can still run its clean-ups (stage 7.0: fit's reader of the batches,
    else TensorFlow's "Error occurred when finalizing GeneratorDataset iterator" at
    exit). The traceback holds their frames, each frame its caller's (even where Keras
    left them out of the traceback), and the frames their variables."""
    tb = stop.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        while frame is not None:
            with contextlib.suppress(RuntimeError):  # a frame still running is kept
                frame.clear()
            frame = frame.f_back
        tb = tb.tb_next
    gc.collect()
    sys.exit(exit_code)
