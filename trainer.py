"""Plumbing shared by every stage script, written once so that the scripts stay lessons.

A stage script defines its network (variables, model, loss, optimiser, training
step) and hands the pieces to `run()`, which does the rest:

- `parse_args()`: the flags every stage takes (`-h` lists them), the seeds;
- the training loop: batches, progress and test lines, the live dashboard or a
  headless run, a clear stop when the loss turns into NaN;
- `--save-model DIR`: checkpoints while training (resumed with `--restore`) and a
  SavedModel at the end that `predict.py` uses;
- `--logdir DIR`: TensorBoard summaries.

Import this module before TensorFlow: it sets TensorFlow's CPU options, which are
read only once, when TensorFlow loads.
"""

import os

# oneDNN's CPU kernels train these networks about twice as fast as TensorFlow's
# default ones on the CPUs we measured, but TensorFlow leaves them off on many CPUs.
# Set TF_ENABLE_ONEDNN_OPTS=0 yourself to compare (see README, "Speed").
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
# Keep TensorFlow's start-up chatter (CPU instruction notices, etc.) off the terminal.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse
import functools
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
import keras

import mnistdata
import tensorflowvisu

BATCH_SIZE = 100  # images per training step, in every stage
TEST_CHUNK = 2000  # test images evaluated per call: bounds memory on the conv stages
CHECKPOINT_EVERY = 1000  # steps between checkpoints with --save-model
MAX_STRETCH_SECONDS = 0.1  # with a window: the longest training without answering it


class TrainingError(Exception):
    """Training cannot go on; the message says why and what to do."""


# ---------------------------------------------------------------------------- flags

def _whole_number(minimum):
    """An argparse type: a whole number, at least `minimum`."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


def make_parser(description, iterations):
    """The flags every stage script takes; `iterations` is the stage's own budget."""
    parser = argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=_whole_number(1), default=iterations, metavar="N",
                        help=f"training steps of {BATCH_SIZE} images (default: {iterations})")
    parser.add_argument("--headless", action="store_true",
                        help="no window: train with text output only (automatic without a display)")
    parser.add_argument("--seed", type=_whole_number(0), default=0, metavar="S",
                        help="random seed; the same seed prints the same numbers on CPU (default: 0)")
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
                        help="save checkpoints in DIR/checkpoints while training and the "
                             "trained network in DIR/saved_model for predict.py")
    parser.add_argument("--restore", action="store_true",
                        help="resume from the latest checkpoint in --save-model DIR")
    parser.add_argument("--logdir", metavar="DIR",
                        help="write TensorBoard summaries to DIR (view: tensorboard --logdir DIR)")
    return parser


def parse_args(description, iterations, argv=None):
    """Parse the shared flags, check them, and seed every random generator.

    Call it before creating any variable: the seed fixes their initial values.
    """
    parser = make_parser(description, iterations)
    args = parser.parse_args(argv)
    if args.restore and not args.save_model:
        parser.error("--restore needs --save-model DIR: the folder whose checkpoints to resume from")
    try:
        if args.save_image:
            tensorflowvisu.check_image_path(args.save_image, "--save-image")
        if args.save_movie:
            tensorflowvisu.check_movie_path(args.save_movie, "--save-movie")
    except tensorflowvisu.OutputPathError as error:
        parser.error(str(error))
    if args.logdir and not _tensorboard_installed():
        parser.error("--logdir needs TensorBoard, which is not installed: "
                     "pip install tensorboard (then view the logs with: tensorboard --logdir DIR)")
    for flag, folder in (("--save-model", args.save_model), ("--logdir", args.logdir)):
        if folder:
            problem = _folder_problem(folder)
            if problem:
                parser.error(f"{flag} {folder}: {problem}")
    # Progress lines appear as they are printed, even through a pipe.
    if hasattr(sys.stdout, "reconfigure"):  # not in Jupyter, IDLE or Spyder: they flush
        sys.stdout.reconfigure(line_buffering=True)
    sys.excepthook = _report_known_errors
    keras.utils.set_random_seed(args.seed)
    return args


def _tensorboard_installed():
    try:
        import tensorboard  # noqa: F401  (tf.summary writes through it)
    except ImportError:
        return False
    return True


def _folder_problem(folder):
    """Why `folder` can't be created or written to, or None if it can."""
    path = Path(folder).expanduser().absolute()
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder: choose another path"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"no permission to write in {existing}: choose a folder you own"
    return None


def _report_known_errors(kind, error, traceback):
    """Bad data or a diverged run ends with its message, not a traceback."""
    if isinstance(error, (mnistdata.DataError, TrainingError)):
        print(f"error: {error}", file=sys.stderr)
    else:
        sys.__excepthook__(kind, error, traceback)


