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
prepared 28x28 images as PNG files and see exactly what the network sees:
DIR/<name>_prepared.png for IMAGE <name>.png (the folder is created if needed;
when two images share a name, the second one's is <name>-2_prepared.png, and so on).

Any PNG or JPEG: 8 or 16 bits per pixel (16-bit images are scaled, not clipped),
grey or colour, transparent parts taken as white paper. Large images are first
shrunk to 2000 pixels on their longer side (the digit ends up 20 pixels tall anyway);
images of more than 120 megapixels are refused with a message.

Exit code: 0 when every image was recognised; 1 when some could not be used (one
line on stderr each, the others are still recognised); 2, with one `error:` line,
when nothing could be done (no usable model, a bad --save-prepared).

Tips: write with a thick pen or a marker (MNIST strokes are 2 to 3 pixels wide in
a 20 pixel digit; a thin line nearly vanishes when shrunk), light the paper evenly,
and crop close around the digit (a dark speck away from it widens its box).
"""

import argparse
import os
import stat
import sys
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from codelab import hints
from codelab import runfolder
from codelab import safefiles

# Grey levels, as a fraction of the way from the paper (0) to the darkest ink (1):
INK_LEVEL = 0.5  # clear ink: only this counts for the bounding box
NOISE_LEVEL = 0.25  # paper, not ink (uneven lighting, grain, JPEG noise): set to 0
MIN_INK_CONTRAST = 0.25  # nothing this far from the paper (0 white, 1 black): a blank page
DIGIT_BOX = 20  # MNIST digits fit in a 20x20 box ...
FIELD = 28  # ... placed in a 28x28 field with their centre of mass at the centre

WORK_SIDE = 2000  # longer side, in pixels, images are shrunk to first: plenty for a 20-pixel
# digit, and it keeps the memory small (a 10000x10000 photo would take gigabytes as floats)
MAX_PIXELS = 120_000_000  # larger images are refused before decoding (a 108-megapixel photo passes)
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")  # how Pillow opens 16-bit grey images

HOW_TO_GET_A_MODEL = (
    "Train a stage and save its model first, e.g.\n"
    "    python3 mnist_3.1_convolutional_bigger_dropout.py --save-model models/3.1\n"
    "then: python3 predict.py --model models/3.1 IMAGE..."
)


class PredictError(Exception):
    """Nothing can be recognised (no usable model, a bad flag): main prints it, exit code 2."""


class ImageError(Exception):
    """One image cannot be used, for the reason in the message; the others still can."""


class NoInkError(ImageError):
    """The image has no ink that stands out from the paper."""


# ---------------------------------------------------------------------------
# Preparing a digit the MNIST way


def greyscale(image):
    """A PIL image or a numpy array -> 2-D float32 array of grey levels in [0, 1].

    16-bit images (PIL's I;16 modes, numpy uint16) are divided by 65535: PIL's own
    conversion to 8 bits would clip them at 255 and erase most of the digit.
    """
    if isinstance(image, Image.Image):
        if image.mode in SIXTEEN_BIT_MODES:
            return np.asarray(image, np.float32) / 65535
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            # transparent pixels are paper: lay the drawing on white paper
            white = Image.new("RGBA", image.size, "white")
            image = Image.alpha_composite(white, image.convert("RGBA"))
        return np.asarray(image.convert("L"), np.float32) / 255
    array = np.asarray(image)
    if array.dtype == np.uint16:
        scale = 65535
    else:
        scale = 255 if np.issubdtype(array.dtype, np.integer) else 1
    array = array.astype(np.float32) / scale
    if array.ndim == 3:  # [H, W, 1] or colour [H, W, 3 or 4]
        array = array[..., :3].mean(axis=-1)
    return array


def prepare_digit(image):
    """Prepare one handwritten digit as MNIST digits were prepared.

    image: a PIL image, or a numpy array of grey levels (uint8 0-255, uint16 0-65535,
    or float 0-1), dark ink on light paper or the reverse, any size.
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
    """Open an image file, at most WORK_SIDE pixels on its longer side; a phone photo
    is turned upright from its EXIF tag. Raises ImageError saying what is wrong."""
    kind = not_a_file(path)
    if kind:  # a named pipe would wait for a writer for ever: never opened
        raise ImageError(f"is {kind}, not an image file: skipped")
    try:
        with warnings.catch_warnings():
            # Pillow warns about images above its own limit (ours, below, says more) and
            # about damaged metadata (the line that an unreadable image gets says enough)
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ImageError(too_large(f"{width}x{height} pixels"))
                return ImageOps.exif_transpose(shrink(image))
    except ImageError:
        raise
    except Image.DecompressionBombError:  # beyond twice Pillow's limit: refused at open
        pillow_limit = 2 * Image.MAX_IMAGE_PIXELS // 1_000_000
        raise ImageError(too_large(f"over {pillow_limit} megapixels")) from None
    except FileNotFoundError:
        raise ImageError("file not found") from None
    except IsADirectoryError:
        raise ImageError("is a folder, not an image") from None
    except Image.UnidentifiedImageError:
        raise ImageError("not an image that Pillow can read (use PNG or JPEG)") from None
    except OSError as error:
        raise ImageError(f"cannot read the image ({error})") from None
    except Exception as error:  # a damaged file: Pillow's decoders raise ValueError,
        # SyntaxError ("broken PNG file"), struct.error, IndexError... by format
        raise ImageError(f"cannot read the image, damaged? ({type(error).__name__}: "
                         f"{error})") from None


def not_a_file(path):
    """'a named pipe', 'a device', 'a socket' for what is none of a file, a folder or
    missing; else None."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # opening it says what is wrong
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def too_large(size):
    return (f"the image is too large ({size}, more than the {MAX_PIXELS // 1_000_000} megapixels "
            "predict.py reads): scale it down or crop it around the digit; a few hundred pixels "
            "are plenty")


def shrink(image):
    """The decoded image, shrunk by averaging to at most WORK_SIDE pixels on its longer side."""
    width, height = image.size
    scale = WORK_SIDE / max(width, height)
    if scale >= 1:
        image.load()
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image.draft(image.mode, size)  # JPEG: decoded at 1/2 to 1/8 size straight away; others: no-op
    image.load()
    if image.mode in ("1", "P"):  # Pillow shrinks these by picking pixels, not averaging
        image = image.convert("RGBA" if "transparency" in image.info else "L")
    if max(image.size) > WORK_SIDE:
        image = image.resize(size, Image.Resampling.BOX)  # keeps the EXIF tag, for exif_transpose
    return image


# ---------------------------------------------------------------------------
# The trained model


def find_saved_model(model_dir):
    """The SavedModel in model_dir (as --save-model writes it, in this version's layout
    or the earlier flat one), or model_dir itself, else None."""
    found = runfolder.find_saved_model(model_dir)
    return str(found) if found is not None else None


def load_model(model_dir):
    """Return a function: images float32 [N, 28, 28, 1] -> probabilities [N, 10].

    Raises PredictError if model_dir holds no SavedModel, or one that --save-model did
    not write (ours maps `images` [N, 28, 28, 1] to `probabilities` [N, 10]).
    """
    path = find_saved_model(model_dir) if model_dir else None
    if path is None:
        shown = model_dir or '""'
        if model_dir and os.path.isfile(os.path.join(model_dir, runfolder.CHECKPOINTS,
                                                     "checkpoint")):
            stage = (runfolder.read_run_record(model_dir) or {}).get("stage", "STAGE.py")
            step = runfolder.latest_checkpoint_step(model_dir)
            # --iterations: the checkpoint's own step, or --restore trains further first
            raise PredictError(
                f"no saved model in {shown}, but the checkpoints of a run: it was stopped "
                f"before its trained network was saved. Save it from the latest checkpoint "
                f"(step {step}) with: python3 {hints.shell_path(stage)} --save-model "
                f"{hints.shell_path(model_dir)} --restore --iterations {step}")
        above = runfolder.saved_model_above(model_dir) if model_dir else None
        if above is not None:
            raise PredictError(f"no saved model in {shown}, but in the folder above it: "
                               f"--model {above}")
        raise PredictError(f"no saved model in {shown}\n{HOW_TO_GET_A_MODEL}")
    import trainer  # its TensorFlow options, start-up notices hidden
    try:
        trainer.import_tensorflow()  # only now: it takes seconds, and preparing does not need it
    except trainer.TrainingError as error:
        raise PredictError(str(error)) from None
    import tensorflow as tf

    try:
        signatures = tf.saved_model.load(path).signatures
    except Exception as error:  # a damaged SavedModel: TensorFlow raises many kinds
        raise PredictError(f"cannot load the model in {path} ({type(error).__name__}: {error})\n"
                           f"{HOW_TO_GET_A_MODEL}") from None
    serve = signatures.get("serving_default")
    inputs = serve.structured_input_signature[1] if serve is not None else {}  # {name: TensorSpec}
    outputs = serve.structured_outputs if serve is not None else {}
    if not (set(inputs) == {"images"} and inputs["images"].shape.is_compatible_with([None, 28, 28, 1])
            and "probabilities" in outputs
            and outputs["probabilities"].shape.is_compatible_with([None, 10])):
        found = ("no serving_default signature" if serve is None else
                 "inputs " + ", ".join(f"{name} {list(spec.shape)}" for name, spec in inputs.items()) +
                 "; outputs " + ", ".join(f"{name} {list(spec.shape)}" for name, spec in outputs.items()))
        raise PredictError(f"the SavedModel in {path} was not written by a stage's --save-model: "
                           "predict.py needs one that maps images [N, 28, 28, 1] to probabilities "
                           f"[N, 10], and this one has {found}.\n{HOW_TO_GET_A_MODEL}")
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


def prepared_names(paths):
    """The --save-prepared file name for each input, in order, never two alike:
    <name>_prepared.png, then <name>-2_prepared.png, ... for inputs that share a name
    (in different folders, or seven.png and seven.jpg)."""
    names, taken = [], set()
    for path in paths:
        stem = Path(path).stem
        name, count = f"{stem}_prepared.png", 1
        while name.lower() in taken:  # lower: on Windows and macOS, Seven and seven are one file
            count += 1
            name = f"{stem}-{count}_prepared.png"
        taken.add(name.lower())
        names.append(name)
    return names


def save_prepared(digit, path):
    """Write a prepared digit as an 8-bit PNG, light ink on black."""
    pixels = np.uint8(np.round(digit[:, :, 0] * 255))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with safefiles.atomic_write(path) as file:
            Image.fromarray(pixels).save(file, format="PNG")
    except OSError as error:
        raise PredictError(f"--save-prepared: cannot write {path} ({error.strerror or error})") from None


def recognise(model_dir, image_paths, prepared_dir=None):
    """Print a line for each image: its digit, or on stderr why it could not be used.

    Returns 0 if every image was recognised, else 1. Raises PredictError, or
    safefiles.PathError for a bad --save-prepared, before anything is printed (or
    later, if a prepared image cannot be written).
    """
    prepared_paths = [None] * len(image_paths)
    if prepared_dir is not None:
        prepared_dir = safefiles.check_writable(prepared_dir, "--save-prepared", folder=True)
        prepared_paths = [prepared_dir / name for name in prepared_names(image_paths)]
    predict = load_model(model_dir)
    failed = 0
    for path, prepared_path in zip(image_paths, prepared_paths):
        try:
            digit = prepare_digit(load_image(path))
        except ImageError as error:
            print(f"{path}: error: {error}", file=sys.stderr, flush=True)
            failed += 1
            continue
        probabilities = predict(digit[np.newaxis])[0]
        print(f"{path}: {describe(probabilities)}", flush=True)
        if prepared_path is not None:
            save_prepared(digit, prepared_path)
    return 1 if failed else 0


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
                        help="also write each prepared 28x28 image to DIR/<name>_prepared.png "
                        "(<name>-2_prepared.png ... when names repeat), to see what the network sees")
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="image files, one digit each: dark ink on light paper "
                        "or the reverse, any size")
    args = parser.parse_args(argv)
    # ~ is the home folder in every path, quoted or not, on every system
    args.model, *args.images = map(os.path.expanduser, [args.model, *args.images])
    if args.save_prepared:
        args.save_prepared = os.path.expanduser(args.save_prepared)
    for stream in (sys.stdout, sys.stderr):  # image names the terminal cannot show: escaped
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        return recognise(args.model, args.images, args.save_prepared)
    except (PredictError, safefiles.PathError) as error:  # the one place errors end the program
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
