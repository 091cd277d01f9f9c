"""The run of the Keras stage (mnist_7.0_keras.py) around model.fit, through the other stages' own plumbing.

    args = trainer.parse_args(__doc__, ITERATIONS, batch_size=BATCH_SIZE)
    mnist = trainer.read_data(args)
    trainer.load_tensorflow()
    import keras
    from codelab import kerastrainer
    model = keras.Sequential([...])                     # the network, in layers
    model.compile(optimizer=..., loss=...)
    with kerastrainer.training(args, mnist, model, train_every=5, test_every=...) as run:
        model.fit(run.batches, epochs=1, shuffle=False, callbacks=run.callbacks, verbose=0)

One trainer path: the flags, the data, the error exit and the signals are trainer.py's
(codelab/flags.py, errors.py, signals.py); the --save-model folder and its checkpoints
are runstate.py's and runfolder.py's (DIR/stage.json, DIR/checkpoints, DIR/saved_model
for predict.py, and here also DIR/model.keras, the whole Keras model); which steps get
figures is cadence.py's, the lines printed report.py's (the NaN stop included), the
TensorBoard logs summaries.py's, with the same tags and the same full-disk warning.

run.batches serves the batches that mnistdata draws, the very ones the other stages
train on, drawn as fit asks for them, so that a resumed run gets the batches an
unbroken one would. run.callbacks is one callback, the stage's (StageCallback): at the
steps with figures it has the dashboard (tensorflowvisu.KerasDashboard, which only
measures and shows) measure the model, prints the progress lines and logs them; it
stops fit at --iterations, on Ctrl-C, SIGTERM or SIGHUP, or when the window is closed;
it writes a checkpoint every runstate.CHECKPOINT_EVERY steps.

Why not Keras' BackupAndRestore for --restore: it goes back to the start of the epoch
that was interrupted (here the whole run is one epoch of fit) and keeps one file that
each save overwrites in place. The checkpoints here are TensorFlow's, as the other
stages write them (the latest three, each complete before it counts), with the step
and where the batches had got to: the resumed run is the same run.
"""

import contextlib
import gc
import math
import os
import sys
import threading
import time

import numpy as np
import keras
import tensorflow as tf

from codelab import hints
from codelab import report
from codelab import runfolder
from codelab import safefiles
from codelab import tfmessages
from codelab.cadence import Cadence
from codelab.errors import TrainingError, exit_on_error
from codelab.figures import dashboard_files, more_tests_every
from codelab.runstate import RunState
from codelab.signals import StopSignals, StoppedBySignal
from codelab.summaries import SummaryLogger
from tensorflowvisu import KerasDashboard

KERAS_FILE = "model.keras"  # in the --save-model folder: keras.models.load_model reads it
TICK_INTERVAL_S = 0.1  # with a window: answer it at least this often during fit
DRAWN_BATCHES_KEPT = 2000  # batches (and states) kept after drawing: fit reads a few ahead


class Batches(keras.utils.PyDataset):
    """The training batches of `steps` steps as mnistdata draws them (mnist.train's
    shuffled epochs), drawn in order as fit asks for them (a run of 10**15 steps starts
    at once), and where the drawing stood before each step (for checkpoints)."""

    def __init__(self, train, batch_size, steps):
        super().__init__()
        self.train, self.batch_size, self.steps = train, batch_size, steps
        self.drawn = {}  # k: (the state before the batch of the k-th step from here, batch)
        self.next_k = 0
        self.lock = threading.Lock()  # fit draws ahead in a thread of its own

    def __len__(self):
        return self.steps

    def __getitem__(self, k):
        with self.lock:
            while self.next_k <= k:
                self.drawn[self.next_k] = (self.train.state(),
                                           self.train.next_batch_indices(self.batch_size))
                self.drawn.pop(self.next_k - DRAWN_BATCHES_KEPT, None)
                self.next_k += 1
            picked = self.drawn[k][1]
        return self.train.images[picked], self.train.labels[picked]

    def state_before(self, k):
        """Where the drawing stood before the batch of the k-th step from here."""
        with self.lock:
            if k in self.drawn:
                return self.drawn[k][0]
            if k == self.next_k:  # not drawn yet: where the drawing stands now
                return self.train.state()
        raise IndexError(f"the batch of step {k} from here is not among the latest "
                         f"{DRAWN_BATCHES_KEPT} drawn (up to {self.next_k - 1})")


def probabilities_network(model):
    """The model as runfolder.export_saved_model takes a network: X -> (Ylogits, Y)."""
    def network(X):
        Ylogits = model(X, training=False)
        return Ylogits, tf.nn.softmax(Ylogits)
    return network


