"""
dashboard.kerascallback: the six-panel dashboard for any Keras model, fed by model.fit
======================================================================================

    from tensorflowvisu import KerasDashboard

    dashboard = KerasDashboard(x_test, y_test, training_images=x_train,
                               training_labels=y_train)
    model.fit(x_train, y_train, epochs=2, callbacks=[dashboard])
    dashboard.wait_until_closed()                    # a window stays open until closed

A keras.callbacks.Callback that shows tensorflowvisu's six panels while model.fit trains
a classifier of 28 x 28 images into 10 classes (MNIST, Fashion-MNIST or your own):
    images  [N, 28, 28, 1], [N, 28, 28] or [N, 784], whichever the model takes: they
            are reshaped to its input; NaN or infinite values are refused; the mosaics
            show values from 0 to 1 as ink (uint8 or floats up to 255: /255)
    labels  class ids [N] (or [N, 1]), or one-hot [N, 10]
    outputs one output of 10 per image: probabilities, or scores / logits. Outputs that are all
            >= 0 and sum to 1 on every row are taken as probabilities; anything else
            goes through softmax first. So a model ending in Dense(10) (logits, loss
            from_logits=True) and one ending in softmax both show the same figures.

The figures are the stages' own, measured by the dashboard from the model's outputs:
accuracy, and cross-entropy against the true labels, mean over the images x 100 (the
stages' scale), whatever loss the model was compiled with (label smoothing, weights).
    Training curves and panel 3: Keras does not hand a callback the batch it trained.
    The stages measure their training figure on a batch, with the network as it is at
    that step (test mode: no dropout). So does the dashboard: every `train_every` steps
    it draws `training_count` images of training_images at random, runs the model on
    them and shows them, misrecognised first. Not
    the batch fit just trained, then, but training images of the same kind, measured
    the same way. Without training_images the training curves are fit's own figures
    from its logs (loss and accuracy averaged since the start of the epoch, as its
    progress bar shows; loss x 100) and panel 3 stays empty.
    Test curves and panel 6: every `test_every` steps and at the end, on the first
    `test_count` test images (default: all).
    Panels 4 and 5: every trainable variable of `layers` (default: the whole model),
    the biases and batch-norm offsets (Keras' "bias" and "beta") in panel 5, every
    other trainable variable (kernels, batch-norm scales...) in panel 4.

KerasDashboard only shows: it measures, keeps (`history`, `max_test_accuracy`) and
draws, and never prints nor stops fit. Keys and a notebook as with the stages
(tensorflowvisu.py); pausing holds fit, as the dashboard waits inside its callback until
resumed; closing the window (or q) closes the view, and fit goes on; Ctrl-C is Keras'
own. Keras' progress bar works beside it (verbose=0 hides it). A program that wants more
(progress lines, a stop when the window closes) drives it from a callback of its own
with start(), show_figures(), tick() and is_closed(), and does not pass it to fit: stage
7.0's codelab/kerastrainer.py does so, at the other stages' steps and with their lines.
"""

import time
from typing import Callable, NamedTuple, Optional

import numpy as np
import keras

from dashboard.mosaics import TRAIN_MOSAIC_COUNT, mnist_mosaic, test_digits_mosaic
from dashboard.saving import check_image_path, check_movie_path
from dashboard.view import MnistDataVis

TICK_INTERVAL_S = 0.1        # with a window: answer it at least this often during fit
PROBABILITY_TOLERANCE = 1e-3  # rows summing to 1 within this are probabilities
LOG_FLOOR = 1e-7             # log(0) guard for probabilities (Keras' own epsilon)


