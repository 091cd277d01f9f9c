"""A stage in a real Tk window, on a private X display (Xvfb), as a learner sees it:
the screen is recorded with ffmpeg, keys are pressed with xdotool.

Needs Debian's xvfb, xdotool and ffmpeg (.ci/run installs them); skipped without them.
"""

import subprocess
import time

import numpy as np
import pytest

import tensorflowvisu
from helpers import (SPEEDRUN_STEPS, WindowStage, needs_window_tools, press, run_script,
                     x_display, xdotool)
from trainer import PROGRESS_LINE, TEST_LINE

pytestmark = needs_window_tools

SCREEN = (1400, 850)
GREY_PANEL = (0xE5, 0xE5, 0xE5)         # the axes' face colour (ggplot style)


@pytest.fixture(scope="module")
def display():
    """A private X display, e.g. ':7'; closed after the tests of this file."""
    with x_display(SCREEN) as name:
        yield name


def record(display, seconds, fps=10, scale=2):
    """The screen for `seconds`, as grey frames [n, h, w] uint8 (ffmpeg's x11grab)."""
    width, height = SCREEN[0] // scale, SCREEN[1] // scale
    done = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "x11grab", "-framerate", str(fps),
         "-video_size", f"{SCREEN[0]}x{SCREEN[1]}", "-i", display, "-t", str(seconds),
         "-vf", f"scale={width}:{height}:flags=neighbor", "-f", "rawvideo",
         "-pix_fmt", "gray", "-"], capture_output=True, timeout=seconds + 30)
    assert done.returncode == 0, done.stderr.decode()
    return np.frombuffer(done.stdout, np.uint8).reshape(-1, height, width)


def screenshot(display, size=SCREEN):
    """The screen now, RGB [h, w, 3]."""
    done = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "x11grab", "-video_size",
         f"{size[0]}x{size[1]}", "-i", display, "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "-"], capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr.decode()
    return np.frombuffer(done.stdout, np.uint8).reshape(size[1], size[0], 3)


def status_share(picture, kind):
    """The share of the strip at the top of the window (its top 24 pixels, left 600)
    in the colour of STATUS[kind]'s box."""
    colour = np.array([int(tensorflowvisu.STATUS[kind][1][i:i + 2], 16) for i in (1, 3, 5)])
    strip = picture[:24, :600].astype(int)
    return float(np.mean(np.all(np.abs(strip - colour) <= 8, axis=-1)))


def wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def grey_share(picture):
    """The share of the screen covered by the grey face of plot panels (not digits)."""
    return float(np.mean(np.all(picture == GREY_PANEL, axis=-1)))


def distinct_frames(frames):
    """How many frames differ from the one before (the first counts)."""
    changed = np.any(frames[1:] != frames[:-1], axis=(1, 2))
    return 1 + int(np.count_nonzero(changed))


