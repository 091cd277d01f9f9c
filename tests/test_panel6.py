"""Panel 6 reads true for any number of test digits (issue 36).

Panel 6 shows the test digits misrecognised first, on red, beside a percent scale.
Where the red block ends (a part-red last line counting by its share), the scale must
say the test accuracy of the same run, for any number N of test digits measured: a
stage run on IDX files holding N test images, and KerasDashboard on N test images
(or test_count of them). Each reading is taken from what was drawn, as a person would
read it: the scale from the drawn tick labels (their text and where they sit), the red
block from the picture's pixels; and compared with the accuracy the run printed, or
that model.evaluate measures.
"""

import base64
import io
import re
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from helpers import REPO, run_script, write_mnist_dir
from trainer import TEST_LINE
from dashboard.mosaics import panel6_grid

COUNTS = (10000, 2000, 500, 37)
INNER = (0.12, 0.88)                  # the part of a tile read, as shares of its side
SVG = "{http://www.w3.org/2000/svg}"


# ------------------------------------------------------------------ reading panel 6

def scale_reader(positions, labels):
    """The drawn scale as a function: position -> percent, from the tick labels' text
    ("98%") and positions. The labels must lie on one straight line."""
    values = np.array([float(label.rstrip("%")) for label in labels])
    positions = np.asarray(positions, dtype=np.float64)
    assert len(values) >= 2, labels
    slope, offset = np.polyfit(positions, values, 1)
    assert np.allclose(slope * positions + offset, values, atol=1e-6), (positions, labels)
    return lambda position: slope * position + offset


def tiles_seen(count, tile_pixels):
    """(red tiles, tiles with a digit) of panel 6's grid for `count` test digits;
    tile_pixels(line, column, tile side) -> the RGB pixels (0-1, [K, 3]) of a tile's
    inner part (INNER: off its neighbours, which the drawing may blend in)."""
    lines, columns, tile = panel6_grid(count)
    red = digits = 0
    for line in range(lines):
        for column in range(columns):
            pixels = tile_pixels(line, column, tile)
            reddish = pixels[:, 0] - pixels[:, 1] > 0.3   # red paper; white and ink: r = g
            red += reddish.mean() > 0.15          # much of a red tile is paper, not ink
            digits += pixels.min(axis=1).mean() < 0.97    # a blank tile is white throughout
    return red, digits


def inner_part(picture, line, column, side):
    """The inner part of a tile of `side` pixels of a picture [H, W, 3]: [K, 3]."""
    rows = slice(round((line + INNER[0]) * side), round((line + INNER[1]) * side))
    cols = slice(round((column + INNER[0]) * side), round((column + INNER[1]) * side))
    return picture[rows, cols].reshape(-1, 3)


def red_block_end(count, red, top, bottom):
    """Where the red block ends, between the picture's top and bottom (in any units):
    its full lines and its last line's share."""
    lines, columns, tile = panel6_grid(count)
    full_height = 25 * 28                        # the mosaic's pixels, whatever its grid
    return top + (bottom - top) * (red / columns) * tile / full_height


def check_reading(reading, accuracy, count, red, digits, tolerance):
    """The reading agrees with the accuracy to `tolerance` percent, and the red block is
    the misrecognised digits shown: all of them, for a meaningful reading."""
    assert digits == min(count, 1000)
    wrong = round((1 - accuracy) * count)
    assert red == wrong < digits, (red, wrong, digits)
    assert abs(reading - 100 * accuracy) <= tolerance, (reading, 100 * accuracy, count)


# ------------------------------------------------------------------------ a stage

def svg_panel6(path):
    """Panel 6 as an SVG file draws it: (picture RGB [H, W, 3] in 0-1 as shown, its top
    and bottom y, [(tick label, y)]). matplotlib writes each axes as a group
    axes_1..axes_6 in panel order, each tick label's text as a comment beside it, and
    the picture as an embedded PNG."""
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    root = ET.parse(path, parser).getroot()
    panel = next(g for g in root.iter(SVG + "g") if g.get("id") == "axes_6")
    image = next(panel.iter(SVG + "image"))
    href = image.get("{http://www.w3.org/1999/xlink}href") or image.get("href")
    picture = np.asarray(Image.open(io.BytesIO(base64.b64decode(
        href.split(",", 1)[1]))).convert("RGB"), np.float64) / 255
    y, height = float(image.get("y")), float(image.get("height"))
    top, bottom = y, y + height
    transform = image.get("transform", "")
    flip = re.fullmatch(r"scale\(1 -1\) translate\(0 (-?[\d.]+)\)", transform)
    if flip:                 # y -> -(y + shift): drawn upside down, the PNG is stored so
        shift = float(flip.group(1))
        top, bottom = -(bottom + shift), -(top + shift)
    else:
        assert transform == "", transform
    ticks = []
    for tick in panel.iter(SVG + "g"):
        if (tick.get("id") or "").startswith("ytick_"):
            mark = next(use for use in tick.iter(SVG + "use") if use.get("y") is not None)
            label = next(node.text.strip() for node in tick.iter()
                         if node.tag is ET.Comment)
            ticks.append((label, float(mark.get("y"))))
    return picture, top, bottom, ticks


@pytest.fixture(scope="module")
def training_digits(full_mnist):
    return full_mnist[0][:20000], full_mnist[1][:20000]


