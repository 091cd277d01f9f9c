"""
tensorflowvisu: the live dashboard of the MNIST codelab
=======================================================

Six panels, 2 x 3, one matplotlib Axes each:

    1 Accuracy            2 Cross entropy loss     3 Training digits
    4 Weights             5 Biases                 6 Test digits

Keys (click on the window first):
    1..6        that panel alone, enlarged to the whole window
    7 / 8 / 9   panels 1 and 2 / panels 4 and 5 / panels 3 and 6
    0, Escape   all six panels
    space       pause and resume training (and drawing)
    o, h, ctrl+s   matplotlib's own keys: box zoom, reset zooms, save the image
    q           close the window (this stops training)

A strip above the panels (and the window's title) says what is going on: TensorFlow
preparing (from start() until a stretch of training has run: the first tick() draws
the first figures, the next one clears it), paused, or training finished (from
wait_until_closed(), which prints it in the terminal too); on its right, the keys.

The dashboard is a view: it shows what it is fed and never drives training. The
contract with the loop that feeds it (trainer.train(), kerasdashboard.KerasDashboard):
the loop hands it data; once per figure it asks one question, tick() -> go on? (True,
or False once the window is closed; while the learner has paused, tick() returns only
when resumed or closed, so training pauses with it); and it reads two facts to skip work
no one would see: `live` (a window or notebook figure that draws during training: the
loop then trains in short stretches) and `draws_during_training` (mosaics and bands are
worth computing). trainer.py feeds it like this:

    datavis = MnistDataVis(title4="Weights", title5="Biases")
    datavis.start(first_step=0, last_step=2000, updates=201, save_movie="run.mp4")
    while ...:                                      # at each step with new figures:
        datavis.append_training_curves_data(step, accuracy, loss)
        datavis.append_data_histograms(step, weights, biases)
        datavis.update_image1(mosaic)               # panel 3: the training batch
        datavis.append_test_curves_data(step, accuracy, loss)     # at test steps
        datavis.update_image2(mosaic)               # panel 6: 1,000 test digits
        if not datavis.tick():   # draws if due, answers the window; waits while paused
            break                # the window was closed
        ...                  # train up to the next step with figures
    datavis.finish(save_image="final.png")          # the final picture, the files
    datavis.wait_until_closed()

Where it appears (decided once, when MnistDataVis is built):
    - headless=True: nowhere (--headless); the figure is drawn off screen only for
      --save-image and --save-movie.
    - in Jupyter: live in the notebook with an interactive backend (%matplotlib widget);
      otherwise as a picture refreshed about once a second.
    - otherwise in a window, made smaller where the screen is (fit_to_screen). When no
      window can be opened (no DISPLAY or WAYLAND_DISPLAY on Linux, a backend that
      cannot draw on screen, or one that fails to start), it prints one line of notice
      on stderr and carries on headless.
The margins around the panels are sized in points for their text (Panels.place), and
sized again when the window is resized.

How it stays live without slowing training much: painting the axes, ticks and text
is slow (a quarter of a second for the whole figure on 2 cores), painting the curves,
bands and digits alone is quick. So the slow part is painted once and kept as a
background; each redraw puts back the background of the panels with news and paints
only their moving parts over it (blitting, 10-30 ms). The axes are painted again only
when a range changes, and the ranges are chosen to change seldom. A redraw comes at
each new figure, at most REDRAW_RATE times a second; panel 6 (1,000 digits) at most
once a second. Module DrawPacing keeps drawing near DRAW_SHARE of the time, and
never below MIN_PICTURES pictures for a run, however short. A layout key is painted
at the next tick, in full the first time; the picture of each layout is kept, so that
coming back to it costs about a data redraw.

Panels 4 and 5 show percentile bands: at each recorded step, the values are cut into
7 buckets holding the same number of values (see percentile_bands), drawn as 7 shaded
bands, palest outside and strongest in the middle one, which holds the median.
"""

import io
import math
import os
import shutil
import subprocess
import sys
import time
import contextlib

import numpy as np
import matplotlib
import matplotlib.style
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox

import safefiles

# ----------------------------------------------------------------------------
# Settings (constants only: every dashboard keeps its own data on its instance)

DEFAULT_TITLES = ("Accuracy", "Cross entropy loss", "Training digits",
                  "Weights", "Biases", "Test digits")

# which panels each key shows, in reading order
PANEL_LAYOUTS = {"1": (1,), "2": (2,), "3": (3,), "4": (4,), "5": (5,), "6": (6,),
                 "7": (1, 2), "8": (4, 5), "9": (3, 6),
                 "0": (1, 2, 3, 4, 5, 6), "escape": (1, 2, 3, 4, 5, 6)}
ALL_PANELS = (1, 2, 3, 4, 5, 6)

STYLE = "ggplot"                   # grey panels, white grid: the original's look
TRAIN_COLOUR, TEST_COLOUR = "#348ABD", "#E24A33"
TRAIN_LINE_WIDTH, TEST_LINE_WIDTH = 1.0, 2.5    # a thin training line, a thick test line
BAND_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
                "tab:brown", "tab:pink", "tab:gray", "tab:olive", "tab:cyan")
BAND_COLOUR_WEIGHTS, BAND_COLOUR_BIASES = 2, 2   # indexes into BAND_COLOURS
BAND_COUNT = 7                                   # equal-count buckets in panels 4 and 5
BAND_QUANTILES = tuple(k / BAND_COUNT for k in range(BAND_COUNT + 1))  # 0, 1/7, ..., 1
BAND_SHADES = (0.25, 0.45, 0.7, 1.0, 0.7, 0.45, 0.25)  # colour strength, outer to median
BAND_MIN_SPAN = 0.01               # panels 4 and 5 never show a narrower range (all-zero
                                   # weights at step 0 would give a zero-width one)
LOSS_TOP_AT_START = 100.0          # the original's fixed loss scale (x 100 per batch)

FIGURE_SIZE = (13.0, 7.2)          # inches; 1300 x 720 pixels at 100 dpi: smaller if the
                                   # screen is (see fit_to_screen)
WINDOW_FRAME_PX = (20, 80)         # screen width and height kept for the window's borders,
                                   # title bar and a task bar or dock (unknown to us)
X_LABEL = "training step"          # panels 1, 2, 4 and 5: x is the training step
WIDEST_Y_LABEL = "\u22120.0025"     # the widest y tick label panels 4 and 5 can show
WIDEST_X_LABEL = "10000"           # the widest x tick label, overhanging the panel's right end

# The strip above the panels: what is happening (left) and the keys (right, in a window).
STATUS = {   # kind -> (text on the figure, box colour, text colour, window title)
    "preparing": ("preparing TensorFlow: tracing the network takes a few seconds...",
                  "#F2C14E", "black", "MNIST (preparing TensorFlow)"),
    "paused": ("paused: press space to resume", "#555555", "white", "MNIST (paused)"),
    "finished": ("training finished: close the window or press q", "#2E7D32", "white",
                 "MNIST (training finished: close the window or press q)"),
}
KEYS_HINT = "keys: 1-6 one panel, 7 8 9 two, 0 all, space pause, q quit"
STATUS_FONT_SIZE, KEYS_FONT_SIZE = 10, 9     # points
MIN_TITLE_SIZE = 8                 # points: a long title in a small window shrinks to this
REDRAW_RATE = 8                    # at most this many redraws a second in a window
NOTEBOOK_REDRAW_INTERVAL_S = 1.0   # a notebook picture: about one a second
DRAW_SHARE = 0.15                  # drawing keeps to about this share of the run's time
MIN_PICTURES = 60                  # a run shows at least this many pictures (if it has
                                   # that many figure updates): a short run is watched too
PANEL_MIN_INTERVAL_S = {3: 0.5, 6: 1.0}  # digit mosaics: slower to paint, and they flicker
STRIP_MARGIN_PX = 10               # sent to the screen around the new end of a curve: its
                                   # line width, joins and antialiasing
EVENT_PUMP_INTERVAL_S = 0.05       # while paused or kept open: answer the window this often

MOVIE_FPS = 10
MAX_MOVIE_FRAMES = 200             # longer runs record every 2nd, 3rd... figure update
GIF_SCALE = 0.6                    # 780 x 432 pixels; a GIF keeps every frame in memory
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".avi", ".webm")   # written by ffmpeg

TILE = 28                          # MNIST images are 28 x 28
RED = (0.9, 0.2, 0.2)              # background of a misrecognised digit
WHITE = (1.0, 1.0, 1.0)            # background of a recognised digit
INK = (0.0, 0.0, 0.0)
LABEL_COLOUR = (1.0, 1.0, 1.0)     # the small digits drawn on a misrecognised one
EDGE = (0.55, 0.08, 0.08)          # a misrecognised digit's top and left edge: its cell

