"""
Where the panels go: margins that fit their text, the layouts the keys show
===========================================================================

Placement sizes the margins and gaps in points for the text around the panels (tick
labels, titles, x labels, the strip above), so that a small window keeps them apart;
moves the panels into the layout a key asks for (PANEL_LAYOUTS); and shrinks a title
that is wider than its panel.
"""

import matplotlib
from matplotlib.gridspec import GridSpec
from matplotlib.transforms import Bbox

from dashboard.textsize import text_points

# which panels each key shows, in reading order
PANEL_LAYOUTS = {"1": (1,), "2": (2,), "3": (3,), "4": (4,), "5": (5,), "6": (6,),
                 "7": (1, 2), "8": (4, 5), "9": (3, 6),
                 "0": (1, 2, 3, 4, 5, 6), "escape": (1, 2, 3, 4, 5, 6)}

X_LABEL = "training step"          # panels 1, 2, 4 and 5: x is the training step
WIDEST_Y_LABEL = "\u22120.0025"     # the widest y tick label panels 4 and 5 can show
WIDEST_X_LABEL = "10000"           # the widest x tick label, overhanging the panel's right end
MIN_TITLE_SIZE = 8                 # points: a long title in a small window shrinks to this


class Placement:
    """The panels' places in the figure: margins, gaps, layouts, title sizes."""

    def __init__(self, fig, axes, strip):
        """axes: panel number -> its Axes; strip: the StatusStrip above them."""
        self.fig, self.axes, self.strip = fig, axes, strip
        self.room = self._text_room()
        self._grids = {1: GridSpec(1, 1, figure=fig), 2: GridSpec(1, 2, figure=fig),
                       6: GridSpec(2, 3, figure=fig)}

    def _text_room(self):
        """The room, in points, that the text around the panels takes: the same whatever
        the window's size, since fonts are sized in points."""
        ax = self.axes[4]
        tick = ax.yaxis.get_major_ticks()[0]
        tick_room = tick.get_tick_padding() + tick.get_pad() + 2   # tick length, padding
        y_labels, _ = text_points(WIDEST_Y_LABEL, tick.label1)
        _, x_labels = text_points(WIDEST_X_LABEL, ax.xaxis.get_major_ticks()[0].label1)
        overhang = text_points(WIDEST_X_LABEL, tick.label1)[0] / 2 + 2
        _, x_label = text_points(X_LABEL, ax.xaxis.label)
        _, title = text_points("Tg", ax.title)
        below = x_labels + tick_room + x_label + ax.xaxis.labelpad + 4
        above = title + matplotlib.rcParams["axes.titlepad"] + 2
        self._title_size = ax.title.get_fontsize()
        self._title_widths = {panel: text_points(axes.get_title(), axes.title)[0] + 1
                              for panel, axes in self.axes.items()}
        return dict(left=y_labels + tick_room + 4, right=overhang, bottom=below,
                    top=above, strip=self.strip.measure(),
                    column_gap=y_labels + tick_room + overhang + 6, row_gap=below + above + 4)

    def place(self):
        """Margins and gaps that fit the text (self.room) at the figure's present size:
        called again when the window is resized, so that a small window keeps its tick
        labels, titles and panels apart."""
        width, height = self.fig.get_size_inches() * 72     # points
        room = self.room
        left, right = room["left"] / width, 1 - room["right"] / width
        top, bottom = 1 - (room["strip"] + room["top"]) / height, room["bottom"] / height
        for grid in self._grids.values():
            rows, columns = grid.get_geometry()
            cell_width = max(1.0, (width * (right - left) - (columns - 1) * room["column_gap"])
                             / columns)
            cell_height = max(1.0, (height * (top - bottom) - (rows - 1) * room["row_gap"])
                              / rows)
            grid.update(left=left, right=right, bottom=bottom, top=top,
                        wspace=room["column_gap"] / cell_width,
                        hspace=room["row_gap"] / cell_height)
        self.strip.set_y(1 - room["strip"] / 2 / height)
        self.fit_titles()

    def show_layout(self, key):
        """Show the panels of PANEL_LAYOUTS[key] ("0".."9" or "escape"), hide the others."""
        shown = PANEL_LAYOUTS[key]
        grid = self._grids[len(shown)]
        for panel, ax in self.axes.items():
            ax.set_visible(panel in shown)
        for place, panel in enumerate(shown):
            self.axes[panel].set_subplotspec(grid[place])
        self.fit_titles()

    def fit_titles(self):
        """A title wider than its panel (stage 4.2's "Max conv activations in batch" in
        a small window) gets a smaller font, down to MIN_TITLE_SIZE, so that it does not
        run into its neighbour's."""
        figure_width = self.fig.get_size_inches()[0] * 72
        for panel, ax in self.axes.items():
            # centred over its panel: it may overhang by the figure's right margin
            room = (ax.get_position(original=True).width * figure_width
                    + 2 * self.room["right"] - 4)
            width = self._title_widths[panel]
            ax.title.set_fontsize(max(MIN_TITLE_SIZE, min(1.0, room / width) * self._title_size))

    def visible(self):
        """The panels shown now, in panel order."""
        return tuple(panel for panel, ax in self.axes.items() if ax.get_visible())

    def cell_split(self):
        """panel_cells' overhang and below for the text around these panels."""
        room = self.room
        return ((room["right"] + 3) / room["column_gap"],
                (room["bottom"] + 2) / room["row_gap"])

    def panel_area(self):
        """The figure below the status strip, in pixels: where the panels' cells lie."""
        box = self.fig.bbox
        return Bbox.from_extents(box.x0, box.y0, box.x1, self.strip_area().y0)

    def strip_area(self):
        """The strip at the top of the figure (status, keys), in pixels."""
        box = self.fig.bbox
        return Bbox.from_extents(box.x0, box.y1 - self.room["strip"] * self.fig.dpi / 72,
                                 box.x1, box.y1)
