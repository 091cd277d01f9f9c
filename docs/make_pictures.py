"""Make every picture that the codelab guides show (docs/codelab.md, docs/codelab.zh-CN.md).

Three kinds of picture, all written to docs/pictures/:

- dashboards: the dashboard at the end of each stage, from a real run of the stage
  script in its own process (headless, --save-image), at the stage's own number of
  steps unless --iterations says otherwise. The long part: about 50 minutes for all
  ten on 2 CPU cores, half of it stage 4.2.
- diagrams: small drawings of the networks and of the ideas (softmax, a convolution's
  filter sliding, dropout, batch norm, the learning-rate decay...), drawn with
  matplotlib. A few seconds for all of them. Each is drawn twice: with English labels
  for docs/codelab.md, and with Chinese labels into docs/pictures/zh/ for
  docs/codelab.zh-CN.md. The Chinese ones need a font with Chinese characters, and
  this script is the only part of the project that does: on Debian or Ubuntu,
  `sudo apt install fonts-noto-cjk` (or `--language en` for the English ones alone).
  dashboard_annotated.png writes notes over the stage 1.0 dashboard (1.0.png): make
  the dashboards first when they change.
- the page: serve.py's draw-a-digit page (serve.png) in Debian's headless Chromium, a
  7 drawn on it with the mouse, read by stage 3.1 trained 1,000 steps (a minute or two;
  needs `apt-get install chromium chromium-driver` and Selenium, requirements-test.txt).

    python3 docs/make_pictures.py                   # everything
    python3 docs/make_pictures.py --stage 2.1       # one stage's pictures alone
    python3 docs/make_pictures.py --only diagrams   # the diagrams alone
    python3 docs/make_pictures.py --only page       # serve.py's page alone
    python3 docs/make_pictures.py --language en     # no Chinese diagrams (no CJK font)
    python3 docs/make_pictures.py --dry-run         # what it would make, and how long

Every file is written under a temporary name, then renamed: an interrupted run leaves
the previous picture in place, never half a picture.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
PICTURES = DOCS / "pictures"

# ------------------------------------------------------------------------ stages
# (stage, script, default steps, steps/s, start-up s). Speeds measured 2026-11-28 on
# 2 CPU cores (AMD EPYC, TensorFlow 2.21 CPU build), 300 headless steps each:
# benchmarks/README.md, "Speed of the training loop". They give the estimate printed
# before the runs; the real times are printed after each run, and the estimate of what
# is left is scaled by how the runs so far compared with their estimates.
MEASURED_SPEED = {  # stage: (default steps, steps/s, start-up s)
    "1.0": (2000, 214.3, 6.5), "2.0": (10000, 88.0, 8.0), "2.1": (10000, 89.8, 7.2),
    "2.2": (10000, 80.2, 7.1), "3.0": (10000, 44.2, 7.4), "3.1": (10000, 32.0, 6.6),
    "4.0": (10000, 63.0, 7.2), "4.1": (10000, 69.3, 6.5), "4.2": (10000, 6.9, 6.5),
    "5.0": (234, 30.0, 5.3),  # 2026-11-29, Intel Xeon: benchmarks/bench_speedrun.py
    "6.0": (5000, 26.0, 8.0),  # 2026-12-07, Intel Xeon, busy: benchmarks/bench_recurrent.py
    "7.0": (234, 30.0, 6.0),  # as fast as 5.0: benchmarks/bench_keras.py, 2026-12-07
    "5.1": (937, 28.0, 6.0),  # 2026-12-07, Intel Xeon: benchmarks/bench_speedrun.py --stage 5.1
    "8.0": (10000, 28.0, 12.0),  # two workers, 2026-12-07, Intel Xeon, busy: a full run
}
# Stage 8.0's picture: its chief's dashboard, with two workers on this machine.
DASHBOARD_FLAGS = {"8.0": ["--workers", "2"]}
sys.path.insert(0, str(REPO))
from codelab import stages as _stages  # noqa: E402  (the one list of stage scripts)
import trainer  # noqa: E402  (the patterns of the lines a run prints)

STAGES = [(stage, script, *MEASURED_SPEED[stage])
          for stage, script in _stages.STAGES + [("8.0", _stages.OTHER_SCRIPTS[0])]
          if stage in MEASURED_SPEED]
STAGE_IDS = [stage for stage, *_ in STAGES]
PICTURE_OVERHEAD = 1.1  # --save-image computes the mosaics and bands a headless run skips

# Max test accuracy of each stage at its full budget, seed 0, as recorded in
# benchmarks/results.json (the ladder of 2026-11-29, the runs that made the dashboards;
# 6.0 measured on its own): the one copy that README and the guide quote too.
MEASURED_MAX_ACCURACY = {stage: figures["max_test_accuracy"]
                         for stage, figures in _stages.MEASURED["ladder"]["stages"].items()}
# The ladder: every stage, 1.0 to 5.1 the climb, then the three roads beyond it (6.0
# reads the digits another way, 7.0 is 5.0 in Keras, 8.0 is 3.1 on two workers).
LADDER = [stage for stage in STAGE_IDS if stage in MEASURED_MAX_ACCURACY]
ROADS = ("6.0", "7.0", "8.0")


def dashboard_name(stage):
    return f"{stage}.png"


def estimate_seconds(stage, iterations=None):
    """Seconds a dashboard run should take on the measured machine."""
    _, _, default_steps, steps_per_second, startup = STAGES[STAGE_IDS.index(stage)]
    steps = iterations or default_steps
    return startup + steps / steps_per_second * PICTURE_OVERHEAD


def dashboard_command(stage, path, iterations=None):
    script = REPO / STAGES[STAGE_IDS.index(stage)][1]
    command = [sys.executable, str(script), "--headless", "--save-image", str(path),
               *DASHBOARD_FLAGS.get(stage, [])]
    if iterations:
        command += ["--iterations", str(iterations)]
    return command


def shown(path):
    """A path as short as it can be said from the current folder."""
    path = os.path.abspath(path)
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def count(number, noun):
    return f"{number} {noun}{'' if number == 1 else 's'}"


def duration(seconds):
    seconds = round(seconds)
    if seconds < 100:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s"


# --------------------------------------------------------------------- writing

def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_figure(fig, path):
    """Save a matplotlib figure under a temporary name, then rename it into place."""
    path = Path(path)
    if LANGUAGE["now"] == "zh":
        _chinese_labels(fig)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".png")
    os.close(handle)
    try:
        # No date or version in the file: drawing it again gives the same bytes.
        fig.savefig(temporary, format="png", dpi=100, metadata={"Software": None})
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's file is private; pictures are not
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def run_dashboard(stage, path, iterations=None):
    """Train the stage headless in a subprocess; its final dashboard becomes `path`.
    Returns (ok, max test accuracy line or error text)."""
    path = Path(path)
    folder = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.stem}-"))
    try:
        temporary = folder / path.name
        command = dashboard_command(stage, temporary, iterations)
        env = dict(os.environ, MPLBACKEND="Agg")
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        lines, result = [], ""
        for line in process.stdout:
            line = line.rstrip()
            lines.append(line)
            test = trainer.TEST_LINE.match(line)
            if test and int(test["step"]) % 1000 == 0 and int(test["step"]) > 0:
                print(f"  {stage}: {line}", flush=True)
            if trainer.MAX_ACCURACY_LINE.match(line):
                result = line
        process.wait()
        if process.returncode != 0 or not temporary.exists():
            return False, "\n".join(lines[-15:])
        os.replace(temporary, path)
        return True, result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -------------------------------------------------------------------- diagrams
# Each draws one picture with matplotlib's Agg backend (no window). Colours:
# blue for weights and data, orange for biases and offsets, red for errors, grey for
# what is switched off.

BLUE, ORANGE, RED, GREEN, GREY = "#1f77b4", "#ff7f0e", "#d62728", "#2ca02c", "#9a9a9a"
PURPLE = "#9467bd"  # the speedrun (stage 5.0)


LANGUAGE = {"now": "en"}  # the language of the labels being drawn: "en" or "zh"


def _t(text):
    """A label as the drawing code writes it: in English. save_figure() translates every
    label of a Chinese picture just before writing it (see CHINESE_LABELS)."""
    return text


# The Chinese guide's diagrams: the same drawings with Chinese labels, in
# pictures/zh/. Only this script needs a font with Chinese characters: Noto Sans CJK
# (Debian and Ubuntu: sudo apt install fonts-noto-cjk), WenQuanYi, Source Han Sans, or
# the system's own on Windows and macOS.
CJK_FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
             "WenQuanYi Zen Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
             "Hiragino Sans GB", "Noto Sans CJK JP"]
CHINESE = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")


class MissingTranslation(Exception):
    pass


def CJK_FONTS_FOUND():
    """Can the Chinese pictures be drawn here?"""
    try:
        _cjk_font()
        return True
    except SystemExit:
        return False


def _cjk_font():
    """The name of a font with Chinese characters, or an error that says how to get one."""
    from matplotlib import font_manager
    installed = {font.name for font in font_manager.fontManager.ttflist}
    if not installed & set(CJK_FONTS):  # installed after matplotlib cached its font list?
        for file in font_manager.findSystemFonts():
            if re.search(r"CJK|wqy|SourceHan|msyh|simhei|PingFang", file, re.IGNORECASE):
                try:
                    font_manager.fontManager.addfont(file)
                except (OSError, RuntimeError, ValueError):
                    continue
        installed = {font.name for font in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            return name
    raise SystemExit("error: the Chinese pictures need a font with Chinese characters, and "
                     "matplotlib finds none (it looks for: " + ", ".join(CJK_FONTS) + "). On "
                     "Debian or Ubuntu: sudo apt install fonts-noto-cjk. Or make the English "
                     "pictures alone: --language en")


def _chinese_labels(fig):
    """Put every English label of the figure into Chinese (CHINESE_LABELS), in a font
    that has the characters. Raises MissingTranslation naming the labels it lacks."""
    from matplotlib.text import Text
    from matplotlib.ticker import FuncFormatter
    cjk = _cjk_font()
    font = ["DejaVu Sans", cjk]  # Latin letters and digits as in the English pictures
    monospace = ["DejaVu Sans Mono", cjk]  # columns of code stay aligned
    missing = []

    def chinese(text):
        if not text or CHINESE.search(text) or text.startswith("$"):
            return text
        if text in CHINESE_LABELS:
            return CHINESE_LABELS[text]
        if ENGLISH_WORD.search(text) and text not in KEPT_AS_IS:
            missing.append(text)
        return text

    fig.canvas.draw()  # makes the tick labels, which findobj() then sees
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):  # tick labels are remade at each drawing
            english = axis.get_major_formatter()
            axis.set_major_formatter(FuncFormatter(
                lambda x, pos, english=english: chinese(english(x, pos))))
    for artist in fig.findobj(Text):
        text = chinese(artist.get_text())
        if CHINESE.search(text):
            mono = any("mono" in family.lower() for family in artist.get_fontfamily())
            artist.set_text(text)
            artist.set_fontfamily(monospace if mono else font)
    if missing:
        raise MissingTranslation("labels with no Chinese in CHINESE_LABELS:\n"
                                 + "\n".join(sorted(set(map(repr, missing)))))


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"font.size": 10, "axes.titlesize": 11, "figure.facecolor": "white"})
    return plt


_digits = {}


def _example_digit():
    """The first MNIST test image (a 7), [28, 28] floats in [0, 1]."""
    if "7" not in _digits:
        sys.path.insert(0, str(REPO))
        import mnistdata
        mnist = mnistdata.read_data_sets(one_hot=False, reshape=False)
        _digits["7"] = mnist.test.images[0][:, :, 0]
    return _digits["7"]


def draw_ladder(path):
    plt = _pyplot()
    stages = LADDER
    short = {"1.0": "softmax", "2.0": "sigmoid", "2.1": "ReLU,\nlr decay", "2.2": "+ dropout",
             "3.0": "conv", "3.1": "bigger conv,\ndropout", "4.0": "batch norm,\nsigmoid",
             "4.1": "batch norm,\nReLU", "4.2": "batch norm,\nconv",
             "5.0": "speedrun:\none epoch", "5.1": "wider,\nmoved\nimages",
             "6.0": "recurrent\n(GRU)", "7.0": "5.0 in\nKeras", "8.0": "3.1 on 2\nworkers"}
    wrong = [round((1 - MEASURED_MAX_ACCURACY[s]) * 10000) for s in stages]
    fig, ax = plt.subplots(figsize=(14, 4.8))
    colours = [BLUE if s.startswith(("1", "2")) else GREEN if s.startswith("3")
               else PURPLE if s.startswith("5") else GREY if s in ROADS else ORANGE
               for s in stages]
    bars = ax.bar(range(len(stages)), wrong, color=colours, width=0.7)
    for bar, s, n in zip(bars, stages, wrong):
        ax.text(bar.get_x() + bar.get_width() / 2, n + 12,
                f"{n}\n{MEASURED_MAX_ACCURACY[s] * 100:.2f} %", ha="center", va="bottom",
                fontsize=9)
    ax.set_xticks(range(len(stages)), [f"{s}\n{short[s]}" for s in stages], fontsize=8.5)
    roads = stages.index(ROADS[0]) - 0.5
    ax.axvline(roads, color=GREY, linewidth=0.8, linestyle=":")
    ax.set_ylabel("test digits wrong, of 10,000")
    ax.set_ylim(0, max(wrong) * 1.25)
    ax.set_title("From 92 % to 99.5 %: test digits still wrong at each stage's best test point\n"
                 "(measured: full runs, seed 0, 2 CPU cores)")
    ax.spines[["top", "right"]].set_visible(False)
    ax.text(0.99, 0.93, "blue: dense layers\ngreen: convolutions\norange: batch norm\n"
            "purple: the speedrun, 99 % in one pass\nand 99.5 % in four\n"
            "grey: the roads beyond", transform=ax.transAxes, ha="right", va="top",
            fontsize=9, color="#444444")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


# What each stage adds, for the one-page summary (step 14).
SUMMARY = [  # (stage, the network, what it adds)
    ("1.0", "one dense layer, softmax", "a layer is a matrix product; cross-entropy; gradient descent"),
    ("2.0", "five dense layers, sigmoid", "depth; random initial weights; Adam; the loss from the logits"),
    ("2.1", "five dense layers, ReLU", "ReLU against vanishing gradients; learning-rate decay"),
    ("2.2", "2.1 with dropout", "overfitting, seen on the curves; dropout"),
    ("3.0", "three convolutions", "filters shared across the image; strides; channels"),
    ("3.1", "bigger convolutions, dropout", "more filters, with dropout where the weights are"),
    ("4.0", "2.0 with batch norm", "batch normalisation: steady inputs for every layer"),
    ("4.1", "2.1 with batch norm", "batch norm on ReLU layers; a higher learning rate"),
    ("4.2", "3.1 with batch norm", "batch norm on convolutions, with a bolder learning rate"),
    ("5.0", "a small conv net, pooling", "one epoch, one-cycle rate, label smoothing: 99 % in seconds"),
    ("5.1", "5.0, twice as wide", "a few epochs and images moved at random: 99.5 %"),
    ("6.0", "a GRU reading row by row", "a state carried from row to row; gates keep the gradient"),
    ("7.0", "5.0 in Keras layers", "layers, compile, fit, callbacks: the same network, less code"),
    ("8.0", "3.1 on two workers", "data parallelism: slices of the batch, an all-reduce"),
]


def draw_summary(path):
    """The whole codelab on one page: each stage, what it adds, and what it bought."""
    plt = _pyplot()
    fig = plt.figure(figsize=(12.5, 8.2))
    ax = fig.add_axes([0.0, 0.0, 1.0, 1.0])
    ax.set_xlim(0, 125)
    ax.set_ylim(-1.6, len(SUMMARY) + 2.2)
    ax.axis("off")
    top = len(SUMMARY) + 1.2
    ax.text(62.5, top + 0.55, "TensorFlow and deep learning, without a PhD: the whole codelab",
            ha="center", va="center", fontsize=15, fontweight="bold")
    for x, heading in ((1.5, "stage"), (7, "the network"), (31, "what it adds"),
                       (93, "test digits wrong, of 10,000 (best)")):
        ax.text(x, top - 0.45, heading, ha="left", va="center", fontsize=10, color="#555555",
                fontweight="bold")
    worst = max(round((1 - MEASURED_MAX_ACCURACY[s]) * 10000) for s, _, _ in SUMMARY)
    for row, (stage, network, idea) in enumerate(SUMMARY):
        y = len(SUMMARY) - row - 0.2
        colour = (BLUE if stage.startswith(("1", "2")) else GREEN if stage.startswith("3")
                  else PURPLE if stage.startswith("5") else GREY if stage in ROADS else ORANGE)
        if row % 2 == 0:
            ax.add_patch(plt.Rectangle((0.5, y - 0.5), 124, 1.0, color="#f3f3f3", zorder=0))
        ax.text(1.5, y, stage, ha="left", va="center", fontsize=11, fontweight="bold",
                color=colour)
        ax.text(7, y, _t(network), ha="left", va="center", fontsize=10)
        ax.text(31, y, _t(idea), ha="left", va="center", fontsize=10)
        wrong = round((1 - MEASURED_MAX_ACCURACY[stage]) * 10000)
        ax.add_patch(plt.Rectangle((93, y - 0.3), 18 * wrong / worst, 0.6, color=colour))
        ax.text(93.5 + 18 * wrong / worst, y, f"{wrong}  ({MEASURED_MAX_ACCURACY[stage] * 100:.2f} %)",
                ha="left", va="center", fontsize=9)
    ax.text(1.5, -0.55, "Every run: watch accuracy for how well, loss for how sure, the weights for "
            "how the network changes, and the red digits for what it cannot read yet.",
            ha="left", va="center", fontsize=10)
    ax.text(1.5, -1.2, "Choose settings on held-out training images, never on the test set. "
            "Change one thing at a time, and predict the result before you run it.",
            ha="left", va="center", fontsize=10)
    save_figure(fig, path)
    plt.close(fig)


def draw_dashboard_map(path):
    plt = _pyplot()
    from matplotlib.patches import FancyBboxPatch
    panels = [
        ("1", "Accuracy", "training and test accuracy,\nfrom 0 to 1.\n"
         "Look: how high, how noisy."),
        ("2", "Cross-entropy loss", "training and test loss.\nLook: test loss climbing while\n"
         "training loss falls = overfitting."),
        ("3", "Training digits", "the 100 digits of this batch.\nRed: misrecognised; correct\n"
         "digit left, network's answer right."),
        ("4", "Weights", "spread of all weights over time:\n7 bands, 1/7 of the weights in each,\n"
         "darkest band around the median."),
        ("5", "Biases", "the same for all biases.\nStages 4.x and 5.0 show\nactivations instead."),
        ("6", "Test digits", "1,000 of the 10,000 test digits,\nwrong ones first (red).\n"
         "Scale 100 % to 90 %:\nred height = error rate."),
    ]
    fig = plt.figure(figsize=(10, 4.6))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, 30)
    ax.set_ylim(0, 13.8)
    ax.axis("off")
    for index, (number, title, text) in enumerate(panels):
        column, row = index % 3, index // 3
        x, y = 0.5 + column * 9.85, 7.35 - row * 5.6
        ax.add_patch(FancyBboxPatch((x, y), 9.2, 5.1, boxstyle="round,pad=0.1",
                                    facecolor="#f2f2f2", edgecolor="#888888"))
        ax.text(x + 0.4, y + 4.45, number, fontsize=22, fontweight="bold", color=BLUE,
                va="center")
        ax.text(x + 1.7, y + 4.45, title, fontsize=13, fontweight="bold", va="center")
        ax.text(x + 0.4, y + 3.5, text, fontsize=10, va="top", linespacing=1.45)
    ax.text(15, 0.85, "Keys (click on the window first):  1-6 one panel alone   "
            "7 panels 1+2   8 panels 4+5   9 panels 3+6\n"
            "0 or Esc all six   space pause / resume   o zoom   h reset zoom   "
            "Ctrl-S save the image",
            ha="center", va="center", fontsize=10, family="monospace", linespacing=1.6)
    save_figure(fig, path)
    plt.close(fig)


def _neurons(ax, points, size=260, colour=BLUE, face="white", zorder=3):
    """Round neurons whatever the axes' aspect: scatter markers, sized in points."""
    xs, ys = zip(*points)
    ax.scatter(xs, ys, s=size, facecolor=face, edgecolor=colour, linewidth=1.4, zorder=zorder)


