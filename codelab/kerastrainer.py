"""Plumbing for the Keras stage (mnist_7.0_keras.py): what trainer.py does for the other
stages, around model.fit, written once so that the stage script stays a lesson.

    args = trainer.parse_args(__doc__, ITERATIONS, batch_size=BATCH_SIZE)
    mnist = trainer.read_data(args)
    trainer.load_tensorflow()
    import keras
    from codelab import kerastrainer
    model = keras.Sequential([...])                     # the network, in layers
    model.compile(optimizer=..., loss=...)
    with kerastrainer.training(args, mnist, model, train_every=5, test_every=...) as run:
        model.fit(run.batches, epochs=1, shuffle=False, callbacks=run.callbacks, verbose=0)

The flags, the data, their errors, the error exit and Ctrl-C are trainer.py's; the
--save-model folder is runfolder.py's (DIR/stage.json, DIR/checkpoints, DIR/saved_model
for predict.py, and here also DIR/model.keras, the whole Keras model). run.batches
serves the batches that mnistdata draws, the very ones the other stages train on, so
that a resumed run gets the batches an unbroken one would. run.callbacks: the dashboard
(tensorflowvisu.KerasDashboard, which prints the progress lines and stops fit at
--iterations or when its window is closed), Ctrl-C, the checkpoints, TensorBoard.

Why not Keras' BackupAndRestore for --restore: it goes back to the start of the epoch
that was interrupted (here the whole run is one epoch of fit) and keeps one file that
each save overwrites in place. The checkpoints here are TensorFlow's, as the other
stages write them (the latest three, each complete before it counts), with the step
and where the batches had got to: the resumed run is the same run.
"""

import contextlib
import math
import os
import sys
from pathlib import Path

import numpy as np
import keras
import tensorflow as tf

from codelab import hints
from codelab import runfolder
from codelab import safefiles
import trainer
from tensorflowvisu import KerasDashboard

KERAS_FILE = "model.keras"  # in the --save-model folder: keras.models.load_model reads it


class Batches(keras.utils.PyDataset):
    """The training batches of `steps` steps as mnistdata draws them (mnist.train's
    shuffled epochs), and where the drawing stood before each step (for checkpoints)."""

    def __init__(self, train, batch_size, steps):
        super().__init__()
        self.train = train
        self.states = []  # states[k]: before the batch of the k-th step from here
        self.order = np.empty((steps, batch_size), np.int64)
        for k in range(steps):
            self.states.append(train.state())
            self.order[k] = train.next_batch_indices(batch_size)
        self.states.append(train.state())

    def __len__(self):
        return len(self.order)

    def __getitem__(self, k):
        picked = self.order[k]
        return self.train.images[picked], self.train.labels[picked]


def probabilities_network(model):
    """The model as runfolder.export_saved_model takes a network: X -> (Ylogits, Y)."""
    def network(X):
        Ylogits = model(X, training=False)
        return Ylogits, tf.nn.softmax(Ylogits)
    return network


class _Saver(runfolder.RunFolder):
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
        super().export()
        with safefiles.atomic_path(self.folder / KERAS_FILE) as temporary:
            self.keras_model.save(temporary)
        print(f"saved the Keras model in {self.folder / KERAS_FILE} "
              f"(keras.models.load_model reads it)")


class _Steps(keras.callbacks.Callback):
    """Between fit's steps: Ctrl-C stops it cleanly, a NaN loss with an explanation,
    and a checkpoint every trainer.CHECKPOINT_EVERY steps."""

    def __init__(self, run):
        super().__init__()
        self.run = run

    def on_train_batch_end(self, batch, logs=None):
        step = self.run.dashboard.step
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise trainer.TrainingError(
                f"the loss became NaN at step {step}; the numbers after this would be "
                f"garbage, so training stops here. Try a smaller learning rate.")
        if self.run.ctrl_c.pressed:
            self.model.stop_training = True
        if self.run.saver and step % trainer.CHECKPOINT_EVERY == 0:
            self.run.checkpoint(step)


class _CtrlC(trainer._CtrlC):
    """trainer.py's Ctrl-C (the first press stops fit after the current step, a second
    at once), and a press while the dashboard is paused stops at once: the dashboard
    then ends fit cleanly after the step where it paused."""

    def __init__(self, paused):
        super().__init__()
        self.paused = paused

    def _on_signal(self, number, frame):
        if self.paused():
            self._at_once = True
        super()._on_signal(number, frame)


