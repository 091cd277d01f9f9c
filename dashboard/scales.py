"""
The numbers behind panels 2, 4 and 5: percentile bands and axis ranges
======================================================================

Panels 4 and 5 show percentile bands: at each recorded step, the values are cut into
7 buckets holding the same number of values (percentile_bands), drawn as 7 shaded
bands. Their ranges, and the loss panel's, change seldom (loss_axis_top,
band_axis_range): every change repaints the slow axes and text (see painting.py).
Plain numpy, usable without a dashboard.
"""

import math

import numpy as np
from matplotlib.ticker import MaxNLocator

BAND_COUNT = 7                                   # equal-count buckets in panels 4 and 5
BAND_QUANTILES = tuple(k / BAND_COUNT for k in range(BAND_COUNT + 1))  # 0, 1/7, ..., 1
BAND_MIN_SPAN = 0.01               # panels 4 and 5 never show a narrower range (all-zero
                                   # weights at step 0 would give a zero-width one)
LOSS_TOP_AT_START = 100.0          # the original's fixed loss scale (x 100 per batch)


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
    span as room on each side, but not below 0 when no value is (ReLU activations), and
    not above 1 when every value lies in 0..1 (sigmoid activations, the gates of 6.0).
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
    probability_like = 0 <= low and 0 < high <= 1
    top = min(middle + span, 1.0) if probability_like else middle + span
    ticks = MaxNLocator(nbins=5).tick_values(bottom, top)
    bottom, top = float(ticks[0]), float(ticks[-1])
    if probability_like:  # a gate or a sigmoid never leaves 0..1
        bottom, top = max(bottom, 0.0), min(top, 1.0)
    return bottom, top