def draw_one_layer(path):
    plt = _pyplot()
    digit = _example_digit()
    fig = plt.figure(figsize=(10.5, 4.8))
    ax_img = fig.add_axes([0.01, 0.28, 0.16, 0.42])
    ax_img.imshow(digit, cmap="gray_r")
    ax_img.set_xticks([])
    ax_img.set_yticks([])
    ax_img.set_title("one image\n28 x 28 pixels", fontsize=10)
    ax = fig.add_axes([0.18, 0.0, 0.60, 0.92])
    ax.set_xlim(0, 10)
    ax.set_ylim(-1.3, 10.8)
    ax.axis("off")
    # the flattened image: a column of its 784 pixels, a few of them shown
    shown_pixels = list(range(202, 210)) + list(range(430, 438))  # in rows 7 and 15
    flat = digit.ravel()
    ys = np.concatenate([np.linspace(10.2, 5.9, 8), np.linspace(4.3, 0.0, 8)])
    for y, index in zip(ys, shown_pixels):
        grey = 1 - flat[index]
        ax.add_patch(plt.Rectangle((0.45, y - 0.25), 0.6, 0.5, facecolor=(grey, grey, grey),
                                   edgecolor="#555555", linewidth=0.6))
        ax.text(0.35, y, f"x{index + 1}", ha="right", va="center", fontsize=7, color="#555555")
    ax.text(0.75, 5.1, "...", rotation=90, fontsize=14, va="center", ha="center")
    ax.text(0.75, 10.75, "784 pixels, in a row", ha="center", fontsize=9, va="top")
    # ten neurons, one per digit, each joined to every pixel by a weight
    ny = np.linspace(10.0, 0.2, 10)
    for y in ys:
        for target in ny:
            ax.plot([1.05, 5.0], [y, target], color="#cccccc", linewidth=0.35, zorder=0)
    _neurons(ax, [(5.2, y) for y in ny])
    for digit_class, y in enumerate(ny):
        ax.text(5.2, y, str(digit_class), ha="center", va="center", fontsize=9, zorder=4)
    ax.text(5.2, 10.75, "10 neurons, one per digit", ha="center", fontsize=9, va="top")
    ax.text(3.0, -0.75, "every line is one weight: 784 x 10 = 7,840 weights, and 10 biases",
            ha="center", fontsize=9, color="#444444", va="top")
    ax.annotate("neuron 7: x1·w1,7 + x2·w2,7 + ...\n... + x784·w784,7 + b7",
                xy=(5.45, ny[7]), xytext=(5.9, ny[7] - 2.5), fontsize=9,
                arrowprops=dict(arrowstyle="->", color="#444444"))
    ax.annotate("", xy=(9.7, 5.1), xytext=(6.0, 5.1), arrowprops=dict(arrowstyle="->", lw=1.5))
    ax.text(7.85, 5.45, "softmax", ha="center", fontsize=10, fontweight="bold")
    # probabilities (an example of what a trained layer gives this 7)
    ax_p = fig.add_axes([0.81, 0.16, 0.17, 0.66])
    logits = np.array([0.2, -1.0, 1.5, 2.2, -0.8, 0.1, -2.0, 6.0, 0.4, 2.8])
    probabilities = np.exp(logits) / np.exp(logits).sum()
    ax_p.barh(range(10), probabilities, color=[RED if d == 7 else BLUE for d in range(10)])
    ax_p.set_yticks(range(10))
    ax_p.invert_yaxis()
    ax_p.set_xlim(0, 1)
    ax_p.set_xticks([0, 0.5, 1])
    ax_p.set_title("10 probabilities,\nadding up to 1", fontsize=9)
    ax_p.tick_params(labelsize=8)
    ax_p.spines[["top", "right"]].set_visible(False)
    save_figure(fig, path)
    plt.close(fig)


def draw_matrix_shapes(path):
    plt = _pyplot()
    fig = plt.figure(figsize=(10.5, 4.2))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, 31.5)
    ax.set_ylim(-1.5, 11.5)
    ax.axis("off")

    def block(x, y, w, h, label, shape, colour):
        ax.add_patch(plt.Rectangle((x, y), w, h, facecolor=colour, edgecolor="#333333", alpha=0.35))
        ax.add_patch(plt.Rectangle((x, y), w, h, facecolor="none", edgecolor="#333333"))
        ax.text(x + w / 2, y + h + 0.3, label, ha="center", va="bottom", fontsize=12,
                fontweight="bold")
        ax.text(x + w / 2, y - 0.3, shape, ha="center", va="top", fontsize=9.5)

    block(0.5, 3.0, 8.0, 6.0, "X", "[100, 784]\n100 images,\n784 pixels each", BLUE)
    ax.add_patch(plt.Rectangle((0.5, 7.2), 8.0, 0.45, color=RED, alpha=0.8))
    ax.text(9.4, 6.0, "·", fontsize=30, ha="center", va="center")
    block(10.3, 1.6, 1.6, 8.4, "W", "[784, 10]", BLUE)
    ax.add_patch(plt.Rectangle((10.3 + 1.6 * 0.7, 1.6), 0.16, 8.4, color=RED, alpha=0.8))
    ax.text(13.0, 6.0, "+", fontsize=24, ha="center", va="center")
    block(14.0, 5.8, 1.6, 0.4, "b", "[10]\nadded to\nevery row", ORANGE)
    ax.text(16.7, 6.0, "=", fontsize=24, ha="center", va="center")
    block(17.6, 3.0, 1.6, 6.0, "Ylogits", "[100, 10]", GREEN)
    ax.add_patch(plt.Rectangle((17.6 + 1.6 * 0.7, 7.2), 0.16, 0.45, color=RED))
    ax.annotate("", xy=(23.4, 6.0), xytext=(19.8, 6.0), arrowprops=dict(arrowstyle="->", lw=1.5))
    ax.text(21.6, 6.3, "softmax,\nrow by row", ha="center", va="bottom", fontsize=10)
    block(23.8, 3.0, 1.6, 6.0, "Y", "[100, 10]\neach row\nadds up to 1", GREEN)
    ax.text(26.3, 6.0, "In red: row i of X\n(image i's pixels)\ntimes column j of W\n"
            "(digit j's weights),\nplus b[j], gives one\nnumber: Ylogits[i, j].",
            fontsize=9, va="center", color="#8a1c1c", linespacing=1.4)
    save_figure(fig, path)
    plt.close(fig)


def draw_softmax_onehot(path):
    plt = _pyplot()
    logits = np.array([0.5, -1.0, 1.2, 2.0, -0.6, 0.8, -1.5, 4.0, 0.3, 2.5])
    probabilities = np.exp(logits) / np.exp(logits).sum()
    one_hot = np.eye(10)[7]
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.5))
    digits = range(10)
    axes[0].bar(digits, logits, color=GREEN)
    axes[0].axhline(0, color="#555555", linewidth=0.8)
    axes[0].set_title("Ylogits: 10 weighted sums\n(any sign, any size)")
    axes[1].bar(digits, probabilities, color=BLUE)
    axes[1].set_ylim(0, 1)
    axes[1].set_title("Y = softmax(Ylogits)\ne^L / sum of e^L: positive, add up to 1")
    for d, p in zip(digits, probabilities):
        axes[1].text(d, p + 0.02, f"{p:.2f}", ha="center", fontsize=7)
    axes[2].bar(digits, one_hot, color=ORANGE)
    axes[2].set_ylim(0, 1.15)
    axes[2].set_title("Y_: the label 7, one-hot")
    for ax in axes:
        ax.set_xticks(digits)
        ax.set_xlabel("digit")
        ax.spines[["top", "right"]].set_visible(False)
    loss = -np.log(probabilities[7])
    fig.text(0.5, 0.01, f"cross-entropy = -sum(Y_ * log(Y)) = -log(Y[7]) = -log({probabilities[7]:.2f}) "
             f"= {loss:.2f}    (0 if the network gave 7 a probability of 1)",
             ha="center", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    save_figure(fig, path)
    plt.close(fig)


def draw_gradient_descent(path):
    plt = _pyplot()

    def loss(w):  # a long, narrow valley, as real losses often have
        return 0.5 * (w[..., 0] ** 2 / 9 + w[..., 1] ** 2)

    def gradient(w):
        return np.array([w[0] / 9, w[1]])

    grid = np.stack(np.meshgrid(np.linspace(-7, 7, 200), np.linspace(-3.5, 3.5, 120)), axis=-1)
    start = np.array([-6.5, 1.2])
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.9))
    for ax in axes:
        ax.contour(grid[..., 0], grid[..., 1], loss(grid), levels=12, colors="#bbbbbb",
                   linewidths=0.8)
        ax.plot(0, 0, "k*", markersize=12)
        ax.set_xlabel("weight 1")
        ax.set_ylabel("weight 2")
        ax.set_xlim(-7, 7)
        ax.set_ylim(-3.5, 3.5)
        ax.set_aspect("equal")
    for rate, steps, colour, label in ((0.15, 25, GREY, "too small (0.15): creeps"),
                                       (0.9, 25, GREEN, "good (0.9)"),
                                       (2.1, 10, RED, "too large (2.1): bounces ever higher")):
        w, points = start.copy(), [start.copy()]
        for _ in range(steps):
            w = w - rate * gradient(w)
            points.append(w.copy())
        points = np.array(points)
        axes[0].plot(points[:, 0], points[:, 1], "o-", color=colour, markersize=3,
                     linewidth=1.2, label=label, clip_on=True)
    axes[0].legend(fontsize=7.5, loc="upper right", title="learning rate", title_fontsize=8)
    axes[0].set_title("Gradient descent: steps against the gradient\n(the star: the lowest loss)")
    rng = np.random.default_rng(0)
    w, points = start.copy(), [start.copy()]
    for step in range(60):
        rate = 0.9 * np.exp(-step / 30) + 0.1
        w = w - rate * (gradient(w) + rng.normal(0, 0.35, 2))
        points.append(w.copy())
    points = np.array(points)
    axes[1].plot(points[:, 0], points[:, 1], "o-", color=BLUE, markersize=3, linewidth=1.0)
    axes[1].set_title("Mini-batches: each step's gradient comes from\n100 images only: "
                      "noisy, but downhill on average")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def _network(ax, columns, dx=2.0, centre=4.0, gap=0.75, dropped=(), size=230):
    """Columns of neurons joined by weights; columns: number of neurons drawn in each.
    dropped: {(column, index)} drawn switched off, with their weights gone.
    Returns each column's neuron positions."""
    positions = []
    for c, count in enumerate(columns):
        positions.append([(c * dx, centre + (count - 1) / 2 * gap - i * gap) for i in range(count)])
    for c in range(len(positions) - 1):
        for i, (x1, y1) in enumerate(positions[c]):
            for j, (x2, y2) in enumerate(positions[c + 1]):
                if (c, i) not in dropped and (c + 1, j) not in dropped:
                    ax.plot([x1, x2], [y1, y2], color="#c9c9c9", linewidth=0.5, zorder=0)
    for c, column in enumerate(positions):
        on = [p for i, p in enumerate(column) if (c, i) not in dropped]
        off = [p for i, p in enumerate(column) if (c, i) in dropped]
        if on:
            _neurons(ax, on, size=size)
        if off:
            _neurons(ax, off, size=size, colour=GREY, face="#eeeeee")
            xs, ys = zip(*off)
            ax.scatter(xs, ys, s=size * 0.6, marker="x", color=RED, linewidth=2, zorder=4)
    return positions


