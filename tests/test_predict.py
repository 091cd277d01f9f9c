"""Tests for predict.py: the MNIST-style preparation of a digit, the messages for
files it cannot use, and recognition end to end with a briefly trained model."""

import io
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import predict

from helpers import REPO, run_script

# Digit-like shapes as strokes in a unit box (x right, y down), drawn with a thick pen.
SHAPES = {
    "1": [[(0.35, 0.2), (0.55, 0.0), (0.55, 1.0)]],
    "2": [[(0.1, 0.25), (0.3, 0.05), (0.7, 0.05), (0.85, 0.3), (0.1, 1.0), (0.9, 1.0)]],
    "4": [[(0.7, 1.0), (0.7, 0.0), (0.05, 0.65), (0.95, 0.65)]],
    "7": [[(0.1, 0.05), (0.9, 0.05), (0.4, 1.0)]],
}


def draw_digit(shape, canvas=(200, 200), height=100, at=(50, 50), dark_on_light=True):
    """A greyscale PIL image of SHAPES[shape], `height` pixels tall, top left corner at `at`."""
    paper, ink = (255, 0) if dark_on_light else (0, 255)
    image = Image.new("L", canvas, paper)
    pen = ImageDraw.Draw(image)
    for stroke in SHAPES[shape]:
        points = [(at[0] + x * 0.75 * height, at[1] + y * height) for x, y in stroke]
        pen.line(points, fill=ink, width=round(0.14 * height), joint="curve")
    return image


def centre_of_mass(image):
    """Independent of predict.py: the mass-weighted mean of the pixel coordinates."""
    rows, cols = np.indices(image.shape)
    return np.average(rows, weights=image), np.average(cols, weights=image)


def distance_up_to_one_pixel_shift(a, b):
    """Mean absolute difference, after the best whole-pixel shift of at most one pixel.

    Centring moves a digit by whole pixels (as MNIST did), so two renderings of the
    same digit whose centres of mass sit near a half pixel may land one pixel apart.
    """
    return min(np.abs(np.roll(a, (dy, dx), axis=(0, 1)) - b).mean()
               for dy in (-1, 0, 1) for dx in (-1, 0, 1))


