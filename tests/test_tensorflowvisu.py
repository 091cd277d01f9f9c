"""Tests of the dashboard, under matplotlib's Agg backend (no display needed)."""

import os
import sys
import types

import matplotlib
matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib import animation
from matplotlib.backend_bases import CloseEvent, KeyEvent
from PIL import Image

import tensorflowvisu as tv

MARGINS = dict(left=0.05, right=0.98, bottom=0.06, top=0.94)   # as in _build_panels


def press(vis, key):
    event = KeyEvent("key_press_event", vis.fig.canvas, key=key)
    vis.fig.canvas.callbacks.process("key_press_event", event)


def visible_panels(vis):
    return tuple(k for k, ax in vis.axes.items() if ax.get_visible())


@pytest.fixture
def vis():
    return tv.MnistDataVis(headless=True)


# ---- keys and layout ---------------------------------------------------------

@pytest.mark.parametrize("key, shown", [
    ("1", (1,)), ("2", (2,)), ("3", (3,)), ("4", (4,)), ("5", (5,)), ("6", (6,)),
    ("7", (1, 2)), ("8", (4, 5)), ("9", (3, 6)),
    ("0", (1, 2, 3, 4, 5, 6)), ("escape", (1, 2, 3, 4, 5, 6))])
def test_key_shows_expected_panels_at_expected_size(vis, key, shown):
    press(vis, "3" if key in ("0", "escape") else "0")   # start from another layout
    press(vis, key)
    assert visible_panels(vis) == shown
    boxes = [vis.axes[k].get_position(original=True) for k in shown]   # the slot
    if len(shown) == 1:            # the whole window, within the margins
        box = boxes[0]
        assert (box.x0, box.y0, box.x1, box.y1) == pytest.approx(
            (MARGINS["left"], MARGINS["bottom"], MARGINS["right"], MARGINS["top"]))
    elif len(shown) == 2:          # side by side, full height, half the width each
        left, right = boxes
        assert left.x1 < right.x0
        assert left.height == pytest.approx(MARGINS["top"] - MARGINS["bottom"])
        assert left.width == pytest.approx(right.width)
        assert 0.4 < left.width < 0.47
    else:                          # 2 x 3
        assert len({round(b.y0, 6) for b in boxes}) == 2
        assert len({round(b.x0, 6) for b in boxes}) == 3
        assert all(b.width < 0.3 and b.height < 0.45 for b in boxes)


def test_one_axes_per_panel_and_titles(vis):
    assert len(vis.fig.axes) == 6
    assert [vis.axes[k].get_title() for k in range(1, 7)] == list(tv.DEFAULT_TITLES)
    custom = tv.MnistDataVis(title1="acc", title6="test", headless=True)
    assert custom.axes[1].get_title() == "acc" and custom.axes[2].get_title() == "Cross entropy loss"
    assert vis.axes[1].get_ylim() == (0.0, 1.0)


def test_space_toggles_pause(vis):
    assert not vis.is_paused()
    press(vis, " ")
    assert vis.is_paused()
    press(vis, " ")
    assert not vis.is_paused()


def test_no_step_runs_while_paused(vis):
    log = []
    def pump(timeout=0.0):
        log.append("pump")
        if log.count("pump") == 3:
            press(vis, " ")
    vis._pump_events = pump
    def step(i, train, test):
        log.append(i)
        if i == 2:
            press(vis, " ")
    vis.animate(step, 4, 1, 1)
    assert log == [0, 1, 2, "pump", "pump", "pump", 3, 4]


def test_closing_the_window_ends_training(vis):
    calls = []
    def step(i, train, test):
        calls.append(i)
        if i == 3:
            vis.fig.canvas.callbacks.process("close_event", CloseEvent("close_event", vis.fig.canvas))
    assert vis.animate(step, 100, 10, 50) == 4
    assert calls == [0, 1, 2, 3]


# ---- the training loop ----------------------------------------------------------

def test_animate_calls_every_step_with_the_cadence_flags(vis):
    calls = []
    vis.animate(lambda *args: calls.append(args), 120, 10, 50)
    assert [c[0] for c in calls] == list(range(121))
    assert [c[0] for c in calls if c[1]] == list(range(0, 121, 10))
    assert [c[0] for c in calls if c[2]] == [0, 50, 100, 120]


