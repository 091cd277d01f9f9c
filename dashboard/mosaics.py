"""
Digit mosaics for panels 3 and 6: plain numpy, usable without a dashboard
=========================================================================

A mosaic is an RGB picture of digits in a grid, misrecognised ones first on red, with
the correct digit drawn small at the top left and the predicted one at the bottom
right (a 3 x 5 pixel font of our own, so that no installed font is needed).
Panel 3 shows the training batch (10 x 10). Panel 6 shows the test digits sorted
misrecognised first, so that the red block's height reads as the test error rate on
its percent scale: of MNIST's 10,000 test digits, the first 1,000 (25 lines of 40),
the top 10 % of the test set, on a scale from 100 % down to 90 %. Another number N of
test digits changes the scale, never the picture's size. Above 1,000, the first 1,000
are shown and the scale runs from 100 % down to 100 - 100,000/N % (50 % for 2,000,
99 % for 100,000). 1,000 or fewer are all shown, in bigger tiles (panel6_grid),
and the scale runs from 100 % at the top to 0 % at the height the N digits fill, a
last line that is part full counting by its share (37 digits in lines of 8 fill 4 5/8
lines); below it the picture stays blank. Where the red block ends, read the same way
(its part-red last line by its share), the scale says the test accuracy, for any N.
"""

import math

import numpy as np

TILE = 28                          # MNIST images are 28 x 28
RED = (0.9, 0.2, 0.2)              # background of a misrecognised digit
WHITE = (1.0, 1.0, 1.0)            # background of a recognised digit
INK = (0.0, 0.0, 0.0)
LABEL_COLOUR = (1.0, 1.0, 1.0)     # the small digits drawn on a misrecognised one
EDGE = (0.55, 0.08, 0.08)          # a misrecognised digit's top and left edge: its cell

# A 3 x 5 pixel font for the digits 0-9, so that labels do not depend on installed fonts.
_FONT_3X5 = ("111 101 101 101 111", "010 110 010 010 111", "111 001 111 100 111",
             "111 001 111 001 111", "101 101 111 001 001", "111 100 111 001 111",
             "111 100 111 101 111", "111 001 001 010 010", "111 101 111 101 111",
             "111 101 111 001 111")
GLYPH_SCALE = 2                    # each font pixel is 2 x 2 image pixels: 6 x 10 glyphs
GLYPHS = np.array([[[c == "1" for c in row] for row in digit.split()] for digit in _FONT_3X5])
GLYPHS = GLYPHS.repeat(GLYPH_SCALE, axis=1).repeat(GLYPH_SCALE, axis=2)   # [10, 10, 6] bool
GLYPHS.flags.writeable = False
# Where the labels go: the correct digit top left, the predicted one bottom right, so
# that side by side, one tile's predicted label and the next one's correct label are not
# on the same line, where "2 1" and "2 0" would read "21 20".
GLYPH_TOP, GLYPH_LEFT = 1, 1
GLYPH_BOTTOM, GLYPH_RIGHT = TILE - 1 - GLYPHS.shape[1], TILE - 1 - GLYPHS.shape[2]

