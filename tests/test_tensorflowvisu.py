"""Tests of the dashboard under matplotlib's Agg backend (no display needed), through
its public behaviour: what it shows, what it paints, what it writes.
The real window (Tk under Xvfb) is tested in test_window.py, Jupyter in test_notebook.py."""

import os
import shutil
import subprocess
import sys
import threading
import time

import matplotlib
matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.backend_bases import CloseEvent, KeyEvent
from matplotlib.colors import to_rgb
from matplotlib.transforms import Bbox
from PIL import Image

import dashboard.view
import tensorflowvisu as tv



def press(vis, key):
    event = KeyEvent("key_press_event", vis.fig.canvas, key=key)
    vis.fig.canvas.callbacks.process("key_press_event", event)


def close(vis):
    vis.fig.canvas.callbacks.process("close_event", CloseEvent("close_event", vis.fig.canvas))


def visible_panels(vis):
    return tuple(k for k, ax in vis.axes.items() if ax.get_visible())


def square_digits(n):
    """Images with ink (1.0) in a centred square only, so tile corners are background."""
    images = np.zeros((n, 28, 28, 1), np.float32)
    images[:, 10:18, 10:18] = 1.0
    return images


def feed_run(vis, last_step=30, train_every=5, test_every=10, save_image=None,
             save_movie=None, after_tick=None, weights_scale=1.0):
    """Feed the dashboard as trainer.run does: figures at each train_every-th step, test
    figures at each test_every-th, tick() after each; then finish(). Returns the files."""
    rng = np.random.default_rng(0)
    steps = [s for s in range(last_step + 1) if s % train_every == 0 or s == last_step]
    vis.start(0, last_step, updates=len(steps), save_movie=save_movie)
    for step in steps:
        vis.append_training_curves_data(step, 0.5 + step / (3 * last_step), 60 - step / last_step)
        vis.append_data_histograms(step, rng.normal(size=500) * weights_scale * (1 + step),
                                   rng.normal(size=10))
        vis.update_image1(tv.mnist_mosaic(square_digits(100), np.zeros(100, int),
                                          np.arange(100) % 10))
        if step % test_every == 0 or step == last_step:
            vis.append_test_curves_data(step, 0.5 + step / (3.3 * last_step), 55 - step / last_step)
            vis.update_image2(lambda: tv.test_digits_mosaic(square_digits(200),
                                                            np.zeros(200, int), np.zeros(200, int)))
        vis.tick()
        if after_tick:
            after_tick(step)
        if vis.is_closed():
            break
    return vis.finish(save_image=save_image)


class Screen:
    """What a window would get from a dashboard's canvas, seen through matplotlib's
    public hooks: each full draw (its draw_event: a window shows all of it) and each
    blit (a window shows only the part sent). `pixels` is the picture on such a screen.
    look(), after a tick, says what reached the screen since the last look: "full" (a
    full draw), "whole" (the whole figure blitted: a kept picture put back), "quick"
    (blits of parts) or None (nothing); `pictures` keeps the answers."""

    def __init__(self, vis, monkeypatch):
        self.canvas = vis.fig.canvas
        self.full_draws, self.blits, self.pictures, self.pixels = 0, [], [], None
        self._seen = (0, 0)
        self.canvas.mpl_connect("draw_event", self._drawn)   # after the dashboard's own
        blit = self.canvas.blit

        def sent(bbox=None):
            blit(bbox)
            self._blitted(bbox or self.canvas.figure.bbox)

        monkeypatch.setattr(self.canvas, "blit", sent)

    def _drawn(self, event):
        if not self.canvas.is_saving():   # a file written is not a picture on the screen
            self.full_draws += 1
            self.pixels = np.array(self.canvas.buffer_rgba())

    def _blitted(self, bbox):
        self.blits.append(bbox)
        if self.pixels is not None:
            height = self.pixels.shape[0]
            x0, x1 = max(0, int(np.floor(bbox.x0))), int(np.ceil(bbox.x1))
            y0, y1 = max(0, height - int(np.ceil(bbox.y1))), height - int(np.floor(bbox.y0))
            self.pixels[y0:y1, x0:x1] = np.asarray(self.canvas.buffer_rgba())[y0:y1, x0:x1]

    def look(self, step=None):
        (draws, blits), self._seen = self._seen, (self.full_draws, len(self.blits))
        whole = self.canvas.figure.bbox.extents
        if self.full_draws > draws:
            seen = "full"
        elif any(np.allclose(box.extents, whole) for box in self.blits[blits:]):
            seen = "whole"
        else:
            seen = "quick" if len(self.blits) > blits else None
        self.pictures.append(seen)
        return seen


