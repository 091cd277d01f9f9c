"""Plumbing shared by the stage scripts, written once so that the scripts stay lessons.

The contract. A stage script reads top to bottom and calls this module four times:

    import trainer
    ITERATIONS = 10000                                  # ... the settings
    args = trainer.parse_args(__doc__, ITERATIONS)      # the flags (-h lists them)
    mnist = trainer.read_data(args)                     # the images and labels
    trainer.load_tensorflow()                           # TensorFlow: CPU options, quiet
    import tensorflow as tf
    import keras
    keras.utils.set_random_seed(args.seed)
    ...                                                 # variables, model, loss, optimiser
    trainer.run(args, mnist, model=model, ...)          # train, show, save

A stage that trains on batches other than BATCH_SIZE images says so once:
parse_args(__doc__, ITERATIONS, batch_size=256) (stage 5.0).

The flags are read before TensorFlow loads, which takes seconds: -h and a mistyped flag
answer at once. This module imports TensorFlow only in load_tensorflow() and run().

What run() takes from the stage:
    model(X) -> (Ylogits, Y, ...)   the network at test time (no dropout); exported by
                                    --save-model as a SavedModel for predict.py
    loss_and_accuracy(X, Y_) -> (Y, loss, accuracy)
                                    figures without training, a plain function: run()
                                    compiles it (tf.function) for any number of images
    training_step(X, Y_, step) -> loss
                                    one optimiser step, a tf.function (step: float32)
    variables                       every variable of the network: checkpointed, exported
    optimizer                       a Keras optimiser: its state is checkpointed, its
                                    learning_rate is printed in the progress lines
    train_every, test_every         steps between training figures, between test figures
    drawn_test_every                (optional) when the curves are drawn or saved, a test
                                    figure every drawn_test_every steps during the first
                                    test_every steps, where the curves climb fastest
                                    (default: at every training figure)
    histograms                      dashboard panels 4 and 5: weights_and_biases(...), or
                                    Histograms(...) to show something else (activations)
    seed_generator                  (stages with dropout) the keras.random.SeedGenerator
                                    that dropout draws from: checkpointed
    agree_on_stretch                (distributed runs: workers.py) called by every worker
                                    before each stretch of steps with whether it wants to
                                    stop and the step where it would end the stretch;
                                    returns (stop, end) as the workers agreed them, so that
                                    all of them run the same steps and stop at the same one

What run() does: the training loop (batches, progress and test lines, the live dashboard
or a headless run, a clear stop when the loss turns into NaN), Ctrl-C, SIGTERM, SIGHUP and
a closed window (a clean stop: saved, summed up), --save-model DIR (one run at a time,
checkpoints, resumed with --restore, and the SavedModel, saved before the dashboard's
files: the folder is runfolder.py's), --logdir DIR (TensorBoard summaries).

Errors: the modules raise typed errors (mnistdata.DataError, TrainingError,
safefiles.PathError and its kinds runfolder.RunFolderError and
tensorflowvisu.OutputPathError). read_data(), load_tensorflow() and
run() hand them to _exit_on_error(), the one place where they end the program:
`error: <message>` on stderr, exit code 1 (130, 143, 129 after Ctrl-C, SIGTERM, SIGHUP).
A mistyped flag is argparse's: the usage, then the error, exit code 2.
"""

import argparse
import contextlib
import errno
import functools
import inspect
import math
import os
import re
import shutil
import signal
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple, Optional

import numpy as np

from codelab import hints
from codelab import installed
import mnistdata
from codelab import runfolder
from codelab import safefiles
from codelab import tfmessages

BATCH_SIZE = 100  # images per training step, unless the stage gives parse_args its own
TEST_CHUNK = 2000  # test images evaluated per call: bounds memory on the conv stages
CHECKPOINT_EVERY = 1000  # steps between checkpoints with --save-model
MAX_STRETCH_SECONDS = 0.25  # with a window: the longest training without answering it
MAX_SEED = 2**32 - 1  # numpy's seeds, which keras.utils.set_random_seed sets too, stop here

MAX_ITERATIONS = 10**15  # --iterations above this is a typo: 30 years at a million steps/s

EXIT_ERROR = 1
# A run stopped by a signal exits as the shell reports one: 128 + the signal's number.
EXIT_CTRL_C = 130  # Ctrl-C (SIGINT)
STOP_SIGNALS = {  # signal name: (what the stop line says, exit code)
    "SIGINT": ("Ctrl-C", EXIT_CTRL_C),
    "SIGTERM": ("SIGTERM", 143),  # kill, timeout, docker stop, a logout
    "SIGHUP": ("SIGHUP: the terminal was closed", 129),
}


class TrainingError(Exception):
    """Training cannot go on; the message says why and what to do."""


class _StoppedBySignal(Exception):
    """Training stopped cleanly after Ctrl-C, SIGTERM or SIGHUP, everything said and
    saved: the exit code is the signal's (STOP_SIGNALS)."""

    def __init__(self, exit_code):
        super().__init__(exit_code)
        self.exit_code = exit_code


class _StoppedAtOnce(KeyboardInterrupt):
    """A second Ctrl-C, SIGTERM or SIGHUP: stop now, without saving."""

    def __init__(self, signal_name):
        super().__init__(signal_name)
        self.why, self.exit_code = STOP_SIGNALS[signal_name]


# ---------------------------------------------------------------------------- flags