class Run:
    """One run of the Keras stage: what fit needs (batches, callbacks), and what comes
    after it (the summary lines, the checkpoint and the exported model)."""

    def __init__(self, args, mnist, model, train_every, test_every, drawn_test_every):
        self.args, self.mnist, self.model = args, mnist, model
        self.ctrl_c = _CtrlC(lambda: self.dashboard.datavis.is_paused())
        model.optimizer.build(model.trainable_variables)  # a restore fills its moments
        self.step_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.progress = {"dataset": args.dataset, "batches": mnist.train.state(),
                         "max_test_accuracy": 0.0}
        self.saver = None
        if args.save_model:
            state = dict(step=self.step_counter, optimizer=model.optimizer,
                         network=list(model.variables),
                         progress=runfolder.python_state(lambda: self.progress,
                                                         self.progress.update))
            self.saver = _Saver(Path(args.save_model).expanduser(), args.stage, model, state)
            if args.restore:
                self.saver.restore()
                runfolder.resume_data(mnist, self.progress, args)
            else:
                self.saver.start(args.fresh)
        self.first_step = int(self.step_counter.numpy())
        self.batches = Batches(mnist.train, args.batch_size, args.iterations - self.first_step)
        self.dashboard = KerasDashboard(
            mnist.test.images, mnist.test.labels, headless=args.headless,
            training_images=mnist.train.images, training_labels=mnist.train.labels,
            training_count=args.batch_size, save_image=args.save_image,
            save_movie=args.save_movie, train_every=train_every, test_every=test_every,
            steps=args.iterations - self.first_step, first_step=self.first_step,
            steps_per_epoch=mnist.train.num_examples / args.batch_size,
            progress_lines=True, seed=args.seed)
        self.dashboard.max_test_accuracy = self.progress["max_test_accuracy"]
        drawn = self.first_step == 0 and bool(self.dashboard.live or args.save_image
                                              or args.save_movie or args.logdir)
        if drawn and drawn_test_every:  # the test curve, drawn: a point every few steps
            self.dashboard.test_every = drawn_test_every
        self.callbacks = [self.dashboard, _Steps(self)]
        if args.logdir:
            self.callbacks.append(keras.callbacks.TensorBoard(
                log_dir=args.logdir, update_freq=train_every, histogram_freq=1))
            print(f"TensorBoard logs in {args.logdir} (view them: tensorboard --logdir "
                  f"{hints.shell_path(args.logdir)})")

    def checkpoint(self, step):
        self.step_counter.assign(step)
        self.progress.update(batches=self.batches.states[step - self.first_step],
                             max_test_accuracy=self.dashboard.max_test_accuracy)
        self.saver.checkpoint()

    def finish(self):
        """After fit: say where it stopped, save, sum up."""
        step, last_step = self.dashboard.step, self.args.iterations
        if step < last_step:
            why = self.ctrl_c.why or "the dashboard window was closed"
            print(f"stopped at step {step} of {last_step} ({why})")
        if self.saver:
            self.checkpoint(step)
            self.saver.export()
            if step < last_step:
                instead = " instead of --fresh" if self.args.fresh else ""
                print(f"to go on from step {step}: the same command with --restore{instead}")
        steps, seconds = step - self.first_step, self.dashboard.seconds
        print(f"trained {steps} steps in {seconds:.1f} s ({steps / max(seconds, 1e-9):.1f} "
              f"steps/s)")
        print(f"max test accuracy: {self.dashboard.max_test_accuracy:.4f}")


@contextlib.contextmanager
def training(args, mnist, model, *, train_every, test_every, drawn_test_every=None):
    """The block where the stage calls model.fit(run.batches, callbacks=run.callbacks).

    train_every, test_every: steps between training figures, between test figures;
    drawn_test_every: when the curves are drawn or saved, a test figure this often
    instead. Ctrl-C and errors end the program as in the other stages (trainer.py).
    """
    with trainer._exit_on_error(), runfolder.claimed(args):
        if hasattr(sys.stdout, "reconfigure"):  # lines appear as printed, even in a pipe
            sys.stdout.reconfigure(line_buffering=True)
        run = Run(args, mnist, model, train_every, test_every, drawn_test_every)
        with run.ctrl_c:
            try:
                yield run
            except BaseException:
                run.dashboard.abandon()
                raise
            run.finish()
        if run.ctrl_c.pressed:
            raise trainer._StoppedBySignal(run.ctrl_c.exit_code)
        try:
            run.dashboard.wait_until_closed()  # a window stays open for a look
        except KeyboardInterrupt:
            pass  # Ctrl-C in the terminal closes it too: the run is over and saved