# A 3 x 5 pixel font for the digits 0-9, so that labels do not depend on installed fonts.
_FONT_3X5 = ("111 101 101 101 111", "010 110 010 010 111", "111 001 111 100 111",
             "111 001 111 001 111", "101 101 111 001 001", "111 100 111 001 111",
             "111 100 111 101 111", "111 001 001 010 010", "111 101 111 101 111",
             "111 101 111 001 111")
GLYPH_SCALE = 2                    # each font pixel is 2 x 2 image pixels: 6 x 10 glyphs
GLYPHS = np.array([[[c == "1" for c in row] for row in digit.split()] for digit in _FONT_3X5])
GLYPHS = GLYPHS.repeat(GLYPH_SCALE, axis=1).repeat(GLYPH_SCALE, axis=2)   # [10, 10, 6] bool
GLYPHS.flags.writeable = False
# Where the labels go: the correct digit top left, the predicted one bottom right, so
# that side by side, one tile's predicted label and the next one's correct label are not
# on the same line, where "2 1" and "2 0" would read "21 20".
GLYPH_TOP, GLYPH_LEFT = 1, 1
GLYPH_BOTTOM, GLYPH_RIGHT = TILE - 1 - GLYPHS.shape[1], TILE - 1 - GLYPHS.shape[2]

# Panel 6 shows the first 1000 of the 10,000 test images sorted misrecognised first,
# that is the top 10 % of the test set: its y-axis runs from 100 % down to 90 %.
TEST_MOSAIC_LINES, TEST_MOSAIC_COUNT = 25, 1000   # 25 lines of 40 digits
TRAIN_MOSAIC_LINES = 10                           # the batch of 100: 10 lines of 10
TRAIN_MOSAIC_COUNT = TRAIN_MOSAIC_LINES ** 2      # bigger batches (5.0): their first 100
TEST_MOSAIC_SCALE = (100, 90)      # percent at the top and at the bottom of panel 6


# ----------------------------------------------------------------------------
# Digit mosaics and percentile bands: plain numpy, usable without a dashboard

def mnist_mosaic(images, predicted_ids, correct_ids, lines=TRAIN_MOSAIC_LINES, n=None):
    """Digits in a grid, misrecognised ones first, as an RGB float image [H, W, 3] in [0, 1].

    images: [N, 28, 28, 1], [N, 28, 28] or [N, 784], ink = 1.0 on background = 0.0
    (uint8 0-255 is accepted too). predicted_ids and correct_ids: class ids [N], or
    one-hot labels / probabilities [N, 10] (their argmax is taken).
    The first n digits after sorting are shown (default: all N) in `lines` lines of
    ceil(n / lines) digits; missing ones are left blank. Misrecognised digits come first,
    on red, with the correct digit drawn small top left and the predicted one bottom
    right, and a dark edge on the top and the left; recognised ones follow on white.
    100 -> 10 x 10; n=1000, lines=25 -> 25 x 40.
    """
    images = np.asarray(images)
    predicted, correct = _class_ids(predicted_ids), _class_ids(correct_ids)
    if not len(images) == len(predicted) == len(correct):
        raise ValueError(f"mnist_mosaic: {len(images)} images, {len(predicted)} predictions "
                         f"and {len(correct)} labels; the three must match")
    n = len(images) if n is None else int(n)
    columns = max(1, math.ceil(n / lines))
    wrong = predicted != correct
    order = np.concatenate([np.flatnonzero(wrong), np.flatnonzero(~wrong)])[:n]
    tiles = _paint_tiles(_as_ink(images[order]), wrong[order])
    n_wrong = int(np.count_nonzero(wrong[order]))
    _draw_labels(tiles[:n_wrong], correct[order[:n_wrong]], predicted[order[:n_wrong]])
    tiles[:n_wrong, 0, :] = EDGE
    tiles[:n_wrong, :, 0] = EDGE
    blank = np.ones((lines * columns - len(tiles), TILE, TILE, 3), np.float32)
    tiles = np.concatenate([tiles, blank])
    grid = tiles.reshape(lines, columns, TILE, TILE, 3).transpose(0, 2, 1, 3, 4)
    return grid.reshape(lines * TILE, columns * TILE, 3)


def test_digits_mosaic(images, predicted_ids, correct_ids):
    """Panel 6's mosaic: the first 1,000 test digits, misrecognised first."""
    return mnist_mosaic(images, predicted_ids, correct_ids, lines=TEST_MOSAIC_LINES,
                        n=TEST_MOSAIC_COUNT)


def _as_ink(images):
    """Images as float32 [N, 28, 28] ink levels in [0, 1]."""
    images = np.asarray(images)
    ink = images.astype(np.float32).reshape(-1, TILE, TILE)
    if images.dtype == np.uint8:
        ink /= 255.0
    return np.clip(ink, 0.0, 1.0)


def _class_ids(ids):
    """Class ids [N] from ids [N] or from one-hot labels / probabilities [N, 10]."""
    ids = np.asarray(ids)
    return ids.argmax(axis=1) if ids.ndim == 2 else ids.astype(np.int64).ravel()


def _paint_tiles(ink, wrong):
    """Dark ink on red (misrecognised) or white (recognised): [N, 28, 28, 3].
    One colour channel at a time: numpy is slow on a last axis of length 3."""
    paper_left = 1.0 - ink                                   # [N, 28, 28]
    tiles = np.empty(ink.shape + (3,), np.float32)
    for channel, (red, white, dark) in enumerate(zip(RED, WHITE, INK)):
        paper = np.where(wrong, np.float32(red), np.float32(white))[:, None, None]
        tiles[..., channel] = np.float32(dark) + (paper - np.float32(dark)) * paper_left
    return tiles


def _draw_labels(tiles, correct, predicted):
    """Stamp the correct digit top left and the predicted one bottom right, in place."""
    height, width = GLYPHS.shape[1:]
    for top, left, ids in ((GLYPH_TOP, GLYPH_LEFT, correct),
                           (GLYPH_BOTTOM, GLYPH_RIGHT, predicted)):
        corner = tiles[:, top:top + height, left:left + width]   # a view: writes the tiles
        corner[GLYPHS[ids]] = LABEL_COLOUR


def percentile_bands(values):
    """The 8 boundaries of 7 equal-count buckets of `values`: [min, q(1/7), ..., q(6/7), max].

    q(p) is numpy's default quantile (linear interpolation between the sorted values:
    np.quantile(values, p)), so 1/7 of the values lie in each bucket. Non-finite values
    (a NaN from a diverging model) are left out; all non-finite gives 8 NaNs.
    """
    values = np.asarray(values).ravel()
    values = np.sort(values[np.isfinite(values)])  # sorting is faster than np.quantile's partitions
    if values.size == 0:
        return np.full(len(BAND_QUANTILES), np.nan)
    position = np.asarray(BAND_QUANTILES) * (values.size - 1)
    below = np.floor(position).astype(np.intp)
    above = np.minimum(below + 1, values.size - 1)
    low, high = values[below].astype(np.float64), values[above].astype(np.float64)
    return low + (high - low) * (position - below)


# ----------------------------------------------------------------------------
# Axis ranges that change seldom: every change repaints the slow axes and text

def _nice_ceiling(value):
    """The smallest of 1, 1.5, 2, 3, 5, 7 times a power of ten that is >= value (> 0)."""
    power = 10.0 ** math.floor(math.log10(value))
    for mantissa in (1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0):
        if mantissa * power >= value * (1 - 1e-12):
            return mantissa * power
    return 10.0 * power


def loss_axis_top(steps, losses, current_top):
    """The top of the loss panel (its bottom stays at 0).

    At first the original's fixed 100. Then it follows the loss of the later half of the
    run so far (the steps from half the last one on, never step 0), so that the range
    the lessons discuss fills the panel and the huge loss of the first steps runs off
    the top. It changes only when the loss outgrows it or fits in half of it.
    """
    steps, losses = np.asarray(steps, np.float64), np.asarray(losses, np.float64)
    keep = np.isfinite(losses) & (steps > 0)
    if not keep.any():
        return current_top
    steps, losses = steps[keep], losses[keep]
    recent = losses[steps >= steps.max() / 2]
    # The 90th percentile, not the maximum: one noisy training batch should not move it.
    wanted = _nice_ceiling(max(1.3 * np.percentile(recent, 90), 1e-6))
    if wanted > current_top or wanted <= current_top / 2:
        return wanted
    return current_top


