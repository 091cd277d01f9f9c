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
run() hand them to errors.exit_on_error(), the one place where they end the program:
`error: <message>` on stderr, exit code 1 (130, 143, 129 after Ctrl-C, SIGTERM, SIGHUP).
A mistyped flag is argparse's: the usage, then the error, exit code 2.

This file keeps the contract, the loop and the lines it prints; the plumbing around
them lives in codelab/, one job a module:

    flags.py       the flags (parse_args), checked before TensorFlow loads
    tfload.py      loading TensorFlow (load_tensorflow): options, quiet start
    errors.py      TrainingError and the one error exit (exit_on_error)
    signals.py     Ctrl-C, SIGTERM, SIGHUP: a clean stop, or at once the second time
    misfit.py      a stage's function called with arguments it does not take
    runstate.py    the step, batches and best accuracy, checkpointed (runfolder.py's
                   folder) and restored
    stepping.py    training steps in stretches, one compiled call each
    cadence.py     which steps get figures
    schedule.py    where each stretch of training ends
    figures.py     a step's figures: measured, printed, drawn, logged
    report.py      the lines a run prints
    summaries.py   TensorBoard (--logdir)
    kerastrainer.py   the same run around Keras' model.fit (stage 7.0)
"""

import re
import sys
import time
from typing import Any, Callable, NamedTuple, Optional

import numpy as np

import mnistdata
from codelab import installed
from codelab import report
from codelab import runfolder
from codelab.cadence import Cadence, count_figure_steps, figure_flags, figure_steps  # noqa: F401
from codelab.errors import EXIT_ERROR, TrainingError, exit_on_error  # noqa: F401
from codelab.figures import Figures, dashboard_files, more_tests_every
from codelab.flags import BATCH_SIZE, make_parser, parse_args, whole_number  # noqa: F401
from codelab.misfit import stage_functions_named
from codelab.runstate import CHECKPOINT_EVERY, RunState  # noqa: F401
from codelab.schedule import Schedule
from codelab.signals import EXIT_CTRL_C, STOP_SIGNALS, StoppedBySignal  # noqa: F401
from codelab.signals import StopSignals as _CtrlC  # train()'s name: SIGTERM, SIGHUP too
from codelab.stepping import Stepper
from codelab.summaries import SummaryLogger
from codelab.tfload import import_tensorflow, load_tensorflow  # noqa: F401

# The names a stage script, predict.py, workers.py and the tests take from here: the
# contract above, and what trainer.py re-exports from codelab/ (marked noqa: F401).

# ------------------------------------------------------------------------ data

def read_data(args):
    """The training and test sets that --data-dir and --dataset name, shuffled by --seed:
    images [N, 28, 28, 1] with grey levels in [0, 1], labels one-hot [N, 10]
    (mnistdata.py finds, checks and decodes the files). First, without loading it, that
    TensorFlow is installed: in the wrong Python a learner hears that, not of the data."""
    with exit_on_error():
        missing = installed.tensorflow_missing()
        if missing:
            raise TrainingError(missing)
        mnist = mnistdata.read_data_sets(args.data_dir, one_hot=True, reshape=False,
                                         dataset=args.dataset, seed=args.seed)
        count = mnist.train.num_examples
        if count < args.batch_size:
            raise mnistdata.DataError(
                f"the training set has {count} images, fewer than one batch of "
                f"{args.batch_size} that {args.stage} trains on: give --data-dir a folder "
                f"with at least {args.batch_size} training images (MNIST has 60,000)")
        return mnist


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
    with exit_on_error(), runfolder.claimed(args), stage_functions_named(model):
        if args.save_model:
            runfolder.check_resume_is_exact(training_step, variables, optimizer,
                                            seed_generator, mnist.train, args.batch_size)
        max_accuracy, stop_exit_code = train(args, mnist, stage)
        if stop_exit_code is not None:
            raise StoppedBySignal(stop_exit_code)
        return max_accuracy


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


# The lines a run prints (codelab/report.py prints them, for every stage, 7.0 too), as
# the tests, the benchmarks and docs/make_pictures.py read them: one line each, or a
# whole output with finditer.
PROGRESS_LINE = re.compile(r"^step (?P<step>\d+): training accuracy: (?P<accuracy>[\d.]+) "
                           r"loss: (?P<loss>\S+) lr: (?P<lr>[\d.]+)$", re.MULTILINE)
TEST_LINE = re.compile(r"^step (?P<step>\d+): epoch (?P<epoch>[\d.]+) test accuracy: "
                       r"(?P<accuracy>[\d.]+) test loss: (?P<loss>\S+)$", re.MULTILINE)
TIMING_LINE = re.compile(r"^trained (?P<steps>\d+) steps in (?P<seconds>[\d.]+) s "
                         r"\((?P<rate>[\d.]+) steps/s\)$", re.MULTILINE)
MAX_ACCURACY_LINE = re.compile(r"^max test accuracy: (?P<accuracy>[\d.]+)$", re.MULTILINE)


class _Run:
    """One run of train(): its parts, set up before step 1 (codelab/: the run's state,
    the stepper, the figures, the cadence and the schedule), and what the loop calls, in
    order."""

    def __init__(self, args, mnist, stage):
        import tensorflowvisu
        self.args, self.mnist, self.stage = args, mnist, stage
        # Progress lines appear as they are printed, even through a pipe.
        if hasattr(sys.stdout, "reconfigure"):  # not in Jupyter, IDLE or Spyder: they flush
            sys.stdout.reconfigure(line_buffering=True)
        # The optimiser's own variables (Adam's moments) before the first step: the
        # training step is then traced once, not twice, and a restore can fill them.
        stage.optimizer.build([v for v in stage.variables if v.trainable])
        self.state = RunState(args, mnist, stage.optimizer, stage.variables,
                              lambda path, name, state: runfolder.RunFolder(
                                  path, name, stage.model, stage.variables, state),
                              stage.seed_generator)
        self.first_step, self.last_step = self.state.first_step, args.iterations
        self.finished_already = self.state.finished_already
        self.logger = self.measured = None
        if self.finished_already:
            self.state.nothing_left_to_train()
            return
        if args.logdir:  # before a new run's folder is written: a failure leaves it as it was
            self.logger = SummaryLogger(args.logdir, stage.histograms.title4,
                                        stage.histograms.title5)
        self.state.start()
        self.stepper = Stepper(stage.training_step, mnist.train, args.batch_size)
        self.dashboard = tensorflowvisu.MnistDataVis(
            headless=args.headless, title4=stage.histograms.title4,
            title5=stage.histograms.title5)
        self.measured = Figures(stage, mnist, args.batch_size, self.dashboard, self.logger,
                                self.state.max_accuracy)
        # Which steps get figures, found as needed (--iterations may be huge).
        self.cadence = Cadence(self.first_step, self.last_step, stage.train_every,
                               stage.test_every, more_tests_every(
                                   self.dashboard, args, self.first_step, self.logger,
                                   stage.drawn_test_every, stage.train_every))
        self.dashboard.start(self.first_step, self.last_step, updates=self.cadence.count,
                             save_movie=args.save_movie)
        # Histograms and digit mosaics are only for someone to see: headless with nothing
        # to save, the curves' figures are all a run needs (they give the max accuracy).
        self.measured.pictures = bool(self.dashboard.draws_during_training or args.save_image
                                      or self.logger)
        self.schedule = Schedule(self.cadence, self.last_step, self.dashboard,
                                 stage.agree_on_stretch)
        self.stepper.draw_first_batch()
        self.started = time.perf_counter()

    @property
    def max_accuracy(self):
        return self.measured.max_accuracy if self.measured else self.state.max_accuracy

    def figures(self, step):
        """This step's training and test figures, if it has any: printed and handed to
        the dashboard (and TensorBoard)."""
        update_train, update_test = self.cadence.reached(step)
        if update_train:
            self.measured.training(step, *self.stepper.batch_arrays())
        if update_test:
            self.measured.test(step)

    def stretch_end(self, step, stop_asked):
        return self.schedule.stretch_end(step, stop_asked, self.stepper.seconds_per_step)

    def train_stretch(self, step, end):
        return self.stepper.train_stretch(step, end)

    def checkpoint_if_due(self, step):
        self.state.checkpoint_if_due(step, self.stepper.batches_at_step, self.max_accuracy)

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
            report.stopped_line(step, self.last_step, why, self.measured.last_test_step)
        self.state.save_at_end(step, self.stepper.batches_at_step, self.max_accuracy)
        self.written, dashboard_error = dashboard_files(self.dashboard, self.args,
                                                        self.state.saver)
        return dashboard_error

    def close_logs(self):
        if self.logger:
            self.logger.close()

    def summary(self, step, dashboard_error, window_stays):
        """The last lines; then a window stays open for a look until it is closed."""
        report.summary(self.written, step - self.first_step, self.seconds, self.max_accuracy)
        if dashboard_error:
            raise TrainingError(dashboard_error)
        if window_stays:
            try:
                self.dashboard.wait_until_closed()
            except KeyboardInterrupt:
                pass  # Ctrl-C in the terminal closes it too: the run is over and saved