def class_ids(labels, what="labels"):
    """Class ids [N] from ids [N] / [N, 1] or one-hot [N, 10]; ValueError otherwise."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 10:
        return labels.argmax(axis=1)
    if labels.ndim == 1 or (labels.ndim == 2 and labels.shape[1] == 1):
        ids = labels.ravel()
        if ids.size and (not np.all(np.equal(np.mod(ids, 1), 0)) or ids.min() < 0
                         or ids.max() > 9):
            raise ValueError(f"KerasDashboard: {what} must be class ids 0-9 or one-hot "
                             f"[N, 10]; they hold values from {ids.min()} to {ids.max()}")
        return ids.astype(np.int64)
    raise ValueError(f"KerasDashboard: {what} of shape {labels.shape}: give class ids [N] "
                     f"or one-hot labels [N, 10]")


def check_images(images, what="images"):
    """The images as a numpy array, after checking their shape."""
    images = np.asarray(images)
    if images.shape[1:] not in ((28, 28, 1), (28, 28), (784,)):
        raise ValueError(f"KerasDashboard: {what} of shape {images.shape}: give 28 x 28 "
                         f"images as [N, 28, 28, 1], [N, 28, 28] or [N, 784]")
    if len(images) == 0:
        raise ValueError(f"KerasDashboard: {what} is empty")
    if images.dtype.kind == "f":
        bad = ~np.isfinite(images.reshape(len(images), -1)).all(axis=1)
        if bad.any():
            raise ValueError(f"KerasDashboard: {what} hold NaN or infinite values, in "
                             f"{int(bad.sum())} of {len(images)} images (the first: image "
                             f"{int(np.argmax(bad))}); the figures of such images mean nothing: "
                             f"drop them or replace the values")
    return images


def as_ink(images):
    """Images for the mosaics: values from 0 to 1 (uint8, or floats above 1.5: / 255)."""
    images = np.asarray(images)
    if images.dtype != np.uint8 and images.size and float(np.max(images)) > 1.5:
        return images.astype(np.float32) / 255.0
    return images


def figures(outputs, ids):
    """(probabilities [N, 10], cross-entropy x 100, accuracy) of a model's outputs
    [N, 10] against class ids [N]: probabilities if every row is >= 0 and sums to 1,
    else scores or logits, which go through softmax."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim != 2 or outputs.shape[1] != 10:
        raise ValueError(f"KerasDashboard: the model gives outputs of shape {outputs.shape} "
                         f"for {len(ids)} images; it needs 10 per image (one per class)")
    rows = np.arange(len(ids))
    if outputs.min() >= 0 and np.allclose(outputs.sum(axis=1), 1, atol=PROBABILITY_TOLERANCE):
        probabilities = outputs
        log_correct = np.log(np.maximum(outputs[rows, ids], LOG_FLOOR))
    else:
        shifted = outputs - outputs.max(axis=1, keepdims=True)
        log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        probabilities = np.exp(log_probabilities)
        log_correct = log_probabilities[rows, ids]
    loss = -float(np.mean(log_correct)) * 100
    accuracy = float(np.mean(probabilities.argmax(axis=1) == ids))
    return probabilities, loss, accuracy


def _logged_figures(logs):
    """(accuracy, loss x 100) from fit's logs, or None where it logs no such figure."""
    logs = logs or {}
    accuracy = next((float(value) for key, value in logs.items()
                     if key in ("accuracy", "acc") or key.endswith("categorical_accuracy")),
                    None)
    loss = logs.get("loss")
    return accuracy, None if loss is None else float(loss) * 100


