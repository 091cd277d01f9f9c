"""
Painting the panels: the whole figure, or only the moving parts over a kept background
======================================================================================

Painting the axes, ticks and text is slow (a quarter of a second for the whole figure
on 2 cores); painting the curves, bands and digits alone is quick. So the slow part is
painted once and kept as each panel's background, and a redraw puts back the
background of the panels with news and paints only their moving parts over it
(blitting, 10-30 ms). The picture of each layout is kept too, so that a layout key
back to it costs about a data redraw. When to paint is pacing.py's question.
"""

import io

import numpy as np
import matplotlib
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox

STRIP_MARGIN_PX = 10               # sent to the screen around the new end of a curve: its
                                   # line width, joins and antialiasing


def panel_cells(boxes, figure_box, overhang=0.3, below=0.5):
    """Cut the figure into one cell per panel, without overlaps, each holding its axes,
    its title above and its ticks on the left and below: {panel: Bbox} in pixels.

    boxes: {panel: its axes' Bbox}. Between two columns, the boundary lies just right of
    the left panel's frame (`overhang` of the gap: room for its last x tick label), so
    the right panel's y tick labels are in its own cell; between two rows, `below` of
    the gap down from the upper panel's frame (room for its x tick labels and x label).
    """
    cells = {}
    for panel, box in boxes.items():
        left, right = figure_box.x0, figure_box.x1
        bottom, top = figure_box.y0, figure_box.y1
        for other in boxes.values():
            side_by_side = other.y0 < box.y1 and box.y0 < other.y1
            above_below = other.x0 < box.x1 and box.x0 < other.x1
            if side_by_side and other.x1 <= box.x0:
                left = max(left, other.x1 + overhang * (box.x0 - other.x1))
            if side_by_side and other.x0 >= box.x1:
                right = min(right, box.x1 + overhang * (other.x0 - box.x1))
            if above_below and other.y0 >= box.y1:
                top = min(top, other.y0 - below * (other.y0 - box.y1))
            if above_below and other.y1 <= box.y0:
                bottom = max(bottom, box.y0 - below * (box.y0 - other.y1))
        cells[panel] = Bbox.from_extents(left, bottom, right, top)
    return cells


