"""Recipes for stage 5.1 beyond the settings it has, on the validation split, three seeds each.

tune.py searches the settings a stage declares (TUNABLE). This script asks what else
might buy accuracy at the same cost: it runs a copy of stage 5.1 with a few more
settings written in, each 0 by default (the copy then computes what the stage
computes, number for number), on the first 55,000 training images, measured on the
last 5,000 (never the test set), and prints one line per recipe: the final
validation accuracy of each seed, the held-out digits wrong over all seeds, and the
training loops. The settings it adds:

    TTA = 4 or 8      test-time moves: every figure averages the network's answers on
                      the image and on 4 (or 8, diagonals too) copies moved by 1 pixel
    CLEAN_END = F     no moves during the last fraction F of the run (1.0: no moves)
    CONV3 = C         a third convolution, 3 x 3 with padding, C channels, on the 5 x 5 maps
    STRIDED = 1 or 2  a 6 x 6 convolution with stride 2 instead of convolution + max pool
                      for the first layer (2: and a 4 x 4 one with stride 2 for the second)
    SCALE = S, SHEAR = H   moves also zoom by 1 +- S and shear by up to H
    DROPOUT = P       dropout on the dense layer in training
    WD = W            decoupled weight decay W (AdamW), biases excluded
    SGD = M           Nesterov SGD with momentum M instead of Adam (LR_MAX is then its rate
                      on the stage's loss, which is 100 times the mean cross-entropy)
    SELECT = F        each step learns from the hardest fraction F of its batch only (the
                      images of highest loss, found by a forward pass over the whole batch);
                      SELECT_FROM = G: from the fraction G of the run on (before: the first F)
    CROP = C          the network sees only the middle 28 - 2C pixels each way of every
                      (moved) image: CROP=2 keeps the middle 24 x 24, a step costs about
                      0.75 times as much (MNIST's digits are centred in a 20 x 20 box)
    MUON = R          the convolutions' filters learn by Muon (momentum, then the nearest
                      semi-orthogonal step), peak rate R on the stage's one cycle; Adam for the rest.
                      MUON_MOMENTUM = M (default 0.9); MUON_DENSE = 1: the dense layer's W3 too
    WHOLE = 1         moves by whole pixels: each shift rounded, so that no moved image is
                      blurred by the interpolation between pixels

and any of the stage's own settings (EPOCHS, BATCH_SIZE, LR_MAX, K, L, N, ...).

    python3 benchmarks/bench_recipes.py "K=16 L=32 N=128 EPOCHS=2.5" "K=16 L=32 N=128 EPOCHS=2.5 TTA=4"
    python3 benchmarks/bench_recipes.py --seeds 0,1,2,3,4,5 --jobs 2 "EPOCHS=2.5 CONV3=64"

--jobs 2 runs two at a time: the accuracies are the same, the loops are then not
comparable (time them with bench_speedrun.py --stage 5.1 --validation --max-ratio).
Results of 2026-12-07: benchmarks/README.md, "Stage 5.1, tuned".
"""
import argparse
import atexit
import os
import shutil
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import runs
from codelab.validation import HELD_OUT  # the 5,000 held-out images (runs put the repository on the path)

STAGE = runs.REPO / "mnist_5.1_speedrun_augmented.py"

# The settings added, written after BN_EPSILON; each 0 leaves the stage as it is.
ADDED = """
TTA = 0
CLEAN_END = 0.0
CONV3 = 0
STRIDED = 0
SCALE = 0.0
SHEAR = 0.0
DROPOUT = 0.0
WD = 0.0
SGD = 0.0
CROP = 0
SELECT = 0.0
SELECT_FROM = 0.0
MUON = 0.0
MUON_MOMENTUM = 0.9
MUON_DENSE = 0
WHOLE = 0
SIDE = ((28 - 2 * CROP - 4) // 2 - 2) // 2  # the side of the last maps: 5 (4 with CROP=2)
"""

