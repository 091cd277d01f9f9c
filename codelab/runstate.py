"""A run's state between steps (the step, where the batches were, the best accuracy): restored from and saved to the --save-model folder."""

from pathlib import Path

from codelab import runfolder
from codelab.errors import TrainingError

CHECKPOINT_EVERY = 1000  # steps between checkpoints with --save-model


class RunState:
    """The step counter, what a checkpoint keeps besides the variables (where the batches
    had got to, the best test accuracy so far) and the --save-model folder (`saver`, or
    None), restored from its latest checkpoint with --restore.

    make_folder(path, stage, state) makes the folder object: runfolder.RunFolder for a
    network of variables, kerastrainer.KerasRunFolder for a Keras model. The optimiser
    must be built already (its moments exist): a restore fills them.
    """

    def __init__(self, args, mnist, optimizer, variables, make_folder, seed_generator=None):
        import tensorflow as tf
        self.args, self.mnist = args, mnist
        self.step_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.progress = {"dataset": args.dataset, "batches": mnist.train.state(),
                         "max_test_accuracy": 0.0}
        self.saver = None
        if args.save_model:
            state = dict(step=self.step_counter, optimizer=optimizer, network=list(variables),
                         progress=runfolder.python_state(lambda: self.progress,
                                                         self.progress.update))
            if seed_generator is not None:
                state["random"] = seed_generator.state
            self.saver = make_folder(Path(args.save_model).expanduser(), args.stage, state)
            if args.restore:
                self.saver.restore()
                runfolder.resume_data(mnist, self.progress, args)
        self.first_step = int(self.step_counter.numpy())
        self.max_accuracy = self.progress["max_test_accuracy"]  # as restored

    @property
    def finished_already(self):
        return self.first_step >= self.args.iterations

    def nothing_left_to_train(self):
        """--restore of a run at --iterations already: save its trained network if it was
        not (stopped, or out of disk space, while saving it); else say what to ask for."""
        if self.saver and not runfolder.network_is_saved(self.saver.folder):
            print(f"the run in {self.saver.folder} had ended at step {self.first_step}, but "
                  f"its trained network was not saved (stopped while saving it?): saving it now")
            self.saver.export()
            print(f"max test accuracy: {self.max_accuracy:.4f}")
            return
        raise TrainingError(f"the run in {self.args.save_model} is at step {self.first_step} "
                            f"already; ask for more with --iterations (more than "
                            f"{self.first_step})")

    def start(self):
        """A new run (not --restore): the folder made ready, --fresh moving the old run aside."""
        if self.saver and not self.args.restore:
            self.saver.start(self.args.fresh)

    def checkpoint_if_due(self, step, batches, max_accuracy):
        if self.saver and step % CHECKPOINT_EVERY == 0:
            self.checkpoint(step, batches, max_accuracy)

    def checkpoint(self, step, batches, max_accuracy):
        """batches: where the batches had got to before the batch of `step` was drawn."""
        self.step_counter.assign(step)
        self.progress.update(batches=batches, max_test_accuracy=max_accuracy)
        self.saver.checkpoint()

    def save_at_end(self, step, batches, max_accuracy):
        """The last checkpoint and the trained network; how to go on if the run stopped early."""
        if not self.saver:
            return
        self.checkpoint(step, batches, max_accuracy)
        self.saver.export()
        if step < self.args.iterations:
            instead = " instead of --fresh" if self.args.fresh else ""
            print(f"to go on from step {step}: the same command with --restore{instead}")
