"""The workers of a distributed run (stage 8.0): start them, tell each its part, watch them.

A distributed run is the same script running once per worker, each process told the
whole cluster (every worker's address) and which worker it is. TensorFlow reads that
from the environment variable TF_CONFIG:

    TF_CONFIG='{"cluster": {"worker": ["host1:2222", "host2:2222"]},
                "task": {"type": "worker", "index": 0}}'

Three ways to get there, all through cluster_resolver():
- `--workers N` (one machine, to see it): launch_if_asked() starts N copies of the
  script on 127.0.0.1, on free ports, each with its TF_CONFIG, and watches them; as
  many as the memory available holds (WORKER_MEMORY_GB each); on Linux in a network of
  their own that nothing outside can reach (privatenet.py);
- TF_CONFIG set by you on each machine (or by Kubernetes, one per pod), checked before
  TensorFlow loads (tfconfig.py);
- Slurm: `srun python3 mnist_8.0_distributed.py` sets SLURM_PROCID and the others, which
  TensorFlow's SlurmClusterResolver turns into the cluster.
Without any of these the script trains alone, as one worker.

join() makes the strategy once every worker has started (joining.py: it says whom it
waits for, gives up after --join-timeout seconds, and stops on Ctrl-C or SIGTERM).

run() wraps trainer.run on every worker: worker 0, the chief, prints, draws and writes
the user's files; the others train silently and keep their checkpoint copies in a
temporary folder removed at the end. Once per stretch of steps the workers agree on
when to stop (Ctrl-C, a closed window) and where the stretch ends, so that all of them
run the same collective operations in the same order: a worker that stopped alone
would leave the others waiting for it for ever.

--restore: every worker restores the chief's last checkpoint from --save-model DIR, so
on several machines DIR must be on a file system that they share.

Faults: a worker that dies makes the others' next all-reduce fail (the connection is
reset); run() turns that into one line naming the lost worker (the chief by its
coordination service), exit code 1. The launcher also sees the death, names the
worker, and ends any worker still running after GRACE_SECONDS; told to end itself
(SIGTERM, SIGHUP), it stops its workers as Ctrl-C does, waits STOP_GRACE_SECONDS, and
removes its scratch folder. No collective timeout is set: in TensorFlow 2.21 one leaks threads
at every step (see benchmarks/README.md); a machine that vanishes silently is detected
by the coordination service's heartbeats instead.
"""

import argparse
import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from codelab import joining
from codelab import privatenet
from codelab import runfolder
from codelab import signals
from codelab import tfconfig
import trainer

GRACE_SECONDS = 15  # after a worker is lost, the others get this long to stop by themselves
PORT_TRIES = 3  # a port taken between finding it and binding it: start again, this many times
EXIT_PORT_TAKEN = joining.EXIT_PORT_TAKEN  # a worker's port taken: the launcher starts again
SLURM_PORT_BASE = 8888  # Slurm: the tasks on one node listen on 8888, 8889, ...
LOCAL_HOST = "127.0.0.1"
# A worker's exit codes after Ctrl-C: it stopped, or (while TensorFlow connected the
# workers, when Ctrl-C has its default effect) it was ended by SIGINT.
STOPPED_BY_CTRL_C = (0, trainer.EXIT_CTRL_C, -signal.SIGINT)
LAUNCHED = "MNIST_LAUNCHED_WORKER"  # set in the environment of the workers that --workers starts
JOIN_TIMEOUT = 300  # default --join-timeout: seconds a worker waits for the others to join
MAX_JOIN_TIMEOUT = 7 * 24 * 3600
# Memory one worker takes, measured on full MNIST with --workers 2: 0.71 GB each (its
# proportional share, the libraries' pages counted once between the workers; the peak
# resident size, which counts them in full, was 1.09 GB).
WORKER_MEMORY_GB = 0.7
STOP_GRACE_SECONDS = 10  # the launcher told to end: its workers get this long to save and stop


# ---------------------------------------------------------------------------- flags

def add_flags(parser):
    """The flags of the distributed stage, besides every stage's flags."""
    parser.add_argument(
        "--workers", type=_worker_count, metavar="N",
        help="start N worker processes on this machine (127.0.0.1, in a network of their "
             "own where Linux allows it; about %.1f GB of memory each) and train with all "
             "of them; without it, the script is one worker of the cluster that TF_CONFIG "
             "or Slurm describes, or trains alone" % WORKER_MEMORY_GB)
    parser.add_argument(
        "--join-timeout", type=_join_seconds, default=JOIN_TIMEOUT, metavar="SECONDS",
        help=f"how long a worker waits for the other workers to start before it gives up "
             f"(default: {JOIN_TIMEOUT})")