def draw_five_layers(path):
    plt = _pyplot()
    columns = [(9, 784, "784\npixels"), (8, 200, "200\nsigmoid"), (7, 100, "100\nsigmoid"),
               (6, 60, "60\nsigmoid"), (5, 30, "30\nsigmoid"), (10, 10, "10\nsoftmax")]
    fig = plt.figure(figsize=(10, 4.8))
    ax = fig.add_axes([0.02, 0.02, 0.96, 0.86])
    ax.set_xlim(-1, 11.5)
    ax.set_ylim(-1.6, 8.3)
    ax.axis("off")
    positions = _network(ax, [shown for shown, _, _ in columns], dx=2.1, centre=3.9)
    weights = ["W1 [784, 200]\nB1 [200]", "W2 [200, 100]\nB2 [100]", "W3 [100, 60]\nB3 [60]",
               "W4 [60, 30]\nB4 [30]", "W5 [30, 10]\nB5 [10]"]
    for c, (shown, size, label) in enumerate(columns):
        x = positions[c][0][0]
        ax.text(x, -0.55, label, ha="center", va="top", fontsize=10)
        if shown < size:
            ax.text(x, positions[c][-1][1] - 0.3, "...", ha="center", va="top", fontsize=10)
    for c, text in enumerate(weights):
        ax.text(positions[c][0][0] + 1.05, 7.6, text, ha="center", fontsize=8.5, color=BLUE)
    ax.set_title("Stage 2.0: five layers, 784 -> 200 -> 100 -> 60 -> 30 -> 10\n"
                 "185,300 weights and biases to learn (stage 1.0 had 7,850)", fontsize=11)
    save_figure(fig, path)
    plt.close(fig)


def draw_log_nan(path):
    plt = _pyplot()
    p = np.linspace(0.0005, 1, 600)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.9), gridspec_kw=dict(width_ratios=[1, 1.25]))
    axes[0].plot(p, -np.log(p), color=BLUE, linewidth=2)
    axes[0].set_ylim(0, 8)
    axes[0].set_xlim(0, 1.02)
    axes[0].set_xlabel("probability Y that the network gives the correct digit")
    axes[0].set_ylabel("-log(Y)")
    axes[0].set_title("The loss of one image: -log(Y)")
    axes[0].annotate("sure and right: 0", xy=(1, 0), xytext=(0.55, 1.6), fontsize=9,
                     arrowprops=dict(arrowstyle="->"))
    axes[0].annotate("Y -> 0: the loss grows\nwithout limit; log(0) = -inf",
                     xy=(0.003, 7.6), xytext=(0.12, 5.6), fontsize=9,
                     arrowprops=dict(arrowstyle="->"))
    axes[0].spines[["top", "right"]].set_visible(False)
    # a real float32 computation: logits 120 apart, the network sure (and right)
    logits = np.array([0.0, 120.0], np.float32)
    label = np.array([0.0, 1.0], np.float32)  # the correct digit is the second one
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        exps = np.exp(logits - logits.max())
        probabilities = exps / exps.sum()
        log_of_softmax = np.log(probabilities)
        products = label * log_of_softmax
        hand_written = -products.sum()
        log_from_logits = logits - (logits.max() + np.log(np.exp(logits - logits.max()).sum()))
        from_logits = -(label * log_from_logits).sum() + 0.0  # + 0.0: no "-0"
    axes[1].axis("off")
    lines = [
        "float32, logits [0, 120], label Y_ = [0, 1]: sure and right",
        "",
        "Softmax, then log (stage 1.0's loss, written by hand):",
        f"  Y           = [{probabilities[0]:g}, {probabilities[1]:g}]   e^-120 rounds to 0",
        f"  log(Y)      = [{log_of_softmax[0]:g}, {log_of_softmax[1]:g}]",
        f"  Y_ * log(Y) = [{products[0]:g}, {products[1]:g}]   0 x -inf is NaN",
        f"  loss        = {hand_written:g}: training stops",
        "",
        "From the logits (stage 2.0 on):",
        "  log(Y) = logits - log(sum(e^logits))",
        f"         = [{log_from_logits[0]:g}, {log_from_logits[1]:g}]   always finite",
        f"  loss   = {from_logits:g}: right, and sure",
    ]
    axes[1].text(0.02, 0.97, "\n".join(lines), family="monospace", fontsize=9, va="top",
                 transform=axes[1].transAxes, linespacing=1.45)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def draw_sigmoid_relu(path):
    plt = _pyplot()
    x = np.linspace(-6, 6, 400)
    sigmoid = 1 / (1 + np.exp(-x))
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.7))
    axes[0].plot(x, sigmoid, color=BLUE, linewidth=2, label="sigmoid(x)")
    axes[0].plot(x, sigmoid * (1 - sigmoid), color=RED, linewidth=2, label="its slope (at most 0.25)")
    axes[0].set_title("Sigmoid: flat on both sides")
    axes[0].annotate("slope near 0:\nlittle gradient\ngets through", xy=(4.5, 0.012),
                     xytext=(2.2, 0.45), fontsize=9, arrowprops=dict(arrowstyle="->"))
    axes[1].plot(x, np.maximum(0, x), color=BLUE, linewidth=2, label="relu(x) = max(0, x)")
    axes[1].plot(x, (x > 0).astype(float), color=RED, linewidth=2, label="its slope (0 or 1)")
    axes[1].set_ylim(-0.3, 6)
    axes[1].set_title("ReLU: slope 1 wherever it is active")
    for ax in axes:
        ax.axhline(0, color="#888888", linewidth=0.7)
        ax.axvline(0, color="#888888", linewidth=0.7)
        ax.legend(fontsize=9, loc="upper left")
        ax.set_xlabel("weighted sum x")
        ax.spines[["top", "right"]].set_visible(False)
    fig.text(0.5, 0.005, "Back through 4 sigmoid layers, the gradient is multiplied by "
             "at most 0.25 four times: 0.25^4 = 0.004.", ha="center", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    save_figure(fig, path)
    plt.close(fig)


def draw_lr_decay(path):
    plt = _pyplot()
    step = np.linspace(0, 10000, 500)
    fig, ax = plt.subplots(figsize=(9.5, 4))
    ax.plot(step, np.full_like(step, 0.003), color=GREY, linewidth=2, linestyle="--",
            label="2.0: constant 0.003")
    ax.plot(step, 0.0001 + 0.003 * np.exp(-step / 2000), color=BLUE, linewidth=2,
            label="2.1, 2.2, 3.0, 3.1: 0.0001 + 0.003 e^(-step/2000)")
    ax.plot(step, 0.0001 + 0.03 * np.exp(-step / 1000), color=ORANGE, linewidth=2,
            label="4.0, 4.1: 0.0001 + 0.03 e^(-step/1000)")
    ax.plot(step, 0.0001 + 0.02 * np.exp(-step / 1600), color=GREEN, linewidth=2,
            label="4.2: 0.0001 + 0.02 e^(-step/1600)")
    ax.axhline(0.0001, color="#555555", linewidth=0.8, linestyle=":")
    ax.text(100, 0.000085, "the floor: 0.0001", ha="left", va="top", fontsize=9)
    ax.set_yscale("log")
    ax.set_ylim(0.00006, 0.05)
    ax.set_xlabel("training step")
    ax.set_ylabel("learning rate (log scale)")
    ax.set_title("Learning-rate decay: big steps first, small steps to settle")
    ax.legend(fontsize=9, loc="upper right")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def one_cycle_rate(step, iterations, peak=0.02, warmup=0.3):
    """Stage 5.0's learning rate (mnist_5.0_speedrun.py, learning_rate), in numpy."""
    progress = np.asarray(step, float) / iterations
    fall = 0.5 * (1 + np.cos(np.pi * (progress - warmup) / (1 - warmup)))
    return peak * np.where(progress < warmup, progress / warmup, fall)


def draw_one_cycle(path):
    plt = _pyplot()
    iterations = 234
    fig, ax = plt.subplots(figsize=(9.5, 4.2))
    for steps, style, label in [(100, ":", "--iterations 100"), (150, "--", "--iterations 150")]:
        step = np.arange(steps + 1)
        ax.plot(step, one_cycle_rate(step, steps), color=GREY, linewidth=1.5, linestyle=style,
                label=f"{label}: the same cycle, squeezed")
    step = np.arange(iterations + 1)
    ax.plot(step, one_cycle_rate(step, iterations), color=PURPLE, linewidth=2.5,
            label="5.0: 234 steps of 256 images, one epoch")
    top = round(0.3 * iterations)
    ax.axvspan(0, 0.3 * iterations, color=PURPLE, alpha=0.07, linewidth=0)
    ax.text(0.15 * iterations, 0.0215, "climb: 30 % of the run\n(Adam's averages and the\n"
            "batch-norm averages settle)", ha="center", va="bottom", fontsize=9)
    ax.annotate(f"peak 0.02 at step {top}", xy=(top, 0.02), xytext=(top + 30, 0.0225),
                fontsize=9, arrowprops=dict(arrowstyle="->", color="#444444"))
    ax.text(168, 0.011, "half cosine down to 0:\nbig steps cross the landscape,\n"
            "small ones settle the network", ha="left", va="bottom", fontsize=9)
    ax.annotate("at the end the rate is almost 0: the\nweights hardly move, and the network\n"
                "settles where the schedule took it", xy=(iterations, 0.0003),
                xytext=(150, 0.0035), fontsize=9, ha="left",
                arrowprops=dict(arrowstyle="->", color="#444444"))
    ax.set_xlim(0, iterations + 6)
    ax.set_ylim(0, 0.0285)
    ax.set_xlabel("training step")
    ax.set_ylabel("learning rate")
    ax.set_title("Stage 5.0's one-cycle learning rate: up for 30 % of the run, "
                 "then down to 0")
    ax.legend(fontsize=8.5, loc="upper right", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    images = ax.secondary_xaxis("top", functions=(lambda s: s * 256 / 1000,
                                                  lambda k: k * 1000 / 256))
    images.set_xlabel("training images seen (thousands)", fontsize=9)
    images.tick_params(labelsize=8)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def draw_dropout(path):
    plt = _pyplot()
    columns = [6, 8, 8, 6, 4]
    rng = np.random.default_rng(3)
    dropped = set()
    for c in (1, 2, 3):  # hidden layers only
        for i in rng.choice(columns[c], size=round(columns[c] * 0.25), replace=False):
            dropped.add((c, int(i)))
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.2))
    for ax, title, off in ((axes[0], "Training: at each step a new random quarter of the\n"
                            "hidden neurons is off; the others' outputs x 1/0.75", dropped),
                           (axes[1], "Test: every neuron works,\nnothing is scaled", set())):
        ax.set_xlim(-0.7, 8.7)
        ax.set_ylim(-0.4, 6.6)
        ax.axis("off")
        ax.set_title(title, fontsize=10)
        _network(ax, columns, dx=2.0, centre=3.3, gap=0.72, dropped=off, size=200)
        for c, label in enumerate(["input", "hidden", "hidden", "hidden", "output"]):
            ax.text(c * 2.0, -0.3, label, ha="center", fontsize=9, color="#444444")
    save_figure(fig, path)
    plt.close(fig)


def draw_all_reduce(path, workers=4, batch=100):
    """Stage 8.0: one step of data parallelism on `workers` workers."""
    plt = _pyplot()
    from matplotlib.patches import FancyArrowPatch, Rectangle
    share = batch // workers
    colours = [BLUE, ORANGE, GREEN, RED][:workers]
    fig, ax = plt.subplots(figsize=(10.5, 5.6))
    ax.set_xlim(0, 10.5)
    ax.set_ylim(0, 6.0)
    ax.axis("off")

    def arrow(start, end, colour="#444444"):
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12,
                                     color=colour, linewidth=1.2))

    # The global batch, the same on every worker, cut into one slice per worker.
    width = 8.0 / workers
    ax.text(5.25, 5.75, f"the global batch: {batch} images, drawn alike by every worker "
            f"(same seed)", ha="center", fontsize=10)
    centres = [1.25 + width * (i + 0.5) for i in range(workers)]
    for i, colour in enumerate(colours):
        ax.add_patch(Rectangle((1.25 + width * i, 5.05), width, 0.45, color=colour, alpha=0.35))
        ax.text(centres[i], 5.27, f"images {share * i}-{share * (i + 1) - 1}", ha="center",
                va="center", fontsize=9)
    # Each worker: its own copy of the network, gradients of its slice.
    for i, colour in enumerate(colours):
        x = centres[i]
        arrow((x, 5.0), (x, 4.45), colour)
        ax.add_patch(Rectangle((x - width / 2 + 0.12, 3.05), width - 0.24, 1.35, fill=False,
                               edgecolor=colour, linewidth=1.5))
        ax.text(x, 4.1, f"worker {i}", ha="center", fontsize=10, weight="bold")
        ax.text(x, 3.55, f"its copy of the\nnetwork; g{i}: the\ngradients of its\n{share} images",
                ha="center", va="center", fontsize=8.5)
        arrow((x, 3.0), (x, 2.25), colour)
    # The all-reduce: every worker sends its gradients and gets back their sum.
    ax.add_patch(Rectangle((1.25, 1.45), 8.0, 0.75, color="#e8e8e8"))
    total = " + ".join(f"g{i}" for i in range(workers))
    ax.text(5.25, 1.83, f"all-reduce (sum):  g = {total}   on every worker", ha="center",
            va="center", fontsize=10.5)
    for x, colour in zip(centres, colours):
        arrow((x, 1.4), (x, 0.75), colour)
    ax.text(5.25, 0.45, "every worker applies the same update with g: the copies stay "
            "identical", ha="center", fontsize=10)
    ax.text(5.25, 0.05, f"each loss: summed over the slice, divided by the global batch ({batch})"
            f", so that g is the gradient of the mean loss over all {batch} images",
            ha="center", fontsize=8.5, color="#444444")
    save_figure(fig, path)
    plt.close(fig)


