"""Ctrl-C, SIGTERM and SIGHUP while training: a clean stop first, at once the second time."""

import contextlib
import errno
import os
import signal
import stat
import threading

# A run stopped by a signal exits as the shell reports one: 128 + the signal's number.
EXIT_CTRL_C = 130  # Ctrl-C (SIGINT)
STOP_SIGNALS = {  # signal name: (what the stop line says, exit code)
    "SIGINT": ("Ctrl-C", EXIT_CTRL_C),
    "SIGTERM": ("SIGTERM", 143),  # kill, timeout, docker stop, a logout
    "SIGHUP": ("SIGHUP: the terminal was closed", 129),
}
# Stage 8.0's --workers: the launcher passes SIGTERM and SIGHUP on to its workers as
# Ctrl-C, and writes which signal it was into the file this variable names.
FORWARDED = "MNIST_STOP_REASON_FILE"


def forwarded_signal():
    """In a worker that --workers started: the name of the signal that stopped the
    launcher (a key of STOP_SIGNALS), or None."""
    try:
        with open(os.environ[FORWARDED], encoding="ascii") as file:
            name = file.read().strip()
    except (KeyError, OSError, UnicodeDecodeError):
        return None
    return name if name in STOP_SIGNALS else None


class StoppedBySignal(Exception):
    """Training stopped cleanly after Ctrl-C, SIGTERM or SIGHUP, everything said and
    saved: the exit code is the signal's (STOP_SIGNALS)."""

    def __init__(self, exit_code):
        super().__init__(exit_code)
        self.exit_code = exit_code


class StoppedAtOnce(KeyboardInterrupt):
    """A second Ctrl-C, SIGTERM or SIGHUP: stop now, without saving."""

    def __init__(self, signal_name):
        super().__init__(signal_name)
        self.why, self.exit_code = STOP_SIGNALS[signal_name]


class StopSignals:
    """Ctrl-C, SIGTERM (kill, timeout, docker stop) or SIGHUP (the terminal was closed)
    while training: the first one asks the loop to stop after the current stretch of
    steps (a clean stop, with everything saved); a second one, or one inside
    may_stop_at_once() (the dashboard is paused there), stops at once."""

    def __init__(self):
        self.stopped_by = None  # the name of the first signal: a key of STOP_SIGNALS
        self._at_once = False
        self._previous = {}  # signal number: its handler before ours

    @property
    def pressed(self):
        return self.stopped_by is not None

    @property
    def why(self):
        """What the stop line says stopped the run, or None. (A worker that --workers
        started gets Ctrl-C for the launcher's SIGTERM or SIGHUP, and says which.)"""
        if not self.pressed:
            return None
        name = (forwarded_signal() or self.stopped_by) if self.stopped_by == "SIGINT" \
            else self.stopped_by
        return STOP_SIGNALS[name][0]

    @property
    def exit_code(self):
        return STOP_SIGNALS[self.stopped_by][1] if self.pressed else None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for name in STOP_SIGNALS:
                number = getattr(signal, name, None)  # Windows has no SIGHUP
                previous = signal.getsignal(number) if number else None
                # Not when the signal is ignored (nohup ignores SIGHUP; a shell that runs
                # a job in the background, Ctrl-C) or was set up outside Python.
                if previous is None or previous == signal.SIG_IGN:
                    continue
                self._previous[number] = previous
                signal.signal(number, self._on_signal)
        return self

    def __exit__(self, *exception):
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous = {}

    def _on_signal(self, number, frame):
        name = signal.Signals(number).name
        at_once = self.pressed or self._at_once
        if not self.pressed:
            self.stopped_by = name
        if name == "SIGHUP":
            no_terminal_output()
        if at_once:
            raise StoppedAtOnce(name)

    @contextlib.contextmanager
    def may_stop_at_once(self):
        """A block where the network is as the current step left it: Ctrl-C stops at once."""
        self._at_once = True
        try:
            yield
        except KeyboardInterrupt:
            if not self.pressed:
                self.stopped_by = "SIGINT"
        finally:
            self._at_once = False


def say(line):
    """print(line), also when the terminal has just been closed: the line that meets the
    closed terminal (EIO) is dropped and the output sent nowhere from then on, so that
    training goes on to save itself. (SIGHUP comes with the closing, and its handler does
    the same, but a line can be on its way out before the handler runs; and where SIGHUP
    is ignored, as by `trap '' HUP`, the run goes on to the end.)"""
    try:
        print(line)
    except OSError as error:
        if error.errno != errno.EIO:
            raise
        no_terminal_output()


def no_terminal_output():
    """After SIGHUP the terminal is gone, and writing to it fails (EIO): send what would
    go there nowhere instead, so that the run goes on to save itself. Output redirected
    to a file or a pipe is kept. (A terminal that has hung up is no longer a tty for
    os.isatty; it is still a character device, as /dev/null is.)"""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            if stat.S_ISCHR(os.fstat(fd).st_mode):
                os.dup2(devnull, fd)
        os.close(devnull)