def _whole_number(minimum, maximum=None):
    """An argparse type: a whole number from `minimum` to `maximum`."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {value}")
        return value
    return parse


def make_parser(description, iterations, prog=None, batch_size=BATCH_SIZE, add_flags=None):
    """The flags every stage script takes; `iterations` is the stage's own budget;
    add_flags(parser), if given, adds a stage's own (stage 8.0: --workers)."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=_whole_number(1, MAX_ITERATIONS), default=iterations,
                        metavar="N",
                        help=f"training steps of {batch_size} images (default: {iterations})")
    parser.add_argument("--headless", action="store_true",
                        help="no window: train with text output only (automatic without a display)")
    parser.add_argument("--seed", type=_whole_number(0, MAX_SEED), default=0, metavar="S",
                        help="random seed, 0 to 2**32-1; the same seed prints the same numbers "
                             "on CPU (default: 0)")
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="where the MNIST files are, or are downloaded to "
                             "(default: $MNIST_DATA_DIR, else a per-user cache folder)")
    parser.add_argument("--dataset", choices=["mnist", "fashion"], default="mnist",
                        help="digits (mnist, the default) or clothes (fashion): same format")
    parser.add_argument("--save-image", metavar="PATH",
                        help="save the final dashboard as a PNG image")
    parser.add_argument("--save-movie", metavar="PATH",
                        help="record the dashboard as a movie: .mp4 (needs ffmpeg) or .gif")
    parser.add_argument("--save-model", metavar="DIR",
                        help=f"keep the run in DIR: checkpoints while training (DIR/{runfolder.CHECKPOINTS}), "
                             f"the trained network for predict.py (DIR/{runfolder.SAVED_MODEL}) and which "
                             f"stage wrote them (DIR/{runfolder.RUN_RECORD}); a folder that holds a run "
                             "needs --restore or --fresh")
    parser.add_argument("--restore", action="store_true",
                        help="go on with the run in --save-model DIR from its latest checkpoint: "
                             "the same batches and best accuracy as without a break; give a "
                             "larger --iterations to train further")
    parser.add_argument("--fresh", action="store_true",
                        help="start over in --save-model DIR: the run already there is kept, "
                             "moved to DIR/previous-1 (then -2, ...)")
    parser.add_argument("--logdir", metavar="DIR",
                        help="write TensorBoard summaries to DIR (view: tensorboard --logdir DIR)")
    if add_flags:
        add_flags(parser)
    return parser


def parse_args(description, iterations, argv=None, prog=None, batch_size=BATCH_SIZE,
               add_flags=None):
    """Read the flags and check them, before TensorFlow loads: every output path is
    checked here, so that a mistake costs a second and not a run. Nothing else.

    The returned namespace also holds `stage`: the script's file name, which
    --save-model folders record, `batch_size`: images per training step, and
    `command`: the script and its flags, which another run into the same
    --save-model folder is told. Paths have `~` expanded.
    """
    _never_fail_on_encoding()
    parser = make_parser(description, iterations, prog, batch_size, add_flags)
    args = parser.parse_args(argv)
    args.stage = parser.prog
    args.batch_size = batch_size
    args.command = " ".join([parser.prog, *(sys.argv[1:] if argv is None else argv)])
    for flag in PATH_FLAGS:  # ~ is the home folder, wherever it is written and on Windows too
        if getattr(args, flag):
            setattr(args, flag, os.path.expanduser(getattr(args, flag)))
    problem = _flags_problem(args)
    if problem:
        parser.error(problem)
    return args


PATH_FLAGS = ("data_dir", "save_image", "save_movie", "save_model", "logdir")