def tick_until_painted(vis, screen, timeout=10):
    """Tick (no news between) until the dashboard paints, as it does once it is due;
    what reached the screen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        vis.tick()
        seen = screen.look()
        if seen:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"nothing painted in {timeout} s")


@pytest.fixture
def vis():
    return tv.MnistDataVis(headless=True)


@pytest.fixture
def live():
    """A dashboard that paints while fed, off screen on the Agg canvas, as a window would."""
    return tv.MnistDataVis(headless=True, live=True)


# ---- keys and layout ---------------------------------------------------------

@pytest.mark.parametrize("key, shown", [
    ("1", (1,)), ("2", (2,)), ("3", (3,)), ("4", (4,)), ("5", (5,)), ("6", (6,)),
    ("7", (1, 2)), ("8", (4, 5)), ("9", (3, 6)),
    ("0", (1, 2, 3, 4, 5, 6)), ("escape", (1, 2, 3, 4, 5, 6))])
def test_key_shows_expected_panels_at_expected_size(vis, key, shown):
    outer = Bbox.union([vis.axes[k].get_position(original=True) for k in range(1, 7)])
    press(vis, "3" if key in ("0", "escape") else "0")   # start from another layout
    press(vis, key)
    assert visible_panels(vis) == shown
    boxes = [vis.axes[k].get_position(original=True) for k in shown]   # the slot
    if len(shown) == 1:            # the whole window, within the six panels' outer edges
        box = boxes[0]
        assert (box.x0, box.y0, box.x1, box.y1) == pytest.approx(
            (outer.x0, outer.y0, outer.x1, outer.y1))
        assert box.width > 0.85 and box.height > 0.8
    elif len(shown) == 2:          # side by side, full height, half the width each
        left, right = boxes
        assert left.x1 < right.x0
        assert left.height == pytest.approx(outer.height)
        assert left.width == pytest.approx(right.width)
        assert 0.4 < left.width < 0.47
    else:                          # 2 x 3
        assert len({round(b.y0, 6) for b in boxes}) == 2
        assert len({round(b.x0, 6) for b in boxes}) == 3
        assert all(b.width < 0.3 and b.height < 0.45 for b in boxes)


def test_one_axes_per_panel_titles_and_starting_ranges(vis):
    assert len(vis.fig.axes) == 6
    assert [vis.axes[k].get_title() for k in range(1, 7)] == list(tv.DEFAULT_TITLES)
    custom = tv.MnistDataVis(title1="acc", title6="test", headless=True)
    assert custom.axes[1].get_title() == "acc" and custom.axes[2].get_title() == "Cross entropy loss"
    assert vis.axes[1].get_ylim() == (0.0, 1.0)
    assert vis.axes[2].get_ylim() == (0.0, 100.0)       # the original's loss scale


def test_a_layout_key_repaints_the_new_layout_up_to_date_and_fitted(live, monkeypatch):
    screen = Screen(live, monkeypatch)
    feed_run(live, last_step=10)
    live.append_data_histograms(11, np.linspace(-40, 40, 100), np.zeros(10))   # far out
    screen.look()
    press(live, "8")
    live.tick()
    assert screen.look() == "full"                     # a layout not seen before
    bottom, top = live.axes[4].get_ylim()
    assert bottom <= -40 and top >= 40                 # refitted to what it shows
    picture = live.fig.canvas.buffer_rgba()
    assert np.asarray(picture).shape[:2] == (720, 1300)


def texts_of(ax, renderer):
    """The text an Axes shows around it: title, axis labels, the tick labels in view."""
    texts = [ax.title, ax.xaxis.label, ax.yaxis.label]
    for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        texts += [tick.label1 for tick in axis.get_major_ticks()
                  if min(low, high) <= tick.get_loc() <= max(low, high)]
    return [(text.get_text(), text.get_window_extent(renderer))
            for text in texts if text.get_visible() and text.get_text()]


def overlap(a, b):
    return min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5 and min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5


@pytest.mark.parametrize("size", [(13.0, 7.2), (8.0, 5.0), (7.0, 4.5)])   # at 100 dpi
def test_every_label_stays_whole_and_apart_in_small_windows(size):
    """1300 x 720 down to a 700 x 450 window: the tick labels (negative ones, whose minus
    sign comes first, and the last step's), titles (stage 4.2's long ones) and x labels
    keep inside the figure, off the other panels and their text, and off the strip's."""
    live = tv.MnistDataVis(title4="Max conv activations in batch",
                           title5="Max dense activations in batch", headless=True, live=True)
    live.fig.set_size_inches(*size)
    live.panels.place()                      # what a window's resize event calls
    feed_run(live, last_step=10000, train_every=500, test_every=1000, weights_scale=1e-6)
    live.append_data_histograms(10000, np.linspace(-0.0037, 0.0041, 500),
                                np.linspace(-0.12, 0.31, 10))
    live.panels.set_status("finished", keys_hint=True)
    for key in ("0", "7", "8", "9"):
        press(live, key)
        live.redraw()
        renderer = live.fig.canvas.get_renderer()
        figure = live.fig.bbox
        shown = visible_panels(live)
        texts = {panel: texts_of(live.axes[panel], renderer) for panel in shown}
        strip = [t.get_window_extent(renderer) for t in
                 (live.panels.strip.status_text, live.panels.strip.keys_text) if t.get_visible()]
        assert live.panels.strip.status_text.get_visible()
        for box in strip:
            assert figure.x0 <= box.x0 and box.x1 <= figure.x1 and box.y1 <= figure.y1
        assert len(strip) < 2 or not overlap(*strip), (size, "status and keys")
        for panel in shown:
            for text, box in texts[panel]:
                where = (size, key, panel, text)
                assert (figure.x0 - 0.5 <= box.x0 and box.x1 <= figure.x1 + 0.5
                        and figure.y0 - 0.5 <= box.y0 and box.y1 <= figure.y1 + 0.5), where
                assert not any(overlap(box, other) for other in strip), where
                for other in shown:
                    if other != panel:
                        assert not overlap(box, live.axes[other].bbox), where
                        assert not any(overlap(box, b) for _, b in texts[other]), where
            ticks = [box for text, box in texts[panel]
                     if text not in (live.axes[panel].get_title(), tv.X_LABEL)]
            assert not any(overlap(a, b) for i, a in enumerate(ticks) for b in ticks[i + 1:])
    assert live.axes[4].get_ylim()[0] < 0                  # negative labels were shown
    assert [live.axes[k].get_xlabel() for k in (1, 2, 4, 5)] == [tv.X_LABEL] * 4