def band_axis_range(low, high, current=None):
    """(bottom, top) for panel 4 or 5, whose values span low..high.

    Never narrower than BAND_MIN_SPAN, ends on round tick values, with half the values'
    span as room on each side, but not below 0 when no value is (ReLU activations).
    Keeps `current` while the values fit in it and fill at least a quarter of it, so
    that the range changes seldom as the spread grows.
    """
    if not (np.isfinite(low) and np.isfinite(high)):
        return current
    if current is not None:
        bottom, top = current
        if bottom <= low and high <= top and (high - low) >= (top - bottom) / 4:
            return current
    middle, span = (low + high) / 2, max(high - low, BAND_MIN_SPAN)
    bottom = max(middle - span, 0.0) if low >= 0 and high > 0 else middle - span
    ticks = MaxNLocator(nbins=5).tick_values(bottom, middle + span)
    return float(ticks[0]), float(ticks[-1])


# ----------------------------------------------------------------------------
# Output files: checked before training, written atomically

class OutputPathError(safefiles.PathError):
    """An output file (--save-image, --save-movie) cannot be written where asked."""


def check_output_path(path, flag_name="output"):
    """The absolute path (a str), after checking that it can be written (safefiles).

    Call it before training so that a typo does not cost a whole run. Raises
    OutputPathError with a message naming the flag and the path.
    """
    problem = safefiles.why_not_writable(path)
    if problem:
        raise OutputPathError(f"{flag_name}: {problem}; choose another path")
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


def check_image_path(path, flag_name="--save-image"):
    """check_output_path, and an extension that names an image format matplotlib writes."""
    path = check_output_path(path, flag_name)
    extension = os.path.splitext(path)[1].lower().lstrip(".")
    formats = FigureCanvasAgg.get_supported_filetypes()
    if extension not in formats:
        raise OutputPathError(f"{flag_name}: '{path}' does not end in an image format "
                              f"matplotlib writes; use .png (or one of: "
                              f"{', '.join('.' + name for name in sorted(formats))})")
    return path


def check_movie_path(path, flag_name="--save-movie"):
    """check_output_path, and a movie format this machine can write: .gif always,
    .mp4 .mkv .mov .avi .webm with ffmpeg."""
    path = check_output_path(path, flag_name)
    extension = os.path.splitext(path)[1].lower()
    if extension == ".gif":
        return path
    if extension not in VIDEO_EXTENSIONS:
        raise OutputPathError(f"{flag_name}: '{path}': name the movie .gif or "
                              f"{' '.join(VIDEO_EXTENSIONS)} (the last ones need ffmpeg)")
    if _ffmpeg() is None:
        raise OutputPathError(f"{flag_name}: writing '{path}' needs ffmpeg, which is not "
                              f"installed (e.g. apt install ffmpeg, brew install ffmpeg); "
                              f"or name the movie .gif")
    return path


def _ffmpeg():
    """The ffmpeg program matplotlib would use (rcParams['animation.ffmpeg_path']), or None."""
    return shutil.which(matplotlib.rcParams["animation.ffmpeg_path"])


def save_figure(fig, path):
    """Write `fig` to `path` in the format its extension names, atomically."""
    with safefiles.atomic_path(path) as temporary:
        fig.savefig(temporary, format=os.path.splitext(path)[1].lower().lstrip("."))


def _notice(message):
    """One line on stderr, so that stdout stays the same with or without a window."""
    print(f"tensorflowvisu: {message}", file=sys.stderr, flush=True)


class MovieRecorder:
    """A movie made of RGBA frames (numpy [H, W, 4] uint8), of a size fixed at the start.

    .gif: kept in memory with a 256-colour palette, written by Pillow at the end.
    Video formats: piped to ffmpeg as they come. Either way the file is written under
    a temporary name and renamed at the end, so a failed run leaves nothing behind.
    """

    def __init__(self, path, size, flag_name="--save-movie"):
        self.path = check_movie_path(path, flag_name)
        self.gif = self.path.lower().endswith(".gif")
        width, height = size
        if self.gif:
            width, height = round(width * GIF_SCALE), round(height * GIF_SCALE)
        self.size = (width - width % 2, height - height % 2)   # video codecs want even sizes
        self.frames = 0
        # Written under a temporary name that becomes self.path only if all went well.
        self._file = contextlib.ExitStack()
        self._temporary = str(self._file.enter_context(safefiles.atomic_path(self.path)))
        self._gif_frames = []
        self._ffmpeg = None
        if not self.gif:
            command = [_ffmpeg(), "-y", "-loglevel", "error", "-f", "rawvideo",
                       "-pix_fmt", "rgba", "-s", f"{self.size[0]}x{self.size[1]}",
                       "-r", str(MOVIE_FPS), "-i", "-", "-pix_fmt", "yuv420p",
                       self._temporary]
            self._ffmpeg = subprocess.Popen(command, stdin=subprocess.PIPE,
                                            stderr=subprocess.PIPE)

    def add(self, rgba):
        """Add one frame; it is scaled to the movie's size if the window was resized."""
        from PIL import Image
        frame = Image.fromarray(np.ascontiguousarray(rgba[..., :3]))
        if frame.size != self.size:
            frame = frame.resize(self.size, Image.Resampling.BILINEAR)
        if self.gif:
            self._gif_frames.append(frame.convert("P", palette=Image.Palette.ADAPTIVE))
        else:
            try:
                self._ffmpeg.stdin.write(frame.convert("RGBA").tobytes())
            except BrokenPipeError:
                raise OutputPathError(f"--save-movie: ffmpeg stopped while writing "
                                      f"'{self.path}': {self._ffmpeg_errors()}") from None
        self.frames += 1

    def _ffmpeg_errors(self):
        """Wait for ffmpeg to end, close its pipes, return the end of what it said."""
        _, errors = self._ffmpeg.communicate()   # closes its input: the end of the movie
        return errors.decode(errors="replace").strip()[-500:]

    def finish(self):
        """Write the file (if any frame was recorded) and return its path, else None."""
        try:
            if self.gif and self._gif_frames:
                first, *others = self._gif_frames
                first.save(self._temporary, format="GIF", save_all=True, append_images=others,
                           duration=int(1000 / MOVIE_FPS), loop=0)
            elif self._ffmpeg:
                errors = self._ffmpeg_errors()
                if self._ffmpeg.returncode != 0:
                    raise OutputPathError(f"--save-movie: ffmpeg could not write "
                                          f"'{self.path}': {errors}")
        except BaseException:
            self._discard()
            raise
        if not self.frames:
            self._discard()
            return None
        self._file.close()                # the temporary takes the movie's name
        return self.path

    def _discard(self):
        """Remove the temporary file; self.path is left as it was."""
        self._file.__exit__(OSError, OSError("movie discarded"), None)

    def abandon(self):
        """Stop without writing anything (training failed)."""
        if self._ffmpeg:
            if self._ffmpeg.poll() is None:
                self._ffmpeg.kill()
            self._ffmpeg_errors()
        self._discard()


# ----------------------------------------------------------------------------
# Where to draw: a window, a notebook, or nowhere

_NOTEBOOK_BACKENDS = ("nbagg", "notebook", "widget", "ipympl", "module://ipympl.backend_nbagg")
_NON_INTERACTIVE_BACKENDS = ("agg", "cairo", "pdf", "pgf", "ps", "svg", "template")


def _in_notebook():
    """True inside a Jupyter kernel (without importing IPython when it is not loaded)."""
    if "IPython" not in sys.modules:
        return False
    shell = sys.modules["IPython"].get_ipython()
    return getattr(shell, "kernel", None) is not None


