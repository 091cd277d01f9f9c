"""
Panels 4 and 5: the spread of the weights and biases as percentile bands
========================================================================

BandPanels keeps, for each recorded step, the 8 boundaries of 7 equal-count buckets of
the values fed to it (scales.percentile_bands), and draws them as 7 filled bands, the
outer ones pale, the one holding the median strongest; each panel's y range follows
the values (scales.band_axis_range), changing seldom.
"""

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgb

from dashboard.scales import BAND_COUNT, band_axis_range, percentile_bands

BAND_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
                "tab:brown", "tab:pink", "tab:gray", "tab:olive", "tab:cyan")
BAND_COLOUR_WEIGHTS, BAND_COLOUR_BIASES = 2, 2   # indexes into BAND_COLOURS
BAND_SHADES = (0.25, 0.45, 0.7, 1.0, 0.7, 0.45, 0.25)  # colour strength, outer to median


class BandPanels:
    """The bands of panels 4 and 5 and the boundaries behind them (`steps`, `bounds`)."""

    def __init__(self, axes, colours):
        """axes: panel number -> its Axes, for panels 4 and 5; colours: panel -> an
        index into BAND_COLOURS."""
        self.axes = axes
        self.steps = []
        self.bounds = {panel: [] for panel in axes}   # panel -> 8 boundaries per step
        self.artists = {panel: self._build(panel, colours[panel]) for panel in axes}

    def _build(self, panel, colour_number):
        """7 filled bands (outer ones pale, the one holding the median strongest)."""
        base = np.array(to_rgb(BAND_COLOURS[colour_number % len(BAND_COLOURS)]))
        colours = [1.0 - strength * (1.0 - base) for strength in BAND_SHADES]
        bands = PolyCollection([], facecolors=colours, edgecolors="none")
        ax = self.axes[panel]
        ax.add_collection(bands)
        ax.set_ylim(*band_axis_range(0.0, 0.0))
        ax.ticklabel_format(axis="y", useOffset=False)   # never a "1e-8" offset label
        return bands

    def append(self, step, values4, values5):
        self.steps.append(int(step))
        self.bounds[4].append(percentile_bands(values4))
        self.bounds[5].append(percentile_bands(values5))

    def ends(self):
        """The steps of the last two recorded steps (or the only one)."""
        return [(self.steps[-2:][0], self.steps[-1])] if self.steps else []

    def refresh(self, panels, ranges):
        """Hand the boundaries to the bands of `panels` (4, 5), fitting the y range of
        those that follow their data. Returns the panels whose y range changed."""
        rescaled = set()
        for panel in (4, 5):
            if panel in panels and self.steps:
                bounds = self._refresh_bands(panel)
                if ranges.follows(panel):
                    finite = bounds[np.isfinite(bounds)]
                    if finite.size and ranges.set_y(panel, band_axis_range(
                            finite.min(), finite.max(), self.axes[panel].get_ylim())):
                        rescaled.add(panel)
        return rescaled

    def _refresh_bands(self, panel):
        """Band k is the area between boundaries k and k+1 (see percentile_bands)."""
        steps = np.asarray(self.steps, dtype=np.float64)
        bounds = np.asarray(self.bounds[panel])                      # [steps, 8]
        polygons = [np.concatenate([np.column_stack([steps, bounds[:, k + 1]]),
                                    np.column_stack([steps[::-1], bounds[::-1, k]])])
                    for k in range(BAND_COUNT)]
        self.artists[panel].set_verts(polygons)
        return bounds
