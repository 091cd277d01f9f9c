"""
The six panels: the figure's axes, the artists that show the data, the layout keys
==================================================================================

    1 Accuracy            2 Cross entropy loss     3 Training digits
    4 Weights             5 Biases                 6 Test digits

Panels keeps the data it is fed (curves, bands, mosaics) and hands it to its
matplotlib artists in refresh(), fitting the ranges of panels 2, 4 and 5 (scales.py).
It also holds the strip above the panels (what is going on, and the keys), the margins
sized in points for the text around the panels (place), and the layouts the keys
show (show_layout). Painting them on screen is painting.py's job.
"""

import contextlib

import numpy as np
import matplotlib
import matplotlib.style
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgb
from matplotlib.gridspec import GridSpec
from matplotlib.transforms import Bbox

from dashboard.mosaics import (TEST_MOSAIC_COUNT, TEST_MOSAIC_LINES, TEST_MOSAIC_SCALE,
                               TILE, TRAIN_MOSAIC_LINES)
from dashboard.scales import (BAND_COUNT, LOSS_TOP_AT_START, band_axis_range,
                              loss_axis_top, percentile_bands)

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
BAND_SHADES = (0.25, 0.45, 0.7, 1.0, 0.7, 0.45, 0.25)  # colour strength, outer to median

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