class KerasRunFolder(runfolder.RunFolder):
    """The --save-model folder for a Keras model: its variables recorded by their
    paths ("speedrun/conv1/kernel": Keras' own names, kernel and bias, repeat), and the
    whole model, optimiser included, as DIR/model.keras too."""

    def __init__(self, folder, stage, model, state):
        super().__init__(folder, stage, probabilities_network(model), model.variables, state)
        self.network = {v.path: [int(n) for n in v.shape] for v in model.variables}
        self.keras_model = model

    def start(self, fresh):
        previous = runfolder.next_previous_folder(self.folder)
        super().start(fresh)  # --fresh: moves the run there to DIR/previous-N
        if previous.is_dir() and os.path.lexists(self.folder / KERAS_FILE):
            os.rename(self.folder / KERAS_FILE, previous / KERAS_FILE)

    def export(self):
        """DIR/model.keras first, then DIR/saved_model: the SavedModel is written last, so
        that runfolder.network_is_saved() (a SavedModel newer than the checkpoint) says
        that both are, and --restore writes both again if either is missing."""
        path = self.folder / KERAS_FILE
        try:
            with tfmessages.stderr_lines_hidden(tfmessages.FAILED_OPERATION_NOTICES), \
                    safefiles.atomic_path(path) as temporary:
                self.keras_model.save(temporary)
        except OSError as error:  # a full disk: zipfile's and h5py's errors are OSErrors
            raise runfolder.RunFolderError(
                f"cannot write the Keras model in {path} ({tfmessages.reason(error)}). The "
                f"checkpoint of step {self.step} is saved: free some space, then run the stage "
                f"with --save-model {hints.shell_path(self.folder)} --restore --iterations "
                f"{self.step} to save the model from it."
            ) from None
        print(f"saved the Keras model in {path} (keras.models.load_model reads it)")
        super().export()


class NothingToTrain(Exception):
    """The run in the --save-model folder is at --iterations already: fit ends at once."""


class StageCallback(keras.callbacks.Callback):
    """The Keras stage's own callback, for fit what train() is for the other stages: at
    the steps with figures (cadence.py), the dashboard measures and shows them and this
    prints and logs them; a NaN loss stops with report.py's message; fit stops at the
    last step, on Ctrl-C (SIGTERM, SIGHUP) or a closed window; checkpoints when due."""

    def __init__(self, run):
        super().__init__()
        self.run = run
        self.shown = (None, None)  # the steps of the latest training, test figures

    def set_model(self, model):
        super().set_model(model)
        if self.run.dashboard:
            self.run.dashboard.set_model(model)

    def on_train_begin(self, logs=None):
        run = self.run
        if run.state.finished_already:
            raise NothingToTrain()
        run.dashboard.start(run.first_step, run.last_step, updates=run.cadence.count)
        run.started = time.perf_counter()
        self.reach(run.first_step)

    def on_train_batch_end(self, batch, logs=None):
        run = self.run
        # With steps_per_execution, fit reports once per call of its train step.
        step = run.first_step + min(batch + 1, run.last_step - run.first_step)
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrainingError(report.nan_message(step))
        if not self.reach(step) and time.perf_counter() - run.last_tick > TICK_INTERVAL_S:
            self.tick()
        if run.stop.pressed or run.dashboard.is_closed() or step >= run.last_step:
            self.model.stop_training = True
        run.state.checkpoint_if_due(step, run.batches.state_before(step - run.first_step),
                                    run.max_accuracy)

    def on_train_end(self, logs=None):
        run = self.run
        run.seconds = time.perf_counter() - run.started
        if self.shown[1] != run.step:  # stopped early: the figures where it stopped
            self.show(run.step, self.shown[0] != run.step, True)

    def reach(self, step):
        """This step's figures, if it has any; then the dashboard draws. Returns whether
        it had any."""
        self.run.step = step
        training, test = self.run.cadence.reached(step)
        if training or test:
            self.show(step, training, test)
            self.tick()
        return training or test

    def show(self, step, training, test):
        """The figures at `step`: measured and shown by the dashboard, printed, logged."""
        run = self.run
        shown_training, shown_test = run.dashboard.show_figures(step, training, test)
        self.shown = (step if training else self.shown[0], step if test else self.shown[1])
        if shown_training:
            lr = float(np.asarray(self.model.optimizer.learning_rate))
            report.training_line(step, shown_training.accuracy, shown_training.loss, lr)
            if run.logger:
                run.logger.training(step, shown_training.accuracy, shown_training.loss, lr,
                                    shown_training.values4, shown_training.values5,
                                    shown_training.mosaic)
        if shown_test:
            run.max_accuracy = max(run.max_accuracy, shown_test.accuracy)
            epoch = step * run.args.batch_size / run.mnist.train.num_examples
            report.test_line(step, epoch, shown_test.accuracy, shown_test.loss)
            if run.logger:
                run.logger.test(step, shown_test.accuracy, shown_test.loss, shown_test.mosaic)

    def tick(self):
        with self.run.stop.may_stop_at_once():  # paused: Ctrl-C stops after this step
            self.run.dashboard.tick()
        self.run.last_tick = time.perf_counter()


