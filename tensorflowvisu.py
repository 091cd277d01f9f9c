"""
tensorflowvisu: the live dashboard of the MNIST codelab
=======================================================

Six panels, 2 x 3, one matplotlib Axes each:

    1 Accuracy            2 Cross entropy loss     3 Training digits
    4 Weights             5 Biases                 6 Test digits

Keys (click on the window first):
    1..6        that panel alone, enlarged to the whole window
    7 / 8 / 9   panels 1 and 2 / panels 4 and 5 / panels 3 and 6
    0, Escape   all six panels
    space       pause and resume training (and drawing)
    o, h, ctrl+s   matplotlib's own keys: box zoom, reset zooms, save the image
    q           close the window (this stops training)

A strip above the panels (and the window's title) says what is going on: TensorFlow
preparing (from start() until a stretch of training has run: the first tick() draws
the first figures, the next one clears it), paused, or training finished (from
wait_until_closed(), which prints it in the terminal too); on its right, the keys.

The dashboard is a view: it shows what it is fed and never drives training. The
contract with the loop that feeds it (trainer.train(); KerasDashboard, which feeds it
from model.fit and only shows too: it prints nothing and never stops fit, so closing
the window ends the view, not the training, unless the program around fit asks, as
stage 7.0's own callback does in codelab/kerastrainer.py):
the loop hands it data; once per figure it asks one question, tick() -> go on? (True,
or False once the window is closed; while the learner has paused, tick() returns only
when resumed or closed, so training pauses with it); and it reads two facts to skip work
no one would see: `live` (a window or notebook figure that draws during training: the
loop then trains in short stretches) and `draws_during_training` (mosaics and bands are
worth computing). trainer.py feeds it like this:

    datavis = MnistDataVis(title4="Weights", title5="Biases")
    datavis.start(first_step=0, last_step=2000, updates=201, save_movie="run.mp4")
    while ...:                                      # at each step with new figures:
        datavis.append_training_curves_data(step, accuracy, loss)
        datavis.append_data_histograms(step, weights, biases)
        datavis.update_image1(mosaic)               # panel 3: the training batch
        datavis.append_test_curves_data(step, accuracy, loss)     # at test steps
        datavis.update_image2(mosaic, test_count=10000)  # panel 6: the test digits
        if not datavis.tick():   # draws if due, answers the window; waits while paused
            break                # the window was closed
        ...                  # train up to the next step with figures
    datavis.finish(save_image="final.png")          # the final picture, the files
    datavis.wait_until_closed()

Where it appears, decided once when MnistDataVis is built: in a window (made smaller
where the screen is); in Jupyter, live with %matplotlib widget, else as a picture
refreshed about once a second; or nowhere (--headless, or no window could be opened:
one line of notice on stderr, then the same run without it).

How it stays live without slowing training much: painting the axes, ticks and text is
slow, painting the curves, bands and digits alone is quick. So the slow part is painted
once and kept; each redraw paints only the moving parts over it (blitting), at most
REDRAW_RATE times a second and near DRAW_SHARE of the time, and never fewer than
MIN_PICTURES pictures for a run. The axes are painted again only when a range
changes, and the ranges are chosen to change seldom. Panels 4 and 5 show percentile
bands: 7 buckets holding the same number of values each, palest outside, strongest
in the middle one, which holds the median.

Where the code lives. This file is the dashboard's face: what it does, and the names
the stages, trainer.py and the codelab use. Its parts, one job each, are in the
dashboard/ folder (a folder, so that the repository's top level keeps to the files a
learner opens: the stages, mnistdata.py, tensorflowvisu.py, trainer.py):

    dashboard/view.py           MnistDataVis: feeding, start / tick / finish
    dashboard/controls.py       keys, pause, closing, resizing; the status it shows
    dashboard/screen.py         bringing the picture up to date, in a window or notebook
    dashboard/panels.py         the six panels: their axes, put together from these parts:
    dashboard/curvepanels.py    panels 1 and 2: accuracy and loss curves
    dashboard/bandpanels.py     panels 4 and 5: percentile bands of weights and biases
    dashboard/digitpanels.py    panels 3 and 6: the digit mosaics, panel 6's percent scale
    dashboard/strip.py          the strip above the panels: status and keys
    dashboard/placement.py      margins sized for the text, the layouts the keys show
    dashboard/mosaics.py        the digit mosaics of panels 3 and 6 (plain numpy)
    dashboard/scales.py         percentile bands, axis ranges that change seldom
    dashboard/painting.py       painting in full, or the moving parts only (blitting)
    dashboard/pacing.py         when to redraw
    dashboard/display.py        window, notebook or headless; fitting the screen
    dashboard/saving.py         --save-image and --save-movie: checked, written atomically
    dashboard/kerascallback.py  KerasDashboard, the dashboard fed by model.fit
"""

from dashboard.display import WINDOW_FRAME_PX, choose_display, fit_to_screen
from dashboard.mosaics import RED, TRAIN_MOSAIC_COUNT, mnist_mosaic, test_digits_mosaic
from dashboard.pacing import (DRAW_SHARE, MIN_PICTURES, PANEL_MIN_INTERVAL_S,
                              REDRAW_RATE, DrawPacing)
from dashboard.panels import DEFAULT_TITLES, PANEL_LAYOUTS, STATUS, X_LABEL
from dashboard.saving import (MAX_MOVIE_FRAMES, MovieRecorder, OutputPathError,
                              check_image_path, check_movie_path, check_output_path,
                              save_figure)
from dashboard.scales import BAND_MIN_SPAN, band_axis_range, loss_axis_top, percentile_bands
from dashboard.view import MnistDataVis

__all__ = [
    "MnistDataVis",          # the dashboard; and KerasDashboard, loaded when asked for
    "mnist_mosaic", "test_digits_mosaic", "TRAIN_MOSAIC_COUNT", "RED",   # panels 3, 6
    "percentile_bands", "loss_axis_top", "band_axis_range", "BAND_MIN_SPAN",
    "OutputPathError", "check_output_path", "check_image_path", "check_movie_path",
    "save_figure", "MovieRecorder", "MAX_MOVIE_FRAMES",     # the files
    "choose_display", "fit_to_screen", "WINDOW_FRAME_PX",   # where it appears
    "DrawPacing", "REDRAW_RATE", "DRAW_SHARE", "MIN_PICTURES", "PANEL_MIN_INTERVAL_S",
    "DEFAULT_TITLES", "PANEL_LAYOUTS", "STATUS", "X_LABEL",  # the panels
]


def __getattr__(name):  # tensorflowvisu.KerasDashboard loads Keras only when asked for
    if name == "KerasDashboard":
        from dashboard.kerascallback import KerasDashboard
        return KerasDashboard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
