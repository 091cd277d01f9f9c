"""serve.py and its page for real: the server in its own process, the page in a headless
Chromium driven by Selenium with real mouse (or touch) events. The tests
(tests/test_serve.py) and docs/make_pictures.py (the guide's picture of the page) use it.

    with running_server("models/1.0") as server, chromium() as browser:
        browser.get(server.url)
        draw(browser, SEVEN)
        digit = wait_for_answer(browser)     # what #prediction says
        seen = seen_image(browser)           # the 28x28 image sent, uint8

Chromium is Debian's (`apt-get install chromium chromium-driver`): /usr/bin/chromium and
/usr/bin/chromedriver, named explicitly, so that Selenium never looks for (or downloads)
a browser of its own. Selenium is a test requirement (requirements-test.txt).
"""

import base64
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage")
WINDOW = (1000, 720)  # the page's three panels side by side

# Strokes, as points in pixels from the centre of the 280-pixel pad
SEVEN = [[(-70, -95), (-20, -95), (30, -95), (75, -95), (45, -30), (20, 30), (-5, 100)]]
ONE = [[(-15, -80), (5, -100), (5, -40), (5, 20), (5, 100)]]


def chromium_missing():
    """Why the page cannot be driven here (a line naming what to install), or None."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"no {path}: install Debian's {package} (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "no Selenium: pip install -r requirements-test.txt"
    return None


# ------------------------------------------------------------------ the server

class Server:
    """serve.py running in its own process (stop() it, or leave the `with` block)."""

    def __init__(self, model_dir, *flags, timeout=300):
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "serve.py"), "--model", str(model_dir), "--port", "0",
             *flags], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"), preexec_fn=ctrl_c_as_in_a_terminal)
        self.lines = []
        watchdog = threading.Timer(timeout, self.process.kill)  # no address in time: ends it
        watchdog.start()
        try:
            for line in self.process.stdout:
                self.lines.append(line.rstrip("\n"))
                match = re.match(r"draw a digit: (http://\S+)", line)
                if match:
                    self.url = match[1]
                    break
            else:
                raise RuntimeError("serve.py ended without serving:\n" + "\n".join(self.lines)
                                   + self.process.stderr.read()[-3000:])
        finally:
            watchdog.cancel()
        self.host, self.port = re.match(r"http://([^/:]+):(\d+)/", self.url).groups()
        self.port = int(self.port)

    def stop(self, signal_number=signal.SIGINT, timeout=60):
        """Send the signal; (exit code, the rest of stdout, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(signal_number)
        try:
            out, err = self.process.communicate(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.communicate()
        return self.process.returncode, out, err


def ctrl_c_as_in_a_terminal():
    """In the child: Ctrl-C (SIGINT) stops it, even when started from a background job,
    where the shell makes every child ignore it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def running_server(model_dir, *flags):
    server = Server(model_dir, *flags)
    try:
        yield server
    finally:
        server.stop()


# ------------------------------------------------------------------ the browser

@contextlib.contextmanager
def chromium(window=WINDOW):
    """A headless Chromium under Selenium, with a profile of its own, deleted at the end."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="serve-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                     f"--window-size={window[0]},{window[1]}"):
            options.add_argument(flag)
        browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        try:
            yield browser
        finally:
            browser.quit()


def draw(browser, strokes, touch=False, steps=4):
    """Draw the strokes on #pad with real pointer events (a mouse, or a finger), each
    segment in `steps` moves."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput
    from selenium.webdriver.common.by import By

    pad = browser.find_element(By.ID, "pad")
    if touch:
        finger = PointerInput(interaction.POINTER_TOUCH, "finger")
        actions = ActionBuilder(browser, mouse=finger)
    for stroke in strokes:
        points = [stroke[0]]
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
            points += [(round(x0 + (x1 - x0) * k / steps), round(y0 + (y1 - y0) * k / steps))
                       for k in range(1, steps + 1)]
        if touch:
            actions.pointer_action.move_to(pad, *points[0]).pointer_down()
            for point in points[1:]:
                actions.pointer_action.move_to(pad, *point)
            actions.pointer_action.pointer_up()
        else:
            chain = ActionChains(browser).move_to_element_with_offset(pad, *points[0]).click_and_hold()
            for (x0, y0), (x1, y1) in zip(points, points[1:]):
                chain.move_by_offset(x1 - x0, y1 - y0)
            chain.release().perform()
    if touch:
        actions.perform()


def wait_for_answer(browser, timeout=60):
    """Wait until the page shows its answer to the drawing as it is; #prediction's text."""
    from selenium.webdriver.support.ui import WebDriverWait

    def answered(browser):
        return browser.execute_script(
            "return document.documentElement.dataset.state === 'ready' && "
            "document.getElementById('prediction').textContent")

    WebDriverWait(browser, timeout).until(lambda browser: answered(browser) is not False)
    return browser.execute_script("return document.getElementById('prediction').textContent")


def seen_image(browser):
    """The page's 28x28 image (#seen), as uint8 grey levels."""
    pixels = browser.execute_script(
        "return Array.from(document.getElementById('seen').getContext('2d')"
        ".getImageData(0, 0, 28, 28).data)")
    return np.array(pixels, np.uint8).reshape(28, 28, 4)[:, :, 0]


def pad_png(browser):
    """What is drawn on #pad, as a PNG file's bytes."""
    url = browser.execute_script("return document.getElementById('pad').toDataURL('image/png')")
    return base64.b64decode(url.split(",", 1)[1])


def bar_values(browser):
    """The ten probabilities the bars show, in per cent, as the page writes them."""
    texts = browser.execute_script(
        "return Array.from(document.querySelectorAll('#bars .value'), e => e.textContent)")
    return [float(text.rstrip(" %")) if text else None for text in texts]
