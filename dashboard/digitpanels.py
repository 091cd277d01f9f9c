"""
Panels 3 and 6: the digit mosaics, and panel 6's percent scale
==============================================================

DigitPanels shows the newest mosaic fed to each panel (mosaics.py makes them), made
only when it is shown if it was given as a function; panel 6's y-axis is a percent
scale on which the red block's height reads as the test error rate, whatever the
number of test digits measured (mosaics.py says how).
"""

import numpy as np
from matplotlib.ticker import MaxNLocator

from dashboard.mosaics import (MNIST_TEST_COUNT, TEST_MOSAIC_COUNT, TEST_MOSAIC_LINES, TILE,
                               TRAIN_MOSAIC_LINES, panel6_span)

MOSAIC_SIZES = {3: (TRAIN_MOSAIC_LINES * TILE, TRAIN_MOSAIC_LINES * TILE),   # pixels
                6: (TEST_MOSAIC_LINES * TILE, TEST_MOSAIC_COUNT // TEST_MOSAIC_LINES * TILE)}
SCALE_TICKS = 5                    # about this many steps between panel 6's percent labels


class DigitPanels:
    """The mosaics of panels 3 and 6: the newest fed (`waiting`), the one shown at full
    size (`full`), and the pictures shown; `test_count`: the test digits behind panel 6's
    mosaic, which set its scale."""

    def __init__(self, axes):
        """axes: panel number -> its Axes, for panels 3 and 6."""
        self.axes = axes
        self.sizes = dict(MOSAIC_SIZES)
        self.waiting = {3: None, 6: None}     # panel -> latest mosaic (or its maker), until shown
        self.full = {3: None, 6: None}        # panel -> the mosaic shown, at full size
        self.shown = {3: None, 6: None}       # panel -> (id of that mosaic, halved?)
        self.artists = {panel: self._build(panel, *self.sizes[panel]) for panel in (3, 6)}
        self.test_count = None
        self._scale_wanted = MNIST_TEST_COUNT  # panel 6's scale, until it is labelled

    def _build(self, panel, height, width):
        ax = self.axes[panel]
        blank = np.ones((height, width, 3), np.float32)
        image = ax.imshow(blank, interpolation="antialiased")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        return image

    def label_test_digits(self):
        """Panel 6's y-axis for a test set of `test_count` digits: 100 % at the top; down
        the mosaic's height, panel6_span(test_count) percent (for MNIST's 10,000:
        100 % to 90 %). Labels from 0 % up, fewer where the digits fill less of it."""
        self.test_count = self._scale_wanted
        span = panel6_span(self.test_count)
        height = self.sizes[6][0]
        bottom = max(0.0, 100.0 - span)
        bins = max(1, round(SCALE_TICKS * min(1.0, 100.0 / span)))
        percents = MaxNLocator(nbins=bins, steps=[1, 2, 2.5, 5, 10]).tick_values(bottom, 100)
        percents = percents[(percents >= bottom - 1e-9) & (percents <= 100 + 1e-9)][::-1]
        positions = (100 - percents) / span * height - 0.5
        self.axes[6].set_yticks(positions, [f"{p:g}%" for p in percents])

    def set_image(self, panel, image, test_count=None):
        """The newest mosaic of `panel` (or a function that makes it); for panel 6, the
        number of test digits it was made from (None: MNIST's 10,000)."""
        self.waiting[panel] = image
        if panel == 6:
            self._scale_wanted = MNIST_TEST_COUNT if test_count is None else int(test_count)

    def refresh(self, panels):
        """Show the newest mosaics of `panels` (3, 6). Returns {6} if panel 6's scale
        changed (its axes must be painted again), else an empty set."""
        for panel in (3, 6):
            if panel in panels:
                self._refresh_image(panel)
        if 6 in panels and self._scale_wanted != self.test_count:
            self.label_test_digits()
            return {6}
        return set()

    def _refresh_image(self, panel):
        """Show the newest mosaic. One that is shown at less than half its size (the
        1,000 test digits in the six-panel layout) is first halved by averaging 2 x 2
        pixels: the same picture on screen, three times quicker to paint."""
        image, self.waiting[panel] = self.waiting[panel], None
        if image is not None:
            image = np.asarray(image() if callable(image) else image)
            if image.shape[:2] != self.sizes[panel]:
                raise ValueError(f"panel {panel}: a mosaic of {image.shape[:2]} pixels, "
                                 f"expected {self.sizes[panel]}")
            self.full[panel] = image
        image = self.full[panel]
        if image is None:
            return
        halve = self.axes[panel].bbox.height < 0.5 * image.shape[0]
        if self.shown[panel] == (id(image), halve):
            return
        if halve:
            image = (image[0::2, 0::2] + image[1::2, 0::2] + image[0::2, 1::2]
                     + image[1::2, 1::2]) * 0.25    # even sizes: 28 x 28 tiles
        self.artists[panel].set_data(image)
        self.shown[panel] = (id(self.full[panel]), halve)