def choose_display(headless, environ=None, platform=None):
    """("window" | "notebook" | "headless", why no window or None): where the dashboard goes.

    "window" is also a live figure in a notebook with an interactive backend;
    "notebook" is a static picture refreshed in the notebook's output.
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if headless:
        return "headless", None
    if _in_notebook():
        backend = matplotlib.get_backend().lower()
        return ("window" if backend in _NOTEBOOK_BACKENDS else "notebook"), None
    if platform.startswith("linux") and not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        return "headless", "no display (DISPLAY and WAYLAND_DISPLAY are not set)"
    backend = matplotlib.get_backend().lower()
    if backend in _NON_INTERACTIVE_BACKENDS or backend.startswith("module://matplotlib_inline"):
        return "headless", f"the matplotlib backend '{backend}' cannot open a window"
    return "window", None


def fit_to_screen(fig, frame_px=WINDOW_FRAME_PX):
    """Shrink a new window's figure, if need be, so that the whole window (figure,
    toolbar, title bar) fits on the screen: FIGURE_SIZE is 1300 x 720 pixels, and a
    1366 x 768 laptop screen is common. Tk and Qt windows; others are left as they are.
    Returns the figure's size in inches."""
    window = getattr(fig.canvas.manager, "window", None)
    toolbar = getattr(fig.canvas.manager, "toolbar", None)
    pixels_per_inch = fig.dpi
    if hasattr(window, "winfo_screenheight"):           # Tk: physical pixels
        screen = window.winfo_screenwidth(), window.winfo_screenheight()
        toolbar_px = toolbar.winfo_reqheight() if toolbar is not None else 0
        # The pixels per inch that matplotlib will use once the window is on screen
        # (as FigureCanvasTk._update_device_pixel_ratio computes them).
        if sys.platform == "linux":
            ratio = window.winfo_fpixels("1i") / 96
        elif sys.platform == "win32":
            ratio = round(float(window.tk.call("tk", "scaling")) / (96 / 72), 2)
        else:
            ratio = fig.canvas.device_pixel_ratio
        pixels_per_inch = fig.dpi / fig.canvas.device_pixel_ratio * ratio
    elif hasattr(window, "screen") and window.screen() is not None:   # Qt: logical pixels
        available = window.screen().availableGeometry()
        screen = available.width(), available.height()
        toolbar_px = toolbar.sizeHint().height() if toolbar is not None else 0
        pixels_per_inch = fig.dpi / fig.canvas.device_pixel_ratio
    else:
        return tuple(fig.get_size_inches())
    width = min(FIGURE_SIZE[0], (screen[0] - frame_px[0]) / pixels_per_inch)
    height = min(FIGURE_SIZE[1], (screen[1] - toolbar_px - frame_px[1]) / pixels_per_inch)
    if (width, height) != tuple(fig.get_size_inches()):
        fig.set_size_inches(width, height, forward=True)
    return width, height


# ----------------------------------------------------------------------------
# The panels: figure, axes, the artists that show the data, the layout keys

