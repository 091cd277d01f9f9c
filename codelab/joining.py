"""One worker of stage 8.0 joining its cluster: it waits, says whom for, and gives up.

TensorFlow's own wait for the other workers (in MultiWorkerMirroredStrategy's
creation) says nothing, has no end, and holds Python's lock the whole time, so that
neither Ctrl-C nor SIGTERM can stop it. So each worker first waits here, in Python:
it holds its own port open, answering whoever calls with a greeting, and calls on the
others' ports until every one answers, either with that greeting (a worker waiting
here) or as a TensorFlow server does (a worker that has gone on). Meanwhile it says,
after WAIT_NOTICE_SECONDS, which worker it waits for at which address and why
("nothing listens there yet", "the host name ... does not resolve", "no answer"),
gives up after --join-timeout seconds, and stops at once on Ctrl-C, SIGTERM or SIGHUP.

Then TensorFlow connects the workers, which takes a second once all are there; a
watchman process bounds it (FORM_SECONDS) in case one stopped in that second, and a
Ctrl-C then ends the worker at once, as the system does by default.
"""

import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import trainer

EXIT_PORT_TAKEN = 3  # a worker's exit code when its port was taken before it could bind it
WAIT_NOTICE_SECONDS = 2  # a worker still waiting for others after this long says so ...
WAIT_REMINDER_SECONDS = 30  # ... and again every this many seconds
FORM_SECONDS = 60  # every worker answered: TensorFlow gets this long to connect them
GREETING = b"mnist-codelab worker waiting for the others\n"
# What a gRPC client sends first (HTTP/2's preface and an empty SETTINGS frame), to which
# a TensorFlow server answers with a frame of its own.
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
HTTP2_SETTINGS = 4  # the type of that frame: its 4th byte


