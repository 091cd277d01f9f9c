"""
The strip above the panels: what is going on (left) and, in a window, the keys (right)
======================================================================================

StatusStrip holds its two texts; where the strip lies and how tall it is, placement.py
decides. The keys are shown only where they fit beside the status.
"""

import contextlib

from dashboard.textsize import text_points

STATUS = {   # kind -> (text on the figure, box colour, text colour, window title)
    "preparing": ("preparing TensorFlow: tracing the network takes a few seconds...",
                  "#F2C14E", "black", "MNIST (preparing TensorFlow)"),
    "paused": ("paused: press space to resume", "#555555", "white", "MNIST (paused)"),
    "finished": ("training finished: close the window or press q", "#2E7D32", "white",
                 "MNIST (training finished: close the window or press q)"),
}
KEYS_HINT = "keys: 1-6 one panel, 7 8 9 two, 0 all, space pause, q quit"
STATUS_FONT_SIZE, KEYS_FONT_SIZE = 10, 9     # points


class StatusStrip:
    """The status text and the keys hint, on the figure above the panels."""

    def __init__(self, fig):
        self.fig = fig
        self.status_text = fig.text(0.005, 1.0, "", ha="left", va="center",
                                    fontsize=STATUS_FONT_SIZE, weight="bold",
                                    visible=False, bbox=dict(boxstyle="round,pad=0.3"))
        self.keys_text = fig.text(0.995, 1.0, KEYS_HINT, ha="right", va="center",
                                  fontsize=KEYS_FONT_SIZE, color="#555555", visible=False)
        self._keys_wanted = False
        self._status_widths = self._keys_width = None

    def measure(self):
        """The strip's height in points; and, kept, the widths its texts take."""
        self._status_widths = {kind: text_points(text, self.status_text)[0] + 12
                               for kind, (text, *_) in STATUS.items()}
        self._status_widths[None] = 0
        self._keys_width = text_points(KEYS_HINT, self.keys_text)[0] + 12
        return text_points("Tg", self.status_text)[1] + 10

    def set_y(self, y):
        """Put both texts at height y (figure fraction), and the keys only if they fit."""
        self.status_text.set_y(y)
        self.keys_text.set_y(y)
        self._show_keys_if_room()

    def _show_keys_if_room(self):
        status = self.status_text.get_text() if self.status_text.get_visible() else None
        kind = next((k for k, (text, *_) in STATUS.items() if text == status), None)
        width = self.fig.get_size_inches()[0] * 72
        self.keys_text.set_visible(self._keys_wanted
                                   and self._status_widths[kind] + self._keys_width <= width)

    def set_status(self, kind, keys_hint):
        """Show STATUS[kind] (None: nothing), and the keys if asked."""
        if kind is None:
            self.status_text.set_visible(False)
        else:
            text, box, ink, _ = STATUS[kind]
            self.status_text.set_text(text)
            self.status_text.set_color(ink)
            self.status_text.get_bbox_patch().set_facecolor(box)
            self.status_text.get_bbox_patch().set_edgecolor("none")
            self.status_text.set_visible(True)
        self._keys_wanted = keys_hint
        self._show_keys_if_room()

    @contextlib.contextmanager
    def hidden(self):
        """The strip is for someone watching: not in a saved picture."""
        shown = self.status_text.get_visible(), self.keys_text.get_visible()
        self.status_text.set_visible(False)
        self.keys_text.set_visible(False)
        try:
            yield
        finally:
            self.status_text.set_visible(shown[0])
            self.keys_text.set_visible(shown[1])