def test_more_tests_at_start(vis):
    calls = []
    vis.animate(lambda *args: calls.append(args), 250, 20, 100, more_tests_at_start=True)
    assert [c[0] for c in calls if c[2]] == [0, 20, 40, 60, 80, 100, 200, 250]


@pytest.mark.parametrize("live", [False, True])
def test_exception_in_compute_step_comes_out_of_animate(tmp_path, live):
    vis = tv.MnistDataVis(headless=True, live=live)
    def step(i, train, test):
        if i == 5:
            raise ArithmeticError("boom")
    with pytest.raises(ArithmeticError, match="boom"):
        vis.animate(step, 10, 1, 1, save_movie=tmp_path / "run.gif")
    assert os.listdir(tmp_path) == []        # the half-made movie is removed


def test_two_dashboards_keep_separate_data():
    a, b = tv.MnistDataVis(headless=True), tv.MnistDataVis(headless=True)
    a.append_test_curves_data(0, 0.5, 10.0)
    a.append_training_curves_data(0, 0.4, 11.0)
    a.append_data_histograms(0, np.arange(10.0), np.arange(3.0))
    press(a, "1")
    press(a, " ")
    assert a.get_max_test_accuracy() == 0.5 and b.get_max_test_accuracy() == 0.0
    assert b._train["step"] == [] and b._histogram_steps == []
    assert visible_panels(b) == (1, 2, 3, 4, 5, 6) and not b.is_paused()


def test_max_test_accuracy(vis):
    for step, accuracy in enumerate([0.3, 0.91, 0.9]):
        vis.append_test_curves_data(step, np.float32(accuracy), 1.0)
    assert vis.get_max_test_accuracy() == pytest.approx(0.91)


# ---- mosaics ----------------------------------------------------------------------

def square_digits(n):
    """Images with ink (1.0) in a centred square only, so tile corners are background."""
    images = np.zeros((n, 28, 28, 1), np.float32)
    images[:, 10:18, 10:18] = 1.0
    return images


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
    left, right = seven_then_one[1:11, 1:7], seven_then_one[1:11, 21:27]
    assert np.array_equal(np.all(left == 1.0, axis=-1), glyph("111 001 001 010 010"))   # 7
    assert np.array_equal(np.all(right == 1.0, axis=-1), glyph("010 110 010 010 111"))  # 1
    two_then_three = tile(1)
    assert np.array_equal(np.all(two_then_three[1:11, 1:7] == 1.0, axis=-1), glyph("111 001 111 100 111"))
    assert np.array_equal(np.all(two_then_three[1:11, 21:27] == 1.0, axis=-1), glyph("111 001 111 001 111"))
    assert not np.any(np.all(tile(2)[1:11] < 1.0, axis=-1) & np.all(tile(2)[1:11] > 0.0, axis=-1))


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


def test_test_mosaic_pads_a_small_test_set():
    images = square_digits(200)
    correct = np.zeros(200, int)
    predicted = np.zeros(200, int)
    predicted[:30] = 5
    mosaic = tv.mnist_mosaic(images, predicted, correct, lines=25, n=1000)
    assert mosaic.shape == (700, 1120, 3)                # 25 lines of 40
    reds = np.all(np.isclose(mosaic[27::28, 14::28], tv.RED), axis=-1)
    assert reds.sum() == 30 and reds[0, :30].all()
    assert np.all(mosaic[28 * 5:] == 1.0)                # tiles 200..999 are blank
    big = tv.mnist_mosaic(square_digits(1500), np.zeros(1500, int), np.zeros(1500, int), 25, n=1000)
    assert big.shape == (700, 1120, 3)


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


def test_bands_are_drawn_between_boundaries(vis):
    for step in range(3):
        vis.append_data_histograms(step * 10, np.arange(71.0) + step, np.zeros(10))
    vis._refresh_artists()
    polygons = vis._band_artists[4].get_paths()
    assert len(polygons) == 7
    expected = tv.percentile_bands(np.arange(71.0) + 2)          # the last step
    tops = [path.vertices[2, 1] for path in polygons]             # 3rd vertex: last step, top
    assert tops == pytest.approx(expected[1:])


# ---- output files ------------------------------------------------------------------