# ---------------------------------------------------------------------------
# Preparation


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_offset_scaled_and_inverted_digits_prepare_the_same(shape):
    reference = predict.prepare_digit(draw_digit(shape))[:, :, 0]
    offset = draw_digit(shape, canvas=(400, 300), at=(280, 170))
    large = draw_digit(shape, canvas=(1000, 900), height=600, at=(150, 200))
    inverted = draw_digit(shape, dark_on_light=False)
    # Moved and inverted: the very same pixels. Drawn larger: rasterised differently,
    # so close, not equal.
    np.testing.assert_array_equal(predict.prepare_digit(offset)[:, :, 0], reference)
    np.testing.assert_array_equal(predict.prepare_digit(inverted)[:, :, 0], reference)
    assert distance_up_to_one_pixel_shift(predict.prepare_digit(large)[:, :, 0], reference) < 0.01


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("height", [12, 60, 700])
def test_prepared_digit_fits_20x20_and_is_centred_by_mass(shape, height):
    image = draw_digit(shape, canvas=(3 * height, 2 * height), height=height,
                       at=(height // 3, height // 2))
    prepared = predict.prepare_digit(image)
    assert prepared.shape == (28, 28, 1) and prepared.dtype == np.float32
    assert prepared.min() >= 0 and prepared.max() == pytest.approx(1.0)
    digit = prepared[:, :, 0]
    rows = np.flatnonzero(digit.sum(axis=1) > 0)
    cols = np.flatnonzero(digit.sum(axis=0) > 0)
    box = (rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    assert max(box) == 20, box  # the longer side fills the 20x20 box, as in MNIST
    row, col = centre_of_mass(digit)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5, (row, col)


def test_uneven_paper_and_noise_are_cleaned_away():
    clean = predict.prepare_digit(draw_digit("4", canvas=(300, 240), height=150, at=(80, 40)))
    ink = np.asarray(draw_digit("4", canvas=(300, 240), height=150, at=(80, 40)), np.float32) / 255
    # a photo: paper lit from one side (grey 0.70 to 0.95), grain, ink not quite black
    grain = np.random.default_rng(0).normal(0, 0.02, (240, 300))
    paper = np.linspace(0.70, 0.95, 300)[np.newaxis, :] + grain
    photo = np.clip(np.where(ink < 0.5, 0.15, paper), 0, 1)
    prepared = predict.prepare_digit(photo)
    assert distance_up_to_one_pixel_shift(prepared[:, :, 0], clean[:, :, 0]) < 0.02


def test_mnist_digits_prepare_to_themselves(mnist):
    """An MNIST digit is already prepared: enlarged and printed dark on light, it comes back."""
    for digit in mnist.test.images[:20, :, :, 0]:
        paper_print = Image.fromarray(np.uint8(np.round(255 * (1 - digit)))).resize((140, 140))
        prepared = predict.prepare_digit(paper_print)[:, :, 0]
        row, col = centre_of_mass(prepared)
        assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5
        assert distance_up_to_one_pixel_shift(prepared, digit) < 0.06


@pytest.mark.parametrize("blank", [
    np.full((50, 80), 255, np.uint8),
    np.zeros((50, 80), np.uint8),
    # evenly grey paper with a gentle shadow and grain, no ink
    np.linspace(0.80, 0.95, 300)[np.newaxis, :]
    + np.random.default_rng(1).normal(0, 0.02, (200, 300)),
])
def test_blank_page_has_no_ink(blank):
    with pytest.raises(predict.NoInkError, match="blank"):
        predict.prepare_digit(blank)


# ---------------------------------------------------------------------------
# Image files: 16 bits, huge ones


def png_bit_depth(path):
    """Read from the file itself: the bit depth in the PNG header (IHDR)."""
    return path.read_bytes()[24]


def test_a_16_bit_png_prepares_like_its_8_bit_version(tmp_path):
    eight = draw_digit("7")
    sixteen = np.asarray(eight, np.uint16) * 257  # 0-255 to 0-65535: the same grey levels
    Image.fromarray(sixteen).save(tmp_path / "seven16.png")
    eight.save(tmp_path / "seven8.png")
    assert png_bit_depth(tmp_path / "seven16.png") == 16 and png_bit_depth(tmp_path / "seven8.png") == 8

    reference = predict.prepare_digit(predict.load_image(tmp_path / "seven8.png"))
    assert reference.max() == 1.0
    np.testing.assert_array_equal(predict.prepare_digit(predict.load_image(tmp_path / "seven16.png")),
                                  reference)
    np.testing.assert_array_equal(predict.prepare_digit(sixteen), reference)  # a numpy uint16 array


def test_a_huge_image_is_shrunk_first_quietly_and_in_little_memory(tmp_path):
    """10000x10000 pixels: over Pillow's warning limit, and 1.4 GB as the floats the
    preparation works in. Run in a fresh process to measure its peak memory."""
    huge = draw_digit("7", canvas=(10000, 10000), height=7000, at=(2000, 1500))
    huge.save(tmp_path / "huge.png")
    del huge
    # Peak memory: Linux's VmHWM, of this process only (ru_maxrss would include the
    # memory of the pytest process it was started from).
    script = ("import os, sys, numpy as np, predict\n"
              "np.save(sys.argv[2], predict.prepare_digit(predict.load_image(sys.argv[1])))\n"
              "if os.path.exists('/proc/self/status'):\n"
              "    with open('/proc/self/status') as status:\n"
              "        print(status.read().split('VmHWM:')[1].split()[0])\n")
    result = subprocess.run([sys.executable, "-W", "default", "-c", script, str(tmp_path / "huge.png"),
                             str(tmp_path / "prepared.npy")],
                            capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr == ""  # no DecompressionBombWarning, nothing
    if result.stdout:  # in KiB; the image alone is 95 MiB, as floats it would be 380 MiB
        assert int(result.stdout) < 300 * 1024, f"peak memory {int(result.stdout) // 1024} MiB"
    prepared = np.load(tmp_path / "prepared.npy")
    reference = predict.prepare_digit(draw_digit("7"))
    assert distance_up_to_one_pixel_shift(prepared[:, :, 0], reference[:, :, 0]) < 0.03


def png_claiming_size(path, width, height):
    """A real 1x1 PNG from Pillow whose header then says width x height: all that is
    read before an image is refused for its size."""
    Image.new("L", (1, 1), 255).save(path)
    data = bytearray(path.read_bytes())
    data[16:24] = struct.pack(">II", width, height)  # IHDR: width, height, then the rest
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # the chunk's CRC
    path.write_bytes(bytes(data))
    return path


def test_too_large_images_are_refused_with_their_size(tmp_path):
    big = tmp_path / "big.png"
    Image.new("1", (12000, 12000), 1).save(big)  # 144 megapixels, a real (blank) image
    with pytest.raises(predict.ImageError) as error:
        predict.load_image(big)
    assert str(error.value).startswith("the image is too large (12000x12000 pixels, more than "
                                       "the 120 megapixels predict.py reads): scale it down")
    bomb = png_claiming_size(tmp_path / "bomb.png", 30000, 30000)  # past Pillow's own hard limit
    with pytest.raises(predict.ImageError) as error:
        predict.load_image(bomb)
    assert str(error.value).startswith("the image is too large (over 178 megapixels")


def test_prepared_names_never_repeat():
    names = predict.prepared_names(["a/seven.png", "b/seven.png", "seven.jpg", "Seven.png",
                                    "nine.png", "seven-2.png"])
    assert names == ["seven_prepared.png", "seven-2_prepared.png", "seven-3_prepared.png",
                     "Seven-4_prepared.png", "nine_prepared.png", "seven-2-2_prepared.png"]
    assert len({name.lower() for name in names}) == len(names)


def test_describe_lists_the_runners_up():
    probabilities = np.array([0, 0.012, 0, 0, 0, 0.0002, 0, 0.981, 0, 0.004])
    assert predict.describe(probabilities) == "7 (0.981)  also: 1 (0.012), 9 (0.004)"
    assert predict.describe(np.eye(10)[3]) == "3 (1.000)"


# ---------------------------------------------------------------------------
# Data and model for the end-to-end tests


@pytest.fixture(scope="session")
def mnist():
    import mnistdata

    return mnistdata.read_data_sets(one_hot=False, reshape=False)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """What a learner gets from `mnist_1.0_softmax.py --save-model DIR`, briefly trained
    (300 steps, about 90 %): DIR/checkpoints and DIR/saved_model."""
    directory = tmp_path_factory.mktemp("model")
    result = run_script("mnist_1.0_softmax.py", "--headless", "--iterations", "300",
                        "--save-model", str(directory), cwd=directory)
    assert result.returncode == 0, result.stderr[-2000:]
    return directory


def run_predict(*args, cwd=REPO):
    return run_script("predict.py", *map(str, args), cwd=cwd, timeout=120)


# ---------------------------------------------------------------------------
# End to end


def test_recognises_enlarged_mnist_test_digits_printed_on_paper(mnist, model_dir, tmp_path, capsys):
    import tensorflow as tf

    serve = tf.saved_model.load(str(model_dir / "saved_model" / "1")).signatures["serving_default"]
    probabilities = serve(images=tf.constant(mnist.test.images[:500]))["probabilities"].numpy()
    # one test digit per class that the model gets right and sure from the raw 28x28
    # array, so that what is checked here is the preparation, not the model
    files, labels = [], []
    for label in range(10):
        sure = np.flatnonzero((mnist.test.labels[:500] == label) & (probabilities[:, label] > 0.9))
        digit = mnist.test.images[sure[0], :, :, 0]
        path = tmp_path / f"digit{label}.png"
        Image.fromarray(np.uint8(np.round(255 * (1 - digit)))).resize((140, 140)).save(path)
        files.append(str(path))
        labels.append(label)

    prepared_dir = tmp_path / "prepared"
    exit_code = predict.main(
        ["--model", str(model_dir), "--save-prepared", str(prepared_dir), *files])
    lines = capsys.readouterr().out.splitlines()
    assert exit_code == 0 and len(lines) == 10, lines
    predicted = []
    for line, path in zip(lines, files):
        name, rest = line.split(": ", 1)
        assert name == path
        predicted.append(int(rest.split()[0]))
        assert 0 < float(rest.split()[1].strip("()")) <= 1
    assert sum(p == label for p, label in zip(predicted, labels)) >= 9, (predicted, labels)
    saved = np.asarray(Image.open(prepared_dir / "digit3_prepared.png"))
    assert saved.shape == (28, 28) and saved.max() == 255


def test_the_model_directory_may_be_the_saved_model_itself(model_dir, tmp_path, capsys):
    path = tmp_path / "seven.png"
    draw_digit("7").save(path)
    assert predict.main(["--model", str(model_dir / "saved_model"), str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: ")


def test_bad_files_get_one_line_each_and_the_others_still_run(model_dir, tmp_path):
    good = tmp_path / "four.png"
    draw_digit("4").save(good)
    blank = tmp_path / "blank.jpg"
    Image.new("RGB", (120, 90), "white").save(blank)
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("this is not a picture\n")
    missing = tmp_path / "missing.png"

    too_large = png_claiming_size(tmp_path / "poster.png", 20000, 20000)
    folder = tmp_path / "a-folder"
    folder.mkdir()

    result = run_predict("--model", model_dir, not_an_image, good, blank, missing, too_large, folder)
    assert result.returncode == 1  # some images could not be used
    assert "Traceback" not in result.stderr + result.stdout
    assert "Warning" not in result.stderr
    assert result.stdout.startswith(f"{good}: ") and len(result.stdout.splitlines()) == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith(str(tmp_path))]
    assert len(errors) == 5, errors
    assert errors[0].startswith(f"{not_an_image}: error: ") and "not an image" in errors[0]
    assert errors[1].startswith(f"{blank}: error: ") and "blank page" in errors[1]
    assert errors[2].startswith(f"{missing}: error: ") and "not found" in errors[2]
    assert errors[3].startswith(f"{too_large}: error: the image is too large")
    assert errors[4] == f"{folder}: error: is a folder, not an image"


def damaged_copy(image, name, folder, format, offset, value):
    """`image` saved in `format` with the byte at `offset` set to `value`."""
    buffer = io.BytesIO()
    image.save(buffer, format)
    data = bytearray(buffer.getvalue())
    data[offset] = value
    path = folder / name
    path.write_bytes(bytes(data))
    return path


def test_damaged_images_get_one_line_each_and_the_others_are_recognised(model_dir, tmp_path):
    """One byte changed in a header: Pillow raises ValueError or SyntaxError, not OSError."""
    four = draw_digit("4")
    damaged = [damaged_copy(four, "ihdr.png", tmp_path, "PNG", 11, 5),  # "Truncated IHDR chunk"
               damaged_copy(four, "chunk.png", tmp_path, "PNG", 36, 0),  # "broken PNG file"
               damaged_copy(four, "header.tif", tmp_path, "TIFF", 10, 0xFF)]
    goods = [tmp_path / f"good{n}.png" for n in range(3)]
    for good in goods:
        draw_digit("4").save(good)
    result = run_predict("--model", model_dir, *[path for pair in zip(damaged, goods)
                                                 for path in pair])
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr
    assert [line.split(": ")[0] for line in result.stdout.splitlines()] == list(map(str, goods))
    errors = result.stderr.splitlines()
    assert [line.split(": ")[0] for line in errors] == list(map(str, damaged))
    assert "cannot read the image, damaged? (ValueError: Truncated IHDR chunk)" in errors[0]
    assert "cannot read the image, damaged? (SyntaxError: broken PNG file" in errors[1]
    assert "not an image that Pillow can read" in errors[2]


def test_image_names_in_other_alphabets_on_an_ascii_terminal(model_dir, tmp_path):
    good, missing = tmp_path / "quatre-é.png", tmp_path / "manquant-é.png"
    draw_digit("4").save(good)
    result = run_script("predict.py", "--model", str(model_dir), str(good), str(missing),
                        cwd=REPO, timeout=120, env_extra={"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 1
    assert result.stdout.startswith(str(good).replace("é", "\\xe9") + ": ")
    assert result.stderr == str(missing).replace("é", "\\xe9") + ": error: file not found\n"


def test_tilde_is_the_home_folder_in_predicts_paths(model_dir, tmp_path):
    draw_digit("4").save(tmp_path / "four.png")
    result = run_script("predict.py", "--model", f"~/{model_dir.name}", "--save-prepared",
                        f"~/{tmp_path.name}/prepared", f"~/{tmp_path.name}/four.png",
                        cwd=REPO, timeout=120, env_extra={"HOME": str(model_dir.parent)})
    assert model_dir.parent == tmp_path.parent  # (both in this session's temporary folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{tmp_path / 'four.png'}: ")
    assert (tmp_path / "prepared" / "four_prepared.png").is_file()


def test_missing_or_broken_model_says_how_to_make_one(tmp_path):
    image = tmp_path / "seven.png"
    draw_digit("7").save(image)
    broken = tmp_path / "broken"
    (broken / "saved_model").mkdir(parents=True)
    (broken / "saved_model" / "saved_model.pb").write_bytes(b"not a model")
    for model, complaint in [(tmp_path / "nowhere", "no saved model in"),
                             (broken, "cannot load the model")]:
        result = run_predict("--model", model, "--save-prepared", tmp_path / "prepared", image)
        assert result.returncode == 2 and result.stdout == ""
        assert "Traceback" not in result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and complaint in errors[0] and str(model) in errors[0], result.stderr
        assert "--save-model models/3.1" in result.stderr
        assert not (tmp_path / "prepared").exists()  # nothing made for a run that did nothing


def test_a_folder_inside_a_run_names_the_run(tmp_path):
    """--model models/3.1/checkpoints: the saved model is in models/3.1, one folder up."""
    run = tmp_path / "models" / "3.1"
    (run / "checkpoints").mkdir(parents=True)
    (run / "saved_model" / "1").mkdir(parents=True)
    (run / "saved_model" / "1" / "saved_model.pb").write_bytes(b"")  # found before it loads
    image = tmp_path / "seven.png"
    draw_digit("7").save(image)
    for given, named in [(run / "checkpoints", str(run)),
                         (Path("models", "3.1", "checkpoints"), str(Path("models", "3.1")))]:
        result = run_predict("--model", given, image, cwd=tmp_path)
        assert result.returncode == 2 and result.stdout == "", result.stderr
        assert result.stderr == (f"error: no saved model in {given}, but in the folder above "
                                 f"it: --model {named}\n"), result.stderr


@pytest.fixture(scope="session")
def foreign_model_dir(tmp_path_factory):
    """A real SavedModel that takes MNIST images but answers with logits, not probabilities."""
    import tensorflow as tf

    directory = tmp_path_factory.mktemp("foreign") / "saved_model"
    module = tf.Module()
    module.weights = tf.Variable(tf.zeros([784, 10]))

    @tf.function(input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.float32, name="images")])
    def serve(images):
        return {"logits": tf.matmul(tf.reshape(images, [-1, 784]), module.weights)}

    module.serve = serve
    tf.saved_model.save(module, str(directory), signatures={"serving_default": serve})
    return directory


def test_a_saved_model_that_is_not_ours_is_refused_clearly(foreign_model_dir, tmp_path, capsys):
    image = tmp_path / "seven.png"
    draw_digit("7").save(image)
    assert predict.main(["--model", str(foreign_model_dir), str(image)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"error: the SavedModel in {foreign_model_dir} was not written by "
                                   "a stage's --save-model")
    assert "this one has inputs images [None, 28, 28, 1]; outputs logits [None, 10]" in captured.err
    assert "--save-model models/3.1" in captured.err


@pytest.mark.parametrize("under", [False, True], ids=["a-file", "a-folder-in-a-file"])
def test_save_prepared_must_be_a_folder(tmp_path, capsys, under):
    image = tmp_path / "seven.png"
    draw_digit("7").save(image)
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    target = notes / "prepared" if under else notes
    # checked first, before the model (none here) is even looked for
    code = predict.main(["--model", str(tmp_path / "no-model"), "--save-prepared", str(target), str(image)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    problem = (f"{target} cannot be created: {notes} is a file" if under else f"{notes} is a file")
    assert captured.err == f"error: --save-prepared: {problem}, not a folder; choose another path\n"
    assert notes.read_text() == "my notes"


def test_a_16_bit_png_gets_the_same_answer_as_its_8_bit_version(model_dir, tmp_path, capsys):
    eight = draw_digit("7")
    eight.save(tmp_path / "seven8.png")
    Image.fromarray(np.asarray(eight, np.uint16) * 257).save(tmp_path / "seven16.png")
    assert predict.main(["--model", str(model_dir), str(tmp_path / "seven8.png"),
                         str(tmp_path / "seven16.png")]) == 0
    answers = [line.split(": ", 1)[1] for line in capsys.readouterr().out.splitlines()]
    assert len(answers) == 2 and answers[0] == answers[1], answers


def test_inputs_with_the_same_name_get_their_own_prepared_files(model_dir, tmp_path, capsys):
    inputs = [tmp_path / "a" / "digit.png", tmp_path / "b" / "digit.png", tmp_path / "digit.jpg"]
    for path, shape in zip(inputs, ["7", "1", "4"]):
        path.parent.mkdir(exist_ok=True)
        draw_digit(shape).save(path)
    prepared_dir = tmp_path / "prepared"
    assert predict.main(["--model", str(model_dir), "--save-prepared", str(prepared_dir),
                         *map(str, inputs)]) == 0
    capsys.readouterr()
    names = ["digit_prepared.png", "digit-2_prepared.png", "digit-3_prepared.png"]
    assert sorted(os.listdir(prepared_dir)) == sorted(names)  # and no temporary files
    for path, name in zip(inputs, names):
        expected = np.uint8(np.round(predict.prepare_digit(predict.load_image(path))[:, :, 0] * 255))
        np.testing.assert_array_equal(np.asarray(Image.open(prepared_dir / name)), expected)


def test_a_named_pipe_among_the_images_is_skipped_and_the_others_are_read(model_dir, tmp_path):
    first, last = tmp_path / "four.png", tmp_path / "seven.png"
    draw_digit("4").save(first)
    draw_digit("7").save(last)
    pipe = tmp_path / "x.png"
    os.mkfifo(pipe)  # nothing ever writes into it: opening it to read would wait for ever
    result = run_predict("--model", model_dir, first, pipe, last)
    assert result.returncode == 1
    assert [line.split(": ")[0] for line in result.stdout.splitlines()] == [str(first), str(last)]
    assert result.stderr.strip() == f"{pipe}: error: is a named pipe, not an image file: skipped"


def test_the_advice_to_save_a_missing_network_saves_it_without_training(small_mnist_dir,
                                                                        tmp_path):
    """A run stopped before its network was saved; predict.py's advice, pasted as it is
    into a shell (a folder with spaces and a quote), saves it from the checkpoint.
    (Not brackets: TensorFlow reads a checkpoint's path as a pattern, where [1] is one.)"""
    import shlex
    folder = tmp_path / "my runs" / "Ana's 1.0"
    trained = run_script("mnist_1.0_softmax.py", "--headless", "--data-dir", small_mnist_dir,
                         "--iterations", "30", "--save-model", str(folder), cwd=REPO)
    assert trained.returncode == 0, trained.stderr[-2000:]
    shutil.rmtree(folder / "saved_model")  # as a run stopped while saving it leaves it
    image = tmp_path / "seven.png"
    draw_digit("7").save(image)
    refused = run_predict("--model", folder, image)
    assert refused.returncode == 2
    advice = refused.stderr.strip().split("Save it from the latest checkpoint (step 30) with: ")[1]
    command = shlex.split(advice)  # as the shell reads it
    assert command[:2] == ["python3", "mnist_1.0_softmax.py"] and str(folder) in command
    saved = run_script(command[1], *command[2:], "--headless", "--data-dir", small_mnist_dir,
                       cwd=REPO)
    assert saved.returncode == 0, saved.stderr[-2000:]
    assert not re.search(r"^step \d+: training", saved.stdout, re.M)  # nothing trained
    assert "had ended at step 30, but its trained network was not saved" in saved.stdout
    assert run_predict("--model", folder, image).returncode == 0


@pytest.mark.parametrize("name", ["plain/models-3.1", "my runs/3.1", "Ana's run", "$HOME [1] *",
                                  "~ tilde", "semi;colon&amp"])
def test_a_path_in_a_hint_pastes_into_a_real_shell_as_itself(name, tmp_path):
    from codelab import hints
    path = str(tmp_path / name)
    shell = subprocess.run(["sh", "-c", f"printf '%s' {hints.shell_path(path)}"],
                           capture_output=True, text=True, timeout=30)
    assert shell.stdout == path
