"""
tensorflowvisu: the live dashboard of the MNIST codelab
=======================================================

Six panels, 2 x 3, one matplotlib Axes each, redrawn while the network trains:

    1 Accuracy            2 Cross entropy loss     3 Training digits
    4 Weights             5 Biases                 6 Test digits

Keys (click on the window first):
    1..6        that panel alone, enlarged to the whole window
    7 / 8 / 9   panels 1 and 2 / panels 4 and 5 / panels 3 and 6
    0, Escape   all six panels
    space       pause and resume training (and drawing)
    o, h, ctrl+s   matplotlib's own keys: box zoom, reset zooms, save the image

A stage script uses it like this:

    datavis = tensorflowvisu.MnistDataVis()
    def training_step(step, update_train_data, update_test_data):
        ...  # one optimisation step, then feed the panels:
        datavis.append_training_curves_data(step, accuracy, loss)
        datavis.update_image1(tensorflowvisu.mnist_mosaic(images, predictions, labels))
    datavis.animate(training_step, 2000, train_data_update_freq=10, test_data_update_freq=50)

Where the dashboard appears (decided once, when MnistDataVis is built):
    - headless=True: nowhere (--headless); the figure is only drawn for save_image/save_movie.
    - in Jupyter: live in the notebook with an interactive backend (%matplotlib widget
      or notebook); otherwise as a picture that is refreshed every second or so.
    - otherwise in a window. When no window can be opened (no DISPLAY or WAYLAND_DISPLAY on
      Linux, a backend that cannot draw on screen, or one that fails to start), it prints one
      line of notice on stderr and carries on headless. Training and the text printed on
      stdout are the same in every case.

Drawing costs time that training would rather have, so appending data only stores it;
the figure is redrawn at most every quarter of a second, and less often when a redraw
is slow, so that drawing takes at most about 5 % of the run. A redraw repaints only the
curves, bands and mosaics over a saved background (blitting); axes, ticks and titles are
redrawn only when a range changes. benchmarks/bench_dashboard.py measures the cost.

Panels 4 and 5 show percentile bands: at each recorded step, the values are cut into
7 buckets holding the same number of values (see percentile_bands), drawn as 7 shaded
bands, palest outside and strongest in the middle one, which holds the median.
"""

import io
import math
import os
import sys
import time
import uuid

import numpy as np
import matplotlib
from matplotlib import animation
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec

# ----------------------------------------------------------------------------
# Settings (constants only: every dashboard keeps its own data on its instance)

DEFAULT_TITLES = ("Accuracy", "Cross entropy loss", "Training digits",
                  "Weights", "Biases", "Test digits")

# which panels each key shows, in reading order
PANEL_LAYOUTS = {"1": (1,), "2": (2,), "3": (3,), "4": (4,), "5": (5,), "6": (6,),
                 "7": (1, 2), "8": (4, 5), "9": (3, 6),
                 "0": (1, 2, 3, 4, 5, 6), "escape": (1, 2, 3, 4, 5, 6)}

BAND_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
                "tab:brown", "tab:pink", "tab:gray", "tab:olive", "tab:cyan")
BAND_COUNT = 7                                   # equal-count buckets in panels 4 and 5
BAND_QUANTILES = tuple(k / BAND_COUNT for k in range(BAND_COUNT + 1))  # 0, 1/7, ..., 1
BAND_SHADES = (0.25, 0.45, 0.7, 1.0, 0.7, 0.45, 0.25)  # colour strength, outer to median

FIGURE_SIZE = (13.0, 7.2)          # inches; 1300 x 720 pixels at 100 dpi
MIN_REDRAW_INTERVAL_S = 0.25       # at most 4 redraws a second in a window
NOTEBOOK_REDRAW_INTERVAL_S = 1.0   # a static notebook picture: at most one a second
MAX_DRAW_SHARE = 0.05              # redraws are spaced out to keep to this share of time,
                                   # full draws (axes, text) and data-only ones each
EVENT_PUMP_INTERVAL_S = 0.05       # let the window handle keys this often while training
MOVIE_FPS = 10
MAX_MOVIE_FRAMES = 200             # longer runs record every 2nd, 3rd... update
GIF_DPI = 60                       # 780 x 432 pixels; a GIF keeps every frame in memory