class Run:
    """One run of the Keras stage: what fit needs (batches, callbacks), and what comes
    after it (the stop line, the checkpoint and the exported model, the summary)."""

    def __init__(self, args, mnist, model, train_every, test_every, drawn_test_every):
        self.args, self.mnist, self.model = args, mnist, model
        self.stop = StopSignals()
        model.optimizer.build(model.trainable_variables)  # a restore fills its moments
        self.state = RunState(args, mnist, model.optimizer, model.variables,
                              lambda path, name, state: KerasRunFolder(path, name, model, state))
        self.first_step, self.last_step = self.state.first_step, args.iterations
        self.max_accuracy = self.state.max_accuracy
        self.logger = self.dashboard = None
        self.step = self.first_step
        if self.state.finished_already:
            self.state.nothing_left_to_train()
            self.batches = Batches(mnist.train, args.batch_size, 1)  # fit needs one to begin
            self.callbacks = [StageCallback(self)]  # which ends it at once
            return
        if args.logdir:  # before a new run's folder is written: a failure leaves it as it was
            self.logger = SummaryLogger(args.logdir, "Weights", "Biases")
        self.state.start()
        self.batches = Batches(mnist.train, args.batch_size, self.last_step - self.first_step)
        self.dashboard = KerasDashboard(
            mnist.test.images, mnist.test.labels, headless=args.headless,
            training_images=mnist.train.images, training_labels=mnist.train.labels,
            training_count=args.batch_size, save_image=args.save_image,
            save_movie=args.save_movie, train_every=train_every, test_every=test_every,
            pictures=bool(self.logger), seed=args.seed)
        self.cadence = Cadence(self.first_step, self.last_step, train_every, test_every,
                               more_tests_every(self.dashboard, args, self.first_step,
                                                self.logger, drawn_test_every, train_every))
        self.callbacks = [StageCallback(self)]
        self.started = self.last_tick = time.perf_counter()

    def end(self):
        """After fit: say where it stopped, save, write the dashboard's files, sum up."""
        step = self.step
        if step < self.last_step:
            why = self.stop.why or "the dashboard window was closed"
            tests = self.dashboard.history["test"]
            report.stopped_line(step, self.last_step, why, tests[-1][0] if tests else None)
        self.state.save_at_end(step, self.batches.state_before(step - self.first_step),
                               self.max_accuracy)
        written, dashboard_error = dashboard_files(self.dashboard.datavis, self.args,
                                                   self.state.saver)
        report.summary(written, step - self.first_step, self.seconds, self.max_accuracy)
        if dashboard_error:
            raise TrainingError(dashboard_error)

    def close_logs(self):
        if self.logger:
            self.logger.close()


@contextlib.contextmanager
def training(args, mnist, model, *, train_every, test_every, drawn_test_every=None):
    """The block where the stage calls model.fit(run.batches, callbacks=run.callbacks).

    train_every, test_every: steps between training figures, between test figures;
    drawn_test_every: when the curves are drawn or saved, a test figure this often
    during the first test_every steps. Errors and signals end the program as in the
    other stages (trainer.py).
    """
    with exit_on_error(), runfolder.claimed(args):
        if hasattr(sys.stdout, "reconfigure"):  # lines appear as printed, even in a pipe
            sys.stdout.reconfigure(line_buffering=True)
        run = Run(args, mnist, model, train_every, test_every, drawn_test_every)
        if run.state.finished_already:
            with contextlib.suppress(NothingToTrain):
                yield run
            return
        try:
            with run.stop:
                try:
                    yield run
                except BaseException:
                    run.dashboard.abandon()
                    raise  # (errors.exit_on_error collects what fit left, see below)
                # fit stopped early leaves its reader of run.batches, a tf.data generator,
                # to the garbage collector: close it now, while Python can still run its
                # clean-up, not at exit (TensorFlow's "Error occurred when finalizing
                # GeneratorDataset iterator").
                gc.collect()
                run.end()
        finally:
            run.close_logs()
        if run.stop.pressed:
            raise StoppedBySignal(run.stop.exit_code)
        try:
            run.dashboard.wait_until_closed()  # a window stays open for a look
        except KeyboardInterrupt:
            pass  # Ctrl-C in the terminal closes it too: the run is over and saved