def _join_seconds(text):
    return trainer.whole_number(1, MAX_JOIN_TIMEOUT)(text)


def _worker_count(text):
    count = trainer.whole_number(1, 100)(text)
    if 100 % count:
        raise argparse.ArgumentTypeError(
            f"the global batch of 100 images must split evenly between the workers: "
            f"choose 1, 2, 4, 5, 10, 20, 25, 50 or 100, not {count}")
    available = available_memory()
    if available is not None and count * WORKER_MEMORY_GB * 1e9 > available:
        fits = [n for n in (1, 2, 4, 5, 10, 20, 25, 50, 100)
                if n * WORKER_MEMORY_GB * 1e9 <= available]
        choose = (f"choose {', '.join(map(str, fits))}" if fits
                  else "close other programs first")
        raise argparse.ArgumentTypeError(
            f"{count} workers need about {count * WORKER_MEMORY_GB:.1f} GB of memory "
            f"({WORKER_MEMORY_GB} GB each) and this machine has {available / 1e9:.1f} GB "
            f"available: {choose}")
    return count


def available_memory():
    """Bytes of memory available for new programs now, or None where the system does
    not say (Linux: MemAvailable, which counts the caches that can be dropped)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:  # other Unix systems: free pages only (a low estimate)
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


# ------------------------------------------------------------------------- launcher

def launch_if_asked(args):
    """With --workers N: start the N workers, wait for them, exit with their verdict.
    Without it: return, and this process is a worker (TF_CONFIG checked first)."""
    if args.workers is None:
        try:
            cluster = tfconfig.cluster_from_environment()
        except tfconfig.ClusterError as error:
            print(f"error: TF_CONFIG: {error}", file=sys.stderr, flush=True)
            sys.exit(trainer.EXIT_ERROR)
        if os.environ.get(LAUNCHED):
            # The workers share the launcher's terminal: whole lines in one write each,
            # so that two workers' lines never run into one another.
            for stream in (sys.__stdout__, sys.__stderr__):
                stream.reconfigure(line_buffering=True, write_through=False)
        index = cluster[1] if cluster else os.environ.get("SLURM_PROCID", "0")
        if str(index) not in ("0", ""):  # not the chief: no progress lines
            sys.stdout = open(os.devnull, "w")
        return
    if os.environ.get(LAUNCHED):  # a worker that would launch workers: never
        print("error: --workers: this process is a worker started by --workers already",
              file=sys.stderr, flush=True)
        sys.exit(trainer.EXIT_ERROR)
    privatenet.enter()  # Linux: start again in a network of our own, if allowed
    available = available_memory()
    print(f"starting {args.workers} workers on {LOCAL_HOST}: about "
          f"{args.workers * WORKER_MEMORY_GB:.1f} GB of memory"
          + (f" of the {available / 1e9:.1f} GB available" if available else ""),
          file=sys.stderr, flush=True)
    for attempt in range(PORT_TRIES):
        code = _Launcher(args.workers).run()
        if code != EXIT_PORT_TAKEN:
            sys.exit(code)
        print("a port was taken before its worker could use it: starting again on others",
              file=sys.stderr, flush=True)
    print(f"error: --workers {args.workers}: {PORT_TRIES} tries found no free ports that "
          f"stayed free on {LOCAL_HOST}; is something taking ports as fast as they free up?",
          file=sys.stderr, flush=True)
    sys.exit(trainer.EXIT_ERROR)


def free_ports(count):
    """`count` ports that are free on 127.0.0.1 now (the system's choice: bind to port 0).
    Another program may take one before the worker binds it: launch() tries again."""
    sockets = []
    try:
        for _ in range(count):
            held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.bind((LOCAL_HOST, 0))
            sockets.append(held)
        return [held.getsockname()[1] for held in sockets]
    finally:
        for held in sockets:
            held.close()


def worker_command(argv):
    """This program's command line without --workers (which argparse also takes
    shortened, down to --w): what each worker runs."""
    command, skip = [], False
    for word in argv:
        name = word.split("=", 1)[0]
        if skip:
            skip = False
        elif len(name) >= 3 and "--workers".startswith(name):
            skip = "=" not in word
        else:
            command.append(word)
    return command


def tf_config(addresses, index):
    return json.dumps({"cluster": {"worker": addresses},
                       "task": {"type": "worker", "index": index}})


class _Launcher:
    """N local workers: started, their Ctrl-C passed on, their ends watched."""

    def __init__(self, count):
        self.count = count
        self.addresses = [f"{LOCAL_HOST}:{port}" for port in free_ports(count)]
        self.processes = []
        self.ctrl_c = False

    def run(self):
        command = [sys.executable, os.path.abspath(sys.argv[0]), *worker_command(sys.argv[1:])]
        endings = [number for number in (signal.SIGTERM, signal.SIGHUP)  # told to end,
                   if signal.getsignal(number) != signal.SIG_IGN]  # its terminal closed
        previous = {signal.SIGINT: signal.signal(signal.SIGINT, self._on_ctrl_c)}
        scratch = None
        try:
            # The workers' own temporary folders go in here: removed at the end even if
            # a worker was killed before it could remove its own.
            scratch = tempfile.mkdtemp(prefix="mnist-workers-")
            # SIGTERM and SIGHUP reach the workers as Ctrl-C (TensorFlow takes SIGTERM as a
            # notice of preemption): this file tells them which it was, for their stop line.
            reason = os.path.join(scratch, "stop-reason")
            previous.update((number, signal.signal(number, functools.partial(
                _end_launcher, reason))) for number in endings)
            for index in range(self.count):
                env = dict(os.environ, TF_CONFIG=tf_config(self.addresses, index),
                           TMPDIR=scratch, **{LAUNCHED: "1", signals.FORWARDED: reason})
                # TensorFlow's own log lines about a lost worker run to dozens of lines
                # each: the workers' and the launcher's messages say it in one.
                env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
                # Several workers on one GPU: TensorFlow would give nearly all of its
                # memory to the first; each takes what it uses instead.
                env.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
                # Each in a session of its own: the terminal's Ctrl-C reaches the launcher
                # only, which passes it on to each worker once.
                self.processes.append(subprocess.Popen(command, env=env,
                                                       start_new_session=True,
                                                       preexec_fn=_END_WITH_THE_LAUNCHER))
            return self._watch()
        except SystemExit:  # the launcher told to end (SIGTERM, SIGHUP): the workers too
            for number in endings:  # once is enough: a second one must not stop the ending
                signal.signal(number, signal.SIG_IGN)
            self._end_the_rest(clean=True)
            raise
        finally:
            for number in endings:
                signal.signal(number, signal.SIG_IGN)
            self._end_the_rest()
            if scratch:
                shutil.rmtree(scratch, ignore_errors=True)
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _on_ctrl_c(self, signal_number, frame):
        self.ctrl_c = True
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGINT)

    def _watch(self):
        """Wait for every worker; once one is lost, the others get GRACE_SECONDS."""
        lost, deadline = [], None
        while True:
            codes = [process.poll() for process in self.processes]
            if EXIT_PORT_TAKEN in codes:  # the launch starts again on other ports
                self._end_the_rest()
                return EXIT_PORT_TAKEN
            # Several found ended at once: one killed by a signal first, the cause (the
            # others then end with an error of their own: they lost it).
            ended = sorted(range(len(codes)), key=lambda index: (
                codes[index] is None or codes[index] >= 0, index))
            for index in ended:
                code = codes[index]
                if code is not None and code not in STOPPED_BY_CTRL_C and index not in lost:
                    lost.append(index)
                    if len(lost) == 1:
                        print(f"worker {index} of {self.count} ({self.addresses[index]}, pid "
                              f"{self.processes[index].pid}) {_how_it_ended(code)}: stopping "
                              f"the others", file=sys.stderr, flush=True)
                    deadline = deadline or time.monotonic() + GRACE_SECONDS
            if all(code is not None for code in codes):
                break
            if deadline and time.monotonic() > deadline:
                print(f"workers still running {GRACE_SECONDS} s after one was lost: ending "
                      f"them (SIGKILL)", file=sys.stderr, flush=True)
                self._end_the_rest()
                break
            time.sleep(0.1)
        codes = [process.wait() for process in self.processes]
        if all(code == 0 for code in codes):
            return 0
        if not lost and self.ctrl_c:
            return trainer.EXIT_CTRL_C
        return trainer.EXIT_ERROR

    def _end_the_rest(self, clean=False):
        """End each worker still running, by its own process id: at once with SIGKILL
        (TensorFlow takes SIGTERM as a notice of preemption and goes on), or, if `clean`,
        first as Ctrl-C would, waiting STOP_GRACE_SECONDS for them to save and stop
        together."""
        running = [process for process in self.processes if process.poll() is None]
        if clean:
            for process in running:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGINT)
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            for process in running:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=max(0.0, deadline - time.monotonic()))
        for process in running:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
                process.wait()


def _end_launcher(reason, signal_number, frame):
    """SIGTERM or SIGHUP to the launcher: it writes which (for the workers' stop line),
    then ends through run()'s finally, where the workers end too."""
    with contextlib.suppress(OSError):
        with open(reason, "w", encoding="ascii") as file:
            file.write(signal.Signals(signal_number).name)
    raise SystemExit(128 + signal_number)


def _end_with_the_launcher():
    """In a worker, before it starts (Linux): SIGKILL when the launcher dies, even by
    SIGKILL, so that no worker is left running without it."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


_END_WITH_THE_LAUNCHER = _end_with_the_launcher if sys.platform.startswith("linux") else None


def _how_it_ended(code):
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"ended with exit code {code}"


# --------------------------------------------------------------------- the cluster

def cluster_resolver():
    """Who the workers are and which one this process is: from TF_CONFIG (--workers, or
    set by you), else from Slurm's variables (srun), else None (one worker alone)."""
    import tensorflow as tf
    resolvers = tf.distribute.cluster_resolver
    if "TF_CONFIG" in os.environ:  # checked by launch_if_asked
        return resolvers.TFConfigClusterResolver()
    if "SLURM_PROCID" in os.environ and "SLURM_STEP_NUM_TASKS" in os.environ:
        return slurm_cluster_resolver(resolvers)
    return None


def slurm_cluster_resolver(resolvers, port_base=None):
    """TensorFlow's SlurmClusterResolver, made to work on nodes without GPUs too: it
    counts GPUs with nvidia-smi and gives each task a share of them, and with none it
    would place no task at all. Without GPUs each task gets a pretend share of one
    (CUDA_VISIBLE_DEVICES is left alone). MNIST_SLURM_PORT_BASE moves the ports."""
    port_base = port_base or int(os.environ.get("MNIST_SLURM_PORT_BASE", SLURM_PORT_BASE))
    if os.environ.get("CUDA_VISIBLE_DEVICES") or shutil.which("nvidia-smi"):
        return resolvers.SlurmClusterResolver(port_base=port_base)
    tasks = int(os.environ["SLURM_STEP_NUM_TASKS"])
    return resolvers.SlurmClusterResolver(port_base=port_base, gpus_per_node=tasks,
                                          gpus_per_task=1, auto_set_gpu=False)


def join(make_strategy, join_timeout):
    """make_strategy(cluster_resolver=...) once every worker of the cluster has started:
    the strategy of this worker (joining.py waits, says whom for, and gives up after
    `join_timeout` seconds). Without a cluster: make_strategy(), this worker alone."""
    resolver = cluster_resolver()
    if resolver is None:
        return make_strategy()
    addresses = resolver.cluster_spec().as_dict().get("worker", [])
    # The workers that --workers starts all start at once: only a long wait is news.
    notice_after = (joining.WAIT_REMINDER_SECONDS if os.environ.get(LAUNCHED)
                    else joining.WAIT_NOTICE_SECONDS)
    return joining.Joining(addresses, int(resolver.task_id or 0), join_timeout,
                           notice_after).strategy(make_strategy, resolver)


class Worker:
    """This process's place in the cluster."""

    def __init__(self, strategy):
        resolver = strategy.cluster_resolver
        spec = resolver.cluster_spec().as_dict() if resolver else {}
        addresses = spec.get("worker", [])
        self.count = max(1, len(addresses))
        self.index = int(resolver.task_id or 0) if addresses else 0
        self.addresses = addresses
        self.address = addresses[self.index] if addresses else "alone, no cluster"
        self.chief = self.index == 0
        self.strategy = strategy
        self.in_step = False  # once every worker has agreed on a first stretch: True

    def __str__(self):
        return f"worker {self.index} of {self.count}"


def start(strategy, batch_size):
    """Print this worker's start line; check that the batch splits between the replicas."""
    worker = Worker(strategy)
    print(f"{worker}: pid {os.getpid()}, {worker.address}", file=sys.__stdout__, flush=True)
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        _exit(f"the global batch of {batch_size} images does not split evenly between "
              f"{replicas} replicas: run with a number of workers that divides it")
    return worker


def _exit(message, code=trainer.EXIT_ERROR):
    joining.leave(message, code)


# ------------------------------------------------------------------------ training

def run(worker, args, mnist, **stage):
    """trainer.run on this worker, in step with the others (see the module docstring)."""
    import tensorflow as tf
    own_args = args if worker.chief else _as_a_silent_worker(args)
    stage["agree_on_stretch"] = _agreement(worker)
    try:
        with worker.strategy.scope():
            trainer.run(own_args, mnist, **stage)
        code = 0
    except SystemExit as exit_:  # trainer.run's own exit: an error message, or Ctrl-C
        code = exit_.code
    except (tf.errors.UnavailableError, tf.errors.CancelledError, tf.errors.AbortedError,
            tf.errors.DeadlineExceededError, tf.errors.InternalError) as error:
        if not worker.in_step:  # it stopped before training: its own message says why
            _exit(f"{worker}: {_lost_worker(error, worker)}, before training began (its "
                  f"own message says why). The run stops here")
        _exit(f"{worker}: {_lost_worker(error, worker)}. The run stops here; "
              f"{_how_to_go_on(args)}")
    finally:
        if own_args.save_model and not worker.chief:
            shutil.rmtree(own_args.save_model, ignore_errors=True)
    step = int(stage["optimizer"].iterations.numpy())
    print(f"{worker}: ended at step {step}, variables {fingerprint(stage['variables'])}",
          file=sys.__stdout__, flush=True)
    sys.exit(code)


def fingerprint(variables):
    """A short digest of the variables' exact values: equal on every worker."""
    digest = hashlib.sha256()
    for variable in variables:
        digest.update(variable.numpy().tobytes())
    return digest.hexdigest()[:16]


def _as_a_silent_worker(args):
    """The flags of a worker that is not the chief: no window and no files of the user's;
    its checkpoints go to a temporary folder (with a copy of the chief's for --restore)."""
    args = argparse.Namespace(**vars(args))
    args.headless, args.save_image, args.save_movie, args.logdir = True, None, None, None
    if args.save_model:
        copy = tempfile.mkdtemp(prefix="mnist-worker-")
        if args.restore:
            source = os.path.expanduser(args.save_model)
            shutil.copy2(os.path.join(source, runfolder.RUN_RECORD), copy)
            shutil.copytree(os.path.join(source, runfolder.CHECKPOINTS),
                            os.path.join(copy, runfolder.CHECKPOINTS))
        args.save_model, args.fresh = copy, False
    return args


def _agreement(worker):
    """agree_on_stretch(stop, end) for trainer.run: one small all-reduce per stretch of
    steps. Every worker gives whether it wants to stop and where it would end the
    stretch; all get back: stop if any wants to, and the earliest end."""
    import tensorflow as tf
    strategy = worker.strategy

    @tf.function(autograph=False)  # no Python control flow to convert
    def gather(wishes):
        def replica(wishes):
            # tf.identity places the function's input on this replica's device: all_reduce
            # needs one ("destinations can not be empty" without it).
            return tf.distribute.get_replica_context().all_reduce("SUM", tf.identity(wishes))
        return strategy.experimental_local_results(strategy.run(replica, args=(wishes,)))[0]

    def agree_on_stretch(stop, end):
        wishes = [0.0] * (worker.count + 1)  # [stop?, end of worker 0, end of worker 1...]
        wishes[0] = float(stop)
        wishes[1 + worker.index] = float(end)
        agreed = gather(tf.constant(wishes, tf.float64)).numpy()
        worker.in_step = True  # every worker got this far: training has begun
        return bool(agreed[0]), int(min(agreed[1:]))
    return agree_on_stretch


def _lost_worker(error, worker):
    """Which worker was lost, and how, from TensorFlow's message (which names the
    others by their task: "/job:worker/replica:0/task:1", and the chief, whose
    coordination service every worker calls on, by that service)."""
    message = str(error)
    lost = [int(index) for index in re.findall(r"/job:worker/(?:replica:\d+/)?task:(\d+)",
                                                message) if int(index) != worker.index]
    if not lost and "CoordinationService" in message and not worker.chief:
        lost = [0]
    why = ("it stopped answering heartbeats (frozen, or cut off)"
           if "heartbeat" in message.lower()
           else "its connection was reset" if "reset by peer" in message.lower()
           else next((line.strip() for line in reversed(message.splitlines())
                      if line.strip() and not line.startswith(" ")
                      and "{{node" not in line), type(error).__name__))
    if not lost:
        return f"lost contact with another worker ({why[:300]})"
    name = "worker 0, the chief" if lost[0] == 0 else f"worker {lost[0]}"
    addresses = worker.addresses
    where = f" ({addresses[lost[0]]})" if lost[0] < len(addresses) else ""
    return f"lost {name}{where}: {why[:300]}"


def _how_to_go_on(args):
    if args.save_model and runfolder.latest_checkpoint_step(args.save_model) is not None:
        step = runfolder.latest_checkpoint_step(args.save_model)
        return (f"its last checkpoint (step {step}) in {args.save_model} is good: go on with "
                f"the same command and --restore")
    if args.save_model:
        return (f"it had written no checkpoint yet (one every {trainer.CHECKPOINT_EVERY} "
                f"steps): start again with --fresh")
    return "start it again"