def _conv_same(image, kernel, stride):
    """A 2-D convolution as tf.nn.conv2d computes it (no kernel flip), SAME padding.
    Returns the output and the padding added before the first row and column."""
    size = kernel.shape[0]
    out = -(-image.shape[0] // stride)
    pad_total = max((out - 1) * stride + size - image.shape[0], 0)
    before = pad_total // 2
    padded = np.pad(image, ((before, pad_total - before),) * 2)
    result = np.zeros((out, out))
    for i in range(out):
        for j in range(out):
            window = padded[i * stride:i * stride + size, j * stride:j * stride + size]
            result[i, j] = (window * kernel).sum()
    return result, before


def draw_convolution(path):
    plt = _pyplot()
    from matplotlib.patches import Rectangle, ConnectionPatch
    digit = _example_digit()
    # a 5x5 filter that answers to the top edge of horizontal strokes: paper above, ink below
    kernel = np.array([[-1] * 5, [-1] * 5, [0] * 5, [1] * 5, [1] * 5], float) / 10
    stride = 2
    output, pad = _conv_same(digit, kernel, stride)
    output = np.maximum(output, 0)  # ReLU (bias 0 here)
    fig = plt.figure(figsize=(11, 4.6))
    ax_in = fig.add_axes([0.03, 0.12, 0.34, 0.72])
    ax_k = fig.add_axes([0.425, 0.12, 0.13, 0.30])
    ax_out = fig.add_axes([0.62, 0.12, 0.34, 0.72])
    ax_in.imshow(digit, cmap="gray_r", extent=(-0.5, 27.5, 27.5, -0.5))
    ax_out.imshow(output, cmap="gray_r", extent=(-0.5, 13.5, 13.5, -0.5))
    for ax, size in ((ax_in, 28), (ax_out, 14)):
        ax.set_xticks(np.arange(-0.5, size, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, size, 1), minor=True)
        ax.grid(which="minor", color="#dddddd", linewidth=0.4)
        ax.tick_params(which="both", length=0, labelsize=8)
    ax_in.set_title("input: 28 x 28 x 1 (one channel)", fontsize=10)
    ax_out.set_title("output of this filter: 14 x 14\n(one channel per filter)", fontsize=10)
    positions = [(2, 4), (2, 5)]  # output pixels (row, column): two neighbours
    for (row, col), style in zip(positions, ("-", "--")):
        top, left = row * stride - pad, col * stride - pad
        ax_in.add_patch(Rectangle((left - 0.5, top - 0.5), 5, 5, fill=False, edgecolor=RED,
                                  linewidth=2, linestyle=style))
        ax_out.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor=RED,
                                   linewidth=2, linestyle=style))
    ax_in.text(27, 27, "stride 2: the next window\n(dashed) is 2 pixels further",
               ha="right", va="bottom", fontsize=9, color=RED)
    ax_k.imshow(kernel, cmap="RdBu_r", vmin=-0.12, vmax=0.12)
    for i in range(5):
        for j in range(5):
            ax_k.text(j, i, f"{kernel[i, j]:+.1f}" if kernel[i, j] else "0", ha="center",
                      va="center", fontsize=6.5)
    ax_k.set_xticks([])
    ax_k.set_yticks([])
    ax_k.set_title("one 5 x 5 filter: 25 weights\n+ 1 bias, the same at\nevery position",
                   fontsize=9)
    row, col = positions[0]
    top, left = row * stride - pad, col * stride - pad
    fig.add_artist(ConnectionPatch(xyA=(left + 4.5, top + 2), coordsA=ax_in.transData,
                                   xyB=(col - 0.5, row), coordsB=ax_out.transData,
                                   color=RED, linewidth=1, arrowstyle="->"))
    fig.text(0.49, 0.74, "output pixel =\nrelu(sum of the 25 pixels\nunder the window x the\n"
             "25 weights + bias)", ha="center", fontsize=9, va="center")
    fig.text(0.5, 0.015, "This filter lights up where a stroke has paper above it. SAME padding: "
             "the window also goes over the borders (zeros outside), so 28 / 2 = 14.",
             ha="center", fontsize=9.5)
    save_figure(fig, path)
    plt.close(fig)


# How each tensor of a stage's drawing after X is made, with the weights it uses: the
# sizes, the channels and the weights' shapes are read from the drawing in the stage
# script's docstring (stages.drawn_tensors; tests/test_stages.py checks it against the
# stage's variables), so that the pictures show the networks as they are.
CONV = "conv {k}x{k}, stride {stride}\n{W}"
CONV_VALID = "conv {k}x{k}, no padding\n{W}"
POOL = "max pool 2x2,\nbatch norm, ReLU"
RESHAPE = "reshape\n{h}·{w}·{c}"
DENSE = "dense\n{W}"
CONV_NETWORKS = {  # stage: ([(label, weights) for each tensor from Y1 to Ylogits], title)
    "3.0": ([(CONV, "W1"), (CONV, "W2"), (CONV, "W3"), (RESHAPE, None), (DENSE, "W4"),
             (DENSE, "W5")],
            "Stage 3.0: three convolutional layers (ReLU), one dense layer, softmax"),
    "3.1": ([(CONV, "W1"), (CONV, "W2"), (CONV, "W3"), (RESHAPE, None),
             ("dense\n+ dropout\n{W}", "W4"), (DENSE, "W5")],
            "Stage 3.1: more and larger filters, dropout on the dense layer"),
    "4.2": ([(CONV, "W1"), (CONV, "W2"), (CONV, "W3"), (RESHAPE, None),
             ("dense\n+ dropout\n{W}", "W4"), (DENSE, "W5")],
            "Stage 4.2: four times the channels of 3.1, batch norm before every ReLU"),
    "5.0": ([(CONV_VALID, "W1"), (POOL, None), (CONV_VALID, "W2"), (POOL, None),
             (RESHAPE, None), ("dense, BN\n{W}", "W3"), (DENSE, "W4")],
            "Stage 5.0: smaller images sooner (no padding, max pooling), fewer channels: "
            "0.8 million\nmultiply-adds per image, against 9.4 million in 4.2"),
}


def conv_network(stage):
    """([(image size, channels, the operation that made it)], [(dense size, operation)],
    title) of a stage, with the shapes of the drawing in its script's docstring."""
    operations, title = CONV_NETWORKS[stage]
    drawing = _stages.docstring(dict(_stages.STAGES)[stage])
    shapes = _stages.drawn_shapes(drawing)
    (_, before), *made, _ = _stages.drawn_tensors(drawing)  # X ... Ylogits, Y
    if len(made) != len(operations):
        raise ValueError(f"stage {stage}: {len(made)} tensors drawn from Y1 to Ylogits, "
                         f"{len(operations)} operations in CONV_NETWORKS")
    images, dense = [(before[1], before[3], "")], []
    for (label, weights), (_, shape) in zip(operations, made):
        fields = {}
        if len(before) == 4:  # from an image: its size and channels
            fields.update(h=before[1], w=before[2], c=before[3])
        if len(shape) == 4:  # to an image: the stride that made it
            fields["stride"] = before[1] // shape[1]
        if weights:
            fields.update(k=shapes[weights][0],
                          W=f"{weights} [{', '.join(map(str, shapes[weights]))}]")
        if len(shape) == 4:
            images.append((shape[1], shape[3], label.format(**fields)))
        else:
            dense.append((shape[1], label.format(**fields)))
        before = shape
    return images, dense, title


def draw_conv_shapes(path, stage):
    plt = _pyplot()
    from matplotlib.patches import Polygon
    tensors, dense, title = conv_network(stage)
    fig = plt.figure(figsize=(11, 4.4))
    ax = fig.add_axes([0.01, 0.01, 0.98, 0.86])
    ax.axis("off")
    ax.set_title(title, fontsize=11, pad=12)
    x, base = 0.3, 1.0
    for index, (size, channels, operation) in enumerate(tensors):
        side = 1.0 + size / 28 * 3.6  # drawn size grows with the image size
        slices = min(channels, 12)
        depth_step = 0.2
        for k in range(slices):
            dx, dy = k * depth_step, k * depth_step * 0.6
            ax.add_patch(Polygon([(x + dx, base + dy), (x + dx + side, base + dy),
                                  (x + dx + side, base + dy + side), (x + dx, base + dy + side)],
                                 closed=True, facecolor="#dbe9f6" if index else "#eeeeee",
                                 edgecolor="#4a6a8a", linewidth=0.7))
        total_dx = (slices - 1) * depth_step
        label = f"{size} x {size} x {channels}"
        if channels > slices:
            label += f"\n({slices} of {channels} drawn)"
        ax.text(x + (side + total_dx) / 2, base + 0.25 + total_dx * 0.6 + side, label,
                ha="center", fontsize=9, va="bottom")
        if operation:
            ax.text(x - 0.75, base - 0.5, operation, ha="center", va="top", fontsize=8.5,
                    color=BLUE)
            ax.annotate("", xy=(x - 0.1, base + 1.6), xytext=(x - 1.3, base + 1.6),
                        arrowprops=dict(arrowstyle="->", lw=1.3))
        x += side + total_dx + 1.6
    for size, operation in dense:
        height = 1.2 if size == 10 else 2.4 if size <= 200 else 3.6
        x += 0.6
        ax.add_patch(plt.Rectangle((x, base + 1.6 - height / 2), 0.4, height,
                                   facecolor="#fde3c8", edgecolor="#a0622a"))
        ax.text(x + 0.2, base + 1.8 + height / 2, str(size), ha="center", fontsize=9, va="bottom")
        ax.text(x - 1.1, base - 0.5, operation, ha="center", va="top", fontsize=8.5, color=BLUE)
        ax.annotate("", xy=(x - 0.1, base + 1.6), xytext=(x - 2.1, base + 1.6),
                    arrowprops=dict(arrowstyle="->", lw=1.3))
        x += 3.9  # room for the labels below
    ax.annotate("", xy=(x + 0.1, base + 1.6), xytext=(x - 2.7, base + 1.6),
                arrowprops=dict(arrowstyle="->", lw=1.3))
    ax.text(x + 0.2, base + 1.6, "softmax:\n10 probabilities", va="center", fontsize=9)
    ax.set_xlim(-1.0, x + 4.6)  # room for "10 probabilities"
    ax.set_ylim(-2.0, 8.6)
    save_figure(fig, path)
    plt.close(fig)


def draw_batchnorm(path):
    plt = _pyplot()
    rng = np.random.default_rng(1)
    sums = rng.normal(3.5, 2.2, 100)  # one neuron's weighted sums over a batch of 100
    mean, variance = sums.mean(), sums.var()
    normalised = (sums - mean) / np.sqrt(variance + 1e-5)
    scale, offset = 1.6, 0.8
    shifted = normalised * scale + offset
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.5))
    bins = np.linspace(-6, 10, 33)
    axes[0].hist(sums, bins=bins, color=BLUE)
    axes[0].set_title(f"1. one neuron's weighted sums\nover the batch: mean {mean:.1f}, "
                      f"variance {variance:.1f}", fontsize=9.5)
    axes[1].hist(normalised, bins=bins, color=GREEN)
    axes[1].set_title("2. normalised: (x - mean) / sqrt(var + eps)\nmean 0, variance 1",
                      fontsize=9.5)
    axes[2].hist(shifted, bins=bins, color=ORANGE)
    axes[2].set_title(f"3. x scale ({scale}) + offset ({offset}),\nboth learned, "
                      "then the activation", fontsize=9.5)
    for ax in axes[:3]:
        ax.set_xlim(-6, 10)
        ax.set_yticks([])
        ax.spines[["top", "right", "left"]].set_visible(False)
    # moving average of the batch means
    steps = np.arange(600)
    drift = 3.5 - 1.5 * (1 - np.exp(-steps / 150))  # the layer below keeps learning
    batch_means = drift + rng.normal(0, 0.35, steps.size)
    moving, averages = 0.0, []
    for step, value in zip(steps, batch_means):
        decay = min(0.99, (1 + step) / (10 + step))  # 0.999 in the scripts: slower still
        moving = decay * moving + (1 - decay) * value
        averages.append(moving)
    axes[3].plot(steps, batch_means, color="#bbbbbb", linewidth=0.8, label="mean of each batch")
    axes[3].plot(steps, averages, color=RED, linewidth=2, label="moving average (used at test)")
    axes[3].set_title("4. for the test: moving averages\nof the batches' means and variances",
                      fontsize=9.5)
    axes[3].set_xlabel("training step")
    axes[3].legend(fontsize=7.5, loc="upper right")
    axes[3].spines[["top", "right"]].set_visible(False)
    fig.text(0.5, 0.005, "Illustration with random numbers: batch norm, one neuron, "
             "one batch of 100 images.", ha="center", fontsize=9, color="#555555")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    save_figure(fig, path)
    plt.close(fig)


def _photo_of_a_digit():
    """A made-up phone photo: a 3 in dark ink on unevenly lit paper, with grain."""
    from PIL import Image, ImageDraw
    width, height = 240, 300
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    draw.arc((60, 40, 180, 150), start=200, end=90, fill=40, width=16)
    draw.arc((55, 130, 185, 260), start=270, end=160, fill=40, width=16)
    pixels = np.asarray(image, np.float32)
    rows = np.linspace(0, 1, height)[:, None]
    lighting = 0.78 + 0.18 * rows + np.linspace(0, 0.05, width)[None, :]
    rng = np.random.default_rng(0)
    photo = pixels * lighting + rng.normal(0, 6, pixels.shape)
    return np.clip(photo, 0, 255).astype(np.uint8)


def draw_predict_steps(path):
    plt = _pyplot()
    sys.path.insert(0, str(REPO))
    import predict
    photo = _photo_of_a_digit()
    prepared = predict.prepare_digit(photo)[:, :, 0]
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.9), gridspec_kw=dict(width_ratios=[0.8, 1]))
    axes[0].imshow(photo, cmap="gray", vmin=0, vmax=255)
    axes[0].set_title("your digit: a photo or a scan\n(dark ink, uneven light)", fontsize=10)
    axes[1].imshow(prepared, cmap="gray", vmin=0, vmax=1)
    axes[1].set_title("what the network sees (--save-prepared):\n28 x 28, light ink on black, "
                      "centred", fontsize=10)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)

