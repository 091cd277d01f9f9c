"""
MnistDataVis: the six-panel dashboard, its parts put together
=============================================================

What it shows and the contract with the training loop that feeds it: tensorflowvisu.py,
the module that trainer.py and the codelab name. Here: feeding data (stored until the
next redraw) and the run (start, tick, finish). The panels (panels.py) are brought up
to date on screen (screen.py: painted by painting.py when pacing.py says), answer the
keys and the window (controls.py), appear where display.py decides, and are recorded
into the files asked for (saving.py).
"""

import math
import os
import sys

from dashboard.controls import Controls
from dashboard.display import choose_display, in_notebook, make_figure, notice, show_window
from dashboard.painting import Painter
from dashboard.panels import ALL_PANELS, DEFAULT_TITLES, STATUS, Panels
from dashboard.saving import MAX_MOVIE_FRAMES, MovieRecorder, save_figure
from dashboard.screen import Screen


class MnistDataVis:
    """The six-panel dashboard: panels fed by the trainer, brought up to date on screen
    when due, recorded into a movie if asked. All its data lives on the instance."""

    def __init__(self, title1=None, title2=None, title3=None, title4=None, title5=None,
                 title6=None, headless=False, live=None):
        """live: redraw during training; default True with a window or notebook, False
        headless (live=True headless draws off screen: used to measure drawing costs)."""
        given = (title1, title2, title3, title4, title5, title6)
        titles = [t if t is not None else d for t, d in zip(given, DEFAULT_TITLES)]
        display, why = choose_display(headless)
        self.fig, self.display = make_figure(display)
        if why:
            notice(f"{why}: running without the dashboard window; use --save-image or "
                   "--save-movie to keep it (KerasDashboard: save_image=, save_movie=)")
        self.live = (self.display != "headless") if live is None else live
        self.panels = Panels(self.fig, titles)
        self.painter = Painter(self.panels)
        self.screen = Screen(self.panels, self.painter, self.display)
        self.controls = Controls(self.fig, self.panels, self.screen, self.live)
        self.movie = None
        self._movie_stride = 1
        self._updates = 0                 # figure updates so far
        self._last_update_step = None
        self._last_step = 1
        self._frame_wanted = False        # record the picture of this update in the movie
        self._ticks = 0

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

    def update_image2(self, im, test_count=None):
        """The test digits mosaic (panel 6), such as test_digits_mosaic's: an image, or a
        function that makes it; test_count: how many test digits it was made from (the
        whole test set measured), which sets panel 6's scale (default: MNIST's 10,000)."""
        self.panels.set_image(6, im, test_count)

    def _new_update(self):
        """Count figure updates (a training and a test figure at one step count once)."""
        step = self.panels.curves.last_step()
        if step != self._last_update_step:
            self._last_update_step = step
            self._updates += 1
            self.screen.pacing.note_update()
            self._frame_wanted = self.movie is not None and (
                (self._updates - 1) % self._movie_stride == 0 or step >= self._last_step)

    def get_max_test_accuracy(self):
        return self.panels.curves.max_test_accuracy()

    def is_paused(self):
        return self.controls.paused

    def is_closed(self):
        return self.controls.closed

    # -- the run -------------------------------------------------------------------

    def start(self, first_step=0, last_step=1, updates=0, save_movie=None):
        """Before training: the x range, the number of figure updates the run will feed
        (for the pacing and the movie), and open the window."""
        self._last_step = last_step
        self.panels.set_x_range(first_step, last_step)
        self.screen.start(updates)
        if save_movie:
            width, height = self.fig.canvas.get_width_height(physical=True)
            self.movie = MovieRecorder(save_movie, (width, height))
            self._movie_stride = max(1, math.ceil(updates / MAX_MOVIE_FRAMES))
        if self.display == "window" and not self.is_closed():
            self.screen.notebook_output = show_window(self.fig)
        if self.live and not self.is_closed():
            # TensorFlow traces the network before the first figures (seconds on the
            # convolutional stages), then the training step before the first stretch.
            self.controls.set_status("preparing")    # the first picture: painted in full

    def tick(self):
        """Between two stretches of training: answer the window (keys, clicks, resizes),
        redraw if due, record a movie frame if one is due, and wait here while paused.
        The one question the training loop asks: go on? True, or False once the window
        is closed (training then stops)."""
        self._ticks += 1
        controls, screen = self.controls, self.screen
        controls.pump_events()
        if controls.paused:
            controls.wait_while_paused()
        if controls.closed:
            return False
        if controls.status == "preparing" and self._ticks > 1:   # a stretch has trained
            controls.set_status(None)
        frame = self._frame_wanted
        if screen.layout_changed and self.live:
            screen.show_layout()
        elif frame:
            screen.redraw()               # all the news: the movie shows the whole state
        elif self.live:
            screen.redraw_if_due(controls.pump_events)
        if screen.layout_changed and self.live:   # a key answered during the drawing
            screen.show_layout()
        if frame:
            self.movie.add(self.painter.rgba())
            self._frame_wanted = False
        return True

    def redraw(self):
        """Paint everything now, up to date (the final picture; tests)."""
        return self.screen.redraw(full=True)

    def finish(self, save_image=None):
        """After training: the final picture with every range fitted, then the files.
        Returns the paths written."""
        if self.is_closed():
            self.panels.refresh(set(ALL_PANELS))
        else:
            self.screen.redraw(full=True)
        if self.display == "window" and self.screen.notebook_output is not None:
            # The widget lives on in Jupyter; the output's picture, which a notebook file
            # keeps for viewers without a kernel (GitHub, nbconvert), was taken when it
            # was shown, empty: it becomes the final picture.
            self.screen.notebook_output.update(self.fig.canvas)
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
        if not self.is_closed():
            print(STATUS["finished"][0], file=sys.stderr, flush=True)
            self.controls.set_status("finished")
        self.controls.answer_until(self.is_closed)

    def show_panels(self, key):
        """Show the panels of PANEL_LAYOUTS[key] ("0".."9" or "escape"), hide the others;
        the next tick repaints them, refitted and up to date."""
        self.controls.show_panels(key)