# ---- pause and close -----------------------------------------------------------

def grey_box_share(vis):
    """The share of the strip above the panels (its left 300 pixels) that has the colour
    of the "paused" label's box."""
    pixels = np.asarray(vis.fig.canvas.buffer_rgba())[..., :3].astype(int)
    strip = pixels[:24, :300]                        # the top 24 pixels
    box = np.array(to_rgb("#555555")) * 255
    return float(np.mean(np.all(np.abs(strip - box) <= 12, axis=-1)))


def test_space_pauses_with_a_label_and_an_up_to_date_picture(live):
    assert not live.is_paused()
    seen = {}

    def resume_later():
        deadline = time.monotonic() + 20       # the pause's picture takes a moment to paint
        while grey_box_share(live) < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)                        # still paused a while later
        seen["paused"] = live.is_paused()
        seen["label"] = grey_box_share(live)
        seen["steps shown"] = live.axes[1].lines[0].get_xdata()[-1]
        press(live, " ")

    def pause_at(step):
        if step == 15:
            press(live, " ")
            threading.Thread(target=resume_later).start()

    ticked = []

    def after_tick(step):
        ticked.append(step)
        pause_at(step)

    feed_run(live, last_step=30, after_tick=after_tick)
    assert seen["paused"] and seen["label"] > 0.3      # "paused" is on the picture ...
    assert seen["steps shown"] == 20                    # ... showing the step it paused at
    assert not live.is_paused() and ticked[-1] == 30    # resumed and went on
    assert grey_box_share(live) < 0.05                  # the label is gone


def strip_share(vis, colour):
    """The share of the strip above the panels (its top 24 pixels) in `colour`."""
    pixels = np.asarray(vis.fig.canvas.buffer_rgba())[:24, :, :3].astype(int)
    return float(np.mean(np.all(np.abs(pixels - np.array(to_rgb(colour)) * 255) <= 12,
                                axis=-1)))


def test_the_strip_says_tensorflow_is_preparing_until_training_has_run(live, tmp_path):
    preparing = tv.STATUS["preparing"][1]
    live.start(0, 20, updates=3)
    assert strip_share(live, preparing) > 0.05             # on the first picture
    seen = []
    feed_run(live, last_step=20, train_every=10, test_every=10,
             after_tick=lambda step: seen.append(strip_share(live, preparing)),
             save_image=tmp_path / "final.png")
    # step 0's figures are drawn as they come, TensorFlow still preparing the training
    # step; after the next stretch of training (the next tick) the strip is clear.
    assert seen[0] > 0.05 and seen[1:] == [0.0, 0.0]
    assert live.axes[1].lines[0].get_xdata()[0] == 0
    saved = np.asarray(Image.open(tmp_path / "final.png").convert("RGB"))
    assert np.all(saved[:20] == 255)                       # nothing in a saved picture's strip


def test_closing_the_window_stops_the_run(live):
    ticked = []

    def after_tick(step):
        ticked.append(step)
        if step == 10:
            close(live)

    feed_run(live, last_step=30, after_tick=after_tick)
    assert live.is_closed() and ticked == [0, 5, 10]


def test_two_dashboards_keep_separate_data():
    a, b = tv.MnistDataVis(headless=True), tv.MnistDataVis(headless=True)
    a.append_test_curves_data(0, 0.5, 10.0)
    press(a, "1")
    press(a, " ")
    assert a.get_max_test_accuracy() == 0.5 and b.get_max_test_accuracy() == 0.0
    assert visible_panels(b) == (1, 2, 3, 4, 5, 6) and not b.is_paused()


def test_max_test_accuracy(vis):
    for step, accuracy in enumerate([0.3, 0.91, 0.9]):
        vis.append_test_curves_data(step, np.float32(accuracy), 1.0)
    assert vis.get_max_test_accuracy() == pytest.approx(0.91)


# ---- mosaics ----------------------------------------------------------------------

