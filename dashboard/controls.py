"""
The dashboard's controls: keys, pause, closing, resizing, and the status it shows
=================================================================================

Controls answers the window's events (keys, a click on its close box, a resize),
pumping them between stretches of training, holds the pause, and says what is going
on in the strip above the panels and in the window's title.
"""

import time

import matplotlib

from dashboard.display import in_notebook
from dashboard.panels import PANEL_LAYOUTS, STATUS

EVENT_PUMP_INTERVAL_S = 0.05       # while paused or kept open: answer the window this often


class Controls:
    """The figure's events and the state they set: `paused`, `closed`, `status`."""

    def __init__(self, fig, panels, screen, live):
        self.fig, self.panels, self.screen, self.live = fig, panels, screen, live
        self.paused = False
        self.closed = False
        self.status = None                # a key of STATUS, or None: shown in the strip
        fig.canvas.mpl_connect("key_press_event", self.on_key)
        fig.canvas.mpl_connect("close_event", self._on_close)
        fig.canvas.mpl_connect("resize_event", self._on_resize)

    def show_panels(self, key):
        """Show the panels of PANEL_LAYOUTS[key], hide the others; painted by the next
        show_layout()."""
        self.panels.show_layout(key)
        self.screen.painter.invalidate()
        self.screen.layout_changed = True

    def on_key(self, event):
        """A key pressed in the window: a layout (1-9, 0, Escape), the pause, home."""
        if event.key in PANEL_LAYOUTS:
            self.show_panels(event.key)
        elif event.key in (" ", "space"):
            self.paused = not self.paused
        elif event.key in matplotlib.rcParams["keymap.home"]:
            self.panels.reset_ranges()    # matplotlib resets the zoom; we fit y again
            self.screen.layout_changed = True

    def _on_close(self, event):
        self.closed = True

    def _on_resize(self, event):
        self.panels.place()               # the window's own redraw follows

    def wait_while_paused(self):
        """Show "paused" on an up-to-date picture and answer the window until resumed."""
        before = self.status
        self.set_status("paused")
        try:
            self.answer_until(lambda: not self.paused or self.closed)
        finally:
            self.set_status(before)

    def answer_until(self, done):
        """Answer the window (and paint a layout key's picture) until done() is true."""
        while not done():
            if self.screen.layout_changed:
                self.screen.show_layout()
            self.pump_events(EVENT_PUMP_INTERVAL_S)

    def set_status(self, kind):
        """Say what is happening (a key of STATUS, or None) in the strip above the panels
        and in the window's title, on a picture brought up to date."""
        self.status = kind
        if self.closed or not self.live:
            return
        display = self.screen.display
        self.panels.set_status(kind, keys_hint=display == "window" and not in_notebook())
        manager = self.fig.canvas.manager
        if manager is not None and display == "window":
            manager.set_window_title(STATUS[kind][3] if kind else "MNIST")
        self.screen.redraw(strip=True)

    def pump_events(self, timeout=0.0):
        """Let the window handle keys, clicks and resizing, for `timeout` seconds (at
        least once). (Polling rather than a GUI's own blocking loop, which a closed
        window can leave waiting forever.)"""
        end = time.perf_counter() + timeout
        while True:
            if self.screen.display == "window" and not self.closed:
                self.fig.canvas.flush_events()
            left = end - time.perf_counter()
            if left <= 0 or self.screen.layout_changed:
                return
            time.sleep(min(left, EVENT_PUMP_INTERVAL_S))
