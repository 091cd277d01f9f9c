"""
Recognise your own handwritten digits with a model trained by one of the stages.

Train a stage and save its model, then photograph or scan a digit (or draw one in
any paint program) and ask the network what it sees:

    python3 mnist_3.1_convolutional_bigger_dropout.py --save-model models/3.1
    python3 predict.py --model models/3.1 my_digit.png other_digit.jpg

prints one line per image, the most likely digit first:

    my_digit.png: 7 (0.981)  also: 1 (0.012), 9 (0.004)

The network only ever saw MNIST digits, so each image is first prepared the way
MNIST digits were (see prepare_digit). Add --save-prepared DIR to write the
prepared 28x28 images as PNG files and see exactly what the network sees.

Tips: write with a thick pen or a marker (MNIST strokes are 2 to 3 pixels wide in
a 20 pixel digit; a thin line nearly vanishes when shrunk), light the paper evenly,
and crop close around the digit (a dark speck away from it widens its box).
"""

import argparse
import os
import sys

import numpy as np
from PIL import Image, ImageOps

# Grey levels, as a fraction of the way from the paper (0) to the darkest ink (1):
INK_LEVEL = 0.5  # clear ink: only this counts for the bounding box
NOISE_LEVEL = 0.25  # paper, not ink (uneven lighting, grain, JPEG noise): set to 0
MIN_INK_CONTRAST = 0.25  # nothing this far from the paper (0 white, 1 black): a blank page
DIGIT_BOX = 20  # MNIST digits fit in a 20x20 box ...
FIELD = 28  # ... placed in a 28x28 field with their centre of mass at the centre


class NoInkError(ValueError):
    """The image has no ink that stands out from the paper."""


# ---------------------------------------------------------------------------
# Preparing a digit the MNIST way


def greyscale(image):
    """A PIL image or a numpy array -> 2-D float32 array of grey levels in [0, 1]."""
    if isinstance(image, Image.Image):
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            # transparent pixels are paper: lay the drawing on white paper
            white = Image.new("RGBA", image.size, "white")
            image = Image.alpha_composite(white, image.convert("RGBA"))
        return np.asarray(image.convert("L"), np.float32) / 255
    array = np.asarray(image)
    scale = 255 if np.issubdtype(array.dtype, np.integer) else 1
    array = array.astype(np.float32) / scale
    if array.ndim == 3:  # [H, W, 1] or colour [H, W, 3 or 4]
        array = array[..., :3].mean(axis=-1)
    return array


def prepare_digit(image):
    """Prepare one handwritten digit as MNIST digits were prepared.

    image: a PIL image, or a numpy array of grey levels (uint8 0-255 or float 0-1),
    dark ink on light paper or the reverse, any size.
    Returns float32 [28, 28, 1] in [0, 1], light ink (1.0) on black (0.0) like MNIST.
    Raises NoInkError if there is no ink (a blank page).
    """
    grey = greyscale(image)

    # 1. Ink light on dark, as in MNIST. Paper is most of the page, so the median
    #    pixel is paper: if the paper is light, invert.
    paper = np.median(grey)
    if paper > 0.5:
        grey, paper = 1 - grey, 1 - paper

    # 2. Paper to 0, darkest ink to 1.
    contrast = grey.max() - paper
    if contrast < MIN_INK_CONTRAST:
        raise NoInkError("no ink found: the image looks like a blank page")
    ink = np.clip((grey - paper) / contrast, 0, 1)

    # 3. Crop to the bounding box of the ink. Only clear ink (INK_LEVEL) counts here,
    #    so that a shadow or grain far from the digit does not widen the box. Then what
    #    is within NOISE_LEVEL of the paper is set to 0, smoothly so that the soft
    #    edges of the strokes stay soft.
    rows = np.flatnonzero((ink >= INK_LEVEL).any(axis=1))
    cols = np.flatnonzero((ink >= INK_LEVEL).any(axis=0))
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    ink = np.clip((ink - NOISE_LEVEL) / (1 - NOISE_LEVEL), 0, 1)

    # 4. Scale so the longer side is 20 pixels, keeping the aspect ratio. Pillow's
    #    bilinear filter averages over every source pixel when it shrinks
    #    (antialiasing) and never overshoots, so values stay in [0, 1].
    height, width = ink.shape
    scale = DIGIT_BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = Image.fromarray(ink).resize(size, Image.Resampling.BILINEAR)
    small = np.asarray(small)
    small = small / small.max()  # the darkest ink is full white, as in MNIST

    # 5. Place it in the 28x28 field so that its centre of mass lands on the
    #    centre pixel (14, 14), by a whole-pixel shift (no blurring): MNIST's own
    #    digits have their centre of mass there, to within half a pixel.
    #    A very lopsided digit is stopped at the border rather than cut off.
    height, width = small.shape
    total = small.sum()
    centre_row = (small.sum(axis=1) * np.arange(height)).sum() / total
    centre_col = (small.sum(axis=0) * np.arange(width)).sum() / total
    top = int(np.clip(round(FIELD / 2 - centre_row), 0, FIELD - height))
    left = int(np.clip(round(FIELD / 2 - centre_col), 0, FIELD - width))
    field = np.zeros((FIELD, FIELD), np.float32)
    field[top : top + height, left : left + width] = small
    return field[:, :, np.newaxis]