class Joining:
    """This worker (`index` of `addresses`, "host:port" each) joining the others."""

    def __init__(self, addresses, index, timeout, notice_after=WAIT_NOTICE_SECONDS):
        self.addresses, self.index, self.timeout = addresses, index, timeout
        self.me = f"worker {index} of {len(addresses)}"
        self.deadline = time.monotonic() + timeout
        self.notice_after = notice_after

    def strategy(self, make_strategy, resolver):
        """make_strategy(cluster_resolver=resolver), once the others are there."""
        with self._stopped_by_signals():
            self._wait_for_the_others()
        return self._made_in_time(make_strategy, resolver)

    # ------------------------------------------------------------ waiting
    @contextlib.contextmanager
    def _stopped_by_signals(self):
        numbers = [getattr(signal, name) for name in trainer.STOP_SIGNALS
                   if hasattr(signal, name)]  # Windows has no SIGHUP
        # Not a signal that is ignored (nohup ignores SIGHUP).
        previous = {number: signal.getsignal(number) for number in numbers
                    if signal.getsignal(number) != signal.SIG_IGN}
        try:
            for number in previous:
                signal.signal(number, self._on_signal)
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _on_signal(self, number, frame):
        why, code = trainer.STOP_SIGNALS[signal.Signals(number).name]
        leave(f"{self.me}: stopped by {why} while waiting for the other workers", code,
              error=False)

    def _wait_for_the_others(self):
        others = [number for number in range(len(self.addresses)) if number != self.index]
        if not others:
            return
        with self._own_port_answering():
            notice = time.monotonic() + self.notice_after
            while True:
                missing = {number: why for number in others
                           if (why := not_answering(self.addresses[number]))}
                if not missing:
                    return
                now = time.monotonic()
                if now >= self.deadline:
                    number, why = next(iter(missing.items()))
                    leave(f"{self.me}: worker {number} at {self.addresses[number]} did not "
                          f"join within {self.timeout} s ({why}): start it, with index "
                          f"{number} in its TF_CONFIG, or correct its address; "
                          f"--join-timeout SECONDS waits longer")
                if now >= notice:
                    for number, why in missing.items():
                        print(f"{self.me}: waiting for worker {number} at "
                              f"{self.addresses[number]} ({why}); giving up in "
                              f"{self.deadline - now:.0f} s (--join-timeout)",
                              file=sys.stderr, flush=True)
                    notice = now + WAIT_REMINDER_SECONDS
                time.sleep(0.5)

    @contextlib.contextmanager
    def _own_port_answering(self):
        """This worker's port, held open and greeting whoever calls, meanwhile."""
        held = self._hold_own_port()
        if held is None:  # its address is not on this machine: TensorFlow will say so
            yield
            return
        done = threading.Event()

        def answer():
            while not done.is_set():
                with contextlib.suppress(OSError):
                    caller, _ = held.accept()
                    with caller:
                        caller.sendall(GREETING)
        held.settimeout(0.2)
        answering = threading.Thread(target=answer, name="greeting the others", daemon=True)
        answering.start()
        try:
            yield
        finally:
            done.set()
            answering.join()
            held.close()

    def _hold_own_port(self):
        host, port = host_and_port(self.addresses[self.index])
        for where in (host, ""):  # its own address, else every interface (behind NAT)
            try:
                family = socket.getaddrinfo(where or None, port, type=socket.SOCK_STREAM,
                                            flags=socket.AI_PASSIVE)[0][0]
                held = socket.socket(family, socket.SOCK_STREAM)
            except OSError:
                continue
            try:
                if os.name == "posix":  # a port in TIME_WAIT after a worker's restart is
                    # free to bind again (as TensorFlow's server does); one in use is not
                    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                held.bind((where, port))
                held.listen()
                return held
            except OSError as error:
                held.close()
                if error.errno == errno.EADDRINUSE:
                    self.port_taken()
        return None

    def port_taken(self):
        leave(f"worker {self.index} could not listen on {self.addresses[self.index]}: "
              f"another program (or another worker) is using that port; choose another "
              f"one for it", EXIT_PORT_TAKEN)

    # ------------------------------------------------------------ TensorFlow's part
    def _made_in_time(self, make_strategy, resolver):
        import tensorflow as tf
        seconds = max(1.0, min(FORM_SECONDS, self.deadline - time.monotonic()))
        watchman = self._watchman(seconds)
        # TensorFlow holds Python's lock until every worker is connected: no handler of
        # ours could run. Ctrl-C ends the worker at once, as by default.
        previous = signal.signal(signal.SIGINT, signal.SIG_DFL)
        try:
            return make_strategy(cluster_resolver=resolver)
        except tf.errors.UnknownError as error:
            if "Could not start gRPC server" not in str(error):
                raise
            self._dismiss(watchman)
            self.port_taken()
        finally:
            self._dismiss(watchman)
            signal.signal(signal.SIGINT, previous)
            # TensorFlow took SIGTERM as a notice of preemption meanwhile, which does not
            # stop the worker: the default again until training sets its own.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)

    @staticmethod
    def _dismiss(watchman):
        if watchman and watchman.poll() is None:
            watchman.kill()
            watchman.wait()

    def _watchman(self, seconds):
        """A process that ends this one, with a message, if it still waits in `seconds`."""
        message = (f"error: {self.me}: every worker answered, but TensorFlow did not "
                   f"connect them within {seconds:.0f} s (did one stop meanwhile, or start "
                   f"with another TF_CONFIG?): start them again")
        code = ("import os, sys, time\n"
                "time.sleep(float(sys.argv[1]))\n"
                "if os.getppid() == int(sys.argv[2]):\n"
                "    print(sys.argv[3], file=sys.stderr, flush=True)\n"
                "    os.kill(int(sys.argv[2]), 9)\n")
        with contextlib.suppress(OSError):
            return subprocess.Popen([sys.executable, "-c", code, str(seconds),
                                     str(os.getpid()), message], stdin=subprocess.DEVNULL)
        return None


def host_and_port(address):
    host, port = address.rsplit(":", 1)
    return host.strip("[]"), int(port)


def not_answering(address):
    """None if a worker answers at host:port (waiting, or gone on into TensorFlow),
    else why not, in words."""
    host, port = host_and_port(address)
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return f"the host name {host} does not resolve"
    try:
        with socket.create_connection((host, port), timeout=1) as call:
            call.settimeout(0.5)
            try:
                said = call.recv(64)  # a worker waiting here greets at once
            except socket.timeout:
                call.settimeout(1)
                call.sendall(HTTP2_PREFACE)
                said = call.recv(64)
            if said.startswith(GREETING[:8]):
                return None  # a worker, waiting here too
            if len(said) >= 9 and said[3] == HTTP2_SETTINGS:
                return None  # a TensorFlow server: a worker that has gone on
            return "something else listens there, not a worker of this stage"
    except ConnectionRefusedError:
        return "nothing listens there yet"
    except socket.timeout:
        return "no answer: is the address right, and can this machine reach it?"
    except OSError as error:
        return f"cannot reach it: {error.strerror or error}"


def leave(message, code=trainer.EXIT_ERROR, error=True):
    """Print the message and end this worker now. Not sys.exit: TensorFlow's shutdown
    would wait for the workers that are missing."""
    sys.stdout.flush()
    print(f"error: {message}" if error else message, file=sys.stderr, flush=True)
    os._exit(code)