def test_a_stage_animates_in_a_real_window_and_answers_its_keys(display, small_mnist_dir,
                                                                tmp_path):
    stage = WindowStage(display, "mnist_1.0_softmax.py", "--iterations", "12000",
                        "--data-dir", small_mnist_dir)
    try:
        stage.wait_for("step 40:")         # training is under way, the window is up
        frames = record(display, seconds=3)
        per_second = distinct_frames(frames) / 3
        assert per_second >= 3, f"{per_second:.1f} distinct pictures a second"

        window = xdotool(display, "search", "--sync", "--name", "^MNIST")
        xdotool(display, "mousemove", "--window", window, "300", "300")
        six = grey_share(screenshot(display))
        press(display, window, "1")        # the accuracy panel alone: one big grey plot
        one = grey_share(screenshot(display))
        press(display, window, "3")        # the training digits alone: no grey plot
        digits = grey_share(screenshot(display))
        press(display, window, "0")
        back = grey_share(screenshot(display))
        assert one > 0.45 and digits < 0.05 and 0.12 < six < 0.45, (six, one, digits)
        assert abs(back - six) < 0.05

        press(display, window, "space")    # pause: the title says so, the picture stands
        assert xdotool(display, "getwindowname", window) == "MNIST (paused)"
        still = record(display, seconds=1.5)
        assert distinct_frames(still) == 1
        paused_at = stage.stdout[-1]
        time.sleep(1.0)
        assert stage.stdout[-1] == paused_at   # training waits too
        press(display, window, "space", settle=0.5)
        assert xdotool(display, "getwindowname", window) == "MNIST"

        stage.wait_for("max test accuracy", timeout=180)
        time.sleep(0.5)
        assert stage.process.poll() is None    # the window stays open for a look ...
        press(display, window, "q", settle=0.0)
        assert stage.process.wait(timeout=30) == 0   # ... until its user closes it
    finally:
        stage.kill()
    assert "Traceback" not in stage.process.stderr.read()

    # The window changes nothing in training: the same figures as headless.
    headless = run_script("mnist_1.0_softmax.py", "--headless", "--iterations", "12000",
                          "--data-dir", small_mnist_dir, cwd=tmp_path)
    progress = [line for line in stage.stdout if PROGRESS_LINE.match(line)]
    assert progress == [line for line in headless.stdout.splitlines() if PROGRESS_LINE.match(line)]
    last_test = [line for line in stage.stdout if TEST_LINE.match(line)][-1]
    assert last_test in headless.stdout.splitlines()


def test_the_speedrun_draws_its_test_curve_in_a_window(display, small_mnist_dir,
                                                       speedrun_headless):
    """Stage 5.0 tests only at its first and last step headless; in a window the test
    curve gets a point every 20 steps, and training is the same."""
    stage = WindowStage(display, "mnist_5.0_speedrun.py", "--data-dir", small_mnist_dir,
                        "--seed", "0", "--iterations", str(SPEEDRUN_STEPS))
    try:
        # While TensorFlow traces (seconds), the window says so, in its title and on it.
        window = xdotool(display, "search", "--sync", "--name", "^MNIST")
        preparing = tensorflowvisu.STATUS["preparing"][3]
        assert wait_until(lambda: xdotool(display, "getwindowname", window) == preparing, 60)
        assert wait_until(lambda: status_share(screenshot(display), "preparing") > 0.1, 10)
        stage.wait_for("max test accuracy", timeout=180)
        time.sleep(0.5)
        picture = screenshot(display)
        six = grey_share(picture)
        assert 0.12 < six < 0.45, six      # six panels drawn, as on the other stages
        # Training is over: the window says so and what to do, and the terminal too.
        assert status_share(picture, "finished") > 0.1
        assert xdotool(display, "getwindowname", window) == tensorflowvisu.STATUS["finished"][3]
        press(display, window, "q", settle=0.0)
        assert stage.process.wait(timeout=30) == 0
    finally:
        stage.kill()
    errors = stage.process.stderr.read()
    assert "Traceback" not in errors
    assert errors.strip().splitlines()[-1] == "training finished: close the window or press q"
    headless = speedrun_headless.stdout.splitlines()
    in_window = [TEST_LINE.match(line) for line in stage.stdout if TEST_LINE.match(line)]
    alone = [TEST_LINE.match(line) for line in headless if TEST_LINE.match(line)]
    assert [int(m["step"]) for m in alone] == [0, SPEEDRUN_STEPS]
    assert [int(m["step"]) for m in in_window] == list(range(0, SPEEDRUN_STEPS, 20)) + [SPEEDRUN_STEPS]
    assert in_window[-1][0] == alone[-1][0]  # the same final figure
    progress = [line for line in stage.stdout if PROGRESS_LINE.match(line)]
    assert progress == [line for line in headless if PROGRESS_LINE.match(line)]


LAPTOP = (1366, 768)