class ModelFigures:
    """The stages' figures of a Keras model, measured from its outputs in test mode: on
    the first `test_count` test images, and on `training_count` training images drawn
    from (seed, step) for the training figures of that step (so that a resumed run
    shows what an unbroken one would). Its inputs are checked here: a ValueError that
    names the argument, before fit starts."""

    def __init__(self, test_images, test_labels, training_images=None, training_labels=None,
                 test_count=None, training_count=100, layers=None, seed=0):
        self.test_images, self.test_ids = checked_pair(test_images, test_labels, "test")
        if test_count is not None:
            if not (isinstance(test_count, (int, np.integer))
                    and 1 <= test_count <= len(self.test_images)):
                raise ValueError(f"KerasDashboard: test_count must be a whole number from 1 "
                                 f"to {len(self.test_images)} (the test_images given), not "
                                 f"{test_count!r}; leave it out to test on all of them")
            self.test_images = self.test_images[:test_count]
            self.test_ids = self.test_ids[:test_count]
        self.training_images = self.training_ids = None
        if (training_images is None) != (training_labels is None):
            raise ValueError("KerasDashboard: give training_images and training_labels "
                             "together, or neither")
        if training_images is not None:
            self.training_images, self.training_ids = checked_pair(
                training_images, training_labels, "training")
        self.training_count = min(int(training_count), len(self.training_images)
                                  if self.training_images is not None else int(training_count))
        self.layers, self.seed = layers, seed

    def outputs(self, model, images):
        """The model's outputs for `images`, in test mode, training_count images per call:
        one shape for every call (the last one padded), so that Keras compiles its
        predict function once, not once per shape. The images are shaped as the model
        takes them ([N, 784], [N, 28, 28] or [N, 28, 28, 1]: the same pixels)."""
        images = as_model_input(model, images)
        size = self.training_count
        outputs = []
        for begin in range(0, len(images), size):
            chunk = images[begin:begin + size]
            if len(chunk) < size:
                padding = np.zeros((size - len(chunk), *chunk.shape[1:]), chunk.dtype)
                chunk = np.concatenate([chunk, padding])
            output = model.predict_on_batch(chunk)
            if isinstance(output, (list, tuple, dict)):
                raise ValueError(f"KerasDashboard: the model has {len(output)} outputs; the "
                                 f"dashboard reads one, of 10 scores per image (for a model "
                                 f"with several, build one that ends at the classifier's)")
            outputs.append(np.asarray(output))
        return np.concatenate(outputs)[:len(images)]

    def training(self, model, step):
        """(images, ids, probabilities, loss x 100, accuracy) of the training figures at
        `step`."""
        rng = np.random.default_rng([self.seed, step])
        picked = rng.choice(len(self.training_images), self.training_count, replace=False)
        images, ids = self.training_images[picked], self.training_ids[picked]
        return (images, ids, *figures(self.outputs(model, images), ids))

    def test(self, model):
        """(probabilities, loss x 100, accuracy) on the test images."""
        return figures(self.outputs(model, self.test_images), self.test_ids)

    def weights_and_biases(self, model):
        """Panel 4: every trainable variable but the biases; panel 5: the biases and
        batch-norm offsets. Empty ones show as a flat 0."""
        layers = self.layers or [model]
        variables = [v for layer in layers
                     for v in (model.get_layer(layer) if isinstance(layer, str)
                               else layer).trainable_weights]
        weights, biases = [np.zeros(1)], [np.zeros(1)]
        for v in variables:
            name = v.path.rsplit("/", 1)[-1]
            (biases if name in ("bias", "beta") else weights).append(
                np.asarray(v.numpy(), dtype=np.float32).ravel())
        return (np.concatenate(weights[1:] or weights), np.concatenate(biases[1:] or biases))


def checked_pair(images, labels, what):
    """(images, class ids) of `what` ("test", "training") after checking them."""
    images = check_images(images, f"{what}_images")
    ids = class_ids(labels, f"{what}_labels")
    if len(ids) != len(images):
        raise ValueError(f"KerasDashboard: {len(images)} {what}_images but {len(ids)} "
                         f"{what}_labels; they must match")
    return images, ids


def as_model_input(model, images):
    """`images` reshaped to the model's input, [N, 784], [N, 28, 28] or [N, 28, 28, 1]."""
    shape = getattr(model, "input_shape", None)
    if not isinstance(shape, tuple) or None in shape[1:] or len(shape) < 2:
        return images  # several inputs, or a model not built yet: as given
    if int(np.prod(shape[1:])) != 784:
        raise ValueError(f"KerasDashboard: the model takes inputs of shape {shape}; the "
                         f"dashboard gives it 28 x 28 images ([N, 784], [N, 28, 28] or "
                         f"[N, 28, 28, 1])")
    return images.reshape(len(images), *shape[1:])


