"""
Pacing: when to redraw, so that the dashboard looks live and training keeps its time
====================================================================================

A redraw comes at each new figure, at most REDRAW_RATE times a second (a notebook
picture about once a second); panel 6 (1,000 digits) at most once a second. DrawPacing
keeps drawing near DRAW_SHARE of the time, and never below MIN_PICTURES pictures for a
run, however short.
"""

import math

REDRAW_RATE = 8                    # at most this many redraws a second in a window
NOTEBOOK_REDRAW_INTERVAL_S = 1.0   # a notebook picture: about one a second
DRAW_SHARE = 0.15                  # drawing keeps to about this share of the run's time
MIN_PICTURES = 60                  # a run shows at least this many pictures (if it has
                                   # that many figure updates): a short run is watched too
PANEL_MIN_INTERVAL_S = {3: 0.5, 6: 1.0}  # digit mosaics: slower to paint, and they flicker


class DrawPacing:
    """When to redraw, so that the dashboard looks live and training keeps its time.

    A redraw is due when there is news and either the last redraw is old enough, or
    `max_skipped` figure updates went by without one (so that a short run still shows
    MIN_PICTURES pictures: training then waits so that each stays interval_s on
    screen, long enough to be seen). Old enough: at most `1 / interval_s` a second, and a quick
    redraw that took t seconds waits t / DRAW_SHARE for the next, which keeps drawing
    near DRAW_SHARE of the time. A full redraw (a range changed: rare by design) waits
    only the interval, so that the curves do not stop after it."""

    def __init__(self, interval_s, updates=0, min_pictures=MIN_PICTURES):
        self.interval_s = interval_s
        self.max_skipped = max(1, updates // min_pictures) if updates else None
        self.next_redraw = 0.0
        self.last_redraw = -math.inf
        self.skipped = 0                  # figure updates since the last redraw
        self.panel_due = {}               # panel -> when it may be repainted again

    def note_update(self):
        self.skipped += 1

    def due(self, now):
        return self.overdue() or now >= self.next_redraw

    def overdue(self):
        """True when max_skipped figure updates went by without a redraw."""
        return self.max_skipped is not None and self.skipped >= self.max_skipped

    def wait_before_overdue_redraw(self, now):
        """Seconds to wait so that an overdue picture is not hidden by the next one at
        once: each picture stays at least interval_s on screen, training waits for it."""
        return max(0.0, self.last_redraw + self.interval_s - now)

    def panels_due(self, news, now):
        """The panels with news that may be repainted now (see PANEL_MIN_INTERVAL_S)."""
        return {panel for panel in news if now >= self.panel_due.get(panel, 0.0)}

    def done(self, began, cost, panels, full):
        self.skipped = 0
        self.last_redraw = began
        wait = self.interval_s if full else max(self.interval_s, cost / DRAW_SHARE)
        self.next_redraw = began + cost + wait if full else began + wait
        for panel in panels:
            if panel in PANEL_MIN_INTERVAL_S:
                self.panel_due[panel] = began + PANEL_MIN_INTERVAL_S[panel]
