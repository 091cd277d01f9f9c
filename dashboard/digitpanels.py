"""
Panels 3 and 6: the digit mosaics, and panel 6's percent scale
==============================================================

DigitPanels shows the newest mosaic fed to each panel (mosaics.py makes them), made
only when it is shown if it was given as a function; panel 6's y-axis is a percent
scale on which the red block's height reads as the test error rate.
"""

import numpy as np

from dashboard.mosaics import (TEST_MOSAIC_COUNT, TEST_MOSAIC_LINES, TEST_MOSAIC_SCALE,
                               TILE, TRAIN_MOSAIC_LINES)

MOSAIC_SIZES = {3: (TRAIN_MOSAIC_LINES * TILE, TRAIN_MOSAIC_LINES * TILE),   # pixels
                6: (TEST_MOSAIC_LINES * TILE, TEST_MOSAIC_COUNT // TEST_MOSAIC_LINES * TILE)}


class DigitPanels:
    """The mosaics of panels 3 and 6: the newest fed (`waiting`), the one shown at full
    size (`full`), and the pictures shown."""

    def __init__(self, axes):
        """axes: panel number -> its Axes, for panels 3 and 6."""
        self.axes = axes
        self.sizes = dict(MOSAIC_SIZES)
        self.waiting = {3: None, 6: None}     # panel -> latest mosaic (or its maker), until shown
        self.full = {3: None, 6: None}        # panel -> the mosaic shown, at full size
        self.shown = {3: None, 6: None}       # panel -> (id of that mosaic, halved?)
        self.artists = {panel: self._build(panel, *self.sizes[panel]) for panel in (3, 6)}

    def _build(self, panel, height, width):
        ax = self.axes[panel]
        blank = np.ones((height, width, 3), np.float32)
        image = ax.imshow(blank, interpolation="antialiased")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        return image

    def label_test_digits(self):
        """Panel 6's y-axis: 100 % at the top to 90 % at the bottom of the test mosaic."""
        height = self.sizes[6][0]
        top, bottom = TEST_MOSAIC_SCALE
        percents = np.arange(top, bottom - 1, -2)
        positions = (top - percents) / (top - bottom) * height - 0.5
        self.axes[6].set_yticks(positions, [f"{p}%" for p in percents])

    def set_image(self, panel, image):
        self.waiting[panel] = image

    def refresh(self, panels):
        for panel in (3, 6):
            if panel in panels:
                self._refresh_image(panel)

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