# Panel 6 shows at most the first 1000 test images sorted misrecognised first: of
# MNIST's 10,000, the top 10 % of the test set, so its y-axis runs from 100 % down to 90 %.
TEST_MOSAIC_LINES, TEST_MOSAIC_COUNT = 25, 1000   # 25 lines of 40 digits
TEST_MOSAIC_SIZE = (TEST_MOSAIC_LINES * TILE, TEST_MOSAIC_COUNT // TEST_MOSAIC_LINES * TILE)
MNIST_TEST_COUNT = 10000           # MNIST's test set: panel 6's scale unless told another
TRAIN_MOSAIC_LINES = 10                           # the batch of 100: 10 lines of 10
TRAIN_MOSAIC_COUNT = TRAIN_MOSAIC_LINES ** 2      # bigger batches (5.0): their first 100


def mnist_mosaic(images, predicted_ids, correct_ids, lines=TRAIN_MOSAIC_LINES, n=None):
    """Digits in a grid, misrecognised ones first, as an RGB float image [H, W, 3] in [0, 1].

    images: [N, 28, 28, 1], [N, 28, 28] or [N, 784], ink = 1.0 on background = 0.0
    (uint8 0-255 is accepted too). predicted_ids and correct_ids: class ids [N], or
    one-hot labels / probabilities [N, 10] (their argmax is taken).
    The first n digits after sorting are shown (default: all N) in `lines` lines of
    ceil(n / lines) digits; missing ones are left blank. Misrecognised digits come first,
    on red, with the correct digit drawn small top left and the predicted one bottom
    right, and a dark edge on the top and the left; recognised ones follow on white.
    100 -> 10 x 10; n=1000, lines=25 -> 25 x 40.
    """
    images = np.asarray(images)
    predicted, correct = _class_ids(predicted_ids), _class_ids(correct_ids)
    if not len(images) == len(predicted) == len(correct):
        raise ValueError(f"mnist_mosaic: {len(images)} images, {len(predicted)} predictions "
                         f"and {len(correct)} labels; the three must match")
    n = len(images) if n is None else int(n)
    columns = max(1, math.ceil(n / lines))
    wrong = predicted != correct
    order = np.concatenate([np.flatnonzero(wrong), np.flatnonzero(~wrong)])[:n]
    tiles = _paint_tiles(_as_ink(images[order]), wrong[order])
    n_wrong = int(np.count_nonzero(wrong[order]))
    _draw_labels(tiles[:n_wrong], correct[order[:n_wrong]], predicted[order[:n_wrong]])
    tiles[:n_wrong, 0, :] = EDGE
    tiles[:n_wrong, :, 0] = EDGE
    blank = np.ones((lines * columns - len(tiles), TILE, TILE, 3), np.float32)
    tiles = np.concatenate([tiles, blank])
    grid = tiles.reshape(lines, columns, TILE, TILE, 3).transpose(0, 2, 1, 3, 4)
    return grid.reshape(lines * TILE, columns * TILE, 3)


def panel6_grid(count):
    """(lines, columns, tile) of panel 6's mosaic for `count` test digits, tile being the
    side of a digit's square in pixels: (25, 40, 28), the first 1,000, for 1,000 or more;
    for fewer, all of them, in the grid that gives them the biggest tiles that fit in
    the picture (37: 5 lines of 8 tiles of 140 pixels)."""
    if count >= TEST_MOSAIC_COUNT:
        return TEST_MOSAIC_LINES, TEST_MOSAIC_COUNT // TEST_MOSAIC_LINES, TILE
    height, width = TEST_MOSAIC_SIZE
    grids = []
    for lines in range(1, max(1, count) + 1):
        columns = math.ceil(max(1, count) / lines)
        grids.append((min(height // lines, width // columns), -lines, columns))
    tile, lines, columns = max(grids)          # the biggest tiles; then the fewest lines
    return -lines, columns, tile


def panel6_span(count):
    """How much of a test set of `count` digits, in percent, panel 6's full height stands
    for. 10 for MNIST's 10,000 (the scale runs from 100 % down to 90 %), 50 for 2,000; 100
    or more for 1,000 or fewer, whose 0 % lies at the height the digits fill."""
    _, columns, tile = panel6_grid(count)
    digits = TEST_MOSAIC_SIZE[0] / tile * columns     # the digits the height holds
    return 100.0 * digits / max(1, count)


def test_digits_mosaic(images, predicted_ids, correct_ids):
    """Panel 6's mosaic of a test set, misrecognised first: its first 1,000 digits, or
    all of them in bigger tiles when there are fewer (panel6_grid), from the top
    left. Always TEST_MOSAIC_SIZE (25 lines of 40 digits of 28 x 28 pixels)."""
    lines, columns, tile = panel6_grid(len(images))
    mosaic = mnist_mosaic(images, predicted_ids, correct_ids, lines=lines, n=lines * columns)
    if tile == TILE:
        return mosaic
    picture = np.ones(TEST_MOSAIC_SIZE + (3,), np.float32)
    rows, cols = np.arange(lines * tile) * TILE // tile, np.arange(columns * tile) * TILE // tile
    picture[:len(rows), :len(cols)] = mosaic[rows][:, cols]    # each pixel: its nearest
    return picture


def _as_ink(images):
    """Images as float32 [N, 28, 28] ink levels in [0, 1]."""
    images = np.asarray(images)
    ink = images.astype(np.float32).reshape(-1, TILE, TILE)
    if images.dtype == np.uint8:
        ink /= 255.0
    return np.clip(ink, 0.0, 1.0)


def _class_ids(ids):
    """Class ids [N] from ids [N] or from one-hot labels / probabilities [N, 10]."""
    ids = np.asarray(ids)
    return ids.argmax(axis=1) if ids.ndim == 2 else ids.astype(np.int64).ravel()


def _paint_tiles(ink, wrong):
    """Dark ink on red (misrecognised) or white (recognised): [N, 28, 28, 3].
    One colour channel at a time: numpy is slow on a last axis of length 3."""
    paper_left = 1.0 - ink                                   # [N, 28, 28]
    tiles = np.empty(ink.shape + (3,), np.float32)
    for channel, (red, white, dark) in enumerate(zip(RED, WHITE, INK)):
        paper = np.where(wrong, np.float32(red), np.float32(white))[:, None, None]
        tiles[..., channel] = np.float32(dark) + (paper - np.float32(dark)) * paper_left
    return tiles


def _draw_labels(tiles, correct, predicted):
    """Stamp the correct digit top left and the predicted one bottom right, in place."""
    height, width = GLYPHS.shape[1:]
    for top, left, ids in ((GLYPH_TOP, GLYPH_LEFT, correct),
                           (GLYPH_BOTTOM, GLYPH_RIGHT, predicted)):
        corner = tiles[:, top:top + height, left:left + width]   # a view: writes the tiles
        corner[GLYPHS[ids]] = LABEL_COLOUR