def glyph(text):
    """A 3 x 5 digit written out in the test, scaled 2 x like the module's."""
    rows = np.array([[c == "1" for c in row] for row in text.split()])
    return rows.repeat(2, axis=0).repeat(2, axis=1)


def test_mosaic_puts_misrecognised_first_on_red_with_labels():
    images = square_digits(100)
    correct = np.arange(100) % 10
    predicted = correct.copy()
    predicted[[7, 42]] = [1, 3]                          # 7 is a 7 seen as 1; 42 a 2 seen as 3
    mosaic = tv.mnist_mosaic(images, predicted, correct)
    assert mosaic.shape == (280, 280, 3) and mosaic.dtype == np.float32
    tile = lambda k: mosaic[(k // 10) * 28:(k // 10 + 1) * 28, (k % 10) * 28:(k % 10 + 1) * 28]
    red, white = np.array(tv.RED), np.array([1.0, 1.0, 1.0])
    for k in (0, 1):
        assert np.allclose(tile(k)[27, 14], red)          # background
        assert np.allclose(tile(k)[14, 14], 0.0)           # ink is dark
    assert all(np.allclose(tile(k)[27, 14], white) for k in range(2, 100))
    seven_then_one = tile(0)
    left, right = seven_then_one[1:11, 1:7], seven_then_one[17:27, 21:27]
    assert np.array_equal(np.all(left == 1.0, axis=-1), glyph("111 001 001 010 010"))   # 7
    assert np.array_equal(np.all(right == 1.0, axis=-1), glyph("010 110 010 010 111"))  # 1
    two_then_three = tile(1)
    assert np.array_equal(np.all(two_then_three[1:11, 1:7] == 1.0, axis=-1), glyph("111 001 111 100 111"))
    assert np.array_equal(np.all(two_then_three[17:27, 21:27] == 1.0, axis=-1), glyph("111 001 111 001 111"))
    assert not np.any(np.all(tile(2)[1:11] < 1.0, axis=-1) & np.all(tile(2)[1:11] > 0.0, axis=-1))


def test_labels_of_neighbouring_misrecognised_digits_are_kept_apart():
    """Side by side on red, one digit's predicted label and the next one's correct label
    must not read as a two-digit number: on any line of pixels, the labels of two
    tiles are at least 14 pixels apart (within a label, pixels are at most 2 apart)."""
    correct = np.arange(100) % 10
    mosaic = tv.mnist_mosaic(square_digits(100), (correct + 1) % 10, correct)   # all wrong
    label = np.all(mosaic == 1.0, axis=-1)                 # the labels' white pixels
    assert label.sum() > 100 * 2 * 20
    for row in label:
        columns = np.flatnonzero(row)
        tiles = columns // 28
        between = np.diff(columns)[np.diff(tiles) != 0]    # from one tile's label to the next
        assert np.all(between >= 14), between.min()
    assert np.all(mosaic[0, :, 0] < tv.RED[0]) and np.all(mosaic[:, 28, 0] < tv.RED[0])   # edges


def test_mosaic_keeps_order_and_accepts_other_layouts():
    rng = np.random.default_rng(0)
    images = rng.random((100, 28, 28, 1)).astype(np.float32)
    correct = rng.integers(0, 10, 100)
    flat = tv.mnist_mosaic(images.reshape(100, 784), np.eye(10)[correct], correct)
    square = tv.mnist_mosaic(images, correct, np.eye(10)[correct])
    assert np.array_equal(flat, square)
    # all recognised: tiles in their original order, ink dark on white
    assert np.allclose(flat[:28, 28:56], 1.0 - images[1, :, :, 0, None].repeat(3, axis=2))
    uint8 = tv.mnist_mosaic((images * 255).astype(np.uint8), correct, correct)
    assert np.allclose(uint8, flat, atol=1 / 255)


def test_test_mosaic_shows_a_small_test_set_whole_in_the_biggest_tiles_that_fit():
    images = square_digits(200)
    correct = np.zeros(200, int)
    predicted = np.zeros(200, int)
    predicted[:30] = 5
    mosaic = tv.test_digits_mosaic(images, predicted, correct)
    assert mosaic.shape == (700, 1120, 3)                # always 25 lines of 40's size
    # The biggest square tile of which 200 fit in 700 x 1120 pixels, found by trying them.
    tile = next(side for side in range(700, 0, -1) if (700 // side) * (1120 // side) >= 200)
    columns = 1120 // tile
    assert (tile, columns) == (58, 19)
    lines = -(-200 // columns)
    bottoms = mosaic[tile - 2:lines * tile:tile, tile // 2:columns * tile:tile]  # background
    centres = mosaic[tile // 2:lines * tile:tile, tile // 2:columns * tile:tile]
    reds = np.all(np.isclose(bottoms, tv.RED), axis=-1).ravel()
    assert reds.sum() == 30 and reds[:30].all()          # misrecognised first, on red
    assert np.count_nonzero(np.all(centres < 0.5, axis=-1)) == 200   # every digit's ink
    assert np.all(mosaic[lines * tile:] == 1.0) and np.all(mosaic[:, columns * tile:] == 1.0)
    big = tv.test_digits_mosaic(square_digits(1500), np.zeros(1500, int), np.zeros(1500, int))
    assert big.shape == (700, 1120, 3)
    assert np.array_equal(big, tv.mnist_mosaic(square_digits(1500), np.zeros(1500, int),
                                               np.zeros(1500, int), lines=25, n=1000))


def test_mosaic_checks_lengths():
    with pytest.raises(ValueError, match="must match"):
        tv.mnist_mosaic(square_digits(5), np.zeros(4, int), np.zeros(5, int))


# ---- percentile bands -----------------------------------------------------------------

def test_percentile_bands_match_numpy_and_a_hand_computation():
    values = np.random.default_rng(1).normal(size=7001)
    bands = tv.percentile_bands(values)
    assert bands == pytest.approx(np.percentile(values, np.linspace(0, 100, 8)))
    ordered = np.sort(values)
    for k in range(8):                       # linear interpolation between sorted values
        position = k / 7 * (len(values) - 1)
        low = int(np.floor(position))
        high = min(low + 1, len(values) - 1)
        expected = ordered[low] + (position - low) * (ordered[high] - ordered[low])
        assert bands[k] == pytest.approx(expected)
    assert bands[0] == values.min() and bands[-1] == values.max()
    counts = np.histogram(values, bins=bands)[0]
    assert counts.tolist() == [1000] * 6 + [1001]     # the last bin includes the maximum


def test_percentile_bands_leave_out_nan_and_accept_2d():
    weights = np.arange(70.0).reshape(7, 10)
    with_nan = np.append(weights.ravel(), np.nan)
    assert tv.percentile_bands(with_nan) == pytest.approx(np.quantile(weights, np.arange(8) / 7))
    assert np.isnan(tv.percentile_bands([np.nan, np.inf])).all()


def test_bands_are_drawn_between_boundaries(live):
    live.start(0, 20, updates=3)
    for step in range(3):
        live.append_data_histograms(step * 10, np.arange(71.0) + step, np.zeros(10))
    live.redraw()
    polygons = live.axes[4].collections[0].get_paths()
    assert len(polygons) == 7
    expected = tv.percentile_bands(np.arange(71.0) + 2)          # the last step
    tops = [path.vertices[2, 1] for path in polygons]             # 3rd vertex: last step, top
    assert tops == pytest.approx(expected[1:])


# ---- ranges that are readable from the first frame ------------------------------------------

def test_loss_axis_starts_at_100_and_lets_the_first_steps_run_off_the_top():
    assert tv.loss_axis_top([0], [230.0], 100.0) == 100.0        # step 0 alone: unchanged
    steps = list(range(0, 2001, 20))
    losses = [230.0] + [8.0 + 4 * np.exp(-s / 500) for s in steps[1:]]
    top = tv.loss_axis_top(steps, losses, 100.0)
    assert 8.0 < top <= 15.0                                     # fits the later half
    assert tv.loss_axis_top(steps, losses, top) == top            # and stays


def test_loss_axis_changes_seldom():
    tops, top = [], 100.0
    rng = np.random.default_rng(0)
    for last in range(20, 10001, 20):                            # a noisy, falling loss
        steps = np.arange(0, last + 1, 20)
        losses = 5 + 60 * np.exp(-steps / 800) + rng.gamma(2.0, 1.0, steps.size)
        top = tv.loss_axis_top(steps, losses, top)
        tops.append(top)
    assert len(set(tops)) <= 6
    assert tops[-1] <= 20


def test_band_range_never_zero_wide_and_ends_on_round_values():
    bottom, top = tv.band_axis_range(0.0, 0.0)
    assert top - bottom >= tv.BAND_MIN_SPAN and bottom < 0 < top
    bottom, top = tv.band_axis_range(0.1, 0.1)
    assert bottom < 0.1 < top and top - bottom >= tv.BAND_MIN_SPAN
    ends = tv.band_axis_range(-0.31, 0.42)
    assert ends[0] <= -0.31 and ends[1] >= 0.42
    assert all(abs(v * 10 - round(v * 10)) < 1e-9 for v in ends)     # round tick values
    current = tv.band_axis_range(-0.3, 0.3)
    assert tv.band_axis_range(-0.28, 0.31, current) == current    # fits: kept
    grown = tv.band_axis_range(-0.9, 0.9, current)
    assert grown[0] <= -0.9 and grown[1] >= 0.9
    bottom, top = tv.band_axis_range(0.1, 0.1)       # biases at their start: still 0..
    assert 0 <= bottom < 0.1 < top
    assert tv.band_axis_range(1.5, 7.8)[0] == 0      # ReLU activations: nothing below 0
    assert tv.band_axis_range(0.0, 7.8)[0] == 0      # ... some of them 0
    assert tv.band_axis_range(-0.2, 7.8)[0] < -0.2   # values below 0: room below them


def test_band_range_of_values_in_0_to_1_stays_in_0_to_1():
    # Gates (stage 6.0) and sigmoid activations (4.0): an axis up to 1.4 would show
    # room that no value can ever fill.
    assert tv.band_axis_range(0.02, 0.98) == (0.0, 1.0)
    bottom, top = tv.band_axis_range(0.45, 0.55)      # the gates at step 0, near 0.5
    assert 0 <= bottom <= 0.45 and 0.55 <= top <= 1
    assert tv.band_axis_range(0.3, 1.2)[1] >= 1.2     # a value above 1: room above it


def test_panels_4_and_5_are_readable_from_the_first_frame(live):
    """Stage 1.0 starts with all weights and biases at 0, the others with biases at 0.1:
    no zero-width range, no offset label such as "1e-8", a handful of short tick labels."""
    live.start(0, 2000, updates=201)
    live.append_data_histograms(0, np.zeros(7840), np.full(10, 0.1))
    live.redraw()
    for panel in (4, 5):
        ax = live.axes[panel]
        bottom, top = ax.get_ylim()
        assert top - bottom >= tv.BAND_MIN_SPAN
        assert ax.yaxis.get_offset_text().get_text() == ""
        labels = [t.get_text() for t in ax.get_yticklabels() if bottom <= t.get_position()[1] <= top]
        assert 3 <= len(labels) <= 9 and all(len(label) <= 6 for label in labels), labels


def test_user_zoom_is_kept_until_home(live):
    feed_run(live, last_step=20)
    live.axes[2].set_ylim(0, 20)                       # as the zoom tool does
    live.append_training_curves_data(21, 0.2, 300.0)
    live.redraw()
    assert live.axes[2].get_ylim() == (0, 20)
    press(live, "h")
    for step in range(22, 40):
        live.append_training_curves_data(step, 0.2, 300.0)
    live.redraw()
    assert live.axes[2].get_ylim()[1] > 300


# ---- painting -----------------------------------------------------------------------------

def test_quick_paints_match_a_full_paint(live, monkeypatch):
    """Most redraws repaint only the data over the saved background; the picture is the
    same as painting everything."""
    screen = Screen(live, monkeypatch)
    feed_run(live, last_step=60, train_every=2, test_every=10, after_tick=screen.look)
    assert screen.pictures.count("quick") > screen.pictures.count("full")
    live.append_training_curves_data(61, 0.7, 50.0)    # within the ranges: a quick paint
    live.tick()
    quick = np.array(live.fig.canvas.buffer_rgba())
    live.redraw()
    assert np.array_equal(quick, np.array(live.fig.canvas.buffer_rgba()))


def test_what_reaches_the_screen_is_the_whole_picture(live, monkeypatch):
    """Quick paints send only the changed strip of a curve panel to the screen: a screen
    that receives only what is sent shows the same picture as the canvas."""
    screen = Screen(live, monkeypatch)
    shown = {}

    def look(step):
        screen.look()
        if step == 400:
            shown["screen"], shown["canvas"] = screen.pixels.copy(), np.array(
                live.fig.canvas.buffer_rgba())

    feed_run(live, last_step=400, train_every=5, test_every=25, after_tick=look)
    assert screen.pictures.count("quick") > 40
    different = np.any(shown["screen"] != shown["canvas"], axis=-1)
    assert np.count_nonzero(different) == 0, np.argwhere(different)[:5]


def test_a_range_change_repaints_that_panel_alone_and_right(live, monkeypatch):
    screen = Screen(live, monkeypatch)
    feed_run(live, last_step=20)
    live.append_data_histograms(21, np.linspace(-50, 50, 500), np.zeros(10))   # far out
    screen.look()
    assert tick_until_painted(live, screen) == "quick"  # no full draw for it
    assert live.axes[4].get_ylim()[1] >= 50
    by_panel = np.array(live.fig.canvas.buffer_rgba())[..., :3].astype(int)
    live.redraw()
    full = np.array(live.fig.canvas.buffer_rgba())[..., :3].astype(int)
    assert np.mean(np.any(by_panel != full, axis=-1)) < 0.001


def test_panel_cells_hold_their_panels_and_do_not_overlap(live):
    feed_run(live, last_step=10000, train_every=1000, test_every=1000, weights_scale=0.05)
    renderer = live.fig.canvas.get_renderer()
    for key in ("0", "7", "8", "9", "1"):
        press(live, key)
        live.redraw()
        shown = visible_panels(live)
        cells = live.painter.cells
        for panel in shown:
            tight, cell = live.axes[panel].get_tightbbox(renderer), cells[panel]
            assert cell.x0 <= tight.x0 + 1 and tight.x1 <= cell.x1 + 1, (key, panel)
            assert cell.y0 <= tight.y0 + 1 and tight.y1 <= cell.y1 + 1, (key, panel)
            for other in shown:
                if other != panel:
                    overlap_x = min(cell.x1, cells[other].x1) - max(cell.x0, cells[other].x0)
                    overlap_y = min(cell.y1, cells[other].y1) - max(cell.y0, cells[other].y0)
                    assert overlap_x <= 0 or overlap_y <= 0


def test_pacing_spaces_quick_redraws_by_their_cost_and_not_after_full_ones():
    pacing = tv.DrawPacing(interval_s=0.1)
    assert pacing.due(0.0)
    pacing.done(began=0.0, cost=0.03, panels={1, 2}, full=False)
    assert not pacing.due(0.1) and pacing.due(0.03 / tv.DRAW_SHARE)
    pacing.done(began=1.0, cost=0.3, panels={1}, full=True)
    assert pacing.due(1.0 + 0.3 + 0.1)                 # a full draw does not freeze the curves
    pacing.done(began=2.0, cost=0.001, panels={3, 6}, full=False)
    assert pacing.panels_due({1, 3, 6}, 2.2) == {1}    # mosaics wait their own interval
    assert pacing.panels_due({1, 3, 6}, 2.0 + tv.PANEL_MIN_INTERVAL_S[6]) == {1, 3, 6}


def test_a_short_run_shows_at_least_min_pictures(live, monkeypatch):
    """Training outruns the drawing (a whole run in what the clock says is no time):
    the drawing wins, at least MIN_PICTURES pictures."""
    screen = Screen(live, monkeypatch)
    monkeypatch.setattr(time, "perf_counter", lambda: 1000.0)
    feed_run(live, last_step=2000, train_every=10, test_every=50, after_tick=screen.look)
    screen.look()                                      # and finish()'s picture
    assert len(list(filter(None, screen.pictures))) >= tv.MIN_PICTURES


def test_headless_without_files_paints_nothing(vis, monkeypatch):
    screen = Screen(vis, monkeypatch)
    feed_run(vis, last_step=30, after_tick=screen.look)
    assert not any(screen.pictures) and screen.blits == []
    assert screen.full_draws == 1                      # only finish()'s picture


def test_a_layout_seen_before_comes_back_without_a_full_paint_and_right(live, monkeypatch):
    """Keys back to a layout seen before put its kept picture back: as quick as a data
    redraw, and the same picture as painting everything, also after a range changed."""
    screen = Screen(live, monkeypatch)
    feed_run(live, last_step=40)
    for key in ("1", "0"):                         # each layout seen once
        press(live, key)
        live.tick()
    tops = live.axes[2].get_ylim()[1], live.axes[4].get_ylim()[1]
    live.append_training_curves_data(41, 0.9, 400.0)            # panel 2: a new range
    live.append_data_histograms(41, np.linspace(-40, 40, 100), np.zeros(10))   # and 4
    for key in ("1", "0", "1", "0"):
        screen.look()
        press(live, key)
        live.tick()
        assert screen.look() == "whole", key           # the kept picture, no full draw
        shown = np.array(live.fig.canvas.buffer_rgba())
        assert live.axes[2].get_ylim()[1] > tops[0] and live.axes[4].get_ylim()[1] >= 40
        live.redraw()                              # everything painted again
        different = np.any(shown != np.array(live.fig.canvas.buffer_rgba()), axis=-1)
        assert np.count_nonzero(different) == 0, (key, np.argwhere(different)[:5])


# ---- output files ------------------------------------------------------------------

def test_save_image_and_gif(vis, tmp_path):
    png, gif = tmp_path / "final.png", tmp_path / "run.gif"
    written = feed_run(vis, last_step=30, save_image=png, save_movie=gif)
    assert written == [str(gif), str(png)]
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size == (1300, 720)
        pixels = np.asarray(image.convert("RGB"))
        # the animated artists are in the file: the thick red test curve and red tiles
        assert np.sum(np.all(pixels == (226, 74, 51), axis=-1)) > 50
    with Image.open(gif) as movie:
        assert movie.format == "GIF" and movie.n_frames == 7 and movie.size == (780, 432)
        movie.seek(6)
        last = np.asarray(movie.convert("RGB"))
        assert np.sum(np.abs(last.astype(int) - (226, 74, 51)).sum(axis=-1) < 40) > 20
    assert sorted(os.listdir(tmp_path)) == ["final.png", "run.gif"]   # no temporary files


@pytest.mark.parametrize("fixture", ["vis", "live"])
def test_save_image_in_the_vector_formats(fixture, request, tmp_path):
    """.svg and .pdf, which matplotlib draws on a canvas of their own (a painter that
    took that draw for the screen's once failed every run that asked for them)."""
    dashboard = request.getfixturevalue(fixture)
    svg, pdf = tmp_path / "final.svg", tmp_path / "final.pdf"
    assert feed_run(dashboard, last_step=30, save_image=svg) == [str(svg)]
    assert dashboard.finish(save_image=pdf) == [str(pdf)]
    text = svg.read_text()
    assert text.count("<!-- Test digits -->") == 1 and "<image" in text   # panel 6's mosaic
    assert pdf.read_bytes().startswith(b"%PDF")


def test_a_long_run_records_at_most_max_movie_frames(vis, tmp_path, monkeypatch):
    # A cap of 20 frames for a run of 43 figure updates: the same rule as 200 for a
    # long run, at a tenth of the cost.
    monkeypatch.setattr("dashboard.view.MAX_MOVIE_FRAMES", 20)
    gif = tmp_path / "run.gif"
    feed_run(vis, last_step=210, train_every=5, test_every=100, save_movie=gif)
    with Image.open(gif) as movie:
        assert 20 // 2 <= movie.n_frames <= 20 + 1


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffmpeg (apt install ffmpeg)")
def test_mp4_through_ffmpeg(live, tmp_path):
    mp4 = tmp_path / "run.mp4"
    feed_run(live, last_step=30, save_movie=mp4)
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                            "-show_entries", "stream=nb_read_frames,width,height",
                            "-of", "csv=p=0", str(mp4)], capture_output=True, text=True)
    width, height, frames = (int(v) for v in probe.stdout.strip().split(","))
    assert (width, height, frames) == (1300, 720, 7)
    assert os.listdir(tmp_path) == ["run.mp4"]


def test_movie_frames_of_another_size_are_scaled(tmp_path):
    """A window resized while recording gives frames of another size: scaled, not cropped."""
    recorder = tv.MovieRecorder(tmp_path / "run.gif", (1300, 720))
    small = np.zeros((360, 650, 4), np.uint8)
    small[:, :325] = (255, 0, 0, 255)                  # left half red
    recorder.add(small)
    assert recorder.finish() == str(tmp_path / "run.gif")
    with Image.open(tmp_path / "run.gif") as movie:
        frame = np.asarray(movie.convert("RGB"))
    assert frame.shape == (432, 780, 3)
    assert tuple(frame[200, 100]) == (255, 0, 0) and tuple(frame[200, 700]) == (0, 0, 0)


def test_movie_formats_are_checked_before_training(tmp_path, monkeypatch):
    with pytest.raises(tv.OutputPathError, match="--save-movie.*name the movie .gif"):
        tv.check_movie_path(tmp_path / "run.txt")
    with pytest.raises(tv.OutputPathError, match="--save-movie.*name the movie .gif"):
        tv.check_movie_path(tmp_path / "run")
    monkeypatch.setitem(matplotlib.rcParams, "animation.ffmpeg_path", "no-such-ffmpeg")
    with pytest.raises(tv.OutputPathError, match="needs ffmpeg.*or name the movie .gif"):
        tv.check_movie_path(tmp_path / "run.mp4")
    assert tv.check_movie_path(tmp_path / "run.gif") == str(tmp_path / "run.gif")
    assert os.listdir(tmp_path) == []                  # nothing written, no fallback file


def test_image_formats_are_checked(tmp_path):
    with pytest.raises(tv.OutputPathError, match="--save-image.*use .png"):
        tv.check_image_path(tmp_path / "out.txt")
    assert tv.check_image_path(tmp_path / "out.svg").endswith("out.svg")


def test_a_failed_run_leaves_no_movie(live, tmp_path):
    def fail(step):
        if step == 10:
            raise ArithmeticError("boom")
    with pytest.raises(ArithmeticError):
        try:
            feed_run(live, last_step=30, save_movie=tmp_path / "run.gif", after_tick=fail)
        except ArithmeticError:
            live.abandon()
            raise
    assert os.listdir(tmp_path) == []


def test_bad_output_folder_is_reported(tmp_path):
    missing = tmp_path / "nope" / "x.png"
    with pytest.raises(tv.OutputPathError, match="does not exist") as error:
        tv.check_image_path(missing)
    assert str(missing.parent) in str(error.value)
    with pytest.raises(tv.OutputPathError, match="--save-movie.*is a folder"):
        tv.check_output_path(tmp_path, "--save-movie")


# ---- where the dashboard goes ----------------------------------------------------------------

def test_choose_display(monkeypatch):
    monkeypatch.setitem(matplotlib.rcParams, "backend", "agg")
    assert tv.choose_display(True) == ("headless", None)
    mode, why = tv.choose_display(False, environ={}, platform="linux")
    assert mode == "headless" and "DISPLAY" in why
    mode, why = tv.choose_display(False, environ={"DISPLAY": ":0"}, platform="linux")
    assert mode == "headless" and "'agg'" in why           # the tests run on Agg
    mode, why = tv.choose_display(False, environ={"WAYLAND_DISPLAY": "wayland-0"}, platform="linux")
    assert mode == "headless" and "'agg'" in why


def test_no_display_falls_back_with_one_line_of_notice(monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    vis = tv.MnistDataVis()
    err = capsys.readouterr().err
    assert vis.display == "headless" and not vis.live
    assert err.count("\n") == 1 and "no display" in err
    # how to keep it, for a stage (its flags) and for a Keras script (the callback's arguments)
    assert "--save-image" in err and "KerasDashboard: save_image=, save_movie=" in err


def test_a_window_that_fails_to_open_falls_back(monkeypatch, capsys):
    import matplotlib.pyplot as plt

    def broken_figure(*args, **kwargs):
        raise RuntimeError("no $DISPLAY environment variable")
    monkeypatch.setattr(dashboard.view, "choose_display", lambda headless: ("window", None))
    monkeypatch.setattr(plt, "figure", broken_figure)
    vis = tv.MnistDataVis()
    assert vis.display == "headless"
    assert "could not open a window" in capsys.readouterr().err
    feed_run(vis, last_step=3)