# (the stage's text, what replaces it): the added settings at work.
PATCHES = [
    ("BN_EPSILON = 1e-5  # keeps the division safe when a variance is 0\n",
     "BN_EPSILON = 1e-5  # keeps the division safe when a variance is 0\n" + ADDED),
    # STRIDED: a strided convolution in place of convolution + max pool
    ('W1 = tf.Variable(tf.random.truncated_normal([5, 5, 1, K]',
     'W1 = tf.Variable(tf.random.truncated_normal([6, 6, 1, K] if STRIDED else [5, 5, 1, K]'),
    ('W2 = tf.Variable(tf.random.truncated_normal([3, 3, K, L]',
     'W2 = tf.Variable(tf.random.truncated_normal([4, 4, K, L] if STRIDED == 2 else [3, 3, K, L]'),
    ("""    Y1 = tf.nn.conv2d(X, W1, strides=1, padding="VALID")
    Y1 = tf.nn.max_pool2d(Y1, ksize=2, strides=2, padding="VALID")""",
     """    if STRIDED:
        Y1 = tf.nn.conv2d(X, W1, strides=2, padding="VALID")
    else:
        Y1 = tf.nn.conv2d(X, W1, strides=1, padding="VALID")
        Y1 = tf.nn.max_pool2d(Y1, ksize=2, strides=2, padding="VALID")"""),
    ("""    Y2 = tf.nn.conv2d(Y1, W2, strides=1, padding="VALID")
    Y2 = tf.nn.max_pool2d(Y2, ksize=2, strides=2, padding="VALID")""",
     """    if STRIDED == 2:
        Y2 = tf.nn.conv2d(Y1, W2, strides=2, padding="VALID")
    else:
        Y2 = tf.nn.conv2d(Y1, W2, strides=1, padding="VALID")
        Y2 = tf.nn.max_pool2d(Y2, ksize=2, strides=2, padding="VALID")"""),
    # CONV3: a third convolution on the 5 x 5 maps
    ('W3 = tf.Variable(tf.random.truncated_normal([5 * 5 * L, N], stddev=0.1), name="W3")',
     'DEPTH = CONV3 or L\n'
     'if CONV3:  # (created only then: the random numbers of W3 and W4 stay the stage\'s)\n'
     '    W5 = tf.Variable(tf.random.truncated_normal([3, 3, L, DEPTH], stddev=0.1), name="W5")\n'
     '    B5 = tf.Variable(tf.ones([DEPTH]) / 10, name="B5")\n'
     'W3 = tf.Variable(tf.random.truncated_normal([SIDE * SIDE * DEPTH, N], stddev=0.1), name="W3")'),
    ("trainable = [W1, B1, W2, B2, W3, B3, W4, B4]",
     "trainable = [W1, B1, W2, B2, W3, B3, W4, B4] + ([W5, B5] if CONV3 else [])"),
    ("variables = trainable + [MEAN1, VAR1, MEAN2, VAR2, MEAN3, VAR3]",
     "variables = trainable + [MEAN1, VAR1, MEAN2, VAR2, MEAN3, VAR3]\n"
     "if CONV3:\n"
     "    MEAN5, VAR5 = moving_averages(DEPTH, 5)\n"
     "    variables += [MEAN5, VAR5]"),
    ("    YY = tf.reshape(Y2, [-1, 5 * 5 * L])",
     "    if CONV3:\n"
     "        Y2 = tf.nn.relu(batchnorm(tf.nn.conv2d(Y2, W5, strides=1, padding='SAME'), B5, MEAN5,\n"
     "                                  VAR5, training, step))\n"
     "    YY = tf.reshape(Y2, [-1, SIDE * SIDE * DEPTH])"),
    # CROP: the network sees the middle of each (moved) image only
    ("def model(X, training=False, step=0.0):\n",
     "def model(X, training=False, step=0.0):\n"
     "    if CROP:\n        X = X[:, CROP:28 - CROP, CROP:28 - CROP, :]\n"),
    # DROPOUT
    ("    Y3 = tf.nn.relu(batchnorm(tf.matmul(YY, W3), B3, MEAN3, VAR3, training, step))\n",
     "    Y3 = tf.nn.relu(batchnorm(tf.matmul(YY, W3), B3, MEAN3, VAR3, training, step))\n"
     "    if DROPOUT and training:\n        Y3 = tf.nn.dropout(Y3, DROPOUT)\n"),
    # TTA: every evaluation averages the image's answer with its moved copies' answers
    ("    Ylogits, Y, _ = model(X, training, step)\n",
     "    Ylogits, Y, _ = model(X, training, step)\n"
     "    if TTA and not training:\n"
     "        n = tf.shape(X)[0]\n"
     "        views = [(1., 0.), (-1., 0.), (0., 1.), (0., -1.), (1., 1.), (-1., -1.), (1., -1.), (-1., 1.)]\n"
     "        for ddx, ddy in views[:TTA]:\n"
     "            Y = Y + model(move(X, tf.fill([n], ddx), tf.fill([n], ddy), tf.zeros([n])), training, step)[1]\n"
     "        Y = Y / (1 + TTA)\n"),
    # CLEAN_END: no moves at the end of the run
    ("    X = augment(X)  #",
     "    X = tf.cond(step < args.iterations * (1 - CLEAN_END), lambda: augment(X), lambda: X)\n"
     "    if SELECT:  # learn from the hardest SELECT of the batch (the first ones before SELECT_FROM)\n"
     "        k = int(SELECT * BATCH_SIZE)\n"
     "        def hardest():\n"
     "            losses = tf.nn.softmax_cross_entropy_with_logits(labels=Y_, logits=model(X)[0])\n"
     "            return tf.math.top_k(losses, k).indices\n"
     "        chosen = tf.cond(step >= args.iterations * SELECT_FROM, hardest, lambda: tf.range(k))\n"
     "        X, Y_ = tf.gather(X, chosen), tf.gather(Y_, chosen)\n"
     "    #"),
    ("def augment(X):\n", "def augment(X):\n    X = tf.convert_to_tensor(X)\n"),
    # WHOLE: moves by whole pixels (each image a copy of itself, shifted: no blur)
    ("    angle = keras.random.uniform([n], -ROTATION, ROTATION, seed=augment_seeds)\n",
     "    angle = keras.random.uniform([n], -ROTATION, ROTATION, seed=augment_seeds)\n"
     "    if WHOLE:\n        dx, dy = tf.round(dx), tf.round(dy)\n"),
    # MUON: the convolutions' weights (and W3 with MUON_DENSE=1) learn by Muon, the rest by Adam
    ("    optimizer.apply_gradients(zip(gradients, trainable))\n",
     "    if MUON:\n"
     "        muon_step(gradients, learning_rate(step) * MUON / LR_MAX)\n"
     "    else:\n"
     "        optimizer.apply_gradients(zip(gradients, trainable))\n"),
    ("def learning_rate(step):\n",
     """MUONED = [W1, W2] + ([W3] if MUON_DENSE else [])
muon_momenta = [tf.Variable(tf.zeros_like(W), trainable=False) for W in MUONED]


def orthogonal(G):
    \"\"\"The nearest (roughly) semi-orthogonal matrix to G: five Newton-Schulz iterations.\"\"\"
    tall = G.shape[0] > G.shape[1]
    X = tf.transpose(G) if tall else G
    X = X / (tf.norm(X) + 1e-7)
    for _ in range(5):
        A = tf.matmul(X, X, transpose_b=True)
        X = 3.4445 * X + tf.matmul(-4.7750 * A + 2.0315 * tf.matmul(A, A), X)
    return tf.transpose(X) if tall else X


def muon_step(gradients, rate):
    pairs = list(zip(gradients, trainable))
    optimizer.apply_gradients([(g, v) for g, v in pairs if not any(v is W for W in MUONED)])
    for W, m in zip(MUONED, muon_momenta):
        g = [g for g, v in pairs if v is W][0]
        m.assign(MUON_MOMENTUM * m + g)
        g = g + MUON_MOMENTUM * m
        shape = W.shape
        G = tf.reshape(g, [-1, shape[-1]])
        U = orthogonal(G) * max(1.0, G.shape[1] / G.shape[0]) ** 0.5
        W.assign_sub(rate * tf.reshape(U, shape))


def learning_rate(step):
"""),
    # SCALE, SHEAR: zoom and shear in the same one transform per image
    ("    return move(X, dx, dy, angle * math.pi / 180)",
     """    if SCALE or SHEAR:
        z = keras.random.uniform([n], 1 - SCALE, 1 + SCALE, seed=augment_seeds)
        sh = keras.random.uniform([n], -SHEAR, SHEAR, seed=augment_seeds)
        c, s = tf.cos(angle * math.pi / 180) / z, tf.sin(angle * math.pi / 180) / z
        m00, m01, m10, m11 = c, s + sh, -s, c
        x0, y0 = 13.5 + dx, 13.5 + dy
        transforms = tf.stack([m00, m01, 13.5 - m00 * x0 - m01 * y0, m10, m11, 13.5 - m10 * x0 - m11 * y0,
                               tf.zeros_like(c), tf.zeros_like(c)], axis=1)
        return tf.raw_ops.ImageProjectiveTransformV3(
            images=X, transforms=transforms, output_shape=[28, 28], fill_value=0.0,
            interpolation="BILINEAR", fill_mode="CONSTANT")
    return move(X, dx, dy, angle * math.pi / 180)"""),
    # WD, SGD: the optimiser
    ("optimizer = keras.optimizers.Adam(learning_rate=0.0, beta_1=ADAM_BETAS[0], beta_2=ADAM_BETAS[1])\n",
     "optimizer = keras.optimizers.Adam(learning_rate=0.0, beta_1=ADAM_BETAS[0], beta_2=ADAM_BETAS[1])\n"
     "if SGD:\n"
     "    optimizer = keras.optimizers.SGD(learning_rate=0.0, momentum=SGD, nesterov=True,\n"
     "                                     weight_decay=WD or None)\n"
     "elif WD:\n"
     "    optimizer = keras.optimizers.AdamW(learning_rate=0.0, weight_decay=WD, beta_1=ADAM_BETAS[0],\n"
     "                                       beta_2=ADAM_BETAS[1])\n"
     "    optimizer.exclude_from_weight_decay(var_list=[B1, B2, B3, B4])\n"),
]


