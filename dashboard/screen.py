"""
Bringing the picture up to date where the dashboard appears
===========================================================

Screen decides what to paint (the panels with news when a redraw is due, a layout
after a key, everything for the final picture), has it painted (painting.py), and
shows it: a window's events flushed, or a notebook's picture replaced. When a redraw
is due is pacing.py's question.
"""

import time

from dashboard.display import show_in_notebook
from dashboard.pacing import NOTEBOOK_REDRAW_INTERVAL_S, REDRAW_RATE, DrawPacing
from dashboard.panels import ALL_PANELS


class Screen:
    """The panels (panels.py) painted by a Painter onto a figure shown in a "window",
    a "notebook" or nowhere ("headless"). `layout_changed`: a layout key awaits its
    picture; `notebook_output`: the notebook output (or a window's widget) showing it."""

    def __init__(self, panels, painter, display):
        self.panels, self.painter, self.display = panels, painter, display
        self.pacing = DrawPacing(self._interval())
        self.layout_changed = False
        self.notebook_output = None

    def _interval(self):
        return NOTEBOOK_REDRAW_INTERVAL_S if self.display == "notebook" else 1.0 / REDRAW_RATE

    def start(self, updates):
        """Pace the redraws of a run of `updates` figure updates: at least MIN_PICTURES
        in a window; a notebook picture comes about once a second."""
        self.pacing = DrawPacing(self._interval(), updates if self.display != "notebook" else 0)

    def redraw_if_due(self, pump_events):
        """Paint the panels with news if a redraw is due. A window whose redraws are
        overdue first answers its events for a moment (pump_events(seconds))."""
        now = time.perf_counter()
        if not (self.panels.news and self.pacing.due(now)):
            return
        if self.pacing.overdue() and self.display == "window":
            pump_events(self.pacing.wait_before_overdue_redraw(now))
            now = time.perf_counter()
        panels = self.pacing.panels_due(self.panels.news, now)
        if panels and not self.layout_changed:
            self.redraw(panels)

    def redraw(self, panels=None, full=False, strip=False):
        """Bring the artists of `panels` (default: all with news) up to date and paint
        them, and the strip above the panels if asked. True if it painted everything."""
        began = time.perf_counter()
        if full:
            panels = set(ALL_PANELS)
        panels = set(self.panels.news if panels is None else panels)
        rescaled = self.panels.refresh(panels)
        if full:
            self.painter.invalidate()
        self.layout_changed = False
        painted_all = self.painter.paint(panels, rescaled)
        if strip and not painted_all:
            self.painter.paint_strip()
        if self.display == "notebook":
            self._show_in_notebook()
        elif self.display == "window":
            self.painter.fig.canvas.flush_events()
        self.pacing.done(began, time.perf_counter() - began, panels, painted_all)
        return painted_all

    def show_layout(self):
        """After a layout key: the new layout, up to date, from its kept picture if it
        was seen before (quick enough to show within the next drawing), else in full."""
        began = time.perf_counter()
        rescaled = self.panels.refresh(set(ALL_PANELS))
        self.painter.mark_stale(rescaled)
        if not self.painter.paint_kept_layout():
            return self.redraw(full=True)
        self.layout_changed = False
        if self.display == "window":
            self.painter.fig.canvas.flush_events()
        elif self.display == "notebook":
            self._show_in_notebook()
        self.pacing.done(began, time.perf_counter() - began, set(ALL_PANELS), True)
        return False

    def _show_in_notebook(self):
        self.notebook_output = show_in_notebook(self.painter.rgba(), self.notebook_output)
