"""
Where the dashboard appears: a window, a notebook, or nowhere
=============================================================

Decided once, when the dashboard is built (choose_display):
    - headless (--headless): nowhere; the figure is drawn off screen only for
      --save-image and --save-movie.
    - in Jupyter: live in the notebook with an interactive backend (%matplotlib widget);
      otherwise as a picture refreshed about once a second (show_in_notebook).
    - otherwise in a window, made smaller where the screen is (fit_to_screen). When no
      window can be opened (no DISPLAY or WAYLAND_DISPLAY on Linux, a backend that
      cannot draw on screen, or one that fails to start: make_figure), one line of
      notice on stderr, and the dashboard carries on headless.
"""

import io
import os
import sys

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

FIGURE_SIZE = (13.0, 7.2)          # inches; 1300 x 720 pixels at 100 dpi: smaller if the
                                   # screen is (see fit_to_screen)
WINDOW_FRAME_PX = (20, 80)         # screen width and height kept for the window's borders,
                                   # title bar and a task bar or dock (unknown to us)

_NOTEBOOK_BACKENDS = ("nbagg", "notebook", "widget", "ipympl", "module://ipympl.backend_nbagg")
_NON_INTERACTIVE_BACKENDS = ("agg", "cairo", "pdf", "pgf", "ps", "svg", "template")


def in_notebook():
    """True inside a Jupyter kernel (without importing IPython when it is not loaded)."""
    if "IPython" not in sys.modules:
        return False
    shell = sys.modules["IPython"].get_ipython()
    return getattr(shell, "kernel", None) is not None


def choose_display(headless, environ=None, platform=None):
    """("window" | "notebook" | "headless", why no window or None): where the dashboard goes.

    "window" is also a live figure in a notebook with an interactive backend;
    "notebook" is a static picture refreshed in the notebook's output.
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if headless:
        return "headless", None
    if in_notebook():
        backend = matplotlib.get_backend().lower()
        return ("window" if backend in _NOTEBOOK_BACKENDS else "notebook"), None
    if platform.startswith("linux") and not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        return "headless", "no display (DISPLAY and WAYLAND_DISPLAY are not set)"
    backend = matplotlib.get_backend().lower()
    if backend in _NON_INTERACTIVE_BACKENDS or backend.startswith("module://matplotlib_inline"):
        return "headless", f"the matplotlib backend '{backend}' cannot open a window"
    return "window", None


def fit_to_screen(fig, frame_px=WINDOW_FRAME_PX):
    """Shrink a new window's figure, if need be, so that the whole window (figure,
    toolbar, title bar) fits on the screen: FIGURE_SIZE is 1300 x 720 pixels, and a
    1366 x 768 laptop screen is common. Tk and Qt windows; others are left as they are.
    Returns the figure's size in inches."""
    window = getattr(fig.canvas.manager, "window", None)
    toolbar = getattr(fig.canvas.manager, "toolbar", None)
    pixels_per_inch = fig.dpi
    if hasattr(window, "winfo_screenheight"):           # Tk: physical pixels
        screen = window.winfo_screenwidth(), window.winfo_screenheight()
        toolbar_px = toolbar.winfo_reqheight() if toolbar is not None else 0
        # The pixels per inch that matplotlib will use once the window is on screen
        # (as FigureCanvasTk._update_device_pixel_ratio computes them).
        if sys.platform == "linux":
            ratio = window.winfo_fpixels("1i") / 96
        elif sys.platform == "win32":
            ratio = round(float(window.tk.call("tk", "scaling")) / (96 / 72), 2)
        else:
            ratio = fig.canvas.device_pixel_ratio
        pixels_per_inch = fig.dpi / fig.canvas.device_pixel_ratio * ratio
    elif hasattr(window, "screen") and window.screen() is not None:   # Qt: logical pixels
        available = window.screen().availableGeometry()
        screen = available.width(), available.height()
        toolbar_px = toolbar.sizeHint().height() if toolbar is not None else 0
        pixels_per_inch = fig.dpi / fig.canvas.device_pixel_ratio
    else:
        return tuple(fig.get_size_inches())
    width = min(FIGURE_SIZE[0], (screen[0] - frame_px[0]) / pixels_per_inch)
    height = min(FIGURE_SIZE[1], (screen[1] - toolbar_px - frame_px[1]) / pixels_per_inch)
    if (width, height) != tuple(fig.get_size_inches()):
        fig.set_size_inches(width, height, forward=True)
    return width, height



def notice(message):
    """One line on stderr, so that stdout stays the same with or without a window."""
    print(f"tensorflowvisu: {message}", file=sys.stderr, flush=True)


def make_figure(display):
    """(figure, display): a pyplot figure for a window; else a bare Agg figure (no GUI,
    no pyplot), and display "headless" when the window could not be made."""
    if display == "window":
        try:
            return _window_figure(), display
        except Exception as error:   # e.g. TclError: no display, a broken Qt/GTK install
            display = "headless"
            notice(f"could not open a window ({type(error).__name__}: {error}); "
                   "running without it")
    fig = Figure(figsize=FIGURE_SIZE)
    FigureCanvasAgg(fig)
    return fig, display


def _window_figure():
    import matplotlib.pyplot as plt
    with plt.ioff():          # shown by show_window()
        if in_notebook():
            # Kept out of pyplot's list of figures: IPython's %run calls
            # plt.show() at the end, which would show it a second time.
            fig = plt.new_figure_manager(0, figsize=FIGURE_SIZE).canvas.figure
        else:
            fig = plt.figure(figsize=FIGURE_SIZE)
            try:
                fit_to_screen(fig)
            except Exception as error:   # a toolkit that answers otherwise
                notice(f"could not read the screen's size ({error}); the "
                       f"window may be larger than the screen")
    fig.canvas.manager.set_window_title("MNIST")
    return fig


def show_window(fig):
    """Show a window's figure: on the desktop, or live in a notebook. Returns the
    notebook output that shows it (ipympl, %matplotlib widget), else None."""
    if in_notebook() and hasattr(fig.canvas, "_repr_mimebundle_"):
        # ipympl: shown with an id, so that the dashboard's finish() can put the final
        # picture into the output that the notebook file keeps.
        from IPython.display import display
        return display(fig.canvas, display_id=True)
    if in_notebook():
        fig.canvas.manager.show()
    else:
        import matplotlib.pyplot as plt
        plt.show(block=False)
    return None


def show_in_notebook(rgba, output=None):
    """Show a picture (RGBA [H, W, 4] uint8) in the notebook: in a new output the first
    time (output None), then in place of the last. Returns the output."""
    from IPython.display import Image, display
    from PIL import Image as PILImage
    buffer = io.BytesIO()
    PILImage.fromarray(rgba[..., :3]).save(buffer, format="png", compress_level=1)
    picture = Image(data=buffer.getvalue())
    if output is None:
        return display(picture, display_id=True)
    output.update(picture)
    return output
