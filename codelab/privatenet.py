"""A network of their own for the workers of stage 8.0's local demo (`--workers N`).

TensorFlow's servers listen on every network interface, and take commands from anyone
who connects: on a laptop in a classroom network, the whole room could. On Linux the
launcher runs itself again, with the same process id, through util-linux's `unshare`
in a new user and network namespace that holds only the loopback (127.0.0.1): its
workers listen there, and nothing outside this run can reach them. Where the system
does not allow it (no user namespaces, another system), the demo says so in one line
and goes on as before.
"""

import os
import shutil
import socket
import struct
import subprocess
import sys

INSIDE = "MNIST_PRIVATE_NETWORK"  # set in the environment once the launcher runs inside
UNSHARE_FLAGS = ["--user", "--map-root-user", "--net"]  # an unprivileged user may too


def enter():
    """Return inside a private network with its loopback up (running this program again
    there the first time), or, where that cannot be, at once after a line that says so."""
    if os.environ.get(INSIDE):
        _loopback_up()
        return
    problem, unshare = why_not()
    if problem:
        print(f"note: the workers' servers listen on every network interface of this "
              f"machine, without a password, while they run: {problem}",
              file=sys.stderr, flush=True)
        return
    sys.stdout.flush()
    sys.stderr.flush()
    command = [unshare, *UNSHARE_FLAGS, "--", sys.executable, *sys.orig_argv[1:]]
    os.execve(unshare, command, dict(os.environ, **{INSIDE: "1"}))


def why_not():
    """(None, path of unshare) if this system gives private networks; else (why not, None)."""
    if not sys.platform.startswith("linux"):
        return "only Linux gives them a network of their own", None
    unshare = shutil.which("unshare")
    if unshare is None:
        return "util-linux's unshare, which gives them a network of their own, is not " \
               "installed", None
    try:
        trial = subprocess.run([unshare, *UNSHARE_FLAGS, "true"], capture_output=True,
                               text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unshare did not run ({error})", None
    if trial.returncode:
        said = (trial.stderr.strip().splitlines() or ["no reason given"])[-1]
        return f"this system does not allow a private network ({said})", None
    return None, unshare


def _loopback_up():
    """Bring up the namespace's loopback, which starts down (ip link set lo up)."""
    import fcntl
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    layout = "16sH22x"  # struct ifreq: the interface's name, then its flags
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as handle:
            flags = struct.unpack(layout, fcntl.ioctl(handle, SIOCGIFFLAGS,
                                                      struct.pack(layout, b"lo", 0)))[1]
            fcntl.ioctl(handle, SIOCSIFFLAGS, struct.pack(layout, b"lo", flags | IFF_UP))
    except OSError as error:
        print(f"error: --workers: the loopback of the workers' private network does not "
              f"come up ({error.strerror or error}); unset {INSIDE} if you set it",
              file=sys.stderr, flush=True)
        sys.exit(1)
