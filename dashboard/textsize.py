"""The size of a text in points, as a figure at any size and resolution draws it."""

from matplotlib.backends.backend_agg import RendererAgg


def text_points(text, artist):
    """(width, height) in points of `text` in the font of the Text artist `artist`."""
    renderer = RendererAgg(8, 8, 72)               # 72 dpi: sizes in points
    width, height, _ = renderer.get_text_width_height_descent(
        text, artist.get_fontproperties(), ismath=False)
    return width, height