class Painter:
    """Paints the figure on its canvas, in four ways, from slow to quick:

    - in full: every panel, axes, ticks and text (a quarter of a second or more). Any
      full draw of the canvas, ours or the window's own (a resize, a zoom), is kept as
      each panel's background: its picture without the moving artists; and the whole
      picture is kept for its layout (which panels are shown), so that a layout key that
      comes back to it puts it back instead of painting it again.
    - one panel in full, after its range changed: the panel with its ticks and title,
      over a blank patch of its own place, and kept as its new background.
    - a layout seen before: its kept picture put back, the moving artists over it.
    - quickly (blitting): a panel's background put back and its moving artists
      painted over it. The strip above the panels (status, keys) is painted alone too.
    """

    def __init__(self, panels):
        self.panels = panels
        self.fig = panels.fig
        self.canvas = panels.fig.canvas
        self.backgrounds = None           # panel -> its picture without the moving artists
        self.cells = {}                   # panel -> its share of the figure (see panel_cells)
        self.painted_ends = {}            # panel -> curve_ends() as on screen
        self.layouts = {}                 # shown panels -> (whole picture, backgrounds, cells)
        self._drawing = False             # True while our own full draw runs
        self.canvas.mpl_connect("draw_event", self._on_draw)

    def can_blit(self):
        return bool(getattr(self.canvas, "supports_blit", False))

    def invalidate(self):
        """The layout changed: the next paint must be a full one (or a kept layout)."""
        self.backgrounds = None

    def forget_layouts(self):
        self.layouts.clear()

    def mark_stale(self, panels):
        """These panels' ranges changed: where the kept layouts show them, they show the
        old ranges, to be painted again over the kept picture (or, for a layout with more
        than two such panels, in full)."""
        for shown, (_, _, _, stale) in list(self.layouts.items()):
            stale.update(set(panels) & set(shown))
            if len(stale) > 2:
                del self.layouts[shown]

    def paint(self, panels, rescaled=()):
        """Paint the changes of `panels`, whose y range changed for those in `rescaled`.
        Returns True if it painted the whole figure."""
        self.mark_stale(rescaled)
        if self.backgrounds is None or not self.can_blit() or not all(
                self._paint_panel_in_full(panel) for panel in sorted(rescaled)):
            self._drawing = True
            try:
                self.canvas.draw()       # its draw_event keeps the new backgrounds
            finally:
                self._drawing = False
            return True
        for panel in sorted(set(panels) - set(rescaled)):
            if panel in self.backgrounds:
                self.canvas.restore_region(self.backgrounds[panel])
                self._draw_moving(panel)
                self.canvas.blit(self._changed_part(panel))
        return False

    def _changed_part(self, panel):
        """The part of a panel that a quick paint changed: for curves and bands, which
        only grow to the right, a strip from the next-to-last point of each as painted
        before (adding a point turns the old end into a join, which redraws the segment
        before it) to the newest point now: a few pixels, much less to send to the
        screen than the panel. For the digits, all of it."""
        box = self._moving_area(panel)
        ends = self.panels.curve_ends(panel)
        before, self.painted_ends[panel] = self.painted_ends.get(panel), ends
        if panel in (3, 6) or not ends or not before or len(before) != len(ends):
            return box
        to_pixels = self.panels.axes[panel].transData
        left = to_pixels.transform((min(start for start, _ in before), 0))[0] - STRIP_MARGIN_PX
        right = to_pixels.transform((max(end for _, end in ends), 0))[0] + STRIP_MARGIN_PX
        return Bbox.from_extents(max(box.x0, left), box.y0, min(box.x1, right), box.y1)

    def _paint_panel_in_full(self, panel):
        """Repaint one panel with its ticks and title, over a blank of its cell."""
        if panel not in self.backgrounds:
            return True                   # hidden: the next layout key paints it
        self._repaint_background(panel)
        self._draw_moving(panel)
        self.painted_ends[panel] = self.panels.curve_ends(panel)
        self.canvas.blit(self.cells[panel])
        return True

    def _repaint_background(self, panel):
        """Paint one panel without its moving artists over a blank of its cell, and keep
        that as its background."""
        renderer = self.canvas.get_renderer()
        cell = self.cells[panel]
        blank = Rectangle((cell.x0, cell.y0), cell.width, cell.height, transform=None,
                          facecolor=self.fig.get_facecolor(), edgecolor="none")
        blank.set_figure(self.fig)
        blank.draw(renderer)
        self.panels.axes[panel].draw(renderer)   # without its moving artists ("animated")
        self.backgrounds[panel] = self.canvas.copy_from_bbox(self._moving_area(panel))

    def _on_draw(self, event):
        """After every full draw: keep it as the backgrounds and as its layout's picture,
        then paint the moving parts."""
        # Saving (fig.canvas: while saving .svg or .pdf, that format's own canvas) paints
        # a file, not the screen.
        if self.fig.canvas.is_saving() or not self.can_blit():
            return
        if not self._drawing:             # the window's own: a resize, a zoom, a drag...
            self.forget_layouts()         # ... may have changed what the others show
        visible = self.panels.visible()
        self.backgrounds = {panel: self.canvas.copy_from_bbox(self._moving_area(panel))
                            for panel in visible}
        self.cells = panel_cells({panel: self.panels.axes[panel].bbox for panel in visible},
                                 self.panels.placement.panel_area(),
                                 *self.panels.placement.cell_split())
        self.layouts[visible] = (self.canvas.copy_from_bbox(self.fig.bbox),
                                 dict(self.backgrounds), dict(self.cells), set())
        for panel in visible:
            self._draw_moving(panel)
        self.painted_ends = {panel: self.panels.curve_ends(panel) for panel in (1, 2, 4, 5)}

    def paint_kept_layout(self):
        """Paint the layout now shown from its kept picture, if there is one (a layout
        key back to a layout seen before): a tenth of a full paint. True if it could."""
        visible = self.panels.visible()
        kept = self.layouts.get(visible)
        if kept is None or not self.can_blit():
            return False
        picture, backgrounds, cells, stale = kept
        self.backgrounds, self.cells = dict(backgrounds), dict(cells)
        self.canvas.restore_region(picture)
        for panel in visible:
            self.panels.axes[panel].apply_aspect()   # as a draw does: the digits' boxes
        for panel in sorted(stale):
            self._repaint_background(panel)
        for panel in visible:
            self._draw_moving(panel)
        self.painted_ends = {panel: self.panels.curve_ends(panel) for panel in (1, 2, 4, 5)}
        self._paint_strip_over()
        self.canvas.blit(self.fig.bbox)
        return True

    def paint_strip(self):
        """Repaint the strip above the panels (status and keys) alone."""
        self.canvas.blit(self._paint_strip_over())

    def _paint_strip_over(self):
        renderer = self.canvas.get_renderer()
        strip = self.panels.placement.strip_area()
        blank = Rectangle((strip.x0, strip.y0), strip.width, strip.height, transform=None,
                          facecolor=self.fig.get_facecolor(), edgecolor="none")
        blank.set_figure(self.fig)
        blank.draw(renderer)
        for text in (self.panels.strip.status_text, self.panels.strip.keys_text):
            if text.get_visible():
                text.draw(renderer)
        return strip

    def _moving_area(self, panel):
        """Where a panel's moving artists may paint: its axes, and the pixels its edges
        cross (which its lines, clipped at the edge, paint in part)."""
        return self.panels.axes[panel].bbox.padded(1)

    def _draw_moving(self, panel):
        # Unsimplified paths: matplotlib simplifies long lines by merging nearly straight
        # runs of points, and a new point can change how far back a run goes; quick
        # paints rely on a curve's pixels changing only near its new end.
        with matplotlib.rc_context({"path.simplify": False}):
            for artist in self.panels.animated[panel]:
                self.panels.axes[panel].draw_artist(artist)

    def rgba(self):
        """The picture on the canvas now, as an RGBA array [H, W, 4] (a copy)."""
        buffer = getattr(self.canvas, "buffer_rgba", None)
        if buffer is not None:
            return np.array(buffer())
        data = io.BytesIO()
        self.panels.fig.savefig(data, format="rgba")
        width, height = self.canvas.get_width_height(physical=True)
        return np.frombuffer(data.getvalue(), np.uint8).reshape(height, width, 4)
