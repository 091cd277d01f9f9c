"""
MnistDataVis: the six-panel dashboard, its parts put together
=============================================================

What it shows and the contract with the training loop that feeds it: tensorflowvisu.py,
the module that trainer.py and the codelab name. Here: feeding data (stored until the
next redraw), the run (start, tick, finish), keys, pause and closing the window.
The panels (panels.py) are painted (painting.py) when due (pacing.py), where the
dashboard appears (display.py), and recorded into the files asked for (saving.py).
"""

import math
import os
import sys
import time

import matplotlib

from dashboard.display import (choose_display, in_notebook, make_figure, notice,
                               show_in_notebook, show_window)
from dashboard.pacing import NOTEBOOK_REDRAW_INTERVAL_S, REDRAW_RATE, DrawPacing
from dashboard.painting import Painter
from dashboard.panels import ALL_PANELS, DEFAULT_TITLES, PANEL_LAYOUTS, STATUS, Panels
from dashboard.saving import MAX_MOVIE_FRAMES, MovieRecorder, save_figure

EVENT_PUMP_INTERVAL_S = 0.05       # while paused or kept open: answer the window this often


class MnistDataVis:
    """The six-panel dashboard: panels fed by the trainer, painted when due, recorded
    into a movie if asked. All its data lives on the instance."""

    def __init__(self, title1=None, title2=None, title3=None, title4=None, title5=None,
                 title6=None, headless=False, live=None):
        """live: redraw during training; default True with a window or notebook, False
        headless (live=True headless draws off screen: used to measure drawing costs)."""
        given = (title1, title2, title3, title4, title5, title6)
        titles = [t if t is not None else d for t, d in zip(given, DEFAULT_TITLES)]
        display, why = choose_display(headless)
        self.fig, self.display = make_figure(display)
        if why:
            notice(f"{why}: running without the dashboard window; "
                   "use --save-image or --save-movie to keep it")
        self.live = (self.display != "headless") if live is None else live
        self.panels = Panels(self.fig, titles)
        self.painter = Painter(self.panels)
        self.pacing = DrawPacing(self._redraw_interval())
        self.movie = None
        self._movie_stride = 1
        self._updates = 0                 # figure updates so far
        self._last_update_step = None
        self._last_step = 1
        self._frame_wanted = False        # record the picture of this update in the movie
        self._paused = False
        self._closed = False
        self._layout_changed = False
        self._status = None               # a key of STATUS, or None: shown in the strip
        self._ticks = 0
        self._notebook_output = None
        self.fig.canvas.mpl_connect("key_press_event", self._on_key)
        self.fig.canvas.mpl_connect("close_event", self._on_close)
        self.fig.canvas.mpl_connect("resize_event", self._on_resize)

    def _redraw_interval(self):
        return NOTEBOOK_REDRAW_INTERVAL_S if self.display == "notebook" else 1.0 / REDRAW_RATE

    @property
    def axes(self):
        """panel number (1-6) -> its matplotlib Axes."""
        return self.panels.axes

    @property
    def draws_during_training(self):
        """True if the dashboard is painted while training: live, or recording a movie."""
        return self.live or self.movie is not None

    # -- feeding data: the codelab's names (cheap: stored until the next redraw) ------

    def append_training_curves_data(self, i, accuracy, loss):
        self.panels.append_curves("train", i, accuracy, loss)
        self._new_update()

    def append_test_curves_data(self, i, accuracy, loss):
        self.panels.append_curves("test", i, accuracy, loss)
        self._new_update()

    def append_data_histograms(self, i, weights, biases):
        """Record the percentile bands of all weights (panel 4) and all biases (panel 5)."""
        self.panels.append_histograms(i, weights, biases)

    def update_image1(self, im):
        """The training digits mosaic (panel 3), an RGB image such as mnist_mosaic's,
        or a function without arguments that makes it: called only if the image is
        drawn or saved before the next update replaces it."""
        self.panels.set_image(3, im)

    def update_image2(self, im):
        """The test digits mosaic (panel 6): an image, or a function that makes it."""
        self.panels.set_image(6, im)

    def _new_update(self):
        """Count figure updates (a training and a test figure at one step count once)."""
        step = self.panels.curves.last_step()
        if step != self._last_update_step:
            self._last_update_step = step
            self._updates += 1
            self.pacing.note_update()
            self._frame_wanted = self.movie is not None and (
                (self._updates - 1) % self._movie_stride == 0 or step >= self._last_step)

    def get_max_test_accuracy(self):
        return self.panels.curves.max_test_accuracy()

    def is_paused(self):
        return self._paused

    def is_closed(self):
        return self._closed

    # -- the run -------------------------------------------------------------------

    def start(self, first_step=0, last_step=1, updates=0, save_movie=None):
        """Before training: the x range, the number of figure updates the run will feed
        (for the pacing and the movie), and open the window."""
        self._last_step = last_step
        self.panels.set_x_range(first_step, last_step)
        # At least MIN_PICTURES in a window; a notebook picture comes about once a second.
        self.pacing = DrawPacing(self._redraw_interval(),
                                 updates if self.display != "notebook" else 0)
        if save_movie:
            width, height = self.fig.canvas.get_width_height(physical=True)
            self.movie = MovieRecorder(save_movie, (width, height))
            self._movie_stride = max(1, math.ceil(updates / MAX_MOVIE_FRAMES))
        if self.display == "window" and not self._closed:
            self._notebook_output = show_window(self.fig)
        if self.live and not self._closed:
            # TensorFlow traces the network before the first figures (seconds on the
            # convolutional stages), then the training step before the first stretch.
            self._set_status("preparing")    # the first picture: painted in full

    def tick(self):
        """Between two stretches of training: answer the window (keys, clicks, resizes),
        redraw if due, record a movie frame if one is due, and wait here while paused.
        The one question the training loop asks: go on? True, or False once the window
        is closed (training then stops)."""
        self._ticks += 1
        self._pump_events()
        if self._paused:
            self._wait_while_paused()
        if self._closed:
            return False
        if self._status == "preparing" and self._ticks > 1:   # a stretch has trained
            self._set_status(None)
        now = time.perf_counter()
        frame = self._frame_wanted
        if self._layout_changed and self.live:
            self._show_layout()
        elif frame:
            self._redraw()                # all the news: the movie shows the whole state
        elif self.live and self.panels.news and self.pacing.due(now):
            if self.pacing.overdue() and self.display == "window":
                self._pump_events(self.pacing.wait_before_overdue_redraw(now))
                now = time.perf_counter()
            panels = self.pacing.panels_due(self.panels.news, now)
            if panels and not self._layout_changed:
                self._redraw(panels)
        if self._layout_changed and self.live:   # a key answered during the drawing
            self._show_layout()
        if frame:
            self.movie.add(self.painter.rgba())
            self._frame_wanted = False
        return True

    def _redraw(self, panels=None, full=False, strip=False):
        """Bring the artists of `panels` (default: all with news) up to date and paint
        them, and the strip above the panels if asked."""
        began = time.perf_counter()
        if full:
            panels = set(ALL_PANELS)
        panels = set(self.panels.news if panels is None else panels)
        rescaled = self.panels.refresh(panels)
        if full:
            self.painter.invalidate()
        self._layout_changed = False
        painted_all = self.painter.paint(panels, rescaled)
        if strip and not painted_all:
            self.painter.paint_strip()
        if self.display == "notebook":
            self._show_in_notebook()
        elif self.display == "window":
            self.fig.canvas.flush_events()
        self.pacing.done(began, time.perf_counter() - began, panels, painted_all)
        return painted_all

    def redraw(self):
        """Paint everything now, up to date (the final picture; tests)."""
        return self._redraw(full=True)

    def _show_layout(self):
        """After a layout key: the new layout, up to date, from its kept picture if it
        was seen before (quick enough to show within the next drawing), else in full."""
        began = time.perf_counter()
        rescaled = self.panels.refresh(set(ALL_PANELS))
        self.painter.mark_stale(rescaled)
        if not self.painter.paint_kept_layout():
            return self._redraw(full=True)
        self._layout_changed = False
        if self.display == "window":
            self.fig.canvas.flush_events()
        elif self.display == "notebook":
            self._show_in_notebook()
        self.pacing.done(began, time.perf_counter() - began, set(ALL_PANELS), True)
        return False

    def finish(self, save_image=None):
        """After training: the final picture with every range fitted, then the files.
        Returns the paths written."""
        if self._closed:
            self.panels.refresh(set(ALL_PANELS))
        else:
            self._redraw(full=True)
        if self.display == "window" and self._notebook_output is not None:
            # The widget lives on in Jupyter; the output's picture, which a notebook file
            # keeps for viewers without a kernel (GitHub, nbconvert), was taken when it
            # was shown, empty: it becomes the final picture.
            self._notebook_output.update(self.fig.canvas)
        written = []
        if self.movie:
            if self.movie.frames == 0 or self._frame_wanted:
                self.movie.add(self.painter.rgba())
            path = self.movie.finish()
            self.movie = None
            if path:
                written.append(path)
        if save_image:
            with self.panels.strip_hidden():
                save_figure(self.fig, save_image)
            written.append(os.path.abspath(save_image))
        return written

    def abandon(self):
        """Training failed: drop the movie being recorded."""
        if self.movie:
            self.movie.abandon()
            self.movie = None

    def wait_until_closed(self):
        """With a desktop window: say that training is over, on the window and in the
        terminal, and keep the window alive (keys, zoom) until the user closes it.
        Returns at once headless or in a notebook."""
        if self.display != "window" or in_notebook():
            return
        if not self._closed:
            print(STATUS["finished"][0], file=sys.stderr, flush=True)
            self._set_status("finished")
        while not self._closed:
            if self._layout_changed:
                self._show_layout()
            self._pump_events(EVENT_PUMP_INTERVAL_S)

    # -- keys, pause, close ----------------------------------------------------------

    def show_panels(self, key):
        """Show the panels of PANEL_LAYOUTS[key] ("0".."9" or "escape"), hide the others;
        the next tick repaints them, refitted and up to date."""
        self.panels.show_layout(key)
        self.painter.invalidate()
        self._layout_changed = True

    def _on_key(self, event):
        if event.key in PANEL_LAYOUTS:
            self.show_panels(event.key)
        elif event.key in (" ", "space"):
            self._paused = not self._paused
        elif event.key in matplotlib.rcParams["keymap.home"]:
            self.panels.reset_ranges()    # matplotlib resets the zoom; we fit y again
            self._layout_changed = True

    def _on_close(self, event):
        self._closed = True

    def _wait_while_paused(self):
        """Show "paused" on an up-to-date picture and answer the window until resumed."""
        before = self._status
        self._set_status("paused")
        try:
            while self._paused and not self._closed:
                if self._layout_changed:
                    self._show_layout()
                self._pump_events(EVENT_PUMP_INTERVAL_S)
        finally:
            self._set_status(before)

    def _set_status(self, kind):
        """Say what is happening (a key of STATUS, or None) in the strip above the panels
        and in the window's title, on a picture brought up to date."""
        self._status = kind
        if self._closed or not self.live:
            return
        self.panels.set_status(kind, keys_hint=self.display == "window" and not in_notebook())
        manager = self.fig.canvas.manager
        if manager is not None and self.display == "window":
            manager.set_window_title(STATUS[kind][3] if kind else "MNIST")
        self._redraw(strip=True)

    def _on_resize(self, event):
        self.panels.place()               # the window's own redraw follows

    def _pump_events(self, timeout=0.0):
        """Let the window handle keys, clicks and resizing, for `timeout` seconds (at
        least once). (Polling rather than a GUI's own blocking loop, which a closed
        window can leave waiting forever.)"""
        end = time.perf_counter() + timeout
        while True:
            if self.display == "window" and not self._closed:
                self.fig.canvas.flush_events()
            left = end - time.perf_counter()
            if left <= 0 or self._layout_changed:
                return
            time.sleep(min(left, EVENT_PUMP_INTERVAL_S))

    def _show_in_notebook(self):
        self._notebook_output = show_in_notebook(self.painter.rgba(), self._notebook_output)