def test_the_window_fits_a_laptop_screen_and_keeps_readable_when_small(small_mnist_dir,
                                                                        tmp_path):
    """A 1366 x 768 screen: the whole window fits, toolbar included, with room for a title
    bar and a task bar. Made smaller, down to 700 x 450, it keeps its six panels (the
    screenshots are kept in tmp_path to look at; test_tensorflowvisu checks the labels)."""
    from PIL import Image
    with x_display(LAPTOP) as laptop:
        stage = WindowStage(laptop, "mnist_1.0_softmax.py", "--iterations", "200",
                            "--data-dir", small_mnist_dir)
        try:
            stage.wait_for("max test accuracy", timeout=180)
            time.sleep(0.5)
            window = xdotool(laptop, "search", "--sync", "--name", "^MNIST")
            geometry = xdotool(laptop, "getwindowgeometry", "--shell", window)
            place = dict(line.split("=") for line in geometry.splitlines())
            bottom = int(place["Y"]) + int(place["HEIGHT"])
            assert int(place["X"]) + int(place["WIDTH"]) <= LAPTOP[0], geometry
            assert bottom <= LAPTOP[1] - tensorflowvisu.WINDOW_FRAME_PX[1], geometry
            picture = screenshot(laptop, LAPTOP)
            Image.fromarray(picture).save(tmp_path / "laptop.png")
            toolbar = picture[bottom - 45:bottom - 5, 5:200]    # the toolbar's icons
            assert np.mean(np.all(toolbar == toolbar[0, 0], axis=-1)) < 0.95
            assert 0.12 < grey_share(picture[:bottom]) < 0.45
            for width, height in ((800, 500), (700, 450)):
                xdotool(laptop, "windowsize", "--sync", window, str(width), str(height))
                time.sleep(1.5)                                 # the window's own redraw
                picture = screenshot(laptop, LAPTOP)
                Image.fromarray(picture).save(tmp_path / f"window-{width}x{height}.png")
                inside = picture[:height, :width]
                assert 0.08 < grey_share(inside) < 0.5, (width, height)
                assert grey_share(picture[height + 2:]) == 0.0   # nothing outside it
                assert status_share(inside, "finished") > 0.1
            press(laptop, window, "q", settle=0.0)
            assert stage.process.wait(timeout=30) == 0
        finally:
            stage.kill()
    assert "Traceback" not in stage.process.stderr.read()


def test_the_keras_stage_in_a_window_pauses_and_stops_when_closed(display, small_mnist_dir,
                                                                  tmp_path):
    """Stage 7.0: model.fit with KerasDashboard in a real window. Space pauses fit; closing
    the window (q) stops it cleanly at the next step, with the summary and exit code 0."""
    stage = WindowStage(display, "mnist_7.0_keras.py", "--data-dir", small_mnist_dir,
                        "--iterations", "3000")
    try:
        stage.wait_for("step 40:", timeout=180)
        frames = record(display, seconds=3)
        assert distinct_frames(frames) >= 3           # the panels move while fit trains
        picture = screenshot(display)
        from PIL import Image
        Image.fromarray(picture).save(tmp_path / "keras-window.png")
        assert 0.12 < grey_share(picture) < 0.45      # six panels, as on the other stages
        window = xdotool(display, "search", "--sync", "--name", "^MNIST")
        xdotool(display, "mousemove", "--window", window, "300", "300")
        press(display, window, "space")
        assert xdotool(display, "getwindowname", window) == "MNIST (paused)"
        time.sleep(0.5)                               # the lines printed before the pause
        paused_at = len(stage.stdout)
        time.sleep(1.5)
        assert len(stage.stdout) == paused_at         # fit waits
        press(display, window, "space", settle=0.5)
        press(display, window, "q", settle=0.0)
        assert stage.process.wait(timeout=60) == 0
    finally:
        stage.kill()
    assert "Traceback" not in stage.process.stderr.read()
    stopped = [line for line in stage.stdout if line.startswith("stopped at step ")]
    assert stopped and stopped[0].endswith("of 3000 (the dashboard window was closed)")
    assert stage.stdout[-1].startswith("max test accuracy: ")