def load_image(path):
    """Open an image file; a phone photo is turned upright from its EXIF tag."""
    with Image.open(path) as image:
        image.load()
        return ImageOps.exif_transpose(image)


# ---------------------------------------------------------------------------
# The trained model


def find_saved_model(model_dir):
    """The SavedModel in model_dir (as --save-model writes it) or model_dir itself, else None."""
    for candidate in (os.path.join(model_dir, "saved_model"), model_dir):
        if os.path.isfile(os.path.join(candidate, "saved_model.pb")):
            return candidate
    return None


def load_model(model_dir):
    """Return a function: images float32 [N, 28, 28, 1] -> probabilities [N, 10]."""
    how_to = (
        "Train a stage and save its model first, e.g.\n"
        "    python3 mnist_3.1_convolutional_bigger_dropout.py --save-model models/3.1\n"
        "then: python3 predict.py --model models/3.1 IMAGE..."
    )
    path = find_saved_model(model_dir)
    if path is None:
        sys.exit(f"error: no saved model in {model_dir}\n{how_to}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's start-up notices
    import tensorflow as tf  # imported only now: it takes seconds, and preparing does not need it

    try:
        serve = tf.saved_model.load(path).signatures["serving_default"]
    except Exception as error:  # a damaged or foreign SavedModel: say so, not a traceback
        sys.exit(f"error: cannot load the model in {path} "
                 f"({type(error).__name__}: {error})\n{how_to}")
    return lambda images: serve(images=tf.constant(images, tf.float32))["probabilities"].numpy()


# ---------------------------------------------------------------------------
# Command line


def describe(probabilities, runners_up=2):
    """'7 (0.981)  also: 1 (0.012), 9 (0.004)': the best digit, then the next ones that show."""
    ranked = np.argsort(probabilities)[::-1]
    text = f"{ranked[0]} ({probabilities[ranked[0]]:.3f})"
    also = [f"{d} ({probabilities[d]:.3f})"
            for d in ranked[1 : 1 + runners_up] if probabilities[d] >= 0.0005]
    return text + ("  also: " + ", ".join(also) if also else "")


def what_went_wrong(error):
    """One line for a file that could not be used."""
    if isinstance(error, FileNotFoundError):
        return "file not found"
    if isinstance(error, IsADirectoryError):
        return "is a directory, not an image"
    if isinstance(error, Image.UnidentifiedImageError):
        return "not an image that Pillow can read (use PNG or JPEG)"
    if isinstance(error, NoInkError):
        return str(error)
    return f"cannot read the image ({error})"


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Recognise handwritten digits (PNG or JPEG images) "
        "with a model saved by a stage's --save-model.",
        epilog="example: python3 predict.py --model models/3.1 digit7.png",
    )
    parser.add_argument("--model", required=True, metavar="DIR",
                        help="directory written by a stage's --save-model DIR "
                        "(or the SavedModel directory inside it)")
    parser.add_argument("--save-prepared", metavar="DIR",
                        help="also write each prepared 28x28 image to DIR/<name>_prepared.png, "
                        "to see what the network sees")
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="image files, one digit each: dark ink on light paper "
                        "or the reverse, any size")
    args = parser.parse_args(argv)

    predict = load_model(args.model)
    if args.save_prepared:
        os.makedirs(args.save_prepared, exist_ok=True)

    failed = 0
    for path in args.images:
        try:
            digit = prepare_digit(load_image(path))
        except (OSError, Image.DecompressionBombError, NoInkError) as error:
            print(f"{path}: error: {what_went_wrong(error)}", file=sys.stderr, flush=True)
            failed += 1
            continue
        probabilities = predict(digit[np.newaxis])[0]
        print(f"{path}: {describe(probabilities)}", flush=True)
        if args.save_prepared:
            name = os.path.splitext(os.path.basename(path))[0] + "_prepared.png"
            pixels = np.uint8(np.round(digit[:, :, 0] * 255))
            Image.fromarray(pixels).save(os.path.join(args.save_prepared, name))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