class Panels:
    """The six panels and the data they show. Feeding data only stores it; refresh()
    hands it to the artists, fitting the ranges of panels 2, 4 and 5."""

    def __init__(self, fig, titles, colour4=BAND_COLOUR_WEIGHTS, colour5=BAND_COLOUR_BIASES):
        self.fig = fig
        self.train = {"step": [], "accuracy": [], "loss": []}
        self.test = {"step": [], "accuracy": [], "loss": []}
        self.histogram_steps = []
        self.bands = {4: [], 5: []}           # panel -> list of 8 boundaries per step
        self.images = {3: None, 6: None}      # panel -> latest mosaic (or its maker), until shown
        self.full_images = {3: None, 6: None}  # panel -> the mosaic shown, at full size
        self.shown_images = {3: None, 6: None}  # panel -> (id of that mosaic, halved?)
        self.news = set()                     # panels whose artists are behind their data
        self.auto_range = {2, 4, 5}           # panels whose y range follows the data
        self._setting_limits = False
        with matplotlib.style.context(STYLE):
            self.axes = {k: fig.add_subplot(2, 3, k) for k in ALL_PANELS}
            for k, title in zip(ALL_PANELS, titles):
                self.axes[k].set_title(title)
            self.lines = {}
            self._build_curves(1, "accuracy", "lower right")
            self._build_curves(2, "loss", "upper right")
            self.axes[1].set_ylim(0.0, 1.0)
            self.axes[2].set_ylim(0.0, LOSS_TOP_AT_START)
            self.band_artists = {4: self._build_bands(4, colour4), 5: self._build_bands(5, colour5)}
            self.image_sizes = {3: (TRAIN_MOSAIC_LINES * TILE, TRAIN_MOSAIC_LINES * TILE),
                                6: (TEST_MOSAIC_LINES * TILE,
                                    TEST_MOSAIC_COUNT // TEST_MOSAIC_LINES * TILE)}
            self.image_artists = {panel: self._build_image(panel, *self.image_sizes[panel])
                                  for panel in (3, 6)}
            for panel in (1, 2, 4, 5):
                self.axes[panel].set_xlabel(X_LABEL, fontsize="medium", labelpad=2)
            self.status_text = fig.text(0.005, 1.0, "", ha="left", va="center",
                                        fontsize=STATUS_FONT_SIZE, weight="bold",
                                        visible=False, bbox=dict(boxstyle="round,pad=0.3"))
            self.keys_text = fig.text(0.995, 1.0, KEYS_HINT, ha="right", va="center",
                                      fontsize=KEYS_FONT_SIZE, color="#555555", visible=False)
            self._keys_wanted = False
        self.room = self._text_room()
        self._label_test_digits()
        self.animated = {panel: [artist for (place, _), artist in self.lines.items()
                                 if place == panel] for panel in (1, 2)}
        self.animated.update({panel: [artist] for panel, artist in
                              [*self.band_artists.items(), *self.image_artists.items()]})
        for artists in self.animated.values():
            for artist in artists:
                artist.set_animated(True)
        for ax in self.axes.values():
            ax.callbacks.connect("ylim_changed", self._on_ylim_changed)
        self._grids = {1: GridSpec(1, 1, figure=fig), 2: GridSpec(1, 2, figure=fig),
                       6: GridSpec(2, 3, figure=fig)}
        self.place()
        self.show_layout("0")

    def _text_room(self):
        """The room, in points, that the text around the panels takes: the same whatever
        the window's size, since fonts are sized in points."""
        renderer = RendererAgg(8, 8, 72)               # 72 dpi: sizes in points
        ax = self.axes[4]

        def size(text, artist):
            width, height, _ = renderer.get_text_width_height_descent(
                text, artist.get_fontproperties(), ismath=False)
            return width, height

        tick = ax.yaxis.get_major_ticks()[0]
        tick_room = tick.get_tick_padding() + tick.get_pad() + 2   # tick length, padding
        y_labels, _ = size(WIDEST_Y_LABEL, tick.label1)
        _, x_labels = size(WIDEST_X_LABEL, ax.xaxis.get_major_ticks()[0].label1)
        overhang = size(WIDEST_X_LABEL, tick.label1)[0] / 2 + 2
        _, x_label = size(X_LABEL, ax.xaxis.label)
        _, title = size("Tg", ax.title)
        _, status = size("Tg", self.status_text)
        below = x_labels + tick_room + x_label + ax.xaxis.labelpad + 4
        above = title + matplotlib.rcParams["axes.titlepad"] + 2
        # The strip: the keys are shown only where they fit beside the status.
        status_widths = {kind: size(text, self.status_text)[0] + 12
                         for kind, (text, *_) in STATUS.items()}
        status_widths[None] = 0
        self._strip_widths = status_widths, size(KEYS_HINT, self.keys_text)[0] + 12
        self._title_size = ax.title.get_fontsize()
        self._title_widths = {panel: size(axes.get_title(), axes.title)[0] + 1
                              for panel, axes in self.axes.items()}
        return dict(left=y_labels + tick_room + 4, right=overhang, bottom=below,
                    top=above, strip=status + 10,
                    column_gap=y_labels + tick_room + overhang + 6, row_gap=below + above + 4)

    def place(self):
        """Margins and gaps that fit the text (self.room) at the figure's present size:
        called again when the window is resized, so that a small window keeps its tick
        labels, titles and panels apart."""
        width, height = self.fig.get_size_inches() * 72     # points
        room = self.room
        left, right = room["left"] / width, 1 - room["right"] / width
        top, bottom = 1 - (room["strip"] + room["top"]) / height, room["bottom"] / height
        for grid in self._grids.values():
            rows, columns = grid.get_geometry()
            cell_width = max(1.0, (width * (right - left) - (columns - 1) * room["column_gap"])
                             / columns)
            cell_height = max(1.0, (height * (top - bottom) - (rows - 1) * room["row_gap"])
                              / rows)
            grid.update(left=left, right=right, bottom=bottom, top=top,
                        wspace=room["column_gap"] / cell_width,
                        hspace=room["row_gap"] / cell_height)
        strip_middle = 1 - room["strip"] / 2 / height
        self.status_text.set_y(strip_middle)
        self.keys_text.set_y(strip_middle)
        self._show_keys_if_room()
        self._fit_titles()

    def _show_keys_if_room(self):
        status_widths, keys_width = self._strip_widths
        status = self.status_text.get_text() if self.status_text.get_visible() else None
        kind = next((k for k, (text, *_) in STATUS.items() if text == status), None)
        width = self.fig.get_size_inches()[0] * 72
        self.keys_text.set_visible(self._keys_wanted
                                   and status_widths[kind] + keys_width <= width)

    def cell_split(self):
        """panel_cells' overhang and below for the text around these panels."""
        room = self.room
        return ((room["right"] + 3) / room["column_gap"],
                (room["bottom"] + 2) / room["row_gap"])

    def panel_area(self):
        """The figure below the status strip, in pixels: where the panels' cells lie."""
        box = self.fig.bbox
        return Bbox.from_extents(box.x0, box.y0, box.x1, self.strip_area().y0)

    def strip_area(self):
        """The strip at the top of the figure (status, keys), in pixels."""
        box = self.fig.bbox
        return Bbox.from_extents(box.x0, box.y1 - self.room["strip"] * self.fig.dpi / 72,
                                 box.x1, box.y1)

    def set_status(self, kind, keys_hint):
        """Show STATUS[kind] in the strip (None: nothing), and the keys if asked."""
        if kind is None:
            self.status_text.set_visible(False)
        else:
            text, box, ink, _ = STATUS[kind]
            self.status_text.set_text(text)
            self.status_text.set_color(ink)
            self.status_text.get_bbox_patch().set_facecolor(box)
            self.status_text.get_bbox_patch().set_edgecolor("none")
            self.status_text.set_visible(True)
        self._keys_wanted = keys_hint
        self._show_keys_if_room()

    @contextlib.contextmanager
    def strip_hidden(self):
        """The strip is for someone watching: not in a saved picture."""
        shown = self.status_text.get_visible(), self.keys_text.get_visible()
        self.status_text.set_visible(False)
        self.keys_text.set_visible(False)
        try:
            yield
        finally:
            self.status_text.set_visible(shown[0])
            self.keys_text.set_visible(shown[1])

    def _build_curves(self, panel, quantity, legend_place):
        ax = self.axes[panel]
        self.lines[panel, "train"], = ax.plot([], [], color=TRAIN_COLOUR,
                                              lw=TRAIN_LINE_WIDTH, label=f"training {quantity}")
        self.lines[panel, "test"], = ax.plot([], [], color=TEST_COLOUR,
                                             lw=TEST_LINE_WIDTH, label=f"test {quantity}")
        ax.legend(loc=legend_place, fontsize="small").set_draggable(True)

    def _build_bands(self, panel, colour_number):
        """7 filled bands (outer ones pale, the one holding the median strongest)."""
        base = np.array(to_rgb(BAND_COLOURS[colour_number % len(BAND_COLOURS)]))
        colours = [1.0 - strength * (1.0 - base) for strength in BAND_SHADES]
        bands = PolyCollection([], facecolors=colours, edgecolors="none")
        ax = self.axes[panel]
        ax.add_collection(bands)
        ax.set_ylim(*band_axis_range(0.0, 0.0))
        ax.ticklabel_format(axis="y", useOffset=False)   # never a "1e-8" offset label
        return bands

    def _build_image(self, panel, height, width):
        ax = self.axes[panel]
        blank = np.ones((height, width, 3), np.float32)
        image = ax.imshow(blank, interpolation="antialiased")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        return image

    def _label_test_digits(self):
        """Panel 6's y-axis: 100 % at the top to 90 % at the bottom of the test mosaic."""
        height = self.image_sizes[6][0]
        top, bottom = TEST_MOSAIC_SCALE
        percents = np.arange(top, bottom - 1, -2)
        positions = (top - percents) / (top - bottom) * height - 0.5
        self.axes[6].set_yticks(positions, [f"{p}%" for p in percents])

    # -- data ----------------------------------------------------------------

    def append_curves(self, which, step, accuracy, loss):
        curves = self.train if which == "train" else self.test
        curves["step"].append(int(step))
        curves["accuracy"].append(float(accuracy))
        curves["loss"].append(float(loss))
        self.news.update((1, 2))

    def append_histograms(self, step, values4, values5):
        self.histogram_steps.append(int(step))
        self.bands[4].append(percentile_bands(values4))
        self.bands[5].append(percentile_bands(values5))
        self.news.update((4, 5))

    def set_image(self, panel, image):
        self.images[panel] = image
        self.news.add(panel)

    # -- layout --------------------------------------------------------------

    def show_layout(self, key):
        """Show the panels of PANEL_LAYOUTS[key] ("0".."9" or "escape"), hide the others."""
        shown = PANEL_LAYOUTS[key]
        grid = self._grids[len(shown)]
        for panel, ax in self.axes.items():
            ax.set_visible(panel in shown)
        for place, panel in enumerate(shown):
            self.axes[panel].set_subplotspec(grid[place])
        self._fit_titles()

    def _fit_titles(self):
        """A title wider than its panel (stage 4.2's "Max conv activations in batch" in
        a small window) gets a smaller font, down to MIN_TITLE_SIZE, so that it does not
        run into its neighbour's."""
        figure_width = self.fig.get_size_inches()[0] * 72
        for panel, ax in self.axes.items():
            # centred over its panel: it may overhang by the figure's right margin
            room = (ax.get_position(original=True).width * figure_width
                    + 2 * self.room["right"] - 4)
            width = self._title_widths[panel]
            ax.title.set_fontsize(max(MIN_TITLE_SIZE, min(1.0, room / width) * self._title_size))

    def curve_ends(self, panel):
        """The steps of the last two points (or the only one) of each curve of panel 1 or
        2, or of the bands of panel 4 or 5: [(next to last, last), ...]."""
        if panel in (1, 2):
            lines = [curves["step"] for curves in (self.train, self.test)]
        else:
            lines = [self.histogram_steps]
        return [(steps[-2:][0], steps[-1]) for steps in lines if steps]

    def visible(self):
        return tuple(panel for panel, ax in self.axes.items() if ax.get_visible())

    def set_x_range(self, first_step, last_step):
        self._setting_limits = True
        for panel in (1, 2, 4, 5):
            self.axes[panel].set_xlim(first_step, max(last_step, first_step + 1))
        self._setting_limits = False

    def reset_ranges(self):
        """After matplotlib's home key: the panels follow their data again."""
        self.auto_range = {2, 4, 5}
        self.news.update((2, 4, 5))

    def _on_ylim_changed(self, ax):
        if not self._setting_limits:      # the user zoomed: stop fitting that panel
            self.auto_range.discard(next(k for k, a in self.axes.items() if a is ax))

    def _set_ylim(self, panel, limits):
        """Set a y range; True if it changed."""
        if limits is None or tuple(self.axes[panel].get_ylim()) == tuple(limits):
            return False
        self._setting_limits = True
        self.axes[panel].set_ylim(*limits)
        self._setting_limits = False
        return True

    # -- handing the data to the artists ---------------------------------------

    def refresh(self, panels):
        """Bring the artists of `panels` up to date with their data (mosaics are made
        here if they were given as functions). Returns the panels whose y range changed."""
        rescaled = set()
        for which, curves in (("train", self.train), ("test", self.test)):
            marker = "o" if len(curves["step"]) == 1 else "None"  # a lone point: a dot
            if 1 in panels:
                self.lines[1, which].set_data(curves["step"], curves["accuracy"])
                self.lines[1, which].set_marker(marker)
            if 2 in panels:
                self.lines[2, which].set_data(curves["step"], curves["loss"])
                self.lines[2, which].set_marker(marker)
        if 2 in panels and 2 in self.auto_range:
            top = loss_axis_top(self.train["step"] + self.test["step"],
                                self.train["loss"] + self.test["loss"],
                                self.axes[2].get_ylim()[1])
            if self._set_ylim(2, (0.0, top)):
                rescaled.add(2)
        for panel in (4, 5):
            if panel in panels and self.histogram_steps:
                bounds = self._refresh_bands(panel)
                if panel in self.auto_range:
                    finite = bounds[np.isfinite(bounds)]
                    if finite.size and self._set_ylim(panel, band_axis_range(
                            finite.min(), finite.max(), self.axes[panel].get_ylim())):
                        rescaled.add(panel)
        for panel in (3, 6):
            if panel in panels:
                self._refresh_image(panel)
        self.news.difference_update(panels)
        return rescaled

    def _refresh_bands(self, panel):
        """Band k is the area between boundaries k and k+1 (see percentile_bands)."""
        steps = np.asarray(self.histogram_steps, dtype=np.float64)
        bounds = np.asarray(self.bands[panel])                      # [steps, 8]
        polygons = [np.concatenate([np.column_stack([steps, bounds[:, k + 1]]),
                                    np.column_stack([steps[::-1], bounds[::-1, k]])])
                    for k in range(BAND_COUNT)]
        self.band_artists[panel].set_verts(polygons)
        return bounds

    def _refresh_image(self, panel):
        """Show the newest mosaic. One that is shown at less than half its size (the
        1,000 test digits in the six-panel layout) is first halved by averaging 2 x 2
        pixels: the same picture on screen, three times quicker to paint."""
        image, self.images[panel] = self.images[panel], None
        if image is not None:
            image = np.asarray(image() if callable(image) else image)
            if image.shape[:2] != self.image_sizes[panel]:
                raise ValueError(f"panel {panel}: a mosaic of {image.shape[:2]} pixels, "
                                 f"expected {self.image_sizes[panel]}")
            self.full_images[panel] = image
        image = self.full_images[panel]
        if image is None:
            return
        halve = self.axes[panel].bbox.height < 0.5 * image.shape[0]
        if self.shown_images[panel] == (id(image), halve):
            return
        if halve:
            image = (image[0::2, 0::2] + image[1::2, 0::2] + image[0::2, 1::2]
                     + image[1::2, 1::2]) * 0.25    # even sizes: 28 x 28 tiles
        self.image_artists[panel].set_data(image)
        self.shown_images[panel] = (id(self.full_images[panel]), halve)


# ----------------------------------------------------------------------------
# Painting: the whole figure, or only the moving parts over a saved background

def panel_cells(boxes, figure_box, overhang=0.3, below=0.5):
    """Cut the figure into one cell per panel, without overlaps, each holding its axes,
    its title above and its ticks on the left and below: {panel: Bbox} in pixels.

    boxes: {panel: its axes' Bbox}. Between two columns, the boundary lies just right of
    the left panel's frame (`overhang` of the gap: room for its last x tick label), so
    the right panel's y tick labels are in its own cell; between two rows, `below` of
    the gap down from the upper panel's frame (room for its x tick labels and x label).
    """
    cells = {}
    for panel, box in boxes.items():
        left, right = figure_box.x0, figure_box.x1
        bottom, top = figure_box.y0, figure_box.y1
        for other in boxes.values():
            side_by_side = other.y0 < box.y1 and box.y0 < other.y1
            above_below = other.x0 < box.x1 and box.x0 < other.x1
            if side_by_side and other.x1 <= box.x0:
                left = max(left, other.x1 + overhang * (box.x0 - other.x1))
            if side_by_side and other.x0 >= box.x1:
                right = min(right, box.x1 + overhang * (other.x0 - box.x1))
            if above_below and other.y0 >= box.y1:
                top = min(top, other.y0 - below * (other.y0 - box.y1))
            if above_below and other.y1 <= box.y0:
                bottom = max(bottom, box.y0 - below * (box.y0 - other.y1))
        cells[panel] = Bbox.from_extents(left, bottom, right, top)
    return cells


class Painter:
    """Paints the figure on its canvas, in four ways, from slow to quick:

    - in full: every panel, axes, ticks and text (a quarter of a second or more). Any
      full draw of the canvas, ours or the window's own (a resize, a zoom), is kept as
      each panel's background: its picture without the moving artists; and the whole
      picture is kept for its layout (which panels are shown), so that a layout key that
      comes back to it puts it back instead of painting it again.
    - one panel in full, after its range changed: the panel with its ticks and title,
      over a blank patch of its own place, and kept as its new background.
    - a layout seen before: its kept picture put back, the moving artists over it.
    - quickly (blitting): a panel's background put back and its moving artists
      painted over it. The strip above the panels (status, keys) is painted alone too.
    """

    def __init__(self, panels):
        self.panels = panels
        self.fig = panels.fig
        self.canvas = panels.fig.canvas
        self.backgrounds = None           # panel -> its picture without the moving artists
        self.cells = {}                   # panel -> its share of the figure (see panel_cells)
        self.painted_ends = {}            # panel -> curve_ends() as on screen
        self.layouts = {}                 # shown panels -> (whole picture, backgrounds, cells)
        self._drawing = False             # True while our own full draw runs
        self.canvas.mpl_connect("draw_event", self._on_draw)

    def can_blit(self):
        return bool(getattr(self.canvas, "supports_blit", False))

    def invalidate(self):
        """The layout changed: the next paint must be a full one (or a kept layout)."""
        self.backgrounds = None

    def forget_layouts(self):
        self.layouts.clear()

    def mark_stale(self, panels):
        """These panels' ranges changed: where the kept layouts show them, they show the
        old ranges, to be painted again over the kept picture (or, for a layout with more
        than two such panels, in full)."""
        for shown, (_, _, _, stale) in list(self.layouts.items()):
            stale.update(set(panels) & set(shown))
            if len(stale) > 2:
                del self.layouts[shown]

    def paint(self, panels, rescaled=()):
        """Paint the changes of `panels`, whose y range changed for those in `rescaled`.
        Returns True if it painted the whole figure."""
        self.mark_stale(rescaled)
        if self.backgrounds is None or not self.can_blit() or not all(
                self._paint_panel_in_full(panel) for panel in sorted(rescaled)):
            self._drawing = True
            try:
                self.canvas.draw()       # its draw_event keeps the new backgrounds
            finally:
                self._drawing = False
            return True
        for panel in sorted(set(panels) - set(rescaled)):
            if panel in self.backgrounds:
                self.canvas.restore_region(self.backgrounds[panel])
                self._draw_moving(panel)
                self.canvas.blit(self._changed_part(panel))
        return False

    def _changed_part(self, panel):
        """The part of a panel that a quick paint changed: for curves and bands, which
        only grow to the right, a strip from the next-to-last point of each as painted
        before (adding a point turns the old end into a join, which redraws the segment
        before it) to the newest point now: a few pixels, much less to send to the
        screen than the panel. For the digits, all of it."""
        box = self._moving_area(panel)
        ends = self.panels.curve_ends(panel)
        before, self.painted_ends[panel] = self.painted_ends.get(panel), ends
        if panel in (3, 6) or not ends or not before or len(before) != len(ends):
            return box
        to_pixels = self.panels.axes[panel].transData
        left = to_pixels.transform((min(start for start, _ in before), 0))[0] - STRIP_MARGIN_PX
        right = to_pixels.transform((max(end for _, end in ends), 0))[0] + STRIP_MARGIN_PX
        return Bbox.from_extents(max(box.x0, left), box.y0, min(box.x1, right), box.y1)

    def _paint_panel_in_full(self, panel):
        """Repaint one panel with its ticks and title, over a blank of its cell."""
        if panel not in self.backgrounds:
            return True                   # hidden: the next layout key paints it
        self._repaint_background(panel)
        self._draw_moving(panel)
        self.painted_ends[panel] = self.panels.curve_ends(panel)
        self.canvas.blit(self.cells[panel])
        return True

    def _repaint_background(self, panel):
        """Paint one panel without its moving artists over a blank of its cell, and keep
        that as its background."""
        renderer = self.canvas.get_renderer()
        cell = self.cells[panel]
        blank = Rectangle((cell.x0, cell.y0), cell.width, cell.height, transform=None,
                          facecolor=self.fig.get_facecolor(), edgecolor="none")
        blank.set_figure(self.fig)
        blank.draw(renderer)
        self.panels.axes[panel].draw(renderer)   # without its moving artists ("animated")
        self.backgrounds[panel] = self.canvas.copy_from_bbox(self._moving_area(panel))

    def _on_draw(self, event):
        """After every full draw: keep it as the backgrounds and as its layout's picture,
        then paint the moving parts."""
        if self.canvas.is_saving() or not self.can_blit():
            return
        if not self._drawing:             # the window's own: a resize, a zoom, a drag...
            self.forget_layouts()         # ... may have changed what the others show
        visible = self.panels.visible()
        self.backgrounds = {panel: self.canvas.copy_from_bbox(self._moving_area(panel))
                            for panel in visible}
        self.cells = panel_cells({panel: self.panels.axes[panel].bbox for panel in visible},
                                 self.panels.panel_area(), *self.panels.cell_split())
        self.layouts[visible] = (self.canvas.copy_from_bbox(self.fig.bbox),
                                 dict(self.backgrounds), dict(self.cells), set())
        for panel in visible:
            self._draw_moving(panel)
        self.painted_ends = {panel: self.panels.curve_ends(panel) for panel in (1, 2, 4, 5)}

    def paint_kept_layout(self):
        """Paint the layout now shown from its kept picture, if there is one (a layout
        key back to a layout seen before): a tenth of a full paint. True if it could."""
        visible = self.panels.visible()
        kept = self.layouts.get(visible)
        if kept is None or not self.can_blit():
            return False
        picture, backgrounds, cells, stale = kept
        self.backgrounds, self.cells = dict(backgrounds), dict(cells)
        self.canvas.restore_region(picture)
        for panel in visible:
            self.panels.axes[panel].apply_aspect()   # as a draw does: the digits' boxes
        for panel in sorted(stale):
            self._repaint_background(panel)
        for panel in visible:
            self._draw_moving(panel)
        self.painted_ends = {panel: self.panels.curve_ends(panel) for panel in (1, 2, 4, 5)}
        self._paint_strip_over()
        self.canvas.blit(self.fig.bbox)
        return True

    def paint_strip(self):
        """Repaint the strip above the panels (status and keys) alone."""
        self.canvas.blit(self._paint_strip_over())

    def _paint_strip_over(self):
        renderer = self.canvas.get_renderer()
        strip = self.panels.strip_area()
        blank = Rectangle((strip.x0, strip.y0), strip.width, strip.height, transform=None,
                          facecolor=self.fig.get_facecolor(), edgecolor="none")
        blank.set_figure(self.fig)
        blank.draw(renderer)
        for text in (self.panels.status_text, self.panels.keys_text):
            if text.get_visible():
                text.draw(renderer)
        return strip

    def _moving_area(self, panel):
        """Where a panel's moving artists may paint: its axes, and the pixels its edges
        cross (which its lines, clipped at the edge, paint in part)."""
        return self.panels.axes[panel].bbox.padded(1)

    def _draw_moving(self, panel):
        # Unsimplified paths: matplotlib simplifies long lines by merging nearly straight
        # runs of points, and a new point can change how far back a run goes; quick
        # paints rely on a curve's pixels changing only near its new end.
        with matplotlib.rc_context({"path.simplify": False}):
            for artist in self.panels.animated[panel]:
                self.panels.axes[panel].draw_artist(artist)

    def rgba(self):
        """The picture on the canvas now, as an RGBA array [H, W, 4] (a copy)."""
        buffer = getattr(self.canvas, "buffer_rgba", None)
        if buffer is not None:
            return np.array(buffer())
        data = io.BytesIO()
        self.panels.fig.savefig(data, format="rgba")
        width, height = self.canvas.get_width_height(physical=True)
        return np.frombuffer(data.getvalue(), np.uint8).reshape(height, width, 4)


class DrawPacing:
    """When to redraw, so that the dashboard looks live and training keeps its time.

    A redraw is due when there is news and either the last redraw is old enough, or
    `max_skipped` figure updates went by without one (so that a short run still shows
    MIN_PICTURES pictures: training then waits so that each stays interval_s on
    screen, long enough to be seen). Old enough: at most `1 / interval_s` a second, and a quick
    redraw that took t seconds waits t / DRAW_SHARE for the next, which keeps drawing
    near DRAW_SHARE of the time. A full redraw (a range changed: rare by design) waits
    only the interval, so that the curves do not stop after it."""

    def __init__(self, interval_s, updates=0, min_pictures=MIN_PICTURES):
        self.interval_s = interval_s
        self.max_skipped = max(1, updates // min_pictures) if updates else None
        self.next_redraw = 0.0
        self.last_redraw = -math.inf
        self.skipped = 0                  # figure updates since the last redraw
        self.panel_due = {}               # panel -> when it may be repainted again

    def note_update(self):
        self.skipped += 1

    def due(self, now):
        return self.overdue() or now >= self.next_redraw

    def overdue(self):
        """True when max_skipped figure updates went by without a redraw."""
        return self.max_skipped is not None and self.skipped >= self.max_skipped

    def wait_before_overdue_redraw(self, now):
        """Seconds to wait so that an overdue picture is not hidden by the next one at
        once: each picture stays at least interval_s on screen, training waits for it."""
        return max(0.0, self.last_redraw + self.interval_s - now)

    def panels_due(self, news, now):
        """The panels with news that may be repainted now (see PANEL_MIN_INTERVAL_S)."""
        return {panel for panel in news if now >= self.panel_due.get(panel, 0.0)}

    def done(self, began, cost, panels, full):
        self.skipped = 0
        self.last_redraw = began
        wait = self.interval_s if full else max(self.interval_s, cost / DRAW_SHARE)
        self.next_redraw = began + cost + wait if full else began + wait
        for panel in panels:
            if panel in PANEL_MIN_INTERVAL_S:
                self.panel_due[panel] = began + PANEL_MIN_INTERVAL_S[panel]


# ----------------------------------------------------------------------------
# The dashboard

class MnistDataVis:
    """The six-panel dashboard: panels fed by the trainer, painted when due, recorded
    into a movie if asked. All its data lives on the instance."""

    def __init__(self, title1=None, title2=None, title3=None, title4=None, title5=None,
                 title6=None, headless=False, live=None):
        """live: redraw during training; default True with a window or notebook, False
        headless (live=True headless draws off screen: used to measure drawing costs)."""
        given = (title1, title2, title3, title4, title5, title6)
        titles = [t if t is not None else d for t, d in zip(given, DEFAULT_TITLES)]
        self.display, why = choose_display(headless)
        self.fig = self._make_figure()
        if why:
            _notice(f"{why}: running without the dashboard window; "
                    "use --save-image or --save-movie to keep it")
        self.live = (self.display != "headless") if live is None else live
        self.panels = Panels(self.fig, titles)
        self.painter = Painter(self.panels)
        self.pacing = DrawPacing(self._redraw_interval())
        self.movie = None
        self._movie_stride = 1
        self._updates = 0                 # figure updates so far
        self._last_update_step = None
        self._last_step = 1
        self._frame_wanted = False        # record the picture of this update in the movie
        self._paused = False
        self._closed = False
        self._layout_changed = False
        self._status = None               # a key of STATUS, or None: shown in the strip
        self._ticks = 0
        self._notebook_output = None
        self.redraws = {"full": 0, "quick": 0, "layout": 0}   # for the tests and benchmarks
        self.fig.canvas.mpl_connect("key_press_event", self._on_key)
        self.fig.canvas.mpl_connect("close_event", self._on_close)
        self.fig.canvas.mpl_connect("resize_event", self._on_resize)

    def _make_figure(self):
        """A pyplot figure for a window; else a bare Agg figure (no GUI, no pyplot)."""
        if self.display == "window":
            try:
                import matplotlib.pyplot as plt
                with plt.ioff():          # shown by start()
                    if _in_notebook():
                        # Kept out of pyplot's list of figures: IPython's %run calls
                        # plt.show() at the end, which would show it a second time.
                        fig = plt.new_figure_manager(0, figsize=FIGURE_SIZE).canvas.figure
                    else:
                        fig = plt.figure(figsize=FIGURE_SIZE)
                        try:
                            fit_to_screen(fig)
                        except Exception as error:   # a toolkit that answers otherwise
                            _notice(f"could not read the screen's size ({error}); the "
                                    f"window may be larger than the screen")
                fig.canvas.manager.set_window_title("MNIST")
                return fig
            except Exception as error:   # e.g. TclError: no display, a broken Qt/GTK install
                self.display = "headless"
                _notice(f"could not open a window ({type(error).__name__}: {error}); "
                        "running without it")
        fig = Figure(figsize=FIGURE_SIZE)
        FigureCanvasAgg(fig)
        return fig

    def _redraw_interval(self):
        return NOTEBOOK_REDRAW_INTERVAL_S if self.display == "notebook" else 1.0 / REDRAW_RATE

    @property
    def axes(self):
        """panel number (1-6) -> its matplotlib Axes."""
        return self.panels.axes

    @property
    def draws_during_training(self):
        """True if the dashboard is painted while training: live, or recording a movie."""
        return self.live or self.movie is not None

    # -- feeding data: the codelab's names (cheap: stored until the next redraw) ------

    def append_training_curves_data(self, i, accuracy, loss):
        self.panels.append_curves("train", i, accuracy, loss)
        self._new_update()

    def append_test_curves_data(self, i, accuracy, loss):
        self.panels.append_curves("test", i, accuracy, loss)
        self._new_update()

    def append_data_histograms(self, i, weights, biases):
        """Record the percentile bands of all weights (panel 4) and all biases (panel 5)."""
        self.panels.append_histograms(i, weights, biases)

    def update_image1(self, im):
        """The training digits mosaic (panel 3), an RGB image such as mnist_mosaic's,
        or a function without arguments that makes it: called only if the image is
        drawn or saved before the next update replaces it."""
        self.panels.set_image(3, im)

    def update_image2(self, im):
        """The test digits mosaic (panel 6): an image, or a function that makes it."""
        self.panels.set_image(6, im)

    def _new_update(self):
        """Count figure updates (a training and a test figure at one step count once)."""
        step = max(self.panels.train["step"][-1:] + self.panels.test["step"][-1:])
        if step != self._last_update_step:
            self._last_update_step = step
            self._updates += 1
            self.pacing.note_update()
            self._frame_wanted = self.movie is not None and (
                (self._updates - 1) % self._movie_stride == 0 or step >= self._last_step)

    def get_max_test_accuracy(self):
        return max(self.panels.test["accuracy"], default=0.0)

    def is_paused(self):
        return self._paused

    def is_closed(self):
        return self._closed

    # -- the run -------------------------------------------------------------------

    def start(self, first_step=0, last_step=1, updates=0, save_movie=None):
        """Before training: the x range, the number of figure updates the run will feed
        (for the pacing and the movie), and open the window."""
        self._last_step = last_step
        self.panels.set_x_range(first_step, last_step)
        # At least MIN_PICTURES in a window; a notebook picture comes about once a second.
        self.pacing = DrawPacing(self._redraw_interval(),
                                 updates if self.display != "notebook" else 0)
        if save_movie:
            width, height = self.fig.canvas.get_width_height(physical=True)
            self.movie = MovieRecorder(save_movie, (width, height))
            self._movie_stride = max(1, math.ceil(updates / MAX_MOVIE_FRAMES))
        if self.display == "window" and not self._closed:
            if _in_notebook() and hasattr(self.fig.canvas, "_repr_mimebundle_"):
                # ipympl (%matplotlib widget): shown with an id, so that finish() can put
                # the final picture into the output that the notebook file keeps.
                from IPython.display import display
                self._notebook_output = display(self.fig.canvas, display_id=True)
            elif _in_notebook():
                self.fig.canvas.manager.show()
            else:
                import matplotlib.pyplot as plt
                plt.show(block=False)
        if self.live and not self._closed:
            # TensorFlow traces the network before the first figures (seconds on the
            # convolutional stages), then the training step before the first stretch.
            self._set_status("preparing")    # the first picture: painted in full

    def tick(self):
        """Between two stretches of training: answer the window (keys, clicks, resizes),
        redraw if due, record a movie frame if one is due, and wait here while paused.
        The one question the training loop asks: go on? True, or False once the window
        is closed (training then stops)."""
        self._ticks += 1
        self._pump_events()
        if self._paused:
            self._wait_while_paused()
        if self._closed:
            return False
        if self._status == "preparing" and self._ticks > 1:   # a stretch has trained
            self._set_status(None)
        now = time.perf_counter()
        frame = self._frame_wanted
        if self._layout_changed and self.live:
            self._show_layout()
        elif frame:
            self._redraw()                # all the news: the movie shows the whole state
        elif self.live and self.panels.news and self.pacing.due(now):
            if self.pacing.overdue() and self.display == "window":
                self._pump_events(self.pacing.wait_before_overdue_redraw(now))
                now = time.perf_counter()
            panels = self.pacing.panels_due(self.panels.news, now)
            if panels and not self._layout_changed:
                self._redraw(panels)
        if self._layout_changed and self.live:   # a key answered during the drawing
            self._show_layout()
        if frame:
            self.movie.add(self.painter.rgba())
            self._frame_wanted = False
        return True

    def _redraw(self, panels=None, full=False, strip=False):
        """Bring the artists of `panels` (default: all with news) up to date and paint
        them, and the strip above the panels if asked."""
        began = time.perf_counter()
        if full:
            panels = set(ALL_PANELS)
        panels = set(self.panels.news if panels is None else panels)
        rescaled = self.panels.refresh(panels)
        if full:
            self.painter.invalidate()
        self._layout_changed = False
        painted_all = self.painter.paint(panels, rescaled)
        if strip and not painted_all:
            self.painter.paint_strip()
        self.redraws["full" if painted_all else "quick"] += 1
        if self.display == "notebook":
            self._show_in_notebook()
        elif self.display == "window":
            self.fig.canvas.flush_events()
        self.pacing.done(began, time.perf_counter() - began, panels, painted_all)
        return painted_all

    def redraw(self):
        """Paint everything now, up to date (the final picture; tests)."""
        return self._redraw(full=True)

    def _show_layout(self):
        """After a layout key: the new layout, up to date, from its kept picture if it
        was seen before (quick enough to show within the next drawing), else in full."""
        began = time.perf_counter()
        rescaled = self.panels.refresh(set(ALL_PANELS))
        self.painter.mark_stale(rescaled)
        if not self.painter.paint_kept_layout():
            return self._redraw(full=True)
        self._layout_changed = False
        self.redraws["layout"] += 1
        if self.display == "window":
            self.fig.canvas.flush_events()
        elif self.display == "notebook":
            self._show_in_notebook()
        self.pacing.done(began, time.perf_counter() - began, set(ALL_PANELS), True)
        return False

    def finish(self, save_image=None):
        """After training: the final picture with every range fitted, then the files.
        Returns the paths written."""
        if self._closed:
            self.panels.refresh(set(ALL_PANELS))
        else:
            self._redraw(full=True)
        if self.display == "window" and self._notebook_output is not None:
            # The widget lives on in Jupyter; the output's picture, which a notebook file
            # keeps for viewers without a kernel (GitHub, nbconvert), was taken when it
            # was shown, empty: it becomes the final picture.
            self._notebook_output.update(self.fig.canvas)
        written = []
        if self.movie:
            if self.movie.frames == 0 or self._frame_wanted:
                self.movie.add(self.painter.rgba())
            path = self.movie.finish()
            self.movie = None
            if path:
                written.append(path)
        if save_image:
            with self.panels.strip_hidden():
                save_figure(self.fig, save_image)
            written.append(os.path.abspath(save_image))
        return written

    def abandon(self):
        """Training failed: drop the movie being recorded."""
        if self.movie:
            self.movie.abandon()
            self.movie = None

    def wait_until_closed(self):
        """With a desktop window: say that training is over, on the window and in the
        terminal, and keep the window alive (keys, zoom) until the user closes it.
        Returns at once headless or in a notebook."""
        if self.display != "window" or _in_notebook():
            return
        if not self._closed:
            print(STATUS["finished"][0], file=sys.stderr, flush=True)
            self._set_status("finished")
        while not self._closed:
            if self._layout_changed:
                self._show_layout()
            self._pump_events(EVENT_PUMP_INTERVAL_S)

    # -- keys, pause, close ----------------------------------------------------------

    def show_panels(self, key):
        """Show the panels of PANEL_LAYOUTS[key] ("0".."9" or "escape"), hide the others;
        the next tick repaints them, refitted and up to date."""
        self.panels.show_layout(key)
        self.painter.invalidate()
        self._layout_changed = True

    def _on_key(self, event):
        if event.key in PANEL_LAYOUTS:
            self.show_panels(event.key)
        elif event.key in (" ", "space"):
            self._paused = not self._paused
        elif event.key in matplotlib.rcParams["keymap.home"]:
            self.panels.reset_ranges()    # matplotlib resets the zoom; we fit y again
            self._layout_changed = True

    def _on_close(self, event):
        self._closed = True

    def _wait_while_paused(self):
        """Show "paused" on an up-to-date picture and answer the window until resumed."""
        before = self._status
        self._set_status("paused")
        try:
            while self._paused and not self._closed:
                if self._layout_changed:
                    self._show_layout()
                self._pump_events(EVENT_PUMP_INTERVAL_S)
        finally:
            self._set_status(before)

    def _set_status(self, kind):
        """Say what is happening (a key of STATUS, or None) in the strip above the panels
        and in the window's title, on a picture brought up to date."""
        self._status = kind
        if self._closed or not self.live:
            return
        self.panels.set_status(kind, keys_hint=self.display == "window" and not _in_notebook())
        manager = self.fig.canvas.manager
        if manager is not None and self.display == "window":
            manager.set_window_title(STATUS[kind][3] if kind else "MNIST")
        self._redraw(strip=True)

    def _on_resize(self, event):
        self.panels.place()               # the window's own redraw follows

    def _pump_events(self, timeout=0.0):
        """Let the window handle keys, clicks and resizing, for `timeout` seconds (at
        least once). (Polling rather than a GUI's own blocking loop, which a closed
        window can leave waiting forever.)"""
        end = time.perf_counter() + timeout
        while True:
            if self.display == "window" and not self._closed:
                self.fig.canvas.flush_events()
            left = end - time.perf_counter()
            if left <= 0 or self._layout_changed:
                return
            time.sleep(min(left, EVENT_PUMP_INTERVAL_S))

    def _show_in_notebook(self):
        from IPython.display import Image, display
        from PIL import Image as PILImage
        buffer = io.BytesIO()
        PILImage.fromarray(self.painter.rgba()[..., :3]).save(buffer, format="png",
                                                              compress_level=1)
        picture = Image(data=buffer.getvalue())
        if self._notebook_output is None:
            self._notebook_output = display(picture, display_id=True)
        else:
            self._notebook_output.update(picture)


def __getattr__(name):  # tensorflowvisu.KerasDashboard loads Keras only when asked for
    if name == "KerasDashboard":
        from kerasdashboard import KerasDashboard
        return KerasDashboard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