def _never_fail_on_encoding():
    """Print what the terminal cannot show as escapes (a path in another alphabet with
    PYTHONIOENCODING=ascii, or a Windows console's code page) rather than crash on it."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):  # not in Jupyter, IDLE or Spyder: they take any text
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(errors="backslashreplace")


def _flags_problem(args):
    """What is wrong with the flags together, or with the paths they name, or None."""
    if args.restore and args.fresh:
        return "--restore goes on with a run and --fresh starts over: choose one"
    for flag in ("restore", "fresh"):
        if getattr(args, flag) and not args.save_model:
            return f"--{flag} needs --save-model DIR: the folder of the run"
    for flag in ("save_model", "logdir"):
        problem = _not_utf8(getattr(args, flag), "--" + flag.replace("_", "-"))
        if problem:
            return problem
    if args.save_image is not None or args.save_movie is not None:
        import tensorflowvisu  # here, not at the top: matplotlib takes a second to load
        try:
            if args.save_image is not None:
                tensorflowvisu.check_image_path(args.save_image, "--save-image")
                problem = _image_format_problem(args.save_image)
                if problem:
                    return problem
            if args.save_movie is not None:
                tensorflowvisu.check_movie_path(args.save_movie, "--save-movie")
        except tensorflowvisu.OutputPathError as error:
            return str(error)
    if args.logdir is not None:
        if not _tensorboard_installed():
            return ("--logdir needs TensorBoard, which is not installed: pip install "
                    "tensorboard (then view the logs with: tensorboard --logdir DIR)")
        problem = safefiles.why_not_writable(args.logdir, folder=True)
        if problem:
            return f"--logdir {args.logdir}: {problem}; choose another folder"
    if args.save_model is not None:
        try:
            runfolder.check(args)  # checked again when the run claims the folder
        except runfolder.RunFolderError as error:
            return str(error)
    return None


def _not_utf8(path, flag):
    """TensorFlow takes file names as UTF-8: why `path` cannot be one, or None."""
    if path is None or sys.platform == "win32":
        return None
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        return (f"{flag} {path!r}: the path holds bytes that are not UTF-8 text, and "
                f"TensorFlow writes only to UTF-8 paths; rename the folder or choose another")
    return None


def _image_format_problem(path):
    """Why matplotlib could not write `path` at the end of the run on this machine, or None:
    .pgf needs LaTeX (rcParams["pgf.texsystem"], xelatex by default)."""
    extension = os.path.splitext(path)[1].lower().lstrip(".")
    if extension != "pgf":
        return None
    import matplotlib
    program = matplotlib.rcParams["pgf.texsystem"]
    if shutil.which(program):
        return None
    return (f"--save-image {path}: matplotlib writes .pgf with LaTeX ({program}), which is not "
            f"installed; name the picture .png, .svg or .pdf, or install LaTeX")


def _tensorboard_installed():
    try:
        import tensorboard  # noqa: F401  (tf.summary writes through it)
    except ImportError:
        return False
    return True


# ----------------------------------------------------------- data, TensorFlow, errors

def read_data(args):
    """The training and test sets that --data-dir and --dataset name, shuffled by --seed:
    images [N, 28, 28, 1] with grey levels in [0, 1], labels one-hot [N, 10]
    (mnistdata.py finds, checks and decodes the files)."""
    with _exit_on_error():
        mnist = mnistdata.read_data_sets(args.data_dir, one_hot=True, reshape=False,
                                         dataset=args.dataset, seed=args.seed)
        count = mnist.train.num_examples
        if count < args.batch_size:
            raise mnistdata.DataError(
                f"the training set has {count} images, fewer than one batch of "
                f"{args.batch_size} that {args.stage} trains on: give --data-dir a folder "
                f"with at least {args.batch_size} training images (MNIST has 60,000)")
        return mnist


def load_tensorflow():
    """Import TensorFlow with our CPU options, and without its start-up notices.

    TensorFlow reads its options once, when it loads: call this before the stage's
    `import tensorflow`, which then finds it loaded. If TensorFlow is loaded already
    (a second run in the same notebook), its options stay as they were.
    """
    with _exit_on_error():
        import_tensorflow()


def import_tensorflow():
    """load_tensorflow() without the exit: raises TrainingError if TensorFlow cannot be
    imported. For programs with their own exit point (predict.py)."""
    if "tensorflow" in sys.modules:
        return
    problem = installed.tensorflow_problem()  # two TensorFlows, or too old: before loading
    if problem:
        raise TrainingError(problem)
    # oneDNN's CPU kernels train these networks faster than TensorFlow's default ones
    # (benchmarks/README.md, "Speed of the training loop"), but TensorFlow turns them on
    # only for CPUs with AI instructions (AVX512_VNNI, AMX...). Set
    # TF_ENABLE_ONEDNN_OPTS=0 yourself to compare.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    # TensorFlow's warnings and errors only, unless you ask for more (0: its notices too).
    level = os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    notices = contextlib.nullcontext() if level in ("", "0") else _start_up_notices_hidden()
    try:
        with notices:
            import tensorflow
            tensorflow.config.list_physical_devices()  # CUDA starts, or fails, in here
    except Exception as error:  # ImportError, SystemError (NumPy), TensorFlow's own
        raise TrainingError(installed.why_not_loaded(error)) from None


def _start_up_notices_hidden():
    return tfmessages.stderr_lines_hidden(tfmessages.start_up_notices())


def _known_errors():
    """The error types whose message is all a user needs: no traceback.
    (safefiles.PathError covers runfolder.RunFolderError and tensorflowvisu's
    OutputPathError.)"""
    return (mnistdata.DataError, TrainingError, safefiles.PathError)


@contextlib.contextmanager
def _exit_on_error():
    """The one place where errors end the program: a known error's message after
    `error: `, exit code 1; Ctrl-C (outside training, or twice) exit code 130, SIGTERM
    or SIGHUP received twice 143 or 129.
    Any other exception is a bug, and keeps its traceback."""
    try:
        yield
    except _StoppedBySignal as stop:
        sys.exit(stop.exit_code)
    except KeyboardInterrupt as stop:
        why, exit_code = (stop.why, stop.exit_code) if isinstance(stop, _StoppedAtOnce) else \
            STOP_SIGNALS["SIGINT"]
        print(f"stopped by {why}", file=sys.stderr, flush=True)
        sys.exit(exit_code)
    except Exception as error:
        if not isinstance(error, _known_errors()):
            raise
        sys.stdout.flush()
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(EXIT_ERROR)


# ----------------------------------------------------------------------- the run

class Histograms(NamedTuple):
    """What dashboard panels 4 and 5 show, as percentile bands over the steps."""
    values: Callable  # values(X), X the training batch -> (values of panel 4, of panel 5)
    title4: str = "Weights"
    title5: str = "Biases"


def weights_and_biases(weights, biases):
    """Panels 4 and 5 as in the original codelab: every weight, every bias."""
    def values(X):
        return (np.concatenate([w.numpy().ravel() for w in weights]),
                np.concatenate([b.numpy().ravel() for b in biases]))
    return Histograms(values)


class Stage(NamedTuple):
    """What a stage hands the training loop, in one object (trainer.run() makes it from
    its arguments; the module docstring says what each is)."""
    model: Callable
    loss_and_accuracy: Callable
    training_step: Callable
    variables: list
    optimizer: Any
    histograms: Histograms
    train_every: int = 20
    test_every: int = 100
    drawn_test_every: Optional[int] = None
    seed_generator: Any = None
    agree_on_stretch: Optional[Callable] = None


def run(args, mnist, *, model, loss_and_accuracy, training_step, variables, optimizer,
        train_every=20, test_every=100, drawn_test_every=None, histograms,
        seed_generator=None, agree_on_stretch=None):
    """Train the stage (see the module docstring for what each argument is), feeding the
    dashboard and printing the progress. Returns the maximum test accuracy.

    A known error ends the program with its message (exit code 1); Ctrl-C, SIGTERM and
    SIGHUP stop the training cleanly, as the end of the run would, then end it with
    exit code 130, 143 or 129.
    """
    stage = Stage(model, loss_and_accuracy, training_step, list(variables), optimizer,
                  histograms, train_every, test_every, drawn_test_every, seed_generator,
                  agree_on_stretch)
    with _exit_on_error(), runfolder.claimed(args), _stage_functions_named(model):
        if args.save_model:
            runfolder.check_resume_is_exact(training_step, variables, optimizer,
                                            seed_generator, mnist.train, args.batch_size)
        max_accuracy, stop_exit_code = train(args, mnist, stage)
        if stop_exit_code is not None:
            raise _StoppedBySignal(stop_exit_code)
        return max_accuracy


_MISFIT_CALL = re.compile(r"(?:tf__)?(\w+)\(\) (takes .*? given|got an unexpected keyword "
                          r"argument '\w+'|missing \d+ required .*?argument.*?: [^\n]*)")
_USER_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\w+)[ *]*\n\s*(.*)')


@contextlib.contextmanager
def _stage_functions_named(model):
    """A stage's function called with arguments its definition does not take (model(X,
    training) where the stage still says def model(X)) fails while TensorFlow traces it,
    with a TypeError that names autograph's copy of the function. Say instead which
    function of the stage, defined where and how, was called where and how."""
    try:
        yield
    except TypeError as error:
        message = str(error)
        misfit = _MISFIT_CALL.search(message)
        model = getattr(model, "python_function", model)
        function = None
        if misfit:  # the stage's function of that name (the model may be called so)
            function = model.__globals__.get(misfit.group(1))
            function = model if function is None and model.__name__ == misfit.group(1) else function
        function = getattr(function, "python_function", function)
        if not callable(function) or not hasattr(function, "__code__"):
            raise
        name, code = misfit.group(1), function.__code__
        definition = f"def {name}{inspect.signature(function)}"
        callers = _USER_FRAME.findall(message)
        where = ""
        if callers:
            path, line, caller, source = callers[-1]
            where = f" by {caller}() ({Path(path).name}, line {line}: {source.strip()})"
        raise TrainingError(
            f"{name}() was called{where} with arguments its definition does not take: "
            f"{name}() {misfit.group(2)}. It is defined as `{definition}` "
            f"({Path(code.co_filename).name}, line {code.co_firstlineno}). Give the "
            f"definition the arguments its callers pass (a stage with dropout: "
            f"def model(X, training=False), as in stage 2.2), or call it as it is defined."
        ) from None


def train(args, mnist, stage):
    """The training loop, on one page. Each turn: this step's figures, if it has any (the
    progress lines, the dashboard's data); the dashboard draws if due, and answers
    whether to go on; then every step up to the next one with figures, trained in one
    call; a checkpoint when one is due. It ends at the last step, at Ctrl-C (or SIGTERM,
    SIGHUP) or when the window is closed: the network is saved first, then the
    dashboard's files, then the summary. Returns (max test accuracy, the exit code of
    the signal that stopped it, or None)."""
    run = _Run(args, mnist, stage)  # restored, logs and dashboard open: all before step 1
    if run.finished_already:
        return run.max_accuracy, None
    step = run.first_step
    stop = _CtrlC()  # Ctrl-C, SIGTERM, SIGHUP: stop cleanly after the current stretch
    try:
        with stop:
            while True:
                run.figures(step)
                with stop.may_stop_at_once():  # the network is as this step left it
                    go_on = run.dashboard.tick()  # draws if due; waits while paused
                end = run.stretch_end(step, stop_asked=not go_on or stop.pressed)
                if end is None:  # the last step, or a stop asked for
                    break
                step = run.train_stretch(step, end)
                run.checkpoint_if_due(step)
            dashboard_error = run.end(step, why=stop.why)
    except BaseException:
        run.dashboard.abandon()
        raise
    finally:
        run.close_logs()
    run.summary(step, dashboard_error, window_stays=not stop.pressed)
    return run.max_accuracy, stop.exit_code


# The lines a run prints (_Run.training_figures, test_figures, summary; stage 7.0's
# KerasDashboard prints the same), as the tests, the benchmarks and docs/make_pictures.py
# read them: one line each, or a whole output with finditer.
PROGRESS_LINE = re.compile(r"^step (?P<step>\d+): training accuracy: (?P<accuracy>[\d.]+) "
                           r"loss: (?P<loss>\S+) lr: (?P<lr>[\d.]+)$", re.MULTILINE)
TEST_LINE = re.compile(r"^step (?P<step>\d+): epoch (?P<epoch>[\d.]+) test accuracy: "
                       r"(?P<accuracy>[\d.]+) test loss: (?P<loss>\S+)$", re.MULTILINE)
TIMING_LINE = re.compile(r"^trained (?P<steps>\d+) steps in (?P<seconds>[\d.]+) s "
                         r"\((?P<rate>[\d.]+) steps/s\)$", re.MULTILINE)
MAX_ACCURACY_LINE = re.compile(r"^max test accuracy: (?P<accuracy>[\d.]+)$", re.MULTILINE)


class _Run:
    """One run of train(): what it set up, and the helpers its loop calls in order."""

    def __init__(self, args, mnist, stage):
        import tensorflow as tf
        import tensorflowvisu
        self.args, self.mnist, self.stage = args, mnist, stage
        # Progress lines appear as they are printed, even through a pipe.
        if hasattr(sys.stdout, "reconfigure"):  # not in Jupyter, IDLE or Spyder: they flush
            sys.stdout.reconfigure(line_buffering=True)
        self.step_counter, self.progress, self.saver = self._restored()
        self.first_step, self.last_step = int(self.step_counter.numpy()), args.iterations
        self.max_accuracy = self.progress["max_test_accuracy"]
        self.finished_already = self.first_step >= self.last_step
        self.logger = None
        if self.finished_already:
            self._nothing_left_to_train()
            return
        if args.logdir:  # before a new run's folder is written: a failure leaves it as it was
            self.logger = _SummaryLogger(args.logdir, stage.histograms.title4,
                                         stage.histograms.title5)
        if self.saver and not args.restore:
            self.saver.start(args.fresh)
        self.test_images = tf.constant(mnist.test.images)  # to the device once, not per test
        self.test_labels = tf.constant(mnist.test.labels)
        self.train_steps = _stretch_of_steps(stage.training_step, mnist.train.images,
                                             mnist.train.labels, args.batch_size)
        self.evaluate = _any_batch_size(stage.loss_and_accuracy, mnist.test.images,
                                        mnist.test.labels)
        self.dashboard = tensorflowvisu.MnistDataVis(
            headless=args.headless, title4=stage.histograms.title4,
            title5=stage.histograms.title5)
        self._plan_figures()
        self.seconds_per_step = math.inf  # measured on each stretch
        self.batches_at_step = mnist.train.state()  # before the batch of a step is drawn
        self.batch = mnist.train.next_batch_indices(args.batch_size)
        self.started = time.perf_counter()

    def _restored(self):
        """The step counter, what a checkpoint keeps besides the variables (where the
        batches had got to, the best test accuracy so far) and the --save-model folder,
        restored from its latest checkpoint with --restore."""
        import tensorflow as tf
        args, stage = self.args, self.stage
        # The optimiser's own variables (Adam's moments) before the first step: the
        # training step is then traced once, not twice, and a restore can fill them.
        stage.optimizer.build([v for v in stage.variables if v.trainable])
        step_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        progress = {"dataset": args.dataset, "batches": self.mnist.train.state(),
                    "max_test_accuracy": 0.0}
        if not args.save_model:
            return step_counter, progress, None
        state = dict(step=step_counter, optimizer=stage.optimizer, network=list(stage.variables),
                     progress=runfolder.python_state(lambda: progress, progress.update))
        if stage.seed_generator is not None:
            state["random"] = stage.seed_generator.state
        saver = runfolder.RunFolder(Path(args.save_model).expanduser(), args.stage,
                                    stage.model, stage.variables, state)
        if args.restore:
            saver.restore()
            runfolder.resume_data(self.mnist, progress, args)
        return step_counter, progress, saver

    def _nothing_left_to_train(self):
        if self.saver and not runfolder.network_is_saved(self.saver.folder):
            _save_the_missing_network(self.saver, self.first_step, self.max_accuracy)
            return
        raise TrainingError(f"the run in {self.args.save_model} is at step {self.first_step} "
                            f"already; ask for more with --iterations (more than "
                            f"{self.first_step})")

    def _plan_figures(self):
        """Which steps get figures, made as needed (--iterations may be huge). More test
        figures during the first test_every steps, where the curves climb fastest (every
        drawn_test_every steps, by default at the training cadence), for drawn curves
        only: each costs a pass over the test set (benchmarks/README.md, "Speed of the
        training loop", says how much)."""
        args, stage, dashboard = self.args, self.stage, self.dashboard
        drawn = self.first_step == 0 and bool(
            dashboard.live or args.save_image or args.save_movie or self.logger)
        more_tests_every = (stage.drawn_test_every or stage.train_every) if drawn else None
        self.cadence = (self.first_step, self.last_step, stage.train_every, stage.test_every,
                        more_tests_every)
        dashboard.start(self.first_step, self.last_step,
                        updates=count_figure_steps(*self.cadence), save_movie=args.save_movie)
        self.next_figures = figure_steps(*self.cadence)
        self.next_figure_step = next(self.next_figures)
        # Histograms and digit mosaics are only for someone to see: headless with nothing
        # to save, the curves' figures are all a run needs (they give the max accuracy).
        self.pictures = bool(dashboard.draws_during_training or args.save_image or self.logger)

    def figures(self, step):
        """This step's training and test figures, if it has any: printed and handed to
        the dashboard (and TensorBoard)."""
        if step != self.next_figure_step:
            return
        update_train, update_test = figure_flags(step, *self.cadence[1:])
        if update_train:
            self.training_figures(step)
        if update_test:
            self.test_figures(step)
        self.next_figure_step = next(self.next_figures, None)

    def training_figures(self, step):
        import tensorflowvisu
        batch_X = self.mnist.train.images[self.batch]
        batch_Y = self.mnist.train.labels[self.batch]
        Y, loss, accuracy = self.evaluate(batch_X, batch_Y)
        Y, loss, accuracy = Y.numpy(), float(loss), float(accuracy)
        # As the latest step used it (.numpy(): in a distributed run a mirrored variable).
        lr = float(self.stage.optimizer.learning_rate.numpy())
        _say(f"step {step}: training accuracy: {accuracy:.4f} loss: {loss:.4f} lr: {lr:.6f}")
        self.dashboard.append_training_curves_data(step, accuracy, loss)
        if self.pictures:
            values4, values5 = (np.asarray(v) for v in self.stage.histograms.values(batch_X))
            self.dashboard.append_data_histograms(step, values4, values5)
            mosaic = functools.partial(tensorflowvisu.mnist_mosaic, batch_X, Y, batch_Y,
                                       n=tensorflowvisu.TRAIN_MOSAIC_COUNT)
            self.dashboard.update_image1(mosaic)  # made only if it gets drawn or saved
            if self.logger:
                self.logger.training(step, accuracy, loss, lr, values4, values5, mosaic)

    def test_figures(self, step):
        import tensorflowvisu
        Y, loss, accuracy = _evaluate_in_chunks(self.evaluate, self.test_images,
                                                self.test_labels)
        self.max_accuracy = max(self.max_accuracy, accuracy)
        epoch = step * self.args.batch_size / self.mnist.train.num_examples
        _say(f"step {step}: epoch {epoch:.2f} test accuracy: {accuracy:.4f} "
             f"test loss: {loss:.4f}")
        self.dashboard.append_test_curves_data(step, accuracy, loss)
        if self.pictures:
            # 1000 of the test digits, the misrecognised ones first: the red block's
            # height on panel 6's scale (for 10,000: 100 % to 90 %) reads as the error rate.
            mosaic = functools.partial(tensorflowvisu.test_digits_mosaic,
                                       self.mnist.test.images, Y, self.mnist.test.labels)
            self.dashboard.update_image2(mosaic, test_count=len(self.mnist.test.images))
            if self.logger:
                self.logger.test(step, accuracy, loss, mosaic)

    def stretch_end(self, step, stop_asked):
        """Where the next stretch of training ends: the next step with figures (or a
        checkpoint); with a live dashboard, in equal stretches of at most
        MAX_STRETCH_SECONDS, so that the window keeps answering and the pictures keep
        coming. None at the last step, or when a stop was asked for (in a distributed
        run: by any worker; every worker then stops at the same step)."""
        if step >= self.last_step:
            return None
        end = min(self.next_figure_step, (step // CHECKPOINT_EVERY + 1) * CHECKPOINT_EVERY)
        if self.dashboard.live:
            most = max(1, int(MAX_STRETCH_SECONDS / self.seconds_per_step))  # steps a call
            end = step + math.ceil((end - step) / math.ceil((end - step) / most))
        if self.stage.agree_on_stretch:
            stop_asked, end = self.stage.agree_on_stretch(stop_asked, end)
        return None if stop_asked else end

    def train_stretch(self, step, end):
        """Train every step from `step` up to `end` in one call. Returns `end`."""
        import tensorflow as tf
        train = self.mnist.train
        batches = [self.batch] + [train.next_batch_indices(self.args.batch_size)
                                  for _ in range(step + 1, end)]
        began = time.perf_counter()
        picked = np.stack(batches)  # [steps, batch_size]: one copy of the images
        losses = self.train_steps(train.images[picked], train.labels[picked],
                                  tf.constant(step, tf.float32)).numpy()
        self.seconds_per_step = (time.perf_counter() - began) / len(batches)
        diverged = np.flatnonzero(~np.isfinite(losses))
        if diverged.size:
            raise TrainingError(_nan_message(step + int(diverged[0])))
        self.batches_at_step = train.state()
        self.batch = train.next_batch_indices(self.args.batch_size)
        return end

    def checkpoint_if_due(self, step):
        if self.saver and step % CHECKPOINT_EVERY == 0:
            self.checkpoint(step)

    def checkpoint(self, step):
        self.step_counter.assign(step)
        self.progress.update(batches=self.batches_at_step, max_test_accuracy=self.max_accuracy)
        self.saver.checkpoint()

    def end(self, step, why):
        """After the loop: say where a stopped run stopped, save the network (first: a
        dashboard file that fails must not cost it), then the dashboard's files.
        Ctrl-C from here on waits for the files (pressed twice, it stops at once: they
        are written under temporary names until complete). Returns the dashboard's
        error message, or None."""
        self.seconds = time.perf_counter() - self.started
        if step < self.last_step:
            why = why or ("the dashboard window was closed" if self.dashboard.is_closed()
                          else "another worker stopped")
            print(f"stopped at step {step} of {self.last_step} ({why})")
        if self.saver:
            self.checkpoint(step)
            self.saver.export()
            if step < self.last_step:
                instead = " instead of --fresh" if self.args.fresh else ""
                print(f"to go on from step {step}: the same command with --restore{instead}")
        self.written, dashboard_error = _dashboard_files(self.dashboard, self.args, self.saver)
        return dashboard_error

    def close_logs(self):
        if self.logger:
            self.logger.close()

    def summary(self, step, dashboard_error, window_stays):
        """The last lines; then a window stays open for a look until it is closed."""
        steps = step - self.first_step
        for path in self.written:
            print(f"saved the dashboard in {path}")
        print(f"trained {steps} steps in {self.seconds:.1f} s "
              f"({steps / max(self.seconds, 1e-9):.1f} steps/s)")
        print(f"max test accuracy: {self.max_accuracy:.4f}")
        if dashboard_error:
            raise TrainingError(dashboard_error)
        if window_stays:
            try:
                self.dashboard.wait_until_closed()
            except KeyboardInterrupt:
                pass  # Ctrl-C in the terminal closes it too: the run is over and saved


def _save_the_missing_network(saver, step, max_accuracy):
    """--restore of a run that had ended without its trained network (stopped, or out of
    disk space, while saving it): save it now from the latest checkpoint; no training."""
    print(f"the run in {saver.folder} had ended at step {step}, but its trained network was "
          f"not saved (stopped while saving it?): saving it now")
    saver.export()
    print(f"max test accuracy: {max_accuracy:.4f}")
    return max_accuracy, None


def _dashboard_files(datavis, args, saver):
    """The final dashboard picture and movie, written once the network is saved:
    ([paths written], None), or ([], a one-paragraph message) if they could not be."""
    try:
        return datavis.finish(save_image=args.save_image), None
    except Exception as error:  # a full disk, a folder removed meanwhile, a missing program...
        asked = " and ".join(f"--{flag} {path}" for flag, path in
                             (("save-image", args.save_image), ("save-movie", args.save_movie))
                             if path)
        kept = (f"the trained network is saved in {saver.folder / runfolder.SAVED_MODEL}" if saver else
                "its figures are printed above (add --save-model DIR to keep the network)")
        return [], (f"the dashboard could not be written ({asked}): {type(error).__name__}: "
                    f"{tfmessages.reason(error)}. Training is over and {kept}; only the picture is lost. "
                    f"Before the next run, check that its folder exists and has free space.")


class _CtrlC:
    """Ctrl-C, SIGTERM (kill, timeout, docker stop) or SIGHUP (the terminal was closed)
    while training: the first one asks the loop to stop after the current stretch of
    steps (a clean stop, with everything saved); a second one, or one while the
    dashboard waits (paused), stops at once."""

    def __init__(self):
        self.stopped_by = None  # the name of the first signal: a key of STOP_SIGNALS
        self._at_once = False
        self._previous = {}  # signal number: its handler before ours

    @property
    def pressed(self):
        return self.stopped_by is not None

    @property
    def why(self):
        """What the stop line says stopped the run, or None."""
        return STOP_SIGNALS[self.stopped_by][0] if self.pressed else None

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
            _no_terminal_output()
        if at_once:
            raise _StoppedAtOnce(name)

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


def _say(line):
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
        _no_terminal_output()


def _no_terminal_output():
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


def figure_flags(step, last_step, train_every, test_every, more_tests_every=None):
    """(training figures?, test figures?) at `step`.

    Training figures every train_every steps, test figures every test_every steps,
    both at the last step. more_tests_every adds test figures every more_tests_every
    steps during the first test_every steps.
    """
    last = step == last_step
    train = step % train_every == 0 or last
    test = step % test_every == 0 or last
    if more_tests_every and step < test_every:
        test = test or step % more_tests_every == 0
    return train, test


def figure_steps(first_step, last_step, train_every, test_every, more_tests_every=None):
    """The steps from first_step to last_step with figures (figure_flags), in order, each
    found when it is asked for: a run of 10**12 steps starts at once all the same."""
    step = first_step
    while step <= last_step:
        if any(figure_flags(step, last_step, train_every, test_every, more_tests_every)):
            yield step
        following = [_next_multiple(step, train_every), _next_multiple(step, test_every)]
        if more_tests_every and step < test_every:
            following.append(_next_multiple(step, more_tests_every))
        step = min(*following, last_step if step < last_step else last_step + 1)


def count_figure_steps(first_step, last_step, train_every, test_every, more_tests_every=None):
    """How many steps figure_steps() gives, counted without going through them."""
    def flags(step):
        return figure_flags(step, last_step, train_every, test_every, more_tests_every)

    # The first test_every steps one by one (more_tests_every counts only there) ...
    early_end = min(last_step, test_every - 1) if more_tests_every else first_step - 1
    count = sum(1 for step in range(first_step, early_end + 1) if any(flags(step)))
    # ... the others: multiples of train_every or test_every, and the last step.
    low = max(first_step, early_end + 1)

    def multiples(every):  # of `every` from low to last_step
        return max(0, last_step // every - (low - 1) // every)

    count += (multiples(train_every) + multiples(test_every)
              - multiples(math.lcm(train_every, test_every)))
    if low <= last_step and last_step % train_every and last_step % test_every:
        count += 1
    return count


def _next_multiple(step, every):
    return (step // every + 1) * every


def _stretch_of_steps(training_step, images, labels, batch_size=BATCH_SIZE):
    """A tf.function that runs training_step on each of a stack of batches, shaped
    [steps, batch_size, ...] as `images` and `labels` are with [batch_size, ...],
    and returns the losses.

    One call trains every step between two dashboard updates: per step, this saves
    Python's call overhead and a conversion of the batch to a tensor (measured in
    benchmarks/README.md, "Speed of the training loop"). The steps are the same ones,
    in the same order, as one call per step would run.
    """
    import tensorflow as tf

    @tf.function(input_signature=[
        tf.TensorSpec([None, batch_size, *images.shape[1:]], tf.as_dtype(images.dtype)),
        tf.TensorSpec([None, batch_size, *labels.shape[1:]], tf.as_dtype(labels.dtype)),
        tf.TensorSpec([], tf.float32)])
    def train_steps(batches_X, batches_Y, first_step):
        count = tf.shape(batches_X)[0]
        losses = tf.TensorArray(tf.float32, size=count)
        for k in tf.range(count):
            loss = training_step(batches_X[k], batches_Y[k], first_step + tf.cast(k, tf.float32))
            losses = losses.write(k, tf.cast(loss, tf.float32))
        return losses.stack()
    return train_steps


def _any_batch_size(loss_and_accuracy, images, labels):
    """loss_and_accuracy as one tf.function for any number of images shaped as `images`
    and `labels`: traced once, not once for the training batches and again for the
    test chunks."""
    import tensorflow as tf
    return tf.function(loss_and_accuracy, input_signature=[
        tf.TensorSpec([None, *images.shape[1:]], tf.as_dtype(images.dtype)),
        tf.TensorSpec([None, *labels.shape[1:]], tf.as_dtype(labels.dtype))])


def _evaluate_in_chunks(evaluate, images, labels):
    """evaluate() over the whole test set, TEST_CHUNK images at a time."""
    count = int(images.shape[0])
    predictions, loss_sum, correct_sum = [], 0.0, 0.0
    for begin in range(0, count, TEST_CHUNK):
        Y, loss, accuracy = evaluate(images[begin:begin + TEST_CHUNK],
                                     labels[begin:begin + TEST_CHUNK])
        size = int(Y.shape[0])
        predictions.append(Y.numpy())
        loss_sum += float(loss) * size
        correct_sum += float(accuracy) * size
    return np.concatenate(predictions), loss_sum / count, correct_sum / count


def _nan_message(step):
    return (f"the loss became NaN at step {step}; the numbers after this would be garbage, "
            "so training stops here.\n"
            "Why: the cross-entropy -sum(Y_ * log(Y)) takes the log of the predicted "
            "probabilities; when the network grows confident, softmax rounds a probability "
            "to exactly 0, log(0) is -infinity, and 0 * -infinity is NaN.\n"
            "How the later stages avoid it: from stage 2.0 (mnist_2.0_five_layers_sigmoid.py) "
            "on, they compute the loss from the logits with "
            "tf.nn.softmax_cross_entropy_with_logits, which never takes log(0). "
            "A smaller learning rate also helps.")


# ------------------------------------------------------------------- TensorBoard

class _SummaryLogger:
    """TensorBoard summaries: curves, histograms and the digit mosaics. Logs that cannot
    be written (a full disk) stop with one line on stderr; training goes on.

    TensorFlow's writer drops what a full disk does not take without a word (a large
    write is cut short silently): so each batch of summaries is flushed and its file
    must have grown, on a disk that is not full."""

    def __init__(self, logdir, histogram4_name, histogram5_name):
        import tensorflow as tf
        self.tf = tf
        self.logdir = logdir
        self.train_folder = os.path.join(logdir, "train")
        self.test_folder = os.path.join(logdir, "test")
        self.stopped = False
        # TensorBoard tags: the dashboard's panel titles, as lower_case_words.
        self.histogram_names = [name.lower().replace(" ", "_")
                                for name in (histogram4_name, histogram5_name)]
        try:
            with tfmessages.stderr_lines_hidden(tfmessages.FAILED_OPERATION_NOTICES):
                self.train_writer = tf.summary.create_file_writer(self.train_folder)
                self.test_writer = tf.summary.create_file_writer(self.test_folder)
        except (OSError, tf.errors.OpError) as error:
            raise TrainingError(f"--logdir {logdir}: cannot write TensorBoard logs there "
                                f"({tfmessages.reason(error)}); free some space or choose another "
                                f"folder") from None
        print(f"TensorBoard logs in {logdir} "
              f"(view them: tensorboard --logdir {hints.shell_path(logdir)})")

    @contextlib.contextmanager
    def _writing(self, step, writer, folder):
        try:
            with tfmessages.stderr_lines_hidden(tfmessages.FAILED_OPERATION_NOTICES):
                size = _files_size(folder)
                yield
                writer.flush()
                if shutil.disk_usage(folder).free == 0 or _files_size(folder) <= size:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except (OSError, self.tf.errors.OpError) as error:
            self.stopped = True
            print(f"warning: --logdir {self.logdir}: the TensorBoard logs stop at step {step}: "
                  f"they cannot be written ({tfmessages.reason(error)}); training goes on",
                  file=sys.stderr, flush=True)

    def training(self, step, accuracy, loss, lr, values4, values5, mosaic):
        if self.stopped:
            return
        summary = self.tf.summary
        with self._writing(step, self.train_writer, self.train_folder), \
                self.train_writer.as_default(step=step):
            summary.scalar("accuracy", accuracy)
            summary.scalar("loss", loss)
            summary.scalar("learning_rate", lr)
            summary.histogram(self.histogram_names[0], values4)
            summary.histogram(self.histogram_names[1], values5)
            summary.image("training_digits", mosaic()[np.newaxis])

    def test(self, step, accuracy, loss, mosaic):
        if self.stopped:
            return
        summary = self.tf.summary
        with self._writing(step, self.test_writer, self.test_folder), \
                self.test_writer.as_default(step=step):
            summary.scalar("accuracy", accuracy)
            summary.scalar("loss", loss)
            summary.image("test_digits", mosaic()[np.newaxis])

    def close(self):
        for writer in (self.train_writer, self.test_writer):
            with contextlib.suppress(OSError, self.tf.errors.OpError):
                writer.close()


def _files_size(folder):
    """The bytes in the files of `folder`."""
    return sum(entry.stat().st_size for entry in os.scandir(folder) if entry.is_file())