def fed_step(vis):
    rng = np.random.default_rng(0)
    def step(i, train, test):
        if train:
            vis.append_training_curves_data(i, 0.5 + i / 100, 100 - i)
            vis.append_data_histograms(i, rng.normal(size=500), rng.normal(size=10))
            vis.update_image1(tv.mnist_mosaic(square_digits(100), np.zeros(100, int),
                                              np.arange(100) % 10))
        if test:
            vis.append_test_curves_data(i, 0.5 + i / 110, 90 - i)
            vis.update_image2(tv.mnist_mosaic(square_digits(200), np.zeros(200, int),
                                              np.zeros(200, int), lines=25, n=1000))
    return step


def test_save_image_and_gif(vis, tmp_path):
    png, gif = tmp_path / "final.png", tmp_path / "run.gif"
    vis.animate(fed_step(vis), 30, 5, 10, save_image=png, save_movie=gif)
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size == (1300, 720)
        pixels = np.asarray(image.convert("RGB"))
        # the animated artists are in the file: the red test curve and red tiles
        assert np.sum(np.all(pixels == (214, 39, 40), axis=-1)) > 50
    with Image.open(gif) as movie:
        assert movie.format == "GIF" and movie.n_frames == 7 and movie.size == (780, 432)
    assert sorted(os.listdir(tmp_path)) == ["final.png", "run.gif"]   # no temporary files