def draw_unrolled_gru(path):
    """Stage 6.0: the GRU unrolled over the rows of a digit, and the inside of its cell."""
    plt = _pyplot()
    from matplotlib.patches import FancyBboxPatch
    digit = _example_digit()
    fig = plt.figure(figsize=(10.5, 6.4))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, 21)
    ax.set_ylim(0, 12.8)
    ax.axis("off")

    def box(x, y, w, h, text, colour, size=10, weight="normal"):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.08",
                                    facecolor=colour, edgecolor="#444444", alpha=0.9))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size,
                fontweight=weight, linespacing=1.35)

    def arrow(x1, y1, x2, y2, colour="#333333", lw=1.4):
        ax.annotate("", xy=(x2, y2), xytext=(x1, y1),
                    arrowprops=dict(arrowstyle="->", color=colour, lw=lw))

    # Top: the unrolled network. The digit, its rows fed one per step to the same cell.
    ax_digit = fig.add_axes([0.01, 0.62, 0.085, 0.26])
    ax_digit.imshow(digit, cmap="gray_r")
    shown_rows = [0, 7, 14, 27]  # rows 1, 8, 15, 28
    for row in shown_rows:
        ax_digit.add_patch(plt.Rectangle((-0.5, row - 0.5), 28, 1, fill=False,
                                         edgecolor=RED, linewidth=1.2))
    ax_digit.set_xticks([])
    ax_digit.set_yticks([])
    ax_digit.set_title("one image,\n28 rows", fontsize=9)
    xs = [3.6, 7.4, 11.4, 15.2]
    y_cell, h_cell, w_cell = 8.4, 1.1, 2.0
    middle = y_cell + h_cell / 2
    ax.text(2.75, middle - 0.55, "H0: zeros", ha="center", fontsize=8.5)
    previous = 2.0
    for k, (row, x) in enumerate(zip(shown_rows, xs)):
        strip = fig.add_axes([x / 21, 11.0 / 12.8, w_cell / 21, 0.45 / 12.8])
        strip.imshow(digit[row:row + 1], cmap="gray_r", aspect="auto", vmin=0, vmax=1)
        strip.set_xticks([])
        strip.set_yticks([])
        for spine in strip.spines.values():
            spine.set_edgecolor(RED)
        ax.text(x + w_cell / 2, 11.75, f"X{row + 1}: row {row + 1} [28]", ha="center", fontsize=8.5)
        arrow(x + w_cell / 2, 10.95, x + w_cell / 2, y_cell + h_cell + 0.12, BLUE)
        box(x, y_cell, w_cell, h_cell, "GRU cell", "#dbe9f6", size=10, weight="bold")
        arrow(previous, middle, x - 0.1, middle, ORANGE, lw=2)
        if k:
            ax.text(x - 0.75, middle + 0.25, "...", ha="center", fontsize=12)
        ax.text(x + w_cell + 0.45, middle + 0.45, f"H{row + 1}", ha="center", fontsize=8.5)
        previous = x + w_cell + 0.1
    arrow(previous, middle, 18.3, middle, ORANGE, lw=2)
    box(18.4, y_cell, 2.3, h_cell, "dense softmax\nY [10]", "#e3f1e3", size=9)
    ax.text(10.5, 7.7, "the state H (128 numbers, orange) carries what was read so far to the "
            "next row; every cell is the same cell, with the same weights", ha="center",
            fontsize=9, color="#444444")
    ax.plot([0.3, 20.7], [7.3, 7.3], color="#bbbbbb", linewidth=0.8)

    # Bottom: inside one cell.
    ax.text(0.4, 6.75, "Inside the cell at step t", fontsize=11, fontweight="bold", va="center")
    box(0.5, 4.3, 1.7, 0.8, "Xt\nrow t [28]", "#dbe9f6", size=9)
    box(0.5, 1.5, 1.7, 0.9, "H: the state\nafter row t - 1\n[128]", "#fde3c8", size=8.5)
    gate_x, gate_w = 3.7, 5.6
    box(gate_x, 5.0, gate_w, 0.95, "Z = sigmoid(Xt . Wz + H . Uz + Bz)\n"
        "update gate: how much of H to keep", "#eeeeee", size=8.5)
    box(gate_x, 3.4, gate_w, 0.95, "R = sigmoid(Xt . Wr + H . Ur + Br)\n"
        "reset gate: how much of H the candidate sees", "#eeeeee", size=8.5)
    box(gate_x, 1.2, gate_w, 1.2, "HH = tanh(Xt . Wh + (R * H) . Uh + Bh)\n"
        "candidate: a new state, from the row\nand the part of H that R lets through",
        "#eeeeee", size=8.5)
    for y in (5.47, 3.87, 1.9):
        arrow(2.25, 4.7, gate_x - 0.1, y + 0.1, BLUE, lw=1.0)
        arrow(2.25, 1.95, gate_x - 0.1, y - 0.1, ORANGE, lw=1.0)
    arrow(gate_x + gate_w / 2, 3.3, gate_x + gate_w / 2, 2.5)
    ax.text(gate_x + gate_w / 2 + 0.15, 2.85, "R", fontsize=9)
    mix_x, mix_w = 11.0, 5.6
    box(mix_x, 2.8, mix_w, 1.3, "H = Z * H + (1 - Z) * HH\nnumber by number: Z near 1 keeps "
        "the old\nvalue, Z near 0 takes the candidate's", "#fde3c8", size=8.5)
    arrow(gate_x + gate_w + 0.1, 5.47, mix_x - 0.05, 4.05)
    arrow(gate_x + gate_w + 0.1, 1.8, mix_x - 0.05, 2.9)
    # the old state, around the gates, straight to the mix
    ax.plot([1.35, 1.35, mix_x + 1.0], [1.45, 0.8, 0.8], color=ORANGE, lw=1.0)
    arrow(mix_x + 1.0, 0.8, mix_x + 1.0, 2.75, ORANGE, lw=1.0)
    ax.text(mix_x - 2.6, 0.9, "the old H, to keep", fontsize=8.5, color=ORANGE)
    arrow(mix_x + mix_w + 0.1, 3.45, 17.7, 3.45, ORANGE, lw=2)
    ax.text(17.8, 3.45, "the new state H\n[128], to the\nnext row's cell", va="center",
            fontsize=9)
    ax.text(10.5, 0.2, "sigmoid: from 0 to 1, a gate.  tanh: from -1 to 1, a value.  "
            "'*': number by number.  '.': matrix product (a dense layer)",
            ha="center", fontsize=8.5, color="#444444")
    save_figure(fig, path)
    plt.close(fig)


def _test_digits(count):
    """The first `count` MNIST test images, [count, 28, 28] floats in [0, 1]."""
    if count not in _digits:
        sys.path.insert(0, str(REPO))
        import mnistdata
        mnist = mnistdata.read_data_sets(one_hot=False, reshape=False)
        _digits[count] = mnist.test.images[:count, :, :, 0]
    return _digits[count]


def draw_tensor(path):
    plt = _pyplot()
    from matplotlib.patches import Rectangle
    fig = plt.figure(figsize=(11, 4.3))
    ax = fig.add_axes([0, 0, 1, 0.9])
    ax.set_xlim(0, 33)
    ax.set_ylim(-3.2, 9)
    ax.axis("off")
    fig.suptitle(_t("A tensor: numbers in a box with a shape, the length of each of its axes"),
                 fontsize=11.5)

    def caption(x, shape, text):
        ax.text(x, -0.6, shape, ha="center", va="top", fontsize=11, fontweight="bold")
        ax.text(x, -1.5, _t(text), ha="center", va="top", fontsize=9, color="#444444",
                linespacing=1.35)

    # 0 axes: one number
    ax.add_patch(Rectangle((1.3, 3.2), 1.4, 1.4, facecolor="#fde3c8", edgecolor="#a0622a"))
    ax.text(2.0, 3.9, "0.005", ha="center", va="center", fontsize=9)
    caption(2.0, "[ ]", "0 axes: one number\n(the learning rate)")
    # 1 axis: b [10]
    for k in range(10):
        ax.add_patch(Rectangle((5.0 + k * 0.55, 3.6), 0.55, 0.55, facecolor="#fde3c8",
                               edgecolor="#a0622a"))
    caption(7.75, "[10]", "1 axis: 10 numbers\n(b: one bias per digit)")
    # 2 axes: W [784, 10], a few rows drawn
    rng = np.random.default_rng(0)
    values = rng.normal(0, 1, (12, 10))
    ax.imshow(values, cmap="RdBu_r", extent=(12.5, 17.5, 0.4, 8.2), aspect="auto")
    ax.text(15.0, 8.5, _t("10 columns"), ha="center", fontsize=8.5)
    ax.text(12.2, 4.3, _t("784 rows"), ha="right", va="center", fontsize=8.5, rotation=90)
    caption(15.0, "[784, 10]", "2 axes: a table\n(W: 784 weights per digit)")
    # 3 axes: one image [28, 28, 1]
    digit = _example_digit()
    ax.imshow(1 - digit, cmap="gray", extent=(19.6, 23.6, 2.0, 6.0), vmin=0, vmax=1)
    ax.add_patch(Rectangle((19.6, 2.0), 4.0, 4.0, fill=False, edgecolor="#555555"))
    caption(21.6, "[28, 28, 1]", "3 axes: one image,\nheight x width x channels\n(1 channel: grey)")
    # 4 axes: a batch X [100, 28, 28, 1]
    digits = _test_digits(5)
    for k in range(5)[::-1]:
        x0, y0 = 26.0 + k * 0.55, 1.6 + k * 0.45
        ax.imshow(1 - digits[k], cmap="gray", extent=(x0, x0 + 4.0, y0, y0 + 4.0), vmin=0,
                  vmax=1, zorder=10 - k)
        ax.add_patch(Rectangle((x0, y0), 4.0, 4.0, fill=False, edgecolor="#555555",
                               zorder=10 - k))
    ax.text(29.8, 8.2, _t("100 of them"), ha="center", fontsize=8.5)
    caption(29.1, "[100, 28, 28, 1]", "4 axes: a batch of images\n(X: what a training step gets)")
    ax.set_xlim(0, 33)  # imshow resets the limits
    ax.set_ylim(-3.2, 9)
    save_figure(fig, path)
    plt.close(fig)