def due(previous, step, last_step, train_every, test_every):
    """(training figures?, test figures?) at `step`, reached from `previous`: when it
    passed a multiple of train_every or test_every (fit's steps_per_execution can step
    over them), and both at the last step."""
    last = step >= last_step
    return (last or step // train_every > previous // train_every,
            last or step // test_every > previous // test_every)


class Shown(NamedTuple):
    """The figures of one step, as the dashboard measured and showed them: what a
    program around fit may print or log (stage 7.0: progress lines, TensorBoard)."""
    accuracy: float
    loss: float                  # cross-entropy x 100
    mosaic: Optional[Callable]   # mosaic() -> the panel's picture, or None
    values4: Optional[np.ndarray] = None   # training figures: panel 4's values, or None
    values5: Optional[np.ndarray] = None   # panel 5's


class KerasDashboard(keras.callbacks.Callback):
    """The live dashboard of a model.fit run (see the module docstring).

    test_images, test_labels    what panel 6 and the test curves measure
    training_images, training_labels   (optional) what panel 3 and the training curves
                                measure, `training_count` images at a time
    headless                    no window (automatic without a display)
    save_image, save_movie      the final dashboard (.png, .svg...), the run as a movie
                                (.gif, or .mp4 .mkv... with ffmpeg); checked at once
    train_every, test_every     steps (batches) between training figures, test figures;
                                both at the first and the last step
    test_count                  test images measured at each test (default: all)
    layers                      layers whose variables panels 4 and 5 show (default: all)
    title4, title5              other titles for panels 4 and 5
    pictures                    measure the panels' pictures even when no one sees them
                                (for a program that logs them: stage 7.0's TensorBoard)
    seed                        draws the training images measured at each step

    What it showed is kept in `history`: {"training": [(step, accuracy, loss)...],
    "test": [...]}, and the best test accuracy in `max_test_accuracy`.
    """

    def __init__(self, test_images, test_labels, *, training_images=None,
                 training_labels=None, headless=False, save_image=None, save_movie=None,
                 train_every=10, test_every=100, test_count=None, training_count=100,
                 layers=None, title4="Weights", title5="Biases", pictures=False, seed=0):
        super().__init__()
        if save_image:
            check_image_path(save_image, "save_image")
        if save_movie:
            check_movie_path(save_movie, "save_movie")
        for name, value in (("train_every", train_every), ("test_every", test_every),
                            ("training_count", training_count)):
            if int(value) < 1:
                raise ValueError(f"KerasDashboard: {name} must be at least 1, not {value}")
        self.measure = ModelFigures(test_images, test_labels, training_images,
                                    training_labels, test_count, training_count, layers, seed)
        self.headless, self.save_image, self.save_movie = headless, save_image, save_movie
        self.train_every, self.test_every = int(train_every), int(test_every)
        self.titles = (title4, title5)
        self.keep_pictures = pictures
        self.max_test_accuracy = 0.0
        self.history = {"training": [], "test": []}
        self.step = 0                             # steps trained (fit's batches) so far
        self.written = []                          # the files finish() wrote
        self.datavis = self._new_dashboard()
        self._started = False

    def _new_dashboard(self):
        return MnistDataVis(headless=self.headless, title4=self.titles[0],
                            title5=self.titles[1])

    @property
    def live(self):
        """True if the dashboard is drawn during training (a window or a notebook)."""
        return self.datavis.live

    @property
    def pictures(self):
        """True if the panels' pictures are seen, saved or kept (else only the curves)."""
        return bool(self.datavis.draws_during_training or self.save_image
                    or self.keep_pictures)

    # -- fit's calls: the dashboard as a callback of your own fit ---------------------

    def on_train_begin(self, logs=None):
        epochs, steps_per_epoch = self.params.get("epochs"), self.params.get("steps")
        first_step = self.step                    # a second fit goes on from the first
        if epochs and steps_per_epoch:
            last_step = first_step + int(epochs) * int(steps_per_epoch)
        else:  # a dataset of unknown length: the x axis guesses
            last_step = first_step + 1000
        self._epoch_first_step = first_step
        self._logs = None
        updates = len([s for s in range(first_step, last_step + 1)
                       if any(due(s - 1, s, last_step, self.train_every, self.test_every))])
        self.start(first_step, last_step, updates)
        self.show_figures(first_step, training=True, test=True)
        self.tick()

    def on_epoch_begin(self, epoch, logs=None):
        steps_per_epoch = self.params.get("steps")
        self._epoch_first_step = (self.first_step + epoch * steps_per_epoch
                                  if steps_per_epoch else self.step)

    def on_train_batch_end(self, batch, logs=None):
        # With steps_per_execution, fit reports once per call; the last call of an
        # epoch may run fewer steps than the batch number it reports.
        steps_per_epoch = self.params.get("steps")
        done = batch + 1 if not steps_per_epoch else min(batch + 1, steps_per_epoch)
        previous, step = self.step, self._epoch_first_step + done
        self._logs = logs
        training, test = due(previous, step, self.last_step, self.train_every,
                             self.test_every)
        if training or test:
            self.show_figures(step, training, test)
            self.tick()
        else:
            self.step = step
            if time.perf_counter() - self._last_tick > TICK_INTERVAL_S:
                self.tick()

    def on_train_end(self, logs=None):
        self.finish()

    # -- for the program around fit ------------------------------------------------

    def start(self, first_step, last_step, updates):
        """Training goes from first_step to last_step, with figures at `updates` steps
        (for the x axis and the movie's frames). on_train_begin calls it; a program
        that drives the dashboard itself (stage 7.0) calls it instead."""
        if self._started:                         # a second fit with the same callback
            self.datavis = self._new_dashboard()
        self._started = True
        self.first_step, self.last_step, self.step = first_step, last_step, first_step
        self._shown_training = self._shown_test = None
        self.datavis.start(first_step, last_step, updates=updates, save_movie=self.save_movie)
        self._last_tick = time.perf_counter()

    def show_figures(self, step, training, test):
        """Measure the model at `step` and show it: (training figures, test figures),
        each a Shown, or None where not asked for (or not measurable: no
        training_images, and fit has logged no figures yet)."""
        self.step = step
        shown = (self._training_figures(step) if training else None,
                 self._test_figures(step) if test else None)
        if training:
            self._shown_training = step
        if test:
            self._shown_test = step
        return shown

    def tick(self):
        """Draw if due and answer the window; waits while paused. Returns False once the
        window was closed (the dashboard never stops fit: that is the caller's choice)."""
        go_on = self.datavis.tick()
        self._last_tick = time.perf_counter()
        return go_on

    def finish(self):
        """After fit: the figures where it stopped, if not shown yet, then the final
        picture and movie (their paths in `written`)."""
        if self._shown_test != self.step:
            self.show_figures(self.step, self._shown_training != self.step, True)
        self.written = self.datavis.finish(save_image=self.save_image)
        return self.written

    def wait_until_closed(self):
        """After fit, in a program with a desktop window: keep the window alive (keys,
        zoom) until the user closes it. Returns at once headless or in a notebook."""
        if self.datavis is not None:
            self.datavis.wait_until_closed()

    def is_closed(self):
        """True once the window was closed."""
        return self.datavis.is_closed()

    def abandon(self):
        """fit failed or was interrupted: drop the movie being recorded."""
        if self.datavis is not None:
            self.datavis.abandon()

    # -- the figures -----------------------------------------------------------------

    def _training_figures(self, step):
        mosaic = values4 = values5 = None
        if self.measure.training_images is not None:
            images, ids, probabilities, loss, accuracy = self.measure.training(self.model, step)
        else:
            accuracy, loss = _logged_figures(self._logs)
            if accuracy is None or loss is None:
                return None                      # step 0, or a model without accuracy
        self.history["training"].append((step, accuracy, loss))
        self.datavis.append_training_curves_data(step, accuracy, loss)
        if self.pictures:
            values4, values5 = self.measure.weights_and_biases(self.model)
            self.datavis.append_data_histograms(step, values4, values5)
            if self.measure.training_images is not None:
                def mosaic():
                    return mnist_mosaic(as_ink(images), probabilities, ids,
                                        n=TRAIN_MOSAIC_COUNT)
                self.datavis.update_image1(mosaic)
        return Shown(accuracy, loss, mosaic, values4, values5)

    def _test_figures(self, step):
        probabilities, loss, accuracy = self.measure.test(self.model)
        self.max_test_accuracy = max(self.max_test_accuracy, accuracy)
        self.history["test"].append((step, accuracy, loss))
        self.datavis.append_test_curves_data(step, accuracy, loss)
        mosaic = None
        if self.pictures:
            images, ids = self.measure.test_images, self.measure.test_ids

            def mosaic():
                return test_digits_mosaic(as_ink(images), probabilities, ids)
            self.datavis.update_image2(mosaic, test_count=len(ids))
        return Shown(accuracy, loss, mosaic)