def one_run(script, seed, data):
    run = runs.run_script(script, ["--headless", "--seed", seed, "--data-dir", data])
    return run.final_accuracy if run.ok else None, run.steps_per_second and run.trained_steps / run.steps_per_second


def row(recipe, results):
    """The table's row of one recipe: [(final accuracy or None, loop seconds)] per seed."""
    finals = [final for final, _ in results]
    loops = [loop for _, loop in results if loop]
    done = [final for final in finals if final is not None]
    wrong = sum(round((1 - final) * HELD_OUT) for final in done)
    return [recipe, ", ".join("failed" if f is None else f"{f:.4f}" for f in finals),
            f"{statistics.mean(done):.4f}" if done else "-", str(wrong),
            f"{statistics.median(loops):.1f} s" if loops else "-"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipes", nargs="+", metavar="RECIPE", help='settings, e.g. "EPOCHS=2.5 TTA=4"')
    parser.add_argument("--seeds", default="0,1,2", help="seeds, with commas (default: 0,1,2)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (default 1)")
    args = parser.parse_args()
    args.seeds = args.seeds.split(",")
    for recipe in args.recipes:
        for setting in recipe.split():
            if "=" not in setting:
                parser.error(f"'{setting}' in \"{recipe}\": settings are NAME=VALUE, e.g. EPOCHS=2.5")
    print(runs.machine(), flush=True)
    folder = Path(tempfile.mkdtemp(prefix="bench_recipes_"))
    atexit.register(shutil.rmtree, folder, True)
    data = runs.validation_folder()
    atexit.register(shutil.rmtree, data, True)
    os.environ["PYTHONPATH"] = str(runs.REPO)  # the copies import trainer from the repository
    replacements = [(old, new, "bench_recipes.py") for old, new in PATCHES]
    scripts = []
    for i, recipe in enumerate(args.recipes):
        (folder / str(i)).mkdir()
        scripts.append(runs.edited_stage(STAGE, recipe.split(), folder / str(i), replacements))
    print(f"validation: {STAGE.name} and the settings given, trained on the first 55,000 training "
          f"images, measured on the last 5,000; seeds {' '.join(args.seeds)}", flush=True)
    jobs = [(script, seed) for script in scripts for seed in args.seeds]
    results, rows = [], []
    with ThreadPoolExecutor(args.jobs) as pool:
        for result in pool.map(lambda job: one_run(*job, data), jobs):  # in order, as they end
            results.append(result)
            if len(results) % len(args.seeds) == 0:  # a recipe's seeds all done: its line
                recipe = args.recipes[len(rows)]
                rows.append(row(recipe, results[-len(args.seeds):]))
                print(f"[{recipe}] {rows[-1][1]}; mean {rows[-1][2]}, wrong {rows[-1][3]} of "
                      f"{len(args.seeds) * HELD_OUT:,}; loop {rows[-1][4]}", flush=True)
    print()
    print(runs.markdown_table(["recipe", "validation, seeds " + " ".join(args.seeds), "mean",
                               "wrong", "median loop"], rows))
    return 0 if all(final is not None for final, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