def draw_conv_channels(path):
    plt = _pyplot()
    from matplotlib.patches import Polygon
    digit = _example_digit()
    # four input channels: what four edge filters of a first layer might answer to
    edges = {"top edge": [[-1] * 5, [-1] * 5, [0] * 5, [1] * 5, [1] * 5],
             "left edge": np.array([[-1] * 5, [-1] * 5, [0] * 5, [1] * 5, [1] * 5]).T.tolist(),
             "bottom edge": [[1] * 5, [1] * 5, [0] * 5, [-1] * 5, [-1] * 5],
             "right edge": np.array([[1] * 5, [1] * 5, [0] * 5, [-1] * 5, [-1] * 5]).T.tolist()}
    channels = [np.maximum(_conv_same(digit, np.array(k, float) / 10, 2)[0], 0)
                for k in edges.values()]  # 14 x 14 each, as Y1 -> stride 2
    # one filter of the next layer: 3 x 3 on each of the 4 channels, one slice per channel
    weights = np.array([[[0, 1, 0], [0, 1, 0], [0, 0, 0]], [[0, 0, 0], [1, 1, 0], [0, 0, 0]],
                        [[0, 0, 0], [0, -1, 0], [0, -1, 0]], [[0, 0, 0], [0, -1, -1], [0, 0, 0]]],
                       float)
    output = sum(_conv_same(c, w, 1)[0] for c, w in zip(channels, weights))
    output = np.maximum(output, 0)
    fig = plt.figure(figsize=(11, 4.8))
    fig.suptitle(_t("One filter looks at every input channel: its weights are a stack of one "
                    "slice per channel"), fontsize=11)
    for k, (name, channel) in enumerate(zip(edges, channels)):
        ax = fig.add_axes([0.015 + k * 0.13, 0.42, 0.115, 0.40])
        ax.imshow(channel, cmap="gray_r")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(_t(f"channel {k + 1}:") + "\n" + _t(name), fontsize=8.5)
        ax = fig.add_axes([0.035 + k * 0.13, 0.12, 0.075, 0.20])
        ax.imshow(weights[k], cmap="RdBu_r", vmin=-1.2, vmax=1.2)
        for i in range(3):
            for j in range(3):
                ax.text(j, i, f"{weights[k, i, j]:+.0f}" if weights[k, i, j] else "0",
                        ha="center", va="center", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(_t(f"slice {k + 1}"), fontsize=8, pad=2)
        if k:
            fig.text(0.012 + k * 0.13, 0.22, "+", fontsize=16, ha="center", va="center")
    fig.text(0.27, 0.015, _t("input: 14 x 14 x 4 (4 channels). One filter: 3 x 3 x 4 = 36 "
                             "weights + 1 bias;\neach slice slides over its own channel"),
             ha="center", fontsize=9.5)
    fig.text(0.61, 0.47, _t("add the 4 results,\nplus the bias,\nthen ReLU"), ha="center",
             va="center", fontsize=9.5)
    fig.text(0.61, 0.36, "→", fontsize=22, ha="center", va="center")
    ax = fig.add_axes([0.67, 0.22, 0.18, 0.52])
    ax.imshow(output, cmap="gray_r")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(_t("one output channel\n14 x 14"), fontsize=9.5)
    fig.text(0.93, 0.47, _t("8 such filters\n(W2 [5, 5, 4, 8]\nin stage 3.0)\ngive 8 output\n"
                            "channels"), ha="center", va="center", fontsize=9.5, color=BLUE)
    save_figure(fig, path)
    plt.close(fig)


def draw_pooling_padding(path):
    plt = _pyplot()
    from matplotlib.patches import Rectangle
    fig, axes = plt.subplots(1, 3, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 1, 1.2]})
    fig.suptitle(_t("Stage 5.0's two ways of shrinking: no padding (VALID) and max pooling"),
                 fontsize=11)
    # VALID and SAME on an 8 x 8 image with a 3 x 3 filter
    for ax, padding in zip(axes[:2], ("VALID", "SAME")):
        size, pad = 8, (0 if padding == "VALID" else 1)
        ax.set_xlim(-1.6, 9.6)
        ax.set_ylim(9.6, -1.9)
        ax.set_aspect("equal")
        ax.axis("off")
        for i in range(-pad, size + pad):
            for j in range(-pad, size + pad):
                inside = 0 <= i < size and 0 <= j < size
                ax.add_patch(Rectangle((j, i), 1, 1, facecolor="#dbe9f6" if inside else "white",
                                       edgecolor="#4a6a8a" if inside else "#bbbbbb",
                                       linestyle="-" if inside else ":", linewidth=0.7))
                if not inside:
                    ax.text(j + 0.5, i + 0.5, "0", ha="center", va="center", fontsize=7,
                            color="#999999")
        first = -pad
        ax.add_patch(Rectangle((first, first), 3, 3, fill=False, edgecolor=RED, linewidth=2))
        out = size - 2 if padding == "VALID" else size
        ax.set_title(_t(f"{padding}: a 3 x 3 filter on 8 x 8\ngives {out} x {out}"), fontsize=10)
        text = ("the filter stays inside the image:\n8 - 3 + 1 = 6 positions a row\n"
                "(5.0: 28 - 5 + 1 = 24)") if padding == "VALID" else (
                "zeros around the image (dotted):\nthe filter fits 8 positions a row\n"
                "(stages 3.x, 4.2)")
        ax.text(4, 9.3, _t(text), ha="center", va="top", fontsize=8.5)
    # max pooling 2 x 2 on a 4 x 4 block
    ax = axes[2]
    ax.set_xlim(-0.5, 9.5)
    ax.set_ylim(6.4, -1.9)
    ax.set_aspect("equal")
    ax.axis("off")
    block = np.array([[1, 3, 0, 2], [4, 2, 1, 1], [0, 1, 5, 2], [2, 0, 3, 1]])
    tints = ["#fde3c8", "#dbe9f6", "#e2f0d9", "#f0dcef"]
    for i in range(4):
        for j in range(4):
            quarter = (i // 2) * 2 + j // 2
            top = block[i, j] == block[(i // 2) * 2:(i // 2) * 2 + 2, (j // 2) * 2:(j // 2) * 2 + 2].max()
            ax.add_patch(Rectangle((j, i), 1, 1, facecolor=tints[quarter], edgecolor="#555555"))
            ax.text(j + 0.5, i + 0.5, str(block[i, j]), ha="center", va="center", fontsize=11,
                    fontweight="bold" if top else "normal", color=RED if top else "#333333")
    for i in range(2):
        for j in range(2):
            ax.add_patch(Rectangle((6 + j * 1.3, 1 + i * 1.3), 1.3, 1.3, facecolor=tints[i * 2 + j],
                                   edgecolor="#555555"))
            ax.text(6.65 + j * 1.3, 1.65 + i * 1.3, str(block[i * 2:i * 2 + 2, j * 2:j * 2 + 2].max()),
                    ha="center", va="center", fontsize=12, color=RED, fontweight="bold")
    ax.annotate("", xy=(5.8, 2.3), xytext=(4.3, 2.3), arrowprops=dict(arrowstyle="->", lw=1.5))
    ax.set_title(_t("max pooling 2 x 2: the largest of each\n2 x 2 block; height and width halve"),
                 fontsize=10)
    ax.text(4.5, 5.2, _t("5.0: 24 x 24 -> 12 x 12, then 10 x 10 -> 5 x 5.\n"
                         "A stroke found anywhere in a block survives."),
            ha="center", va="top", fontsize=8.5)
    save_figure(fig, path)
    plt.close(fig)


def draw_dashboard_annotated(path):
    """The real dashboard at the end of stage 1.0 (pictures/1.0.png, from its run), with
    what to read in each panel. Uses the 1.0.png of the folder it writes to, else the
    guide's: make the dashboards first to annotate a new run."""
    plt = _pyplot()
    folders = [Path(path).parent, Path(path).parent.parent, PICTURES]  # zh/ is one down
    source = next(folder / "1.0.png" for folder in folders if (folder / "1.0.png").exists())
    image = plt.imread(source)
    height, width = image.shape[:2]
    fig = plt.figure(figsize=(13, 9.2))
    ax = fig.add_axes([0.02, 0.14, 0.96, 0.72])
    ax.imshow(image)
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    notes = [  # (point on the dashboard, in pixels; text position, figure fraction; text)
        ((300, 66), (0.01, 0.985), "test accuracy (thick red): all 10,000\n"
                                   "test digits. The curve that matters."),
        ((381, 53), (0.01, 0.915), "training accuracy (thin blue): only the\n"
                                   "batch of 100, hence the noise"),
        ((497, 46), (0.36, 0.985), "the loss starts at 230, above the top:\nthe scale "
                                   "starts at 0-100, then\nfollows the loss"),
        ((968, 58), (0.70, 0.985), "misrecognised digits first, on red:\n"
                                   "correct digit left, network's answer\nright"),
        ((240, 548), (0.01, 0.115), "7 bands, each holding 1/7 of the\n"
                                    "weights; darkest: around the median"),
        ((700, 610), (0.31, 0.115), "the biases, the same way (stages\n"
                                    "4.x and 5.0 show activations here)"),
        ((760, 692), (0.31, 0.04), "x axis: the training step"),
        ((1100, 605), (0.66, 0.115), "the red block ends at the test accuracy:\n"
                                     "92 %, so 8 % of the test digits are wrong"),
    ]
    for (x, y), (tx, ty), text in notes:
        ax.annotate(_t(text), xy=(x, y), xycoords="data", xytext=(tx, ty),
                    textcoords="figure fraction", fontsize=10, va="top",
                    bbox=dict(boxstyle="round,pad=0.3", facecolor="#fff8d8", edgecolor="#c8a800"),
                    arrowprops=dict(arrowstyle="->", color="#9a7b00", lw=1.2))
    save_figure(fig, path)
    plt.close(fig)


# The labels of the Chinese pictures, keyed by the English label as drawn.
CHINESE_LABELS = {
    # all-reduce (8.0)
    "all-reduce (sum):  g = g0 + g1 + g2 + g3   on every worker": "all-reduce（求和）：每个工作进程上都得到 g = g0 + g1 + g2 + g3",
    "each loss: summed over the slice, divided by the global batch (100), so that g is the gradient of the mean loss over all 100 images":
        "每个损失：在自己那一份上求和，再除以全局批次大小（100），这样 g 就是全部 100 张图片平均损失的梯度",
    "every worker applies the same update with g: the copies stay identical": "每个工作进程都用 g 做同样的更新：各份副本始终一致",
    "images 0-24": "图片 0-24", "images 25-49": "图片 25-49", "images 50-74": "图片 50-74",
    "images 75-99": "图片 75-99",
    "the global batch: 100 images, drawn alike by every worker (same seed)": "全局批次：100 张图片，每个工作进程抽到的都一样（同一个种子）",
    "worker 0": "工作进程 0", "worker 1": "工作进程 1", "worker 2": "工作进程 2", "worker 3": "工作进程 3",
    "its copy of the\nnetwork; g0: the\ngradients of its\n25 images": "它的网络副本；\ng0：它那 25 张\n图片的梯度",
    "its copy of the\nnetwork; g1: the\ngradients of its\n25 images": "它的网络副本；\ng1：它那 25 张\n图片的梯度",
    "its copy of the\nnetwork; g2: the\ngradients of its\n25 images": "它的网络副本；\ng2：它那 25 张\n图片的梯度",
    "its copy of the\nnetwork; g3: the\ngradients of its\n25 images": "它的网络副本；\ng3：它那 25 张\n图片的梯度",
    # unrolled GRU (6.0)
    "H = Z * H + (1 - Z) * HH\nnumber by number: Z near 1 keeps the old\nvalue, Z near 0 takes the candidate's":
        "H = Z * H + (1 - Z) * HH\n逐个数字：Z 接近 1 保留旧值，\nZ 接近 0 取候选状态的值",
    "sigmoid: from 0 to 1, a gate.  tanh: from -1 to 1, a value.  '*': number by number.  '.': matrix product (a dense layer)":
        "sigmoid：从 0 到 1，是门。  tanh：从 -1 到 1，是值。  '*'：逐个数字相乘。  '.'：矩阵乘法（一个全连接层）",
    "the new state H\n[128], to the\nnext row's cell": "新的状态 H\n[128]，传给\n下一行的单元",
    "GRU cell": "GRU 单元",
    "H0: zeros": "H0：全零",
    "H: the state\nafter row t - 1\n[128]": "H：第 t - 1 行\n之后的状态\n[128]",
    "HH = tanh(Xt . Wh + (R * H) . Uh + Bh)\ncandidate: a new state, from the row\nand the part of H that R lets through":
        "HH = tanh(Xt . Wh + (R * H) . Uh + Bh)\n候选状态：由这一行和 R 放过的那部分 H\n算出的新状态",
    "Inside the cell at step t": "第 t 步时单元的内部",
    "R = sigmoid(Xt . Wr + H . Ur + Br)\nreset gate: how much of H the candidate sees":
        "R = sigmoid(Xt . Wr + H . Ur + Br)\n重置门：候选状态能看到多少 H",
    "X15: row 15 [28]": "X15：第 15 行 [28]",
    "X1: row 1 [28]": "X1：第 1 行 [28]",
    "X28: row 28 [28]": "X28：第 28 行 [28]",
    "X8: row 8 [28]": "X8：第 8 行 [28]",
    "Xt\nrow t [28]": "Xt\n第 t 行 [28]",
    "Z = sigmoid(Xt . Wz + H . Uz + Bz)\nupdate gate: how much of H to keep":
        "Z = sigmoid(Xt . Wz + H . Uz + Bz)\n更新门：保留多少 H",
    "dense softmax\nY [10]": "全连接 softmax\nY [10]",
    "one image,\n28 rows": "一张图片，\n28 行",
    "the old H, to keep": "旧的 H，用来保留",
    "the state H (128 numbers, orange) carries what was read so far to the next row; every cell is the same cell, with the same weights":
        "状态 H（128 个数字，橙色）把读到的内容带到下一行；每个单元都是同一个单元，权重也相同",
    # ladder
    "From 92 % to 99.5 %: test digits still wrong at each stage's best test point\n"
    "(measured: full runs, seed 0, 2 CPU cores)":
        "从 92% 到 99.5%：各阶段最好的测试点上仍然认错的测试数字\n（实测：完整运行，种子 0，2 个 CPU 核）",
    "1.0\nsoftmax": "1.0\nsoftmax", "2.0\nsigmoid": "2.0\nsigmoid",
    "2.1\nReLU,\nlr decay": "2.1\nReLU，\n学习率衰减", "2.2\n+ dropout": "2.2\n+ Dropout",
    "3.0\nconv": "3.0\n卷积", "3.1\nbigger conv,\ndropout": "3.1\n更大的卷积，\nDropout",
    "4.0\nbatch norm,\nsigmoid": "4.0\n批归一化，\nsigmoid", "4.1\nbatch norm,\nReLU": "4.1\n批归一化，\nReLU",
    "4.2\nbatch norm,\nconv": "4.2\n批归一化，\n卷积", "5.0\nspeedrun:\none epoch": "5.0\n速通：\n一个 epoch",
    "5.1\nwider,\nmoved\nimages": "5.1\n更宽，\n图片\n随机平移", "6.0\nrecurrent\n(GRU)": "6.0\n循环网络\n（GRU）",
    "7.0\n5.0 in\nKeras": "7.0\n用 Keras\n写 5.0", "8.0\n3.1 on 2\nworkers": "8.0\n3.1 在 2 个\n工作进程上",
    "blue: dense layers\ngreen: convolutions\norange: batch norm\n"
    "purple: the speedrun, 99 % in one pass\nand 99.5 % in four\ngrey: the roads beyond":
        "蓝：全连接层\n绿：卷积\n橙：批归一化\n紫：速通，训练图片过一遍到 99%，\n过四遍到 99.5%\n灰：之后的三条路",
    # summary
    "TensorFlow and deep learning, without a PhD: the whole codelab": "不读博士也能学会 TensorFlow 和深度学习：整个 codelab 一页纸",
    "stage": "阶段", "the network": "网络", "what it adds": "新学到的东西",
    "test digits wrong, of 10,000 (best)": "认错的测试数字（共 10,000 张，最好成绩）",
    "one dense layer, softmax": "一个全连接层，softmax",
    "a layer is a matrix product; cross-entropy; gradient descent": "一层就是一次矩阵乘法；交叉熵；梯度下降",
    "five dense layers, sigmoid": "五个全连接层，sigmoid",
    "depth; random initial weights; Adam; the loss from the logits": "深度；随机初始权重；Adam；从 logits 算损失",
    "five dense layers, ReLU": "五个全连接层，ReLU",
    "ReLU against vanishing gradients; learning-rate decay": "用 ReLU 对付梯度消失；学习率衰减",
    "2.1 with dropout": "2.1 加 Dropout",
    "overfitting, seen on the curves; dropout": "从曲线上看出过拟合；Dropout",
    "three convolutions": "三个卷积层",
    "filters shared across the image; strides; channels": "在整张图上共享的滤波器；步幅；通道",
    "bigger convolutions, dropout": "更大的卷积，Dropout",
    "more filters, with dropout where the weights are": "更多滤波器，Dropout 放在权重多的地方",
    "2.0 with batch norm": "2.0 加批归一化",
    "batch normalisation: steady inputs for every layer": "批归一化：让每一层的输入保持稳定",
    "2.1 with batch norm": "2.1 加批归一化",
    "batch norm on ReLU layers; a higher learning rate": "ReLU 层上的批归一化；更高的学习率",
    "3.1 with batch norm": "3.1 加批归一化",
    "batch norm on convolutions, with a bolder learning rate": "卷积上的批归一化，学习率可以更大",
    "a small conv net, pooling": "小卷积网络，池化",
    "one epoch, one-cycle rate, label smoothing: 99 % in seconds": "一个 epoch、单周期学习率、标签平滑：几秒到 99%",
    "5.0, twice as wide": "5.0，宽一倍",
    "a few epochs and images moved at random: 99.5 %": "多几个 epoch，图片随机平移：99.5%",
    "a GRU reading row by row": "逐行读图的 GRU",
    "a state carried from row to row; gates keep the gradient": "状态一行行往下传；门让梯度不消失",
    "5.0 in Keras layers": "用 Keras 层写的 5.0",
    "layers, compile, fit, callbacks: the same network, less code": "层、compile、fit、回调：同一个网络，代码更少",
    "3.1 on two workers": "3.1 在两个工作进程上",
    "data parallelism: slices of the batch, an all-reduce": "数据并行：批次切片，all-reduce",
    "Every run: watch accuracy for how well, loss for how sure, the weights for how the network changes, and the red digits for what it cannot read yet.":
        "每次运行都看：准确率看好不好，损失看有多确定，权重看网络怎么变，红色数字看它还认不出什么。",
    "Choose settings on held-out training images, never on the test set. Change one thing at a time, and predict the result before you run it.":
        "在留出的训练图片上选设置，绝不在测试集上选。一次只改一处，运行前先预测结果。",
    "test digits wrong, of 10,000": "认错的测试数字（共 10,000 张）",
    # dashboard map and annotated dashboard
    "Accuracy": "准确率", "Cross-entropy loss": "交叉熵损失", "Training digits": "训练数字",
    "Weights": "权重", "Biases": "偏置", "Test digits": "测试数字",
    "training and test accuracy,\nfrom 0 to 1.\nLook: how high, how noisy.":
        "训练和测试准确率，\n从 0 到 1。\n看：有多高，抖得多厉害。",
    "training and test loss.\nLook: test loss climbing while\ntraining loss falls = overfitting.":
        "训练和测试损失。\n看：训练损失下降、测试损失\n却上升 = 过拟合。",
    "the 100 digits of this batch.\nRed: misrecognised; correct\ndigit left, network's answer right.":
        "本批次的 100 个数字。\n红色：认错的；左边是正确答案，\n右边是网络的回答。",
    "spread of all weights over time:\n7 bands, 1/7 of the weights in each,\n"
    "darkest band around the median.":
        "全部权重的分布随时间的变化：\n7 条色带，每条含 1/7 的权重，\n最深的一条在中位数附近。",
    "the same for all biases.\nStages 4.x and 5.0 show\nactivations instead.":
        "全部偏置，画法相同。\n阶段 4.x 和 5.0 改为\n显示激活值。",
    "1,000 of the 10,000 test digits,\nwrong ones first (red).\nScale 100 % to 90 %:\n"
    "red height = error rate.":
        "1 万张测试数字中的 1,000 张，\n认错的排在前面（红色）。\n刻度从 100% 到 90%：\n红色高度 = 错误率。",
    "Keys (click on the window first):  1-6 one panel alone   7 panels 1+2   8 panels 4+5   "
    "9 panels 3+6\n0 or Esc all six   space pause / resume   o zoom   h reset zoom   "
    "Ctrl-S save the image":
        "按键（先点一下窗口）：1-6 单独显示一个面板   7 面板 1+2   8 面板 4+5   9 面板 3+6\n"
        "0 或 Esc 六个全显示   空格 暂停/继续   o 缩放   h 还原缩放   Ctrl-S 保存图片",
    "test accuracy (thick red): all 10,000\ntest digits. The curve that matters.":
        "测试准确率（粗红线）：全部 1 万张\n测试数字。真正要看的曲线。",
    "training accuracy (thin blue): only the\nbatch of 100, hence the noise":
        "训练准确率（细蓝线）：只来自当前\n这批 100 张，所以很抖",
    "the loss starts at 230, above the top:\nthe scale starts at 0-100, then\nfollows the loss":
        "损失从 230 开始，在顶端之外：\n纵轴先是 0-100，\n然后跟着损失变化",
    "misrecognised digits first, on red:\ncorrect digit left, network's answer\nright":
        "认错的数字排在前面，红底：\n左边是正确答案，\n右边是网络的回答",
    "7 bands, each holding 1/7 of the\nweights; darkest: around the median":
        "7 条色带，每条含 1/7 的权重；\n最深的一条在中位数附近",
    "the biases, the same way (stages\n4.x and 5.0 show activations here)":
        "偏置，画法相同（阶段 4.x\n和 5.0 在这里显示激活值）",
    "x axis: the training step": "横轴：训练步数",
    "the red block ends at the test accuracy:\n92 %, so 8 % of the test digits are wrong":
        "红色块的底边就是测试准确率：\n92%，也就是 8% 的测试数字认错了",
    # tensor
    "A tensor: numbers in a box with a shape, the length of each of its axes":
        "张量：装在盒子里的一组数，带一个形状，即每个轴的长度",
    "0 axes: one number\n(the learning rate)": "0 个轴：一个数\n（学习率）",
    "1 axis: 10 numbers\n(b: one bias per digit)": "1 个轴：10 个数\n（b：每个数字一个偏置）",
    "2 axes: a table\n(W: 784 weights per digit)": "2 个轴：一张表\n（W：每个数字 784 个权重）",
    "3 axes: one image,\nheight x width x channels\n(1 channel: grey)":
        "3 个轴：一张图片，\n高 x 宽 x 通道\n（1 个通道：灰度）",
    "4 axes: a batch of images\n(X: what a training step gets)": "4 个轴：一批图片\n（X：一个训练步骤拿到的）",
    "10 columns": "10 列", "784 rows": "784 行", "100 of them": "共 100 张",
    # one layer
    "one image\n28 x 28 pixels": "一张图片\n28 x 28 像素", "784 pixels, in a row": "784 个像素，排成一列",
    "10 neurons, one per digit": "10 个神经元，每个数字一个",
    "every line is one weight: 784 x 10 = 7,840 weights, and 10 biases":
        "每条线是一个权重：784 x 10 = 7,840 个权重，外加 10 个偏置",
    "neuron 7: x1·w1,7 + x2·w2,7 + ...\n... + x784·w784,7 + b7":
        "神经元 7：x1·w1,7 + x2·w2,7 + ...\n... + x784·w784,7 + b7",
    "10 probabilities,\nadding up to 1": "10 个概率，\n加起来等于 1",
    # matrix shapes
    "[100, 784]\n100 images,\n784 pixels each": "[100, 784]\n100 张图片，\n每张 784 个像素",
    "[10]\nadded to\nevery row": "[10]\n加到\n每一行上",
    "softmax,\nrow by row": "softmax，\n逐行计算", "[100, 10]\neach row\nadds up to 1": "[100, 10]\n每行\n加起来为 1",
    "In red: row i of X\n(image i's pixels)\ntimes column j of W\n(digit j's weights),\n"
    "plus b[j], gives one\nnumber: Ylogits[i, j].":
        "红色：X 的第 i 行\n（图片 i 的像素）\n乘以 W 的第 j 列\n（数字 j 的权重），\n再加 b[j]，得到一个\n数：Ylogits[i, j]。",
    # softmax and one-hot
    "Ylogits: 10 weighted sums\n(any sign, any size)": "Ylogits：10 个加权和\n（可正可负，大小不限）",
    "Y = softmax(Ylogits)\ne^L / sum of e^L: positive, add up to 1":
        "Y = softmax(Ylogits)\ne^L / e^L 之和：都为正，加起来为 1",
    "Y_: the label 7, one-hot": "Y_：标签 7，独热编码", "digit": "数字",
    "cross-entropy = -sum(Y_ * log(Y)) = -log(Y[7]) = -log(0.65) = 0.43    "
    "(0 if the network gave 7 a probability of 1)":
        "交叉熵 = -sum(Y_ * log(Y)) = -log(Y[7]) = -log(0.65) = 0.43    （如果网络给 7 的概率是 1，就是 0）",
    # gradient descent
    "Gradient descent: steps against the gradient\n(the star: the lowest loss)":
        "梯度下降：逆着梯度迈步\n（星号：损失最低处）",
    "Mini-batches: each step's gradient comes from\n100 images only: noisy, but downhill on average":
        "小批量：每一步的梯度只来自 100 张图片：\n有噪声，但平均而言是往下走",
    "learning rate": "学习率", "too small (0.15): creeps": "太小（0.15）：慢慢爬",
    "good (0.9)": "合适（0.9）", "too large (2.1): bounces ever higher": "太大（2.1）：越弹越高",
    "weight 1": "权重 1", "weight 2": "权重 2",
    # five layers
    "Stage 2.0: five layers, 784 -> 200 -> 100 -> 60 -> 30 -> 10\n"
    "185,300 weights and biases to learn (stage 1.0 had 7,850)":
        "阶段 2.0：五层，784 -> 200 -> 100 -> 60 -> 30 -> 10\n要学 185,300 个权重和偏置（阶段 1.0 只有 7,850 个）",
    "784\npixels": "784\n像素",
    # log(0)
    "The loss of one image: -log(Y)": "一张图片的损失：-log(Y)",
    "probability Y that the network gives the correct digit": "网络给正确数字的概率 Y",
    "Y -> 0: the loss grows\nwithout limit; log(0) = -inf": "Y -> 0：损失无限增大；\nlog(0) = -inf",
    "sure and right: 0": "有把握且正确：0",
    "float32, logits [0, 120], label Y_ = [0, 1]: sure and right\n\n"
    "Softmax, then log (stage 1.0's loss, written by hand):\n"
    "  Y           = [0, 1]   e^-120 rounds to 0\n  log(Y)      = [-inf, 0]\n"
    "  Y_ * log(Y) = [nan, 0]   0 x -inf is NaN\n  loss        = nan: training stops\n\n"
    "From the logits (stage 2.0 on):\n  log(Y) = logits - log(sum(e^logits))\n"
    "         = [-120, 0]   always finite\n  loss   = 0: right, and sure":
        "float32，logits [0, 120]，标签 Y_ = [0, 1]：有把握且正确\n\n"
        "先 softmax 再取 log（阶段 1.0 手写的损失）：\n"
        "  Y           = [0, 1]   e^-120 舍入为 0\n  log(Y)      = [-inf, 0]\n"
        "  Y_ * log(Y) = [nan, 0]   0 x -inf 是 NaN\n  loss        = nan：训练停止\n\n"
        "直接从 logits 计算（阶段 2.0 起）：\n  log(Y) = logits - log(sum(e^logits))\n"
        "         = [-120, 0]   永远有限\n  loss   = 0：正确，且有把握",
    # sigmoid and relu
    "Sigmoid: flat on both sides": "sigmoid：两侧平坦", "ReLU: slope 1 wherever it is active": "ReLU：激活时斜率处处为 1",
    "its slope (at most 0.25)": "它的斜率（最大 0.25）", "its slope (0 or 1)": "它的斜率（0 或 1）",
    "weighted sum x": "加权和 x", "slope near 0:\nlittle gradient\ngets through": "斜率接近 0：\n梯度几乎\n传不过去",
    "Back through 4 sigmoid layers, the gradient is multiplied by at most 0.25 four times: "
    "0.25^4 = 0.004.":
        "反向穿过 4 个 sigmoid 层，梯度要乘上四次斜率，每次最多 0.25：0.25^4 = 0.004。",
    # learning-rate decay
    "Learning-rate decay: big steps first, small steps to settle": "学习率衰减：先迈大步，再用小步稳住",
    "learning rate (log scale)": "学习率（对数刻度）", "training step": "训练步数",
    "2.0: constant 0.003": "2.0：固定 0.003", "the floor: 0.0001": "下限：0.0001",
    # dropout
    "Training: at each step a new random quarter of the\nhidden neurons is off; "
    "the others' outputs x 1/0.75":
        "训练时：每一步随机关掉四分之一的\n隐藏神经元；其余的输出乘以 1/0.75",
    "Test: every neuron works,\nnothing is scaled": "测试时：所有神经元都工作，\n不做缩放",
    "input": "输入", "hidden": "隐藏层", "output": "输出",
    # convolution
    "input: 28 x 28 x 1 (one channel)": "输入：28 x 28 x 1（一个通道）",
    "output of this filter: 14 x 14\n(one channel per filter)": "这个卷积核的输出：14 x 14\n（每个卷积核一个通道）",
    "stride 2: the next window\n(dashed) is 2 pixels further": "步幅 2：下一个窗口\n（虚线）往右移 2 个像素",
    "one 5 x 5 filter: 25 weights\n+ 1 bias, the same at\nevery position": "一个 5 x 5 卷积核：25 个权重\n+ 1 个偏置，在每个\n位置都相同",
    "output pixel =\nrelu(sum of the 25 pixels\nunder the window x the\n25 weights + bias)":
        "输出像素 =\nrelu(窗口下 25 个像素\n与 25 个权重的\n乘积之和 + 偏置)",
    "This filter lights up where a stroke has paper above it. SAME padding: the window also goes "
    "over the borders (zeros outside), so 28 / 2 = 14.":
        "笔画上方是白纸的地方，这个卷积核就会亮起来。SAME 填充：窗口也会滑过边缘（外面补 0），所以 28 / 2 = 14。",
    # conv channels
    "One filter looks at every input channel: its weights are a stack of one slice per channel":
        "一个卷积核同时看所有输入通道：它的权重是一叠，每个通道一片",
    "channel 1:\ntop edge": "通道 1：\n上边缘", "channel 2:\nleft edge": "通道 2：\n左边缘",
    "channel 3:\nbottom edge": "通道 3：\n下边缘", "channel 4:\nright edge": "通道 4：\n右边缘",
    "slice 1": "第 1 片", "slice 2": "第 2 片", "slice 3": "第 3 片", "slice 4": "第 4 片",
    "input: 14 x 14 x 4 (4 channels). One filter: 3 x 3 x 4 = 36 weights + 1 bias;\n"
    "each slice slides over its own channel":
        "输入：14 x 14 x 4（4 个通道）。一个卷积核：3 x 3 x 4 = 36 个权重 + 1 个偏置；\n每一片在自己的通道上滑动",
    "add the 4 results,\nplus the bias,\nthen ReLU": "4 个结果相加，\n再加偏置，\n然后 ReLU",
    "one output channel\n14 x 14": "一个输出通道\n14 x 14",
    "8 such filters\n(W2 [5, 5, 4, 8]\nin stage 3.0)\ngive 8 output\nchannels":
        "8 个这样的卷积核\n（阶段 3.0 的\nW2 [5, 5, 4, 8]）\n给出 8 个\n输出通道",
    # network shapes
    "Stage 3.0: three convolutional layers (ReLU), one dense layer, softmax":
        "阶段 3.0：三个卷积层（ReLU），一个全连接层，softmax",
    "Stage 3.1: more and larger filters, dropout on the dense layer":
        "阶段 3.1：更多、更大的卷积核，全连接层上加 Dropout",
    "Stage 4.2: four times the channels of 3.1, batch norm before every ReLU":
        "阶段 4.2：通道数是 3.1 的四倍，每个 ReLU 之前做批归一化",
    "Stage 5.0: smaller images sooner (no padding, max pooling), fewer channels: 0.8 million\n"
    "multiply-adds per image, against 9.4 million in 4.2":
        "阶段 5.0：更早缩小图片（不填充、最大池化），更少的通道：每张图片 80 万次\n乘加，4.2 要 940 万次",
    "conv 5x5, stride 1\nW1 [5, 5, 1, 4]": "卷积 5x5，步幅 1\nW1 [5, 5, 1, 4]",
    "conv 5x5, stride 2\nW2 [5, 5, 4, 8]": "卷积 5x5，步幅 2\nW2 [5, 5, 4, 8]",
    "conv 4x4, stride 2\nW3 [4, 4, 8, 12]": "卷积 4x4，步幅 2\nW3 [4, 4, 8, 12]",
    "conv 6x6, stride 1\nW1 [6, 6, 1, 6]": "卷积 6x6，步幅 1\nW1 [6, 6, 1, 6]",
    "conv 5x5, stride 2\nW2 [5, 5, 6, 12]": "卷积 5x5，步幅 2\nW2 [5, 5, 6, 12]",
    "conv 4x4, stride 2\nW3 [4, 4, 12, 24]": "卷积 4x4，步幅 2\nW3 [4, 4, 12, 24]",
    "conv 6x6, stride 1\nW1 [6, 6, 1, 24]": "卷积 6x6，步幅 1\nW1 [6, 6, 1, 24]",
    "conv 5x5, stride 2\nW2 [5, 5, 24, 48]": "卷积 5x5，步幅 2\nW2 [5, 5, 24, 48]",
    "conv 4x4, stride 2\nW3 [4, 4, 48, 64]": "卷积 4x4，步幅 2\nW3 [4, 4, 48, 64]",
    "conv 5x5, no padding\nW1 [5, 5, 1, 16]": "卷积 5x5，不填充\nW1 [5, 5, 1, 16]",
    "conv 3x3, no padding\nW2 [3, 3, 16, 32]": "卷积 3x3，不填充\nW2 [3, 3, 16, 32]",
    "max pool 2x2,\nbatch norm, ReLU": "最大池化 2x2，\n批归一化，ReLU",
    "reshape\n7·7·12": "展平\n7·7·12", "reshape\n7·7·24": "展平\n7·7·24",
    "reshape\n7·7·64": "展平\n7·7·64", "reshape\n5·5·32": "展平\n5·5·32",
    "dense\nW4 [588, 200]": "全连接\nW4 [588, 200]", "dense\nW5 [200, 10]": "全连接\nW5 [200, 10]",
    "dense\n+ dropout\nW4 [1176, 200]": "全连接\n+ Dropout\nW4 [1176, 200]",
    "dense\n+ dropout\nW4 [3136, 200]": "全连接\n+ Dropout\nW4 [3136, 200]",
    "dense, BN\nW3 [800, 128]": "全连接，批归一化\nW3 [800, 128]", "dense\nW4 [128, 10]": "全连接\nW4 [128, 10]",
    "softmax:\n10 probabilities": "softmax：\n10 个概率",
    "7 x 7 x 24\n(12 of 24 drawn)": "7 x 7 x 24\n（画出 24 个中的 12 个）",
    "28 x 28 x 24\n(12 of 24 drawn)": "28 x 28 x 24\n（画出 24 个中的 12 个）",
    "14 x 14 x 48\n(12 of 48 drawn)": "14 x 14 x 48\n（画出 48 个中的 12 个）",
    "7 x 7 x 64\n(12 of 64 drawn)": "7 x 7 x 64\n（画出 64 个中的 12 个）",
    "24 x 24 x 16\n(12 of 16 drawn)": "24 x 24 x 16\n（画出 16 个中的 12 个）",
    "12 x 12 x 16\n(12 of 16 drawn)": "12 x 12 x 16\n（画出 16 个中的 12 个）",
    "10 x 10 x 32\n(12 of 32 drawn)": "10 x 10 x 32\n（画出 32 个中的 12 个）",
    "5 x 5 x 32\n(12 of 32 drawn)": "5 x 5 x 32\n（画出 32 个中的 12 个）",
    # predict
    "your digit: a photo or a scan\n(dark ink, uneven light)": "你写的数字：照片或扫描件\n（深色墨水，光照不均）",
    "what the network sees (--save-prepared):\n28 x 28, light ink on black, centred":
        "网络看到的（--save-prepared）：\n28 x 28，黑底浅色笔画，居中",
    # batch norm
    "1. one neuron's weighted sums\nover the batch: mean 3.3, variance 3.5":
        "1. 一个神经元在整个批次上的\n加权和：均值 3.3，方差 3.5",
    "2. normalised: (x - mean) / sqrt(var + eps)\nmean 0, variance 1":
        "2. 归一化：(x - 均值) / sqrt(方差 + eps)\n均值 0，方差 1",
    "3. x scale (1.6) + offset (0.8),\nboth learned, then the activation":
        "3. 乘缩放（1.6）+ 偏移（0.8），\n两者都是学出来的，然后过激活函数",
    "4. for the test: moving averages\nof the batches' means and variances":
        "4. 测试时用：各批次均值和\n方差的滑动平均",
    "mean of each batch": "每个批次的均值", "moving average (used at test)": "滑动平均（测试时使用）",
    "Illustration with random numbers: batch norm, one neuron, one batch of 100 images.":
        "用随机数示意：批归一化，一个神经元，一批 100 张图片。",
    # pooling and padding
    "Stage 5.0's two ways of shrinking: no padding (VALID) and max pooling":
        "阶段 5.0 缩小图片的两种办法：不填充（VALID）和最大池化",
    "VALID: a 3 x 3 filter on 8 x 8\ngives 6 x 6": "VALID：3 x 3 卷积核作用在 8 x 8 上\n得到 6 x 6",
    "SAME: a 3 x 3 filter on 8 x 8\ngives 8 x 8": "SAME：3 x 3 卷积核作用在 8 x 8 上\n得到 8 x 8",
    "the filter stays inside the image:\n8 - 3 + 1 = 6 positions a row\n(5.0: 28 - 5 + 1 = 24)":
        "卷积核始终在图片内部：\n每行 8 - 3 + 1 = 6 个位置\n（5.0：28 - 5 + 1 = 24）",
    "zeros around the image (dotted):\nthe filter fits 8 positions a row\n(stages 3.x, 4.2)":
        "图片四周补 0（虚线）：\n每行放得下 8 个位置\n（阶段 3.x、4.2）",
    "max pooling 2 x 2: the largest of each\n2 x 2 block; height and width halve":
        "2 x 2 最大池化：每个 2 x 2 小块\n取最大值；高和宽都减半",
    "5.0: 24 x 24 -> 12 x 12, then 10 x 10 -> 5 x 5.\nA stroke found anywhere in a block survives.":
        "5.0：24 x 24 -> 12 x 12，然后 10 x 10 -> 5 x 5。\n小块里任何位置发现的笔画都会保留。",
    # one cycle
    "Stage 5.0's one-cycle learning rate: up for 30 % of the run, then down to 0":
        "阶段 5.0 的单周期学习率：前 30% 上升，然后降到 0",
    "5.0: 234 steps of 256 images, one epoch": "5.0：234 步，每步 256 张图片，一个 epoch",
    "--iterations 150: the same cycle, squeezed": "--iterations 150：同一个周期，压缩",
    "--iterations 100: the same cycle, squeezed": "--iterations 100：同一个周期，压缩",
    "peak 0.02 at step 70": "第 70 步达到峰值 0.02",
    "climb: 30 % of the run\n(Adam's averages and the\nbatch-norm averages settle)":
        "爬升：占训练的 30%\n（Adam 的平均值和批归一化的\n平均值趁机稳定下来）",
    "half cosine down to 0:\nbig steps cross the landscape,\nsmall ones settle the network":
        "半个余弦降到 0：\n大步穿过损失地形，\n小步让网络稳定下来",
    "at the end the rate is almost 0: the\nweights hardly move, and the network\n"
    "settles where the schedule took it":
        "最后学习率几乎为 0：\n权重几乎不动，网络停在\n调度把它带到的地方",
    "training images seen (thousands)": "看过的训练图片（千张）",
}
# Labels that read the same in both: names, code, formulas (and matplotlib's own "$...$").
KEPT_AS_IS = {
    "softmax", "Ylogits", "-log(Y)", "relu(x) = max(0, x)", "sigmoid(x)",
    "100\nsigmoid", "10\nsoftmax", "200\nsigmoid", "30\nsigmoid", "60\nsigmoid",
    "2.1, 2.2, 3.0, 3.1: 0.0001 + 0.003 e^(-step/2000)", "4.0, 4.1: 0.0001 + 0.03 e^(-step/1000)",
    "4.2: 0.0001 + 0.02 e^(-step/1600)",
}


# (file name, the stage whose step in the guides shows it, how to draw it)
DIAGRAMS = [
    ("ladder.png", "1.0", draw_ladder),
    ("summary.png", "1.0", draw_summary),
    ("dashboard_map.png", "1.0", draw_dashboard_map),
    ("dashboard_annotated.png", "1.0", draw_dashboard_annotated),
    ("tensor.png", "1.0", draw_tensor),
    ("one_layer.png", "1.0", draw_one_layer),
    ("matrix_shapes.png", "1.0", draw_matrix_shapes),
    ("softmax_onehot.png", "1.0", draw_softmax_onehot),
    ("gradient_descent.png", "1.0", draw_gradient_descent),
    ("five_layers.png", "2.0", draw_five_layers),
    ("log_nan.png", "2.0", draw_log_nan),
    ("sigmoid_relu.png", "2.1", draw_sigmoid_relu),
    ("lr_decay.png", "2.1", draw_lr_decay),
    ("dropout.png", "2.2", draw_dropout),
    ("convolution.png", "3.0", draw_convolution),
    ("conv_channels.png", "3.0", draw_conv_channels),
    ("conv_shapes_3.0.png", "3.0", lambda path: draw_conv_shapes(path, "3.0")),
    ("conv_shapes_3.1.png", "3.1", lambda path: draw_conv_shapes(path, "3.1")),
    ("predict_steps.png", "3.1", draw_predict_steps),  # step 11 predicts with stage 3.1's model
    ("batchnorm.png", "4.0", draw_batchnorm),
    ("conv_shapes_4.2.png", "4.2", lambda path: draw_conv_shapes(path, "4.2")),
    ("conv_shapes_5.0.png", "5.0", lambda path: draw_conv_shapes(path, "5.0")),
    ("pooling_padding.png", "5.0", draw_pooling_padding),
    ("one_cycle.png", "5.0", draw_one_cycle),
    ("unrolled_gru.png", "6.0", draw_unrolled_gru),
    ("all_reduce.png", "3.1", draw_all_reduce),  # stage 8.0 trains 3.1's network
]


# ------------------------------------------------------------------------ plan

CHINESE_FOLDER = "zh"  # pictures/zh/: the diagrams with Chinese labels, for codelab.zh-CN.md
LANGUAGES = ["en", "zh"]


def in_chinese(maker):
    """The same drawing, with Chinese labels (see _chinese_labels)."""
    def make(path):
        LANGUAGE["now"] = "zh"
        try:
            maker(path)
        finally:
            LANGUAGE["now"] = "en"
    return make


# ------------------------------------------------------------------------ the page
# serve.py's draw-a-digit page (the guides' "Serve it"), as Debian's headless Chromium
# shows it: a 7 drawn with real mouse events, read by stage 3.1 trained PAGE_STEPS steps.
# Needs chromium and chromium-driver (apt-get) and Selenium (requirements-test.txt).
PAGE_PICTURE = "serve.png"
PAGE_STAGE, PAGE_STEPS = "3.1", 1000  # about 98 % of test digits: a clean 7 reads right


def page_command(model_dir):
    return [*dashboard_command(PAGE_STAGE, "", PAGE_STEPS)[:3], "--iterations", str(PAGE_STEPS),
            "--save-model", str(model_dir)]


def make_page_picture(path):
    from codelab import pagedriver
    missing = pagedriver.chromium_missing()
    if missing:
        raise RuntimeError(missing)
    path = Path(path)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.stem}-") as folder:
        model_dir = Path(folder) / "model"
        subprocess.run(page_command(model_dir), cwd=REPO, check=True, capture_output=True,
                       env=dict(os.environ, MPLBACKEND="Agg"))
        with pagedriver.running_server(model_dir) as server, pagedriver.chromium() as browser:
            browser.get(server.url)
            pagedriver.wait_for_answer(browser)
            pagedriver.draw(browser, pagedriver.SEVEN)
            pagedriver.wait_for_answer(browser)
            temporary = Path(folder) / path.name
            temporary.write_bytes(browser.get_screenshot_as_png())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)


def plan(stages=None, only=None, languages=None):
    """[(kind, stage, file name, maker or None)] in the order they are made: the
    diagrams first (seconds; each in English, then in Chinese in zh/), then the
    dashboards (minutes; the program's own window, in English), then serve.py's page
    (about a minute; the same picture for both guides)."""
    stages = stages or STAGE_IDS
    languages = languages or LANGUAGES
    items = []
    if only in (None, "diagrams"):
        for name, stage, maker in DIAGRAMS:
            if stage not in stages:
                continue
            if "en" in languages:
                items.append(("diagram", stage, name, maker))
            if "zh" in languages:
                items.append(("diagram", stage, f"{CHINESE_FOLDER}/{name}", in_chinese(maker)))
    if only in (None, "dashboards"):
        items += [("dashboard", stage, dashboard_name(stage), None) for stage in STAGE_IDS
                  if stage in stages]
    if only in (None, "page") and stages == STAGE_IDS:  # not a stage's: not with --stage
        items.append(("page", PAGE_STAGE, PAGE_PICTURE, make_page_picture))
    return items


def all_picture_names():
    """Every file name make_pictures.py can make (with no option)."""
    return [name for _, _, name, _ in plan()]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Estimates come from speeds measured on 2 CPU cores (benchmarks/README.md).")
    parser.add_argument("--stage", action="append", choices=STAGE_IDS, metavar="STAGE",
                        help="only this stage's pictures (repeat for several); stages: "
                             + " ".join(STAGE_IDS))
    parser.add_argument("--only", choices=["diagrams", "dashboards", "page"],
                        help="only the diagrams (seconds), only the dashboards (real runs), "
                        "or only serve.py's page (in headless Chromium)")
    parser.add_argument("--language", choices=LANGUAGES, action="append",
                        help="only the diagrams in this language: en, or zh (Chinese labels, "
                             "in zh/; needs a CJK font such as Debian's fonts-noto-cjk); "
                             "default: both")
    parser.add_argument("--iterations", type=int, metavar="N",
                        help="training steps for the dashboard runs (default: each stage's own)")
    parser.add_argument("--out", metavar="DIR", default=str(PICTURES),
                        help="where to write the pictures (default: docs/pictures)")
    parser.add_argument("--dry-run", "--list", dest="dry_run", action="store_true",
                        help="print what would be made, the commands and the time estimate; "
                             "run nothing, write nothing")
    args = parser.parse_args(argv)
    if args.iterations is not None and args.iterations < 1:
        parser.error("--iterations must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    out = Path(args.out)
    items = plan(args.stage, args.only, args.language)
    dashboards = [(stage, name) for kind, stage, name, _ in items if kind == "dashboard"]
    pages = [(name, maker) for kind, _, name, maker in items if kind == "page"]
    estimates = {stage: estimate_seconds(stage, args.iterations) for stage, _ in dashboards}
    total = sum(estimates.values())

    parts = []
    if len(items) > len(dashboards) + len(pages):
        parts.append(f"{count(len(items) - len(dashboards) - len(pages), 'diagram')} "
                     f"(a few seconds)")
    if pages:
        parts.append("serve.py's page in headless Chromium (about a minute)")
    if dashboards:
        parts.append(f"{count(len(dashboards), 'dashboard')} from real runs "
                     f"(estimate: {duration(total)} on 2 CPU cores)")
    print(f"{count(len(items), 'picture')} into {shown(out)}: {', '.join(parts)}")
    for kind, stage, name, _ in items:
        if kind == "diagram":
            print(f"  diagram    {stage}  {shown(out / name)}")
        elif kind == "page":
            print(f"  page       {stage}  {shown(out / name)}  (stage {stage} trained "
                  f"{PAGE_STEPS} steps, served by serve.py, a 7 drawn in headless Chromium)")
        else:
            command = dashboard_command(stage, out / name, args.iterations)
            print(f"  dashboard  {stage}  {shown(out / name)}  (about {duration(estimates[stage])}):")
            print(f"      {' '.join(shown(part) if os.path.isabs(part) else part for part in command)}")
    if args.dry_run:
        return 0

    out.mkdir(parents=True, exist_ok=True)
    failures = []
    for kind, stage, name, maker in items:
        if kind != "diagram":
            continue
        (out / name).parent.mkdir(exist_ok=True)
        started = time.perf_counter()
        maker(out / name)
        print(f"drew {shown(out / name)} ({time.perf_counter() - started:.1f} s)", flush=True)

    spent, estimated_so_far = 0.0, 0.0
    for index, (stage, name) in enumerate(dashboards):
        left = sum(estimates[s] for s, _ in dashboards[index:])
        if estimated_so_far:
            left *= spent / estimated_so_far  # this machine against the measured one
        print(f"stage {stage}: training (about {duration(estimates[stage])}; "
              f"all that is left: about {duration(left)})", flush=True)
        started = time.perf_counter()
        ok, result = run_dashboard(stage, out / name, args.iterations)
        seconds = time.perf_counter() - started
        spent += seconds
        estimated_so_far += estimates[stage]
        if ok:
            print(f"stage {stage}: {duration(seconds)}, {result} -> {shown(out / name)}", flush=True)
        else:
            failures.append(stage)
            print(f"stage {stage}: FAILED after {duration(seconds)}; its last lines:\n{result}",
                  flush=True)
    if dashboards:
        print(f"dashboards: {duration(spent)} in all (estimated {duration(total)})")
    for name, maker in pages:
        started = time.perf_counter()
        try:
            maker(out / name)
        except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
            failures.append(name)
            print(f"{name}: FAILED ({error}); the previous picture is kept", flush=True)
            continue
        print(f"took {shown(out / name)} ({duration(time.perf_counter() - started)})", flush=True)
    if failures:
        print(f"failed: {' '.join(failures)}; the previous pictures of those stages are kept",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
