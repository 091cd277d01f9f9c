"""
The six panels: the figure's axes, put together from one part per kind of panel
================================================================================

    1 Accuracy            2 Cross entropy loss     3 Training digits
    4 Weights             5 Biases                 6 Test digits

Panels makes the six axes in the original's style and composes the parts, one job each:
    curvepanels.py  panels 1 and 2: the accuracy and loss curves
    bandpanels.py   panels 4 and 5: the percentile bands of the weights and biases
    digitpanels.py  panels 3 and 6: the digit mosaics and panel 6's percent scale
    strip.py        the strip above the panels: what is going on, the keys
    placement.py    margins sized for the text, the layouts the keys show
It keeps the data it is fed until refresh() hands it to the artists, notes which
panels have news, and which y ranges still follow their data (YRanges: until the user
zooms). Painting them on screen is painting.py's job.
"""

import matplotlib
import matplotlib.style

from dashboard.bandpanels import BAND_COLOUR_BIASES, BAND_COLOUR_WEIGHTS, BandPanels
from dashboard.curvepanels import CurvePanels
from dashboard.digitpanels import DigitPanels
from dashboard.placement import PANEL_LAYOUTS, X_LABEL, Placement
from dashboard.strip import STATUS, StatusStrip

DEFAULT_TITLES = ("Accuracy", "Cross entropy loss", "Training digits",
                  "Weights", "Biases", "Test digits")
ALL_PANELS = (1, 2, 3, 4, 5, 6)
STEP_PANELS = (1, 2, 4, 5)         # x is the training step
FOLLOWING_PANELS = (2, 4, 5)       # their y range follows the data until the user zooms
STYLE = "ggplot"                   # grey panels, white grid: the original's look


class YRanges:
    """Which panels' y ranges follow their data, and setting ranges in a way that is
    not taken for the user's zoom (a zoom stops that panel following its data)."""

    def __init__(self, axes):
        self.axes = axes
        self.following = set(FOLLOWING_PANELS)
        self._setting = False
        for ax in axes.values():
            ax.callbacks.connect("ylim_changed", self._on_ylim_changed)

    def follows(self, panel):
        return panel in self.following

    def set_y(self, panel, limits):
        """Set a y range; True if it changed."""
        if limits is None or tuple(self.axes[panel].get_ylim()) == tuple(limits):
            return False
        self._setting = True
        self.axes[panel].set_ylim(*limits)
        self._setting = False
        return True

    def set_x(self, first_step, last_step):
        self._setting = True
        for panel in STEP_PANELS:
            self.axes[panel].set_xlim(first_step, max(last_step, first_step + 1))
        self._setting = False

    def follow_again(self):
        self.following = set(FOLLOWING_PANELS)

    def _on_ylim_changed(self, ax):
        if not self._setting:             # the user zoomed: stop fitting that panel
            self.following.discard(next(k for k, a in self.axes.items() if a is ax))


class Panels:
    """The six panels and the data they show. Feeding data only stores it; refresh()
    hands it to the artists, fitting the ranges of panels 2, 4 and 5."""

    def __init__(self, fig, titles, colour4=BAND_COLOUR_WEIGHTS, colour5=BAND_COLOUR_BIASES):
        self.fig = fig
        self.news = set()                     # panels whose artists are behind their data
        with matplotlib.style.context(STYLE):
            self.axes = {k: fig.add_subplot(2, 3, k) for k in ALL_PANELS}
            for k, title in zip(ALL_PANELS, titles):
                self.axes[k].set_title(title)
            self.curves = CurvePanels({k: self.axes[k] for k in (1, 2)})
            self.bands = BandPanels({k: self.axes[k] for k in (4, 5)}, {4: colour4, 5: colour5})
            self.digits = DigitPanels({k: self.axes[k] for k in (3, 6)})
            for panel in STEP_PANELS:
                self.axes[panel].set_xlabel(X_LABEL, fontsize="medium", labelpad=2)
            self.strip = StatusStrip(fig)
        self.placement = Placement(fig, self.axes, self.strip)
        self.digits.label_test_digits()
        self.animated = {panel: self.curves.artists(panel) for panel in (1, 2)}
        self.animated.update({panel: [artist] for panel, artist in
                              [*self.bands.artists.items(), *self.digits.artists.items()]})
        for artists in self.animated.values():
            for artist in artists:
                artist.set_animated(True)
        self.ranges = YRanges(self.axes)
        self.placement.place()
        self.placement.show_layout("0")

    # -- data ----------------------------------------------------------------

    def append_curves(self, which, step, accuracy, loss):
        self.curves.append(which, step, accuracy, loss)
        self.news.update((1, 2))

    def append_histograms(self, step, values4, values5):
        self.bands.append(step, values4, values5)
        self.news.update((4, 5))

    def set_image(self, panel, image, test_count=None):
        self.digits.set_image(panel, image, test_count)
        self.news.add(panel)

    def curve_ends(self, panel):
        """The steps of the last two points (or the only one) of each curve of panel 1 or
        2, or of the bands of panel 4 or 5: [(next to last, last), ...]."""
        return self.curves.ends() if panel in (1, 2) else self.bands.ends()

    # -- ranges and layout ------------------------------------------------------

    def set_x_range(self, first_step, last_step):
        self.ranges.set_x(first_step, last_step)

    def reset_ranges(self):
        """After matplotlib's home key: the panels follow their data again."""
        self.ranges.follow_again()
        self.news.update(FOLLOWING_PANELS)

    def show_layout(self, key):
        """Show the panels of PANEL_LAYOUTS[key] ("0".."9" or "escape"), hide the others."""
        self.placement.show_layout(key)

    def visible(self):
        return self.placement.visible()

    def place(self):
        """Margins that fit the text at the figure's present size (after a resize)."""
        self.placement.place()

    # -- the strip --------------------------------------------------------------

    def set_status(self, kind, keys_hint):
        """Show STATUS[kind] in the strip (None: nothing), and the keys if asked."""
        self.strip.set_status(kind, keys_hint)

    def strip_hidden(self):
        """A context without the strip (a saved picture)."""
        return self.strip.hidden()

    # -- handing the data to the artists ---------------------------------------

    def refresh(self, panels):
        """Bring the artists of `panels` up to date with their data (mosaics are made
        here if they were given as functions). Returns the panels whose y range changed."""
        rescaled = self.curves.refresh(panels, self.ranges)
        rescaled |= self.bands.refresh(panels, self.ranges)
        rescaled |= self.digits.refresh(panels)
        self.news.difference_update(panels)
        return rescaled