def test_mp4_without_ffmpeg_becomes_a_gif(vis, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(animation.writers, "is_available", lambda name: False)
    vis.animate(fed_step(vis), 4, 2, 2, save_movie=tmp_path / "run.mp4")
    assert os.listdir(tmp_path) == ["run.gif"]
    assert "ffmpeg not found" in capsys.readouterr().err


def test_bad_output_path_is_reported_before_training(vis, tmp_path):
    calls = []
    missing = tmp_path / "nope" / "x.png"
    with pytest.raises(tv.OutputPathError, match="does not exist") as error:
        vis.animate(lambda *a: calls.append(a), 5, 1, 1, save_image=missing)
    assert str(missing.parent) in str(error.value) and calls == []
    with pytest.raises(tv.OutputPathError, match="--save-movie.*is a folder"):
        tv.check_output_path(tmp_path, "--save-movie")
    assert tv.check_output_path(tmp_path / "ok.png") == str(tmp_path / "ok.png")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder_is_reported(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(tv.OutputPathError, match="not writable"):
        tv.check_output_path(locked / "x.png", "--save-image")


# ---- where the dashboard goes ----------------------------------------------------------------

def test_choose_display():
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


def test_a_window_that_fails_to_open_falls_back(monkeypatch, capsys):
    import matplotlib.pyplot as plt
    def broken_figure(*args, **kwargs):
        raise RuntimeError("no $DISPLAY environment variable")
    monkeypatch.setattr(tv, "choose_display", lambda headless: ("window", None))
    monkeypatch.setattr(plt, "figure", broken_figure)
    vis = tv.MnistDataVis()
    assert vis.display == "headless"
    assert "could not open a window" in capsys.readouterr().err
    vis.animate(lambda *a: None, 3, 1, 1)


def test_jupyter_without_widget_backend_shows_a_refreshed_picture(monkeypatch):
    shown = []
    class Handle:
        def update(self, picture):
            shown.append(("update", picture))
    def display(picture, display_id=False):
        shown.append(("display", picture))
        return Handle()
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: types.SimpleNamespace(kernel=object())
    ipython_display = types.ModuleType("IPython.display")
    ipython_display.display = display
    ipython_display.Image = lambda data: data
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", ipython_display)
    vis = tv.MnistDataVis()
    assert vis.display == "notebook" and vis.live
    vis.animate(fed_step(vis), 10, 5, 5)
    assert shown[0][0] == "display" and shown[-1][0] == "update"
    assert shown[-1][1].startswith(b"\x89PNG")


# ---- drawing -------------------------------------------------------------------------------

def test_live_drawing_blits_after_the_first_full_draw(tmp_path):
    vis = tv.MnistDataVis(headless=True, live=True)
    vis.redraw_interval_s = 0.0
    full_draws = []
    vis.fig.canvas.mpl_connect("draw_event", lambda event: full_draws.append(1))
    vis.animate(fed_step(vis), 40, 5, 10)
    assert vis._background is not None
    assert 1 <= len(full_draws) < 8          # most redraws only repaint the data


def test_user_zoom_is_kept_until_home(vis):
    vis.set_x_range(100)
    vis.append_training_curves_data(0, 0.1, 200.0)
    vis._refresh_artists()
    assert vis.axes[2].get_ylim()[1] > 200
    vis.axes[2].set_ylim(0, 20)                      # as the zoom tool does
    vis.append_training_curves_data(1, 0.2, 300.0)
    vis._refresh_artists()
    assert vis.axes[2].get_ylim() == (0, 20)
    press(vis, "h")
    vis._refresh_artists()
    assert vis.axes[2].get_ylim()[1] > 300


def test_blitting_repaints_only_panels_with_news_and_matches_a_full_draw():
    vis = tv.MnistDataVis(headless=True, live=True)
    step = fed_step(vis)
    vis.set_x_range(100)
    step(0, True, True)
    vis.redraw()                                        # full: keeps the background
    painted = []
    draw_animated = vis._draw_animated
    vis._draw_animated = lambda panel: (painted.append(panel), draw_animated(panel))
    vis.append_training_curves_data(1, 0.55, 99)        # inside the current y ranges
    assert vis.redraw(rescale=False) is False           # a blit ...
    assert painted == [1, 2]                            # ... of the two curve panels only
    step(10, True, False)                               # curves, bands, training mosaic
    painted.clear()
    vis.redraw(rescale=False)
    assert painted == [1, 2, 3, 4, 5]
    blitted = np.array(vis.fig.canvas.buffer_rgba())
    vis._background = None
    assert vis.redraw() is True                         # the same state, painted in full
    assert np.array_equal(blitted, np.array(vis.fig.canvas.buffer_rgba()))


def test_redraw_pacing_after_an_expensive_full_draw(monkeypatch):
    """Full draws cost 0.3 s and blits 0.03 s of a fake clock; a step 0.01 s. The data
    keeps moving on screen between full draws, and each kind keeps to its share."""
    clock = [0.0]
    monkeypatch.setattr(tv.time, "perf_counter", lambda: clock[0])
    vis = tv.MnistDataVis(headless=True, live=True)
    draws = []                                           # (time, full?) while training
    redraw = vis.redraw
    def timed_redraw(rescale=True):
        full = redraw(rescale)
        if step_count[0] <= 2000:
            draws.append((clock[0], full))
        clock[0] += 0.3 if full else 0.03
        return full
    vis.redraw = timed_redraw
    feed = fed_step(vis)
    step_count = [0]
    def step(i, train, test):
        feed(i, train, test)
        vis.append_training_curves_data(i, 0.5, 100.0 + i)   # out of the y range, often
        clock[0] += 0.01
        step_count[0] += 1
    vis.animate(step, 2000, 10, 50)                      # 20 s of training
    full = [t for t, was_full in draws if was_full]
    blits = [t for t, was_full in draws if not was_full]
    assert full[0] < 0.1 and 0 < blits[0] - full[0] <= 1.0   # no wait of 0.3 s / share
    assert len(full) >= 3                                # the axes do catch up ...
    assert np.diff(full).min() >= 0.3 / tv.MAX_DRAW_SHARE    # ... at their own pace
    gaps = np.diff(sorted(full + blits))
    assert gaps[0] >= tv.MIN_REDRAW_INTERVAL_S           # the first blit's cost is unknown
    assert gaps[1:].min() >= 0.03 / tv.MAX_DRAW_SHARE - 1e-9
    assert gaps.max() <= 0.3 + 0.03 / tv.MAX_DRAW_SHARE + 0.02   # never frozen for long
    assert vis.axes[2].get_ylim()[1] >= 100 + 2000       # the final draw fits all the data


def test_after_a_layout_key_the_next_redraw_is_full(monkeypatch):
    """A window draws a key's new layout later (draw_idle); a redraw before that must
    not blit the panels' old pictures at their old places."""
    vis = tv.MnistDataVis(headless=True, live=True)
    fed_step(vis)(0, True, True)
    vis.redraw()
    vis.append_training_curves_data(1, 0.5, 99)
    monkeypatch.setattr(vis.fig.canvas, "draw_idle", lambda: None)   # deferred, as in Tk
    press(vis, "1")
    assert vis.redraw(rescale=False) is True
    assert set(vis._background) == {1}              # the saved picture of the new layout