TILE = 28                          # MNIST images are 28 x 28
RED = (0.9, 0.2, 0.2)              # background of a misrecognised digit
WHITE = (1.0, 1.0, 1.0)            # background of a recognised digit
INK = (0.0, 0.0, 0.0)
LABEL_COLOUR = (1.0, 1.0, 1.0)     # the small digits drawn on a misrecognised one

# A 3 x 5 pixel font for the digits 0-9, so that labels do not depend on installed fonts.
_FONT_3X5 = ("111 101 101 101 111", "010 110 010 010 111", "111 001 111 100 111",
             "111 001 111 001 111", "101 101 111 001 001", "111 100 111 001 111",
             "111 100 111 101 111", "111 001 001 010 010", "111 101 111 101 111",
             "111 101 111 001 111")
GLYPH_SCALE = 2                    # each font pixel is 2 x 2 image pixels: 6 x 10 glyphs
GLYPHS = np.array([[[c == "1" for c in row] for row in digit.split()] for digit in _FONT_3X5])
GLYPHS = GLYPHS.repeat(GLYPH_SCALE, axis=1).repeat(GLYPH_SCALE, axis=2)   # [10, 10, 6] bool
GLYPHS.flags.writeable = False
GLYPH_TOP, GLYPH_LEFT, GLYPH_RIGHT = 1, 1, TILE - 1 - GLYPHS.shape[2]  # where labels go

# Panel 6 shows the first 1000 of the 10,000 test images sorted misrecognised first,
# that is the top 10 % of the test set: its y-axis runs from 100 % down to 90 %.
TEST_MOSAIC_SCALE = (100, 90)      # percent at the top and at the bottom of panel 6


# ----------------------------------------------------------------------------
# Digit mosaics and percentile bands: plain numpy, usable without a dashboard