# ----------------------------------------------------------------------- the run

def run(args, mnist, *, model, training_step, evaluate, learning_rate, variables, optimizer,
        train_every=20, test_every=100, weights=None, biases=None, histograms=None,
        dashboard=None):
    """Train a stage, feeding the dashboard, and print its progress.

    model(X) -> (Ylogits, Y, ...): the network at test time (no dropout), for export.
    training_step(X, Y_, step) -> loss: one optimiser step (a tf.function).
    evaluate(X, Y_) -> (Y, loss, accuracy): figures without training (a tf.function).
    learning_rate(step): the learning rate at that step, for the progress lines.
    variables: every variable of the network (saved in checkpoints).
    weights, biases: lists of variables for dashboard panels 4 and 5, or
    histograms(X) -> (values4, values5) to show something else there (activations).
    dashboard: keyword arguments for tensorflowvisu.MnistDataVis (titles).
    Returns the maximum test accuracy.

    The loop: at each step with figures, compute them and feed the dashboard, let it
    draw if due, then train every step up to the next step with figures in one call.
    """
    if histograms is None:
        def histograms(X):
            return (np.concatenate([w.numpy().ravel() for w in weights]),
                    np.concatenate([b.numpy().ravel() for b in biases]))
    # Create the optimiser's own variables (Adam's moments) before the first step:
    # the training step is then traced once, not twice, and a restore can fill them.
    optimizer.build([v for v in variables if v.trainable])
    step_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    saver = _Saver(args, model, variables, optimizer, step_counter) if args.save_model else None
    first_step = saver.restore() if (saver and args.restore) else 0
    last_step = args.iterations
    if first_step >= last_step:
        raise SystemExit(f"error: the checkpoint in {args.save_model} is at step {first_step}; "
                         f"ask for more with --iterations (more than {first_step})")
    dashboard = dashboard or {}
    logger = None
    if args.logdir:
        logger = _SummaryLogger(args.logdir, dashboard.get("title4", "weights"),
                                dashboard.get("title5", "biases"))
    test_images = tf.constant(mnist.test.images)  # copied to the device once, not per test
    test_labels = tf.constant(mnist.test.labels)
    train_steps = _stretch_of_steps(training_step, mnist.train.images, mnist.train.labels)
    evaluate = _any_batch_size(evaluate, mnist.test.images, mnist.test.labels)
    datavis = tensorflowvisu.MnistDataVis(headless=args.headless, **dashboard)
    # Test figures at the training cadence during the first test_every steps, where the
    # curves climb fastest: for the drawn curves only, since each costs a pass over the
    # test set (about as long as 20 training steps of stage 3.1).
    more_tests_at_start = first_step == 0 and bool(
        datavis.live or args.save_image or args.save_movie or logger)

    def flags(step):
        return figure_flags(step, last_step, train_every, test_every, more_tests_at_start)

    figure_steps = [step for step in range(first_step, last_step + 1) if any(flags(step))]
    datavis.start(first_step, last_step, updates=len(figure_steps), save_movie=args.save_movie)
    # Histograms and digit mosaics are only for someone to see: headless with nothing to
    # save, the curves' figures are all a run needs (they give the max test accuracy).
    pictures = bool(datavis.draws_during_training or args.save_image or logger)

    def training_figures(step, batch):
        batch_X, batch_Y = mnist.train.images[batch], mnist.train.labels[batch]
        Y, loss, accuracy = evaluate(batch_X, batch_Y)
        Y, loss, accuracy = Y.numpy(), float(loss), float(accuracy)
        lr = float(learning_rate(tf.constant(step, tf.float32)))
        print(f"step {step}: training accuracy: {accuracy:.4f} loss: {loss:.4f} lr: {lr:.6f}")
        datavis.append_training_curves_data(step, accuracy, loss)
        if pictures:
            values4, values5 = (np.asarray(values) for values in histograms(batch_X))
            datavis.append_data_histograms(step, values4, values5)
            mosaic = functools.partial(tensorflowvisu.mnist_mosaic, batch_X, Y, batch_Y)
            datavis.update_image1(mosaic)  # made only if it gets drawn or saved
            if logger:
                logger.training(step, accuracy, loss, lr, values4, values5, mosaic())

    def test_figures(step):
        Y, loss, accuracy = _evaluate_in_chunks(evaluate, test_images, test_labels)
        epoch = step * BATCH_SIZE / mnist.train.num_examples
        print(f"step {step}: epoch {epoch:.2f} test accuracy: {accuracy:.4f} "
              f"test loss: {loss:.4f}")
        datavis.append_test_curves_data(step, accuracy, loss)
        if pictures:
            # 1000 of the test digits, the misrecognised ones first: the red block's
            # height on panel 6's scale (100 % to 90 %) reads as the error rate.
            mosaic = functools.partial(tensorflowvisu.test_digits_mosaic, mnist.test.images,
                                       Y, mnist.test.labels)
            datavis.update_image2(mosaic)
            if logger:
                logger.test(step, accuracy, loss, mosaic())

    next_figures = iter(figure_steps)
    next_figure_step = next(next_figures)
    seconds_per_step = math.inf  # measured on each stretch
    step = first_step
    batch = mnist.train.next_batch_indices(BATCH_SIZE)
    start = time.perf_counter()
    try:
        while True:
            if step == next_figure_step:
                update_train, update_test = flags(step)
                if update_train:
                    training_figures(step, batch)
                if update_test:
                    test_figures(step)
                next_figure_step = next(next_figures, None)
            datavis.tick()  # draws if due; waits here while paused
            if step >= last_step or datavis.is_closed():
                break
            # Train up to the next step with figures (or a checkpoint) in one call. With
            # a live dashboard, calls last about MAX_STRETCH_SECONDS, so that the window
            # keeps answering keys and the pictures keep coming.
            end = min(next_figure_step, (step // CHECKPOINT_EVERY + 1) * CHECKPOINT_EVERY)
            if datavis.live:
                end = min(end, step + max(1, int(MAX_STRETCH_SECONDS / seconds_per_step)))
            batches = [batch] + [mnist.train.next_batch_indices(BATCH_SIZE)
                                 for _ in range(step + 1, end)]
            began = time.perf_counter()
            picked = np.stack(batches)  # [steps, BATCH_SIZE]: one copy of the images
            losses = train_steps(mnist.train.images[picked], mnist.train.labels[picked],
                                 tf.constant(step, tf.float32)).numpy()
            seconds_per_step = (time.perf_counter() - began) / len(batches)
            diverged = np.flatnonzero(~np.isfinite(losses))
            if diverged.size:
                raise TrainingError(_nan_message(step + int(diverged[0])))
            step = end
            step_counter.assign(step)
            if saver and step % CHECKPOINT_EVERY == 0:
                saver.checkpoint()
            batch = mnist.train.next_batch_indices(BATCH_SIZE)
        seconds = time.perf_counter() - start
        written = datavis.finish(save_image=args.save_image)
    except BaseException:
        datavis.abandon()
        raise
    finally:
        if logger:
            logger.close()
    steps = step - first_step
    if saver:
        saver.checkpoint()
        saver.export()
    for path in written:
        print(f"saved the dashboard in {path}")
    print(f"trained {steps} steps in {seconds:.1f} s ({steps / max(seconds, 1e-9):.1f} steps/s)")
    max_accuracy = datavis.get_max_test_accuracy()
    print(f"max test accuracy: {max_accuracy:.4f}")
    datavis.wait_until_closed()  # a window stays open for a look until its user closes it
    return max_accuracy


def figure_flags(step, last_step, train_every, test_every, more_tests_at_start=False):
    """(training figures?, test figures?) at `step`.

    Training figures every train_every steps, test figures every test_every steps,
    both at the last step. more_tests_at_start adds test figures at the training
    cadence during the first test_every steps.
    """
    last = step == last_step
    train = step % train_every == 0 or last
    test = step % test_every == 0 or last
    if more_tests_at_start and step < test_every:
        test = test or step % train_every == 0
    return train, test


def _stretch_of_steps(training_step, images, labels):
    """A tf.function that runs training_step on each of a stack of batches, shaped
    [steps, BATCH_SIZE, ...] as `images` and `labels` are with [BATCH_SIZE, ...],
    and returns the losses.

    One call trains every step between two dashboard updates: per step, this saves
    Python's call overhead and a conversion of the batch to a tensor (on 2 CPU cores,
    a tenth of stage 3.1's step; more on the smaller networks). The steps are the same
    ones, in the same order, as one call per step would run.
    """
    @tf.function(input_signature=[
        tf.TensorSpec([None, BATCH_SIZE, *images.shape[1:]], tf.as_dtype(images.dtype)),
        tf.TensorSpec([None, BATCH_SIZE, *labels.shape[1:]], tf.as_dtype(labels.dtype)),
        tf.TensorSpec([], tf.float32)])
    def train_steps(batches_X, batches_Y, first_step):
        count = tf.shape(batches_X)[0]
        losses = tf.TensorArray(tf.float32, size=count)
        for k in tf.range(count):
            loss = training_step(batches_X[k], batches_Y[k], first_step + tf.cast(k, tf.float32))
            losses = losses.write(k, tf.cast(loss, tf.float32))
        return losses.stack()
    return train_steps


def _any_batch_size(evaluate, images, labels):
    """evaluate as one tf.function for any number of images shaped as `images` and
    `labels`: traced once, not once for the training batches and again for the test
    chunks."""
    function = getattr(evaluate, "python_function", evaluate)
    return tf.function(function, input_signature=[
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
            "How the later stages avoid it: they compute the loss from the logits with "
            "tf.nn.softmax_cross_entropy_with_logits, which never takes log(0) "
            "(see mnist_2.1_five_layers_relu_lrdecay.py). A smaller learning rate also helps.")


# ------------------------------------------------------------- checkpoints, export

class _Saver:
    """Checkpoints in DIR/checkpoints; the trained network as a SavedModel in DIR/saved_model."""

    def __init__(self, args, model, variables, optimizer, step_counter):
        self.folder = Path(args.save_model).expanduser()
        self.model = model
        self.variables = list(variables)
        self.optimizer = optimizer
        self.step_counter = step_counter
        self.checkpoint_ = tf.train.Checkpoint(step=step_counter, optimizer=optimizer,
                                               network=self.variables)
        self.manager = tf.train.CheckpointManager(self.checkpoint_, self.folder / "checkpoints",
                                                  max_to_keep=3)

    def restore(self):
        latest = self.manager.latest_checkpoint
        if latest is None:
            raise SystemExit(f"error: --restore: no checkpoint in {self.folder / 'checkpoints'}; "
                             f"train once with --save-model {self.folder} first")
        try:
            self.checkpoint_.restore(latest).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError) as error:
            raise SystemExit(f"error: --restore: the checkpoint {latest} does not fit this "
                             f"stage's network ({type(error).__name__}); was it saved by "
                             f"another stage script? Use a separate --save-model folder per stage.")
        step = int(self.step_counter.numpy())
        print(f"restored {latest} (step {step})")
        return step

    def checkpoint(self):
        self.manager.save(checkpoint_number=int(self.step_counter.numpy()))

    def export(self):
        export_saved_model(self.folder / "saved_model", self.model, self.variables)
        print(f"saved the trained network in {self.folder / 'saved_model'} "
              f"(try: python3 predict.py --model {self.folder} my_digit.png)")


def export_saved_model(path, model, variables):
    """Write a SavedModel whose serving_default maps `images` to `probabilities`.

    images: float32 [N, 28, 28, 1] in [0, 1], light ink on black as in MNIST.
    Written next to the target and renamed into place: an interrupted export
    leaves the previous model intact.
    """
    module = tf.Module()
    module.variables_ = list(variables)

    @tf.function(input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.float32, name="images")])
    def serve(images):
        return {"probabilities": model(images)[1]}

    module.serve = serve
    path = Path(path)
    temporary = path.with_name(path.name + ".partial")
    _remove_tree(temporary)
    tf.saved_model.save(module, str(temporary), signatures={"serving_default": serve})
    old = path.with_name(path.name + ".old")
    _remove_tree(old)
    if path.exists():
        path.rename(old)
    temporary.rename(path)
    _remove_tree(old)