@pytest.mark.parametrize("count", COUNTS)
def test_a_stage_panel_6_reads_its_accuracy_for_any_test_set(count, full_mnist,
                                                             training_digits, tmp_path):
    """Stage 1.0 on IDX files holding `count` test images, headless, --save-image as SVG
    (the drawn tick labels keep their text there)."""
    images, labels = training_digits
    data = write_mnist_dir(tmp_path / "data", images, labels, full_mnist[2][:count],
                           full_mnist[3][:count])
    picture_path = tmp_path / "dashboard.svg"
    run = run_script("mnist_1.0_softmax.py", "--headless", "--data-dir", str(data),
                     "--iterations", "1000", "--save-image", str(picture_path),
                     cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    accuracy = float(list(TEST_LINE.finditer(run.stdout))[-1]["accuracy"])  # its last test
    picture, top, bottom, ticks = svg_panel6(picture_path)
    assert picture.shape[0] / picture.shape[1] == pytest.approx(25 / 40, abs=0.01)
    side = picture.shape[0] / (25 * 28)               # picture pixels per mosaic pixel

    red, digits = tiles_seen(count, lambda line, column, tile: inner_part(
        picture, line, column, tile * side))
    read = scale_reader([y for _, y in ticks], [label for label, _ in ticks])
    reading = read(red_block_end(count, red, top, bottom))
    # The accuracy is printed with 4 decimals; matplotlib puts the picture on whole pixels
    # of the figure (0.72 SVG units at 100 dpi), the tick labels anywhere.
    per_unit = abs(read(1.0) - read(0.0))
    check_reading(reading, accuracy, count, red, digits, tolerance=0.005 + 0.72 * per_unit)


# ------------------------------------------------------------------ KerasDashboard

@pytest.fixture(scope="module")
def keras_model(full_mnist, training_digits):
    """A small model of the user's own (uint8 images, class ids, softmax), trained."""
    sys.path.insert(0, str(REPO))
    import trainer
    trainer.load_tensorflow()
    import keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Flatten(),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    images, labels = training_digits
    model.fit(images, labels, epochs=2, batch_size=100, verbose=0)
    return model


@pytest.mark.parametrize("given, test_count", [(10000, None), (2000, None), (10000, 500),
                                               (37, None)])
def test_keras_dashboard_panel_6_reads_the_accuracy_for_any_test_set(
        given, test_count, keras_model, full_mnist, training_digits, tmp_path):
    """A real fit with KerasDashboard on `given` test images (test_count of them measured,
    if given); the reading against model.evaluate on the same images."""
    from tensorflowvisu import KerasDashboard
    images, labels = training_digits
    test_images, test_labels = full_mnist[2][:given], full_mnist[3][:given]
    dashboard = KerasDashboard(test_images, test_labels, headless=True, test_count=test_count,
                               training_images=images, training_labels=labels,
                               save_image=tmp_path / "dashboard.png")  # else no pictures
    keras_model.fit(images, labels, epochs=1, steps_per_epoch=3, batch_size=100, verbose=0,
                    callbacks=[dashboard])
    count = test_count or given
    _, accuracy = keras_model.evaluate(test_images[:count], test_labels[:count], verbose=0,
                                       batch_size=count)
    vis = dashboard.datavis
    for key in ("0", "6"):                       # six panels (halved), panel 6 alone
        vis.show_panels(key)
        vis.redraw()
        ax = vis.axes[6]
        image = ax.images[0]
        left, right, bottom, top = image.get_extent()

        # From the artists: the picture they hold, the tick labels they were given.
        held = np.asarray(image.get_array(), np.float64)
        side = held.shape[0] / (bottom - top)

        red, digits = tiles_seen(count, lambda line, column, tile: inner_part(
            held, line, column, tile * side))
        read = scale_reader(ax.get_yticks(), [t.get_text() for t in ax.get_yticklabels()])
        check_reading(read(red_block_end(count, red, top, bottom)), accuracy, count, red,
                      digits, tolerance=1e-4)

        # From the pixels painted: tiles and tick labels where the canvas shows them.
        canvas = np.asarray(vis.fig.canvas.buffer_rgba(), np.float64)[..., :3] / 255
        to_pixels = ax.transData.transform

        def painted(line, column, tile):
            (x0, y0), (x1, y1) = to_pixels([(left + (column + INNER[0]) * tile,
                                              top + (line + INNER[0]) * tile),
                                             (left + (column + INNER[1]) * tile,
                                              top + (line + INNER[1]) * tile)])
            rows = slice(round(canvas.shape[0] - y0), round(canvas.shape[0] - y1))
            return canvas[rows, round(x0):round(x1)].reshape(-1, 3)

        painted_red, painted_digits = tiles_seen(count, painted)
        assert (painted_red, painted_digits) == (red, digits), key
        renderer = vis.fig.canvas.get_renderer()
        labels = [t for t in ax.get_yticklabels() if t.get_visible() and t.get_text()]
        read = scale_reader([t.get_window_extent(renderer).y0
                             + t.get_window_extent(renderer).height / 2 for t in labels],
                            [t.get_text() for t in labels])
        end = to_pixels([(0, red_block_end(count, painted_red, top, bottom))])[0][1]
        # Labels sit on their ticks to a pixel or so (text is placed on whole pixels).
        per_pixel = abs(read(1.0) - read(0.0))
        check_reading(read(end), accuracy, count, painted_red, painted_digits,
                      tolerance=2 * per_pixel)