def mnist_mosaic(images, predicted_ids, correct_ids, lines=10, n=None):
    """Digits in a grid, misrecognised ones first, as an RGB float image [H, W, 3] in [0, 1].

    images: [N, 28, 28, 1], [N, 28, 28] or [N, 784], ink = 1.0 on background = 0.0
    (uint8 0-255 is accepted too). predicted_ids and correct_ids: class ids [N], or
    one-hot labels / probabilities [N, 10] (their argmax is taken).
    The first n digits after sorting are shown (default: all N) in `lines` lines of
    ceil(n / lines) digits; missing ones are left blank. Misrecognised digits come first,
    on red, with the correct digit drawn small on the left and the predicted one on the
    right; recognised ones follow on white. 100 -> 10 x 10; n=1000, lines=25 -> 25 x 40.
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
    blank = np.ones((lines * columns - len(tiles), TILE, TILE, 3), np.float32)
    tiles = np.concatenate([tiles, blank])
    grid = tiles.reshape(lines, columns, TILE, TILE, 3).transpose(0, 2, 1, 3, 4)
    return grid.reshape(lines * TILE, columns * TILE, 3)


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
    """Stamp the correct digit top left and the predicted one top right, in place."""
    rows = slice(GLYPH_TOP, GLYPH_TOP + GLYPHS.shape[1])
    width = GLYPHS.shape[2]
    for left, ids in ((GLYPH_LEFT, correct), (GLYPH_RIGHT, predicted)):
        corner = tiles[:, rows, left:left + width]    # a view: writing to it writes the tiles
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


def update_flags(step, iterations, train_data_update_freq, test_data_update_freq,
                 more_tests_at_start=False):
    """(update_train_data, update_test_data) for one step, as animate decides them.

    Training figures every train_data_update_freq steps, test figures every
    test_data_update_freq steps, both on the last step. more_tests_at_start adds test
    figures at the training cadence during the first test_data_update_freq steps.
    """
    last = step == iterations
    train = step % train_data_update_freq == 0 or last
    test = step % test_data_update_freq == 0 or last
    if more_tests_at_start and step < test_data_update_freq:
        test = test or step % train_data_update_freq == 0
    return train, test


# ----------------------------------------------------------------------------
# Output files: checked before training, written atomically

class OutputPathError(ValueError):
    """An output file (--save-image, --save-movie) cannot be written where asked."""


def check_output_path(path, flag_name="output"):
    """The absolute path, after checking that its folder exists and is writable.

    Call it before training so that a typo does not cost a whole run. Raises
    OutputPathError with a message naming the flag and the path.
    """
    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    folder = os.path.dirname(path)
    if os.path.isdir(path):
        raise OutputPathError(f"{flag_name}: '{path}' is a folder; give a file name in it")
    if not os.path.isdir(folder):
        raise OutputPathError(f"{flag_name}: the folder '{folder}' does not exist "
                              f"(for '{path}'); create it or choose another path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"{flag_name}: the folder '{folder}' is not writable "
                              f"(for '{path}'); choose another path")
    return path


def _temporary_path(path):
    """A hidden file name beside `path`, with the same extension (writers go by it)."""
    folder, name = os.path.split(path)
    extension = os.path.splitext(name)[1]
    return os.path.join(folder, f".{name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp{extension}")


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def save_figure(fig, path):
    """Write `fig` to `path` (PNG unless the extension names another format), atomically."""
    temporary = _temporary_path(path)
    try:
        fig.savefig(temporary, format=_image_format(path))
        os.replace(temporary, path)
    finally:
        _remove_quietly(temporary)


def _image_format(path):
    extension = os.path.splitext(path)[1].lower().lstrip(".")
    return extension if extension in FigureCanvasAgg.get_supported_filetypes() else "png"


def _notice(message):
    """One line on stderr, so that stdout stays the same with or without a window."""
    print(f"tensorflowvisu: {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------
# Movies: mp4 through ffmpeg when matplotlib finds it, else an animated GIF

class _GifWriter(animation.PillowWriter):
    """PillowWriter keeping each frame with a 256-colour palette (a quarter of the memory)."""

    def setup(self, fig, outfile, dpi=None):
        super().setup(fig, outfile, dpi=dpi)
        self._palette_frames = []

    def grab_frame(self, **savefig_kwargs):
        from PIL import Image
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="rgba", dpi=self.dpi, **savefig_kwargs)
        frame = Image.frombuffer("RGBA", self.frame_size, buffer.getbuffer(), "raw", "RGBA", 0, 1)
        self._palette_frames.append(frame.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE))

    def finish(self):
        first, *others = self._palette_frames
        first.save(self.outfile, format="GIF", save_all=True, append_images=others,
                   duration=int(1000 / self.fps), loop=0)


class MovieRecorder:
    """Records frames of a figure into save_movie, written atomically when finished."""

    def __init__(self, fig, path, flag_name="save_movie"):
        path = check_output_path(path, flag_name)
        if not path.lower().endswith(".gif") and not animation.writers.is_available("ffmpeg"):
            gif_path = os.path.splitext(path)[0] + ".gif"
            _notice(f"ffmpeg not found: writing the movie as {gif_path} instead of {path}")
            path = gif_path
        if path.lower().endswith(".gif"):
            self.writer, dpi = _GifWriter(fps=MOVIE_FPS), GIF_DPI
        else:
            self.writer, dpi = animation.FFMpegWriter(fps=MOVIE_FPS), fig.dpi
        self.path, self.frames = path, 0
        self._temporary = _temporary_path(path)
        self.writer.setup(fig, self._temporary, dpi=dpi)

    def grab(self):
        self.writer.grab_frame()
        self.frames += 1

    def finish(self):
        """Write the file (if any frame was recorded) and return its path."""
        try:
            if self.frames:
                self.writer.finish()
                os.replace(self._temporary, self.path)
        finally:
            _remove_quietly(self._temporary)
        return self.path

    def abandon(self):
        """Stop without writing anything (training failed)."""
        try:
            self.writer.finish()      # also stops an ffmpeg process
        except Exception:
            pass
        _remove_quietly(self._temporary)


def _movie_frame_stride(iterations, flags):
    """Record every k-th figure update so that a movie has at most MAX_MOVIE_FRAMES frames."""
    updates = sum(1 for step in range(iterations + 1) if any(flags(step)))
    return max(1, math.ceil(updates / MAX_MOVIE_FRAMES))


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


# ----------------------------------------------------------------------------
# The dashboard

class MnistDataVis:
    """The six-panel dashboard. All its data lives on the instance."""

    def __init__(self, title1=None, title2=None, title3=None, title4=None, title5=None,
                 title6=None, histogram4colornum=2, histogram5colornum=2, headless=False,
                 live=None):
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
        self.redraw_interval_s = (NOTEBOOK_REDRAW_INTERVAL_S if self.display == "notebook"
                                  else MIN_REDRAW_INTERVAL_S)
        self._init_data()
        self._build_panels(titles, histogram4colornum, histogram5colornum)
        self.show_panels("0")
        self.set_x_range(1)
        self.fig.canvas.mpl_connect("key_press_event", self._on_key)
        self.fig.canvas.mpl_connect("close_event", self._on_close)
        self.fig.canvas.mpl_connect("draw_event", self._on_draw)

    # -- the figure ----------------------------------------------------------

    def _make_figure(self):
        """A pyplot figure for a window; else a bare Agg figure (no GUI, no pyplot)."""
        if self.display == "window":
            try:
                import matplotlib.pyplot as plt
                fig = plt.figure(figsize=FIGURE_SIZE)
                fig.canvas.manager.set_window_title("MNIST")
                return fig
            except Exception as error:   # e.g. TclError: no display, a broken Qt/GTK install
                self.display = "headless"
                _notice(f"could not open a window ({type(error).__name__}: {error}); "
                        "running without it")
        fig = Figure(figsize=FIGURE_SIZE)
        FigureCanvasAgg(fig)
        return fig

    def _init_data(self):
        self._train = {"step": [], "accuracy": [], "loss": []}
        self._test = {"step": [], "accuracy": [], "loss": []}
        self._histogram_steps = []
        self._bands = {4: [], 5: []}           # panel -> list of 8 boundaries per step
        self._images = {3: None, 6: None}      # panel -> latest mosaic, until drawn
        self._iterations = 1
        self._paused = False
        self._closed = False
        self._dirty = True
        self._next_redraw = 0.0
        self._next_full_redraw = 0.0     # axis ranges may change from then on
        self._blit_cost = 0.0            # seconds the last data-only redraw took
        self._next_pump = 0.0
        self._notebook_output = None
        self._background = None          # panel -> its picture without the animated artists
        self._changed_panels = set()     # panels whose animated artists need repainting
        self._auto_y = {2, 4, 5}         # panels whose y range follows the data
        self._refit_pending = False
        self._setting_limits = False

    def _build_panels(self, titles, colour4, colour5):
        self.axes = {k: self.fig.add_subplot(2, 3, k) for k in range(1, 7)}
        for k, title in enumerate(titles, start=1):
            self.axes[k].set_title(title)
        self._lines = {}
        self._build_curves(1, "accuracy", "lower right")
        self._build_curves(2, "loss", "upper right")
        self.axes[1].set_ylim(0.0, 1.0)
        self._band_artists = {4: self._build_bands(4, colour4), 5: self._build_bands(5, colour5)}
        self._image_artists = {3: self._build_image(3, 10, 10), 6: self._build_image(6, 25, 40)}
        self._label_test_digits()
        self._prepare_redraws()
        self._grids = {1: GridSpec(1, 1, figure=self.fig), 2: GridSpec(1, 2, figure=self.fig),
                       6: GridSpec(2, 3, figure=self.fig)}
        for grid in self._grids.values():
            grid.update(left=0.05, right=0.98, bottom=0.06, top=0.94, wspace=0.22, hspace=0.28)

    def _prepare_redraws(self):
        """Mark what changes as animated (see "drawing" below); watch for user zooms."""
        self._animated = {panel: [artist for (place, _), artist in self._lines.items()
                                  if place == panel] for panel in (1, 2)}
        self._animated.update({panel: [artist] for panel, artist in
                               [*self._band_artists.items(), *self._image_artists.items()]})
        for artists in self._animated.values():
            for artist in artists:
                artist.set_animated(True)
        for ax in self.axes.values():
            ax.callbacks.connect("ylim_changed", self._on_ylim_changed)

    def _build_curves(self, panel, quantity, legend_place):
        ax = self.axes[panel]
        self._lines[panel, "train"], = ax.plot([], [], color="tab:blue", label=f"training {quantity}")
        self._lines[panel, "test"], = ax.plot([], [], color="tab:red", label=f"test {quantity}")
        ax.legend(loc=legend_place).set_draggable(True)
        ax.grid(True, alpha=0.3)

    def _build_bands(self, panel, colour_number):
        """7 filled bands (outer ones pale, the one holding the median strongest)."""
        base = np.array(to_rgb(BAND_COLOURS[colour_number % len(BAND_COLOURS)]))
        colours = [1.0 - strength * (1.0 - base) for strength in BAND_SHADES]
        bands = PolyCollection([], facecolors=colours, edgecolors="none")
        self.axes[panel].add_collection(bands)
        self.axes[panel].grid(True, alpha=0.3)
        return bands

    def _build_image(self, panel, lines, columns):
        ax = self.axes[panel]
        blank = np.ones((lines * TILE, columns * TILE, 3), np.float32)
        image = ax.imshow(blank, interpolation="antialiased")
        ax.set_xticks([])
        ax.set_yticks([])
        return image

    def _label_test_digits(self):
        """Panel 6's y-axis: 100 % at the top to 90 % at the bottom of the test mosaic."""
        height = self._image_artists[6].get_array().shape[0]
        top, bottom = TEST_MOSAIC_SCALE
        percents = np.arange(top, bottom - 1, -2)
        positions = (top - percents) / (top - bottom) * height - 0.5
        self.axes[6].set_yticks(positions, [f"{p}%" for p in percents])

    # -- feeding data (cheap: only stored until the next redraw) -------------

    def append_training_curves_data(self, i, accuracy, loss):
        self._append_curves(self._train, i, accuracy, loss)

    def append_test_curves_data(self, i, accuracy, loss):
        self._append_curves(self._test, i, accuracy, loss)

    def _append_curves(self, curves, step, accuracy, loss):
        curves["step"].append(int(step))
        curves["accuracy"].append(float(accuracy))
        curves["loss"].append(float(loss))
        self._changed(1, 2)

    def append_data_histograms(self, i, weights, biases):
        """Record the percentile bands of all weights (panel 4) and all biases (panel 5)."""
        self._histogram_steps.append(int(i))
        self._bands[4].append(percentile_bands(weights))
        self._bands[5].append(percentile_bands(biases))
        self._changed(4, 5)

    def update_image1(self, im):
        """The training digits mosaic (panel 3), an RGB image such as mnist_mosaic's,
        or a function without arguments that makes it: called only if the image is
        drawn or saved before the next update replaces it."""
        self._images[3] = im
        self._changed(3)

    def update_image2(self, im):
        """The test digits mosaic (panel 6): an image, or a function that makes it."""
        self._images[6] = im
        self._changed(6)

    def _changed(self, *panels):
        self._changed_panels.update(panels)
        self._dirty = True

    def get_max_test_accuracy(self):
        return max(self._test["accuracy"], default=0.0)

    def is_paused(self):
        return self._paused

    # -- keys and layout -----------------------------------------------------

    def show_panels(self, key):
        """Show the panels of PANEL_LAYOUTS[key] ("0".."9" or "escape"), hide the others."""
        shown = PANEL_LAYOUTS[key]
        grid = self._grids[len(shown)]
        for panel, ax in self.axes.items():
            ax.set_visible(panel in shown)
        for place, panel in enumerate(shown):
            self.axes[panel].set_subplotspec(grid[place])

    def _on_key(self, event):
        if event.key in PANEL_LAYOUTS:
            self.show_panels(event.key)
            self._background = None        # panels moved: no blit until a full draw
            self.fig.canvas.draw_idle()
        elif event.key in (" ", "space"):
            self._paused = not self._paused
        elif event.key in matplotlib.rcParams["keymap.home"]:
            self._refit_pending = True    # matplotlib resets the zoom; we fit y again

    def _on_close(self, event):
        self._closed = True

    # -- drawing -------------------------------------------------------------
    # The curves, bands and mosaics are "animated" artists: a full draw paints everything
    # else (axes, ticks, titles: slow text), keeps that as a background, then paints them.
    # Later redraws restore the background and repaint only them (blitting), unless an
    # axis range changed. Saving a file (savefig) always paints everything.

    def set_x_range(self, last_step):
        """Steps 0..last_step on the x-axis of panels 1, 2, 4 and 5 (animate sets it)."""
        self._iterations = max(1, int(last_step))
        self._setting_limits = True
        for panel in (1, 2, 4, 5):
            self.axes[panel].set_xlim(0, self._iterations)
        self._setting_limits = False
        self._background = None

    def _refresh_artists(self, rescale=True):
        """Hand the stored data to the existing artists (nothing is rebuilt).
        rescale=False keeps the y ranges as they are, even if some data falls outside.
        A range that changes drops the saved background: the next redraw paints all."""
        if self._refit_pending:
            self._auto_y, self._refit_pending = {2, 4, 5}, False
        for which, curves in (("train", self._train), ("test", self._test)):
            self._lines[1, which].set_data(curves["step"], curves["accuracy"])
            self._lines[2, which].set_data(curves["step"], curves["loss"])
        if rescale:
            self._fit_y(2, self._train["loss"] + self._test["loss"], from_zero=True)
        for panel in (4, 5):
            self._refresh_bands(panel, rescale)
        for panel in (3, 6):
            self._refresh_image(panel)
        self._dirty = False

    def _fit_y(self, panel, values, from_zero=False):
        """Fit the y range to the values, with room to spare so that it rarely changes.
        Leaves it alone once the user has zoomed (until the home key: h, r or Home)."""
        values = np.asarray(values, dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size == 0 or panel not in self._auto_y:
            return
        low, high = (0.0 if from_zero else values.min()), values.max()
        spread = max(high - low, 1e-3 * max(abs(high), abs(low)), 1e-6)
        old_low, old_high = self.axes[panel].get_ylim()
        inside = old_low <= low and high <= old_high
        if inside and (high - low) >= 0.5 * (old_high - old_low):
            return
        room = 0.05 if inside else 0.3     # growing: leave room, to redraw axes less often
        self._setting_limits = True
        self.axes[panel].set_ylim(low if from_zero else low - room * spread, high + room * spread)
        self._setting_limits = False
        self._background = None           # the axes changed: the next redraw paints all

    def _on_ylim_changed(self, ax):
        if not self._setting_limits:      # the user zoomed: stop fitting that panel
            self._auto_y.discard(next(k for k, a in self.axes.items() if a is ax))

    def _refresh_bands(self, panel, rescale=True):
        """Band k is the area between boundaries k and k+1 (see percentile_bands)."""
        if not self._histogram_steps:
            return
        steps = np.asarray(self._histogram_steps, dtype=np.float64)
        bounds = np.asarray(self._bands[panel])                      # [steps, 8]
        polygons = [np.concatenate([np.column_stack([steps, bounds[:, k + 1]]),
                                    np.column_stack([steps[::-1], bounds[::-1, k]])])
                    for k in range(BAND_COUNT)]
        self._band_artists[panel].set_verts(polygons)
        if rescale:
            self._fit_y(panel, bounds)

    def _refresh_image(self, panel):
        image, self._images[panel] = self._images[panel], None
        if image is None:
            return
        if callable(image):
            image = image()
        artist = self._image_artists[panel]
        reshaped = np.shape(image)[:2] != artist.get_array().shape[:2]
        artist.set_data(image)
        if reshaped:
            height, width = np.shape(image)[:2]
            artist.set_extent((-0.5, width - 0.5, height - 0.5, -0.5))
            if panel == 6:
                self._label_test_digits()
            self._background = None

    def redraw(self, rescale=True):
        """Bring the artists up to date and draw: on screen, in the notebook, or off screen.
        rescale=False keeps the axis ranges, so that a blit can do (see _redraw_when_due).
        Returns True if it painted everything, False if only the data (a blit)."""
        self._refresh_artists(rescale)
        full = self._background is None   # none yet, or an axis range changed since
        canvas = self.fig.canvas
        if self.display == "notebook":
            self._show_in_notebook()
        elif full or not self._can_blit():
            canvas.draw()               # its draw_event keeps the new background (_on_draw)
        else:
            # Only the panels with news: a mosaic is slow to paint, and the test one
            # changes five times less often than the rest.
            for panel in sorted(self._changed_panels):
                if panel in self._background:
                    canvas.restore_region(self._background[panel])
                    self._draw_animated(panel)
                    canvas.blit(self.axes[panel].bbox)
        self._changed_panels.clear()
        if self.display == "window":
            canvas.flush_events()
        return full or not self._can_blit()

    def _can_blit(self):
        return self.display != "notebook" and self.fig.canvas.supports_blit

    def _on_draw(self, event):
        """After every full draw (ours, a resize, a zoom, a key): keep it as the background."""
        canvas = self.fig.canvas
        if canvas.is_saving() or not canvas.supports_blit:
            return
        self._background = {panel: canvas.copy_from_bbox(ax.bbox)
                            for panel, ax in self.axes.items() if ax.get_visible()}
        for panel in self._background:
            self._draw_animated(panel)

    def _draw_animated(self, panel):
        for artist in self._animated[panel]:
            self.axes[panel].draw_artist(artist)

    def _show_in_notebook(self):
        from IPython.display import Image, display
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png")
        picture = Image(data=buffer.getvalue())
        if self._notebook_output is None:
            self._notebook_output = display(picture, display_id=True)
        else:
            self._notebook_output.update(picture)

    def _redraw_when_due(self):
        """Redraw if there is news and the last redraw is old enough (see MAX_DRAW_SHARE).

        Full draws (axes, ticks, text) cost about ten times as much as repainting the data
        alone (a blit). Each kind is spaced out by its own cost, so that the curves keep
        moving between full draws: until the next full draw is due, new data is drawn
        within the axis ranges it has, and an axis range catches up when it is due."""
        now = time.perf_counter()
        if not (self.live and self._dirty and now >= self._next_redraw and not self._closed):
            return False
        painted_all = self.redraw(rescale=now >= self._next_full_redraw)
        cost = time.perf_counter() - now
        if painted_all:
            self._next_full_redraw = now + cost / MAX_DRAW_SHARE
            if not self._can_blit():
                self._blit_cost = cost      # every redraw paints everything
        else:
            self._blit_cost = cost
        self._next_redraw = now + max(self.redraw_interval_s, self._blit_cost / MAX_DRAW_SHARE)
        return True

    def _pump_events(self, timeout=0.0):
        """Let the window handle keys, clicks and resizing, then sleep `timeout` seconds.
        (Polling rather than a GUI's own blocking loop, which a closed window can leave
        waiting forever.)"""
        if self.display == "window" and not self._closed:
            self.fig.canvas.flush_events()
        if timeout > 0:
            time.sleep(timeout)

    def _tick(self):
        """After each training step: redraw when due, else keep the window responsive."""
        if self._redraw_when_due() or self.display != "window":
            return
        now = time.perf_counter()
        if now >= self._next_pump:
            self._pump_events()
            self._next_pump = now + EVENT_PUMP_INTERVAL_S

    def _wait_while_paused(self):
        while self._paused and not self._closed:
            self._pump_events(0.03)

    # -- the training loop ---------------------------------------------------

    def animate(self, compute_step, iterations, train_data_update_freq, test_data_update_freq,
                more_tests_at_start=False, save_image=None, save_movie=None, keep_open=True):
        """Run compute_step(step, update_train_data, update_test_data) for step = 0..iterations.

        The flags come from update_flags(). With a window, training runs inside its event
        loop, so keys work; space pauses; closing the window stops training. Exceptions
        from compute_step come out of animate. save_image writes the final dashboard (PNG),
        save_movie records the run (mp4 with ffmpeg, else GIF). keep_open: with a
        desktop window, wait at the end until the user closes it (keep_open=False and
        a later wait_until_closed() let the caller print its summary first).
        Returns the number of steps run.
        """
        if save_image:
            save_image = check_output_path(save_image, "save_image")
        movie = MovieRecorder(self.fig, save_movie) if save_movie else None
        def flags(step):
            return update_flags(step, iterations, train_data_update_freq,
                                test_data_update_freq, more_tests_at_start)
        stride = _movie_frame_stride(iterations, flags) if movie else 1
        self.set_x_range(iterations)
        self._open_display()
        steps_done = 0
        try:
            steps_done = self._run_steps(compute_step, iterations, flags, movie, stride)
        except BaseException:
            if movie:
                movie.abandon()
            raise
        self._finish(save_image, movie)
        if keep_open:
            self.wait_until_closed()
        return steps_done

    def wait_until_closed(self):
        """With a desktop window: keep it alive (keys, zoom) until the user closes it.
        Returns at once headless or in a notebook."""
        if self.display != "window" or _in_notebook():
            return
        while not self._closed:
            self._pump_events(0.03)

    def _open_display(self):
        if self.display == "window" and not self._closed:
            import matplotlib.pyplot as plt
            if _in_notebook():
                self.fig.canvas.manager.show()
            else:
                plt.show(block=False)
            self.fig.canvas.flush_events()

    def _run_steps(self, compute_step, iterations, flags, movie, stride):
        updates = 0
        for step in range(iterations + 1):
            self._wait_while_paused()
            if self._closed:
                return step
            update_train, update_test = flags(step)
            compute_step(step, update_train, update_test)
            if movie and (update_train or update_test):
                if updates % stride == 0 or step == iterations:
                    self._refresh_artists()
                    movie.grab()
                updates += 1
            self._tick()
        return iterations + 1

    def _finish(self, save_image, movie):
        """Draw the final state and write the requested files."""
        if self.live and not self._closed:
            self.redraw()
        else:
            self._refresh_artists()
        if save_image:
            save_figure(self.fig, save_image)
        if movie:
            movie.finish()