def _remove_tree(path):
    if path.exists():
        shutil.rmtree(path)


# ------------------------------------------------------------------- TensorBoard

class _SummaryLogger:
    """TensorBoard summaries: curves, histograms and the digit mosaics."""

    def __init__(self, logdir, histogram4_name, histogram5_name):
        # TensorBoard tags: the dashboard's panel titles, as lower_case_words.
        self.histogram_names = [name.lower().replace(" ", "_")
                                for name in (histogram4_name, histogram5_name)]
        self.train_writer = tf.summary.create_file_writer(os.path.join(logdir, "train"))
        self.test_writer = tf.summary.create_file_writer(os.path.join(logdir, "test"))
        print(f"TensorBoard logs in {logdir} (view them: tensorboard --logdir {logdir})")

    def training(self, step, accuracy, loss, lr, values4, values5, mosaic):
        with self.train_writer.as_default(step=step):
            tf.summary.scalar("accuracy", accuracy)
            tf.summary.scalar("loss", loss)
            tf.summary.scalar("learning_rate", lr)
            tf.summary.histogram(self.histogram_names[0], values4)
            tf.summary.histogram(self.histogram_names[1], values5)
            tf.summary.image("training_digits", mosaic[np.newaxis])

    def test(self, step, accuracy, loss, mosaic):
        with self.test_writer.as_default(step=step):
            tf.summary.scalar("accuracy", accuracy)
            tf.summary.scalar("loss", loss)
            tf.summary.image("test_digits", mosaic[np.newaxis])

    def close(self):
        self.train_writer.close()
        self.test_writer.close()
