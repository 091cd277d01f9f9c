"""Make every picture that the codelab guides show (docs/codelab.md, docs/codelab.zh-CN.md).

Two kinds of picture, all written to docs/pictures/:

- dashboards: the dashboard at the end of each stage, from a real run of the stage
  script in its own process (headless, --save-image), at the stage's own number of
  steps unless --iterations says otherwise. The long part: about 50 minutes for all
  ten on 2 CPU cores, half of it stage 4.2.
- diagrams: small drawings of the networks and of the ideas (softmax, a convolution's
  filter sliding, dropout, batch norm, the learning-rate decay...), drawn with
  matplotlib. A few seconds for all of them.

    python3 docs/make_pictures.py                   # everything
    python3 docs/make_pictures.py --stage 2.1       # one stage's pictures alone
    python3 docs/make_pictures.py --only diagrams   # the diagrams alone
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
    "7.0": (234, 30.0, 6.0),  # as fast as 5.0: benchmarks/bench_keras.py, 2026-12-07
}
sys.path.insert(0, str(REPO))
import stages as _stages  # noqa: E402  (the one list of stage scripts)

STAGES = [(stage, script, *MEASURED_SPEED[stage]) for stage, script in _stages.STAGES]
STAGE_IDS = [stage for stage, *_ in STAGES]
PICTURE_OVERHEAD = 1.1  # --save-image computes the mosaics and bands a headless run skips

# Max test accuracy of each stage at its full budget, seed 0: benchmarks/README.md, "The accuracy
# ladder, 2026-11-29" (the runs that made the dashboards; 2 CPU cores).
MEASURED_MAX_ACCURACY = {"1.0": 0.9226, "2.0": 0.9765, "2.1": 0.9824, "2.2": 0.9820,
                         "3.0": 0.9909, "3.1": 0.9933, "4.0": 0.9827, "4.1": 0.9854,
                         "4.2": 0.9947, "5.0": 0.9926}  # 5.0: its final figure, 2026-11-29


def dashboard_name(stage):
    return f"{stage}.png"


def estimate_seconds(stage, iterations=None):
    """Seconds a dashboard run should take on the measured machine."""
    _, _, default_steps, steps_per_second, startup = STAGES[STAGE_IDS.index(stage)]
    steps = iterations or default_steps
    return startup + steps / steps_per_second * PICTURE_OVERHEAD


def dashboard_command(stage, path, iterations=None):
    script = REPO / STAGES[STAGE_IDS.index(stage)][1]
    command = [sys.executable, str(script), "--headless", "--save-image", str(path)]
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


TEST_LINE = re.compile(r"^step (\d+): epoch [\d.]+ test accuracy: ([\d.]+)")


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
            test = TEST_LINE.match(line)
            if test and int(test.group(1)) % 1000 == 0 and int(test.group(1)) > 0:
                print(f"  {stage}: {line}", flush=True)
            if line.startswith("max test accuracy"):
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
    stages = [s for s in STAGE_IDS if s in MEASURED_MAX_ACCURACY]  # not 7.0: 5.0 in Keras
    short = {"1.0": "softmax", "2.0": "sigmoid", "2.1": "ReLU,\nlr decay", "2.2": "+ dropout",
             "3.0": "conv", "3.1": "bigger conv,\ndropout", "4.0": "batch norm,\nsigmoid",
             "4.1": "batch norm,\nReLU", "4.2": "batch norm,\nconv",
             "5.0": "speedrun:\none epoch"}
    wrong = [round((1 - MEASURED_MAX_ACCURACY[s]) * 10000) for s in stages]
    fig, ax = plt.subplots(figsize=(10.5, 4.4))
    colours = [BLUE if s.startswith(("1", "2")) else GREEN if s.startswith("3")
               else PURPLE if s.startswith("5") else ORANGE for s in stages]
    bars = ax.bar(range(len(stages)), wrong, color=colours, width=0.7)
    for bar, s, n in zip(bars, stages, wrong):
        ax.text(bar.get_x() + bar.get_width() / 2, n + 12,
                f"{n}\n{MEASURED_MAX_ACCURACY[s] * 100:.2f} %", ha="center", va="bottom",
                fontsize=9)
    ax.set_xticks(range(len(stages)), [f"{s}\n{short[s]}" for s in stages], fontsize=9)
    ax.set_ylabel("test digits wrong, of 10,000")
    ax.set_ylim(0, max(wrong) * 1.25)
    ax.set_title("From 92 % to 99.5 %: test digits still wrong at each stage's best test point\n"
                 "(measured: full runs, seed 0, 2 CPU cores)")
    ax.spines[["top", "right"]].set_visible(False)
    ax.text(0.99, 0.93, "blue: dense layers\ngreen: convolutions\norange: batch norm\n"
            "purple: the speedrun, 99 % in\none pass over the training images",
            transform=ax.transAxes, ha="right", va="top", fontsize=9, color="#444444")
    fig.tight_layout()
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
    ax.annotate("at the end the rate is almost 0: the\nweights hardly move, so the final test\n"
                "figure is as good as the best one", xy=(iterations, 0.0003),
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


CONV_NETWORKS = {
    # stage: ([(image size, channels, the operation that made it)], [(dense size, operation)], title)
    "3.0": ([(28, 1, ""), (28, 4, "conv 5x5, stride 1\nW1 [5, 5, 1, 4]"),
             (14, 8, "conv 5x5, stride 2\nW2 [5, 5, 4, 8]"),
             (7, 12, "conv 4x4, stride 2\nW3 [4, 4, 8, 12]")],
            [(588, "reshape\n7·7·12"), (200, "dense\nW4 [588, 200]"), (10, "dense\nW5 [200, 10]")],
            "Stage 3.0: three convolutional layers (ReLU), one dense layer, softmax"),
    "3.1": ([(28, 1, ""), (28, 6, "conv 6x6, stride 1\nW1 [6, 6, 1, 6]"),
             (14, 12, "conv 5x5, stride 2\nW2 [5, 5, 6, 12]"),
             (7, 24, "conv 4x4, stride 2\nW3 [4, 4, 12, 24]")],
            [(1176, "reshape\n7·7·24"), (200, "dense\n+ dropout\nW4 [1176, 200]"),
             (10, "dense\nW5 [200, 10]")],
            "Stage 3.1: more and larger filters, dropout on the dense layer"),
    "4.2": ([(28, 1, ""), (28, 24, "conv 6x6, stride 1\nW1 [6, 6, 1, 24]"),
             (14, 48, "conv 5x5, stride 2\nW2 [5, 5, 24, 48]"),
             (7, 64, "conv 4x4, stride 2\nW3 [4, 4, 48, 64]")],
            [(3136, "reshape\n7·7·64"), (200, "dense\n+ dropout\nW4 [3136, 200]"),
             (10, "dense\nW5 [200, 10]")],
            "Stage 4.2: four times the channels of 3.1, batch norm before every ReLU"),
    "5.0": ([(28, 1, ""), (24, 16, "conv 5x5, no padding\nW1 [5, 5, 1, 16]"),
             (12, 16, "max pool 2x2,\nbatch norm, ReLU"),
             (10, 32, "conv 3x3, no padding\nW2 [3, 3, 16, 32]"),
             (5, 32, "max pool 2x2,\nbatch norm, ReLU")],
            [(800, "reshape\n5·5·32"), (128, "dense, BN\nW3 [800, 128]"),
             (10, "dense\nW4 [128, 10]")],
            "Stage 5.0: smaller images sooner (no padding, max pooling), fewer channels: "
            "0.8 million\nmultiply-adds per image, against 9.4 million in 4.2"),
}


def draw_conv_shapes(path, stage):
    plt = _pyplot()
    from matplotlib.patches import Polygon
    tensors, dense, title = CONV_NETWORKS[stage]
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


# (file name, the stage whose step in the guides shows it, how to draw it)
DIAGRAMS = [
    ("ladder.png", "1.0", draw_ladder),
    ("dashboard_map.png", "1.0", draw_dashboard_map),
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
    ("conv_shapes_3.0.png", "3.0", lambda path: draw_conv_shapes(path, "3.0")),
    ("conv_shapes_3.1.png", "3.1", lambda path: draw_conv_shapes(path, "3.1")),
    ("predict_steps.png", "3.1", draw_predict_steps),  # step 11 predicts with stage 3.1's model
    ("batchnorm.png", "4.0", draw_batchnorm),
    ("conv_shapes_4.2.png", "4.2", lambda path: draw_conv_shapes(path, "4.2")),
    ("conv_shapes_5.0.png", "5.0", lambda path: draw_conv_shapes(path, "5.0")),
    ("one_cycle.png", "5.0", draw_one_cycle),
]


# ------------------------------------------------------------------------ plan

def plan(stages=None, only=None):
    """[(kind, stage, file name, maker or None)] in the order they are made: the
    diagrams first (seconds), then the dashboards (minutes)."""
    stages = stages or STAGE_IDS
    items = []
    if only in (None, "diagrams"):
        items += [("diagram", stage, name, maker) for name, stage, maker in DIAGRAMS
                  if stage in stages]
    if only in (None, "dashboards"):
        items += [("dashboard", stage, dashboard_name(stage), None) for stage in STAGE_IDS
                  if stage in stages]
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
    parser.add_argument("--only", choices=["diagrams", "dashboards"],
                        help="only the diagrams (seconds) or only the dashboards (real runs)")
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
    items = plan(args.stage, args.only)
    dashboards = [(stage, name) for kind, stage, name, _ in items if kind == "dashboard"]
    estimates = {stage: estimate_seconds(stage, args.iterations) for stage, _ in dashboards}
    total = sum(estimates.values())

    parts = []
    if len(items) > len(dashboards):
        parts.append(f"{count(len(items) - len(dashboards), 'diagram')} (a few seconds)")
    if dashboards:
        parts.append(f"{count(len(dashboards), 'dashboard')} from real runs "
                     f"(estimate: {duration(total)} on 2 CPU cores)")
    print(f"{count(len(items), 'picture')} into {shown(out)}: {', '.join(parts)}")
    for kind, stage, name, _ in items:
        if kind == "diagram":
            print(f"  diagram    {stage}  {shown(out / name)}")
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
    if failures:
        print(f"failed: {' '.join(failures)}; the previous pictures of those stages are kept",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
