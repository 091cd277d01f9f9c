"""The flags every stage script takes (-h lists them), read and checked before TensorFlow loads."""

import argparse
import contextlib
import os
import shutil
import sys

from codelab import runfolder
from codelab import safefiles

BATCH_SIZE = 100  # images per training step, unless the stage gives parse_args its own
MAX_SEED = 2**32 - 1  # numpy's seeds, which keras.utils.set_random_seed sets too, stop here
MAX_ITERATIONS = 10**15  # --iterations above this is a typo: 30 years at a million steps/s


def whole_number(minimum, maximum=None):
    """An argparse type: a whole number from `minimum` to `maximum`."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {value}")
        return value
    return parse


def make_parser(description, iterations, prog=None, batch_size=BATCH_SIZE, add_flags=None):
    """The flags every stage script takes; `iterations` is the stage's own budget;
    add_flags(parser), if given, adds a stage's own (stage 8.0: --workers)."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=whole_number(1, MAX_ITERATIONS), default=iterations,
                        metavar="N",
                        help=f"training steps of {batch_size} images (default: {iterations})")
    parser.add_argument("--headless", action="store_true",
                        help="no window: train with text output only (automatic without a display)")
    parser.add_argument("--seed", type=whole_number(0, MAX_SEED), default=0, metavar="S",
                        help="random seed, 0 to 2**32-1; the same seed prints the same numbers "
                             "on CPU (default: 0)")
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="where the MNIST files are, or are downloaded to "
                             "(default: $MNIST_DATA_DIR, else a per-user cache folder)")
    parser.add_argument("--dataset", choices=["mnist", "fashion"], default="mnist",
                        help="digits (mnist, the default) or clothes (fashion): same format")
    parser.add_argument("--save-image", metavar="PATH",
                        help="save the final dashboard as an image: .png, .svg, .pdf, ...")
    parser.add_argument("--save-movie", metavar="PATH",
                        help="record the dashboard as a movie: .mp4 (needs ffmpeg) or .gif")
    parser.add_argument("--save-model", metavar="DIR",
                        help=f"keep the run in DIR: checkpoints while training (DIR/{runfolder.CHECKPOINTS}), "
                             f"the trained network for predict.py and serve.py "
                             f"(DIR/{runfolder.SAVED_MODEL}/{runfolder.MODEL_VERSION}) and which "
                             f"stage wrote them (DIR/{runfolder.RUN_RECORD}); a folder that holds a run "
                             "needs --restore or --fresh")
    parser.add_argument("--restore", action="store_true",
                        help="go on with the run in --save-model DIR from its latest checkpoint: "
                             "the same batches and best accuracy as without a break; give a "
                             "larger --iterations to train further")
    parser.add_argument("--fresh", action="store_true",
                        help="start over in --save-model DIR: the run already there is kept, "
                             "moved to DIR/previous-1 (then -2, ...)")
    parser.add_argument("--logdir", metavar="DIR",
                        help="write TensorBoard summaries to DIR (view: tensorboard --logdir DIR)")
    if add_flags:
        add_flags(parser)
    return parser


def parse_args(description, iterations, argv=None, prog=None, batch_size=BATCH_SIZE,
               add_flags=None):
    """Read the flags and check them, before TensorFlow loads: every output path is
    checked here, so that a mistake costs a second and not a run. Nothing else.

    The returned namespace also holds `stage`: the script's file name, which
    --save-model folders record, `batch_size`: images per training step, and
    `command`: the script and its flags, which another run into the same
    --save-model folder is told. Paths have `~` expanded.
    """
    never_fail_on_encoding()
    parser = make_parser(description, iterations, prog, batch_size, add_flags)
    args = parser.parse_args(argv)
    args.stage = parser.prog
    args.batch_size = batch_size
    args.command = " ".join([parser.prog, *(sys.argv[1:] if argv is None else argv)])
    for flag in PATH_FLAGS:  # ~ is the home folder, wherever it is written and on Windows too
        if getattr(args, flag):
            setattr(args, flag, os.path.expanduser(getattr(args, flag)))
    problem = flags_problem(args)
    if problem:
        parser.error(problem)
    return args


PATH_FLAGS = ("data_dir", "save_image", "save_movie", "save_model", "logdir")


def never_fail_on_encoding():
    """Print what the terminal cannot show as escapes (a path in another alphabet with
    PYTHONIOENCODING=ascii, or a Windows console's code page) rather than crash on it."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):  # not in Jupyter, IDLE or Spyder: they take any text
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(errors="backslashreplace")


def flags_problem(args):
    """What is wrong with the flags together, or with the paths they name, or None."""
    if args.restore and args.fresh:
        return "--restore goes on with a run and --fresh starts over: choose one"
    for flag in ("restore", "fresh"):
        if getattr(args, flag) and not args.save_model:
            return f"--{flag} needs --save-model DIR: the folder of the run"
    for flag in ("save_model", "logdir"):
        problem = _not_utf8(getattr(args, flag), "--" + flag.replace("_", "-"))
        if problem:
            return problem
    if args.save_image is not None or args.save_movie is not None:
        import tensorflowvisu  # here, not at the top: matplotlib takes a second to load
        try:
            if args.save_image is not None:
                tensorflowvisu.check_image_path(args.save_image, "--save-image")
                problem = _image_format_problem(args.save_image)
                if problem:
                    return problem
            if args.save_movie is not None:
                tensorflowvisu.check_movie_path(args.save_movie, "--save-movie")
        except tensorflowvisu.OutputPathError as error:
            return str(error)
    if args.logdir is not None:
        if not _tensorboard_installed():
            return ("--logdir needs TensorBoard, which is not installed: pip install "
                    "tensorboard (then view the logs with: tensorboard --logdir DIR)")
        problem = safefiles.why_not_writable(args.logdir, folder=True)
        if problem:
            remedy = safefiles.with_remedy(problem, "choose another folder")
            return f"--logdir {args.logdir}: {remedy}"
    if args.save_model is not None:
        try:
            runfolder.check(args)  # checked again when the run claims the folder
        except runfolder.RunFolderError as error:
            return str(error)
    return None


def _not_utf8(path, flag):
    """TensorFlow takes file names as UTF-8: why `path` cannot be one, or None."""
    if path is None or sys.platform == "win32":
        return None
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        return (f"{flag} {path!r}: the path holds bytes that are not UTF-8 text, and "
                f"TensorFlow writes only to UTF-8 paths; rename the folder or choose another")
    return None


def _image_format_problem(path):
    """Why matplotlib could not write `path` at the end of the run on this machine, or None:
    .pgf needs LaTeX (rcParams["pgf.texsystem"], xelatex by default)."""
    extension = os.path.splitext(path)[1].lower().lstrip(".")
    if extension != "pgf":
        return None
    import matplotlib
    program = matplotlib.rcParams["pgf.texsystem"]
    if shutil.which(program):
        return None
    return (f"--save-image {path}: matplotlib writes .pgf with LaTeX ({program}), which is not "
            f"installed; name the picture .png, .svg or .pdf, or install LaTeX")


def _tensorboard_installed():
    try:
        import tensorboard  # noqa: F401  (tf.summary writes through it)
    except ImportError:
        return False
    return True
