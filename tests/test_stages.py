"""The stage scripts: they run from any folder, learn, and compute what they claim.

Each script is run for a few steps on 1,000 real digits: in a subprocess (as a learner
runs it) or in this process with runpy (to reach its variables and functions). The
network and its loss are checked against numpy, its gradients against finite
differences, its drawing against its variables.
"""

import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from codelab import runfolder
from helpers import REPO, load_stage, numbers_printed, randomise, run_script
from codelab.stages import LOW_LEVEL_SCRIPTS, drawn_shapes
from codelab.stages import SCRIPTS as STAGES
from trainer import MAX_ACCURACY_LINE, TEST_LINE

BATCHNORM_STAGES = [script for script in STAGES if "batchnorm" in script]
SPEEDRUN = "mnist_5.0_speedrun.py"
AUGMENTED = "mnist_5.1_speedrun_augmented.py"  # 5.0's network, wider, on moved images
SPEEDRUNS = [SPEEDRUN, AUGMENTED]
RECURRENT = "mnist_6.0_recurrent.py"
FEW_STEPS = 40

# Run twice to check determinism: dropout, convolutions and batch norm are all covered.
RUN_TWICE = ["mnist_2.2_five_layers_relu_lrdecay_dropout.py",
             "mnist_3.1_convolutional_bigger_dropout.py",
             "mnist_4.1_batchnorm_five_layers_relu.py"]


@pytest.fixture(scope="module")
def short_runs(small_mnist_dir, tmp_path_factory):
    """Each stage run with seed 0 (some twice), from a folder that is not the repository;
    two at a time (a short run is mostly TensorFlow's start, on one core)."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    flags = ("--headless", "--iterations", str(FEW_STEPS), "--seed", "0",
             "--data-dir", small_mnist_dir)
    with ThreadPoolExecutor(2) as pool:
        runs = {script: [pool.submit(run_script, script, *flags, cwd=elsewhere)
                         for _ in range(2 if script in RUN_TWICE else 1)]
                for script in STAGES}
    return {script: [run.result() for run in started] for script, started in runs.items()}


@pytest.mark.parametrize("script", STAGES)
def test_runs_from_another_folder_and_ends_with_max_accuracy(short_runs, script):
    result = short_runs[script][0]
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    best = MAX_ACCURACY_LINE.fullmatch(lines[-1])
    assert best and re.fullmatch(r"0\.\d{4}", best["accuracy"]), lines[-1]
    tests = list(TEST_LINE.finditer(result.stdout))
    assert int(tests[-1]["step"]) == FEW_STEPS  # the final step gets a test point
    assert float(best["accuracy"]) == max(float(m["accuracy"]) for m in tests)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("script", STAGES)
def test_a_short_run_lowers_the_loss(short_runs, script):
    losses = [float(m["loss"]) for m in TEST_LINE.finditer(short_runs[script][0].stdout)]
    assert losses[-1] < 0.95 * losses[0], losses  # sigmoids start slowly


@pytest.mark.parametrize("script", RUN_TWICE)
def test_the_same_seed_prints_the_same_numbers(short_runs, script):
    first, second = short_runs[script]
    assert numbers_printed(first.stdout) == numbers_printed(second.stdout)
    assert len(numbers_printed(first.stdout)) > 5


def test_another_seed_prints_other_numbers(short_runs, small_mnist_dir, tmp_path):
    script = "mnist_2.2_five_layers_relu_lrdecay_dropout.py"
    other = run_script(script, "--headless", "--iterations", str(FEW_STEPS), "--seed", "1",
                       "--data-dir", small_mnist_dir, cwd=tmp_path)
    assert numbers_printed(other.stdout) != numbers_printed(short_runs[script][0].stdout)


# ------------------------------------------------------------ in-process checks

@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    """Where each stage of the `stages` fixture saved its network (--save-model)."""
    folder = tmp_path_factory.mktemp("saved")
    return {script: folder / script.removesuffix(".py") for script in LOW_LEVEL_SCRIPTS}


@pytest.fixture(scope="module")
def stages(small_mnist_dir, saved_models):
    """The stages that write their variables out (not the Keras ones: those are checked
    against their twin in tests/test_keras.py), each loaded after one step."""
    return {script: load_stage(script, small_mnist_dir, "--save-model", str(saved_models[script]))
            for script in LOW_LEVEL_SCRIPTS}


@pytest.mark.parametrize("script", LOW_LEVEL_SCRIPTS)
def test_variable_shapes_match_the_drawing(stages, script):
    stage = stages[script]
    drawn = drawn_shapes(stage["__doc__"])
    for variable in stage["variables"]:
        name = variable.name.split(":")[0]
        assert name in drawn, f"{name} is not in the drawing of {script}"
        assert tuple(variable.shape) == drawn[name], name
    X = stage["mnist"].train.images[:stage["args"].batch_size]  # 100; 256 in 5.0
    Ylogits, Y = stage["model"](X)[:2]
    assert tuple(Y.shape) == drawn["Y"] == tuple(Ylogits.shape) == drawn["Ylogits"]
    assert drawn["X"] == X.shape


@pytest.mark.parametrize("script", LOW_LEVEL_SCRIPTS)
def test_every_stage_exports_a_saved_model_that_serves_its_network(stages, saved_models,
                                                                   script):
    """The SavedModel that predict.py reads, against the numpy network given the values
    it holds. Keras before 3.14 failed this export for the dropout stages (the dropout
    seed generator's state, read by the served function, was not saved with it)."""
    import tensorflow as tf
    loaded = tf.saved_model.load(str(runfolder.find_saved_model(saved_models[script])))
    values = {v.name.split(":")[0]: v.numpy().astype(np.float64) for v in loaded.variables_}
    assert set(values) == set(variable_values(stages[script]))
    X = stages[script]["mnist"].test.images[:20]
    served = loaded.signatures["serving_default"](images=tf.constant(X))["probabilities"]
    expected = numpy_forward(stages[script], X.astype(np.float64), values)[1]
    np.testing.assert_allclose(served.numpy(), expected, atol=2e-5)


def numpy_conv_same(X, W, stride):
    """2-D convolution with TensorFlow's SAME padding, written out in numpy."""
    size, k = X.shape[1], W.shape[0]
    out = -(-size // stride)
    pad = max((out - 1) * stride + k - size, 0)
    Xp = np.pad(X, [(0, 0), (pad // 2, pad - pad // 2), (pad // 2, pad - pad // 2), (0, 0)])
    Y = np.zeros((X.shape[0], out, out, W.shape[3]))
    for dy in range(k):
        for dx in range(k):
            patch = Xp[:, dy:dy + stride * out:stride, dx:dx + stride * out:stride, :]
            Y += patch @ W[dy, dx]
    return Y


def numpy_conv_valid(X, W):
    """2-D convolution, stride 1, no padding (TensorFlow's VALID), written out in numpy."""
    k = W.shape[0]
    out = X.shape[1] - k + 1
    Y = np.zeros((X.shape[0], out, out, W.shape[3]))
    for dy in range(k):
        for dx in range(k):
            Y += X[:, dy:dy + out, dx:dx + out, :] @ W[dy, dx]
    return Y


def numpy_max_pool(X):
    """The largest value of each 2 x 2 block (stride 2, odd edges dropped)."""
    n, h, w, c = X.shape
    blocks = X[:, :h // 2 * 2, :w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c)
    return blocks.max(axis=(2, 4))


def variable_values(stage):
    return {var.name.split(":")[0]: var.numpy().astype(np.float64) for var in stage["variables"]}


def numpy_forward(stage, X, values=None):
    """The stage's network at test time, in numpy, from its variables or `values`."""
    v = values or variable_values(stage)
    if stage["__file__"].endswith(tuple(SPEEDRUNS)):
        return numpy_forward_speedrun(stage, X, v)
    if stage["__file__"].endswith(RECURRENT):
        states, _ = numpy_gru(X, v)
        logits = states[-1] @ v["W"] + v["B"]
        return logits, numpy_softmax(logits)
    if "W" in v:  # 1.0: one layer
        logits = X.reshape(len(X), -1) @ v["W"] + v["b"]
        return logits, numpy_softmax(logits)
    relu = lambda z: np.maximum(z, 0)
    sigmoid = lambda z: 1 / (1 + np.exp(-z))
    activation = sigmoid if "sigmoid" in stage["__file__"] else relu
    Y = X if v["W1"].ndim == 4 else X.reshape(len(X), -1)
    for i, stride in ((1, 1), (2, 2), (3, 2), (4, None)):
        if v[f"W{i}"].ndim == 4:  # 3.x, 4.2: convolutions, strides 1, 2, 2
            Z = numpy_conv_same(Y, v[f"W{i}"], stride)
        else:
            Z = Y.reshape(len(X), -1) @ v[f"W{i}"]
        if f"MEAN{i}" in v:  # 4.x: batch norm with the moving averages, then scale, offset
            Z = (Z - v[f"MEAN{i}"]) / np.sqrt(v[f"VAR{i}"] + stage["BN_EPSILON"])
            Z = Z * v.get(f"S{i}", 1.0) + v[f"B{i}"]
        else:
            Z = Z + v[f"B{i}"]
        Y = activation(Z)
    logits = Y @ v["W5"] + v["B5"]
    return logits, numpy_softmax(logits)


def numpy_forward_speedrun(stage, X, v):
    """5.0 and 5.1: VALID convolutions, each max-pooled, then batch norm (moving
    averages), offset, ReLU; a dense layer the same way; the output layer."""
    def bn_relu(Z, i):
        Z = (Z - v[f"MEAN{i}"]) / np.sqrt(v[f"VAR{i}"] + stage["BN_EPSILON"]) + v[f"B{i}"]
        return np.maximum(Z, 0)
    Y = bn_relu(numpy_max_pool(numpy_conv_valid(X, v["W1"])), 1)
    Y = bn_relu(numpy_max_pool(numpy_conv_valid(Y, v["W2"])), 2)
    Y = bn_relu(Y.reshape(len(X), -1) @ v["W3"], 3)
    logits = Y @ v["W4"] + v["B4"]
    return logits, numpy_softmax(logits)


def numpy_gru(X, v):
    """6.0: a GRU reads the 28 rows of each image, top to bottom, from a state of zeros.
    Returns the state after each row, and the (update, reset) gates at each row."""
    sigmoid = lambda z: 1 / (1 + np.exp(-z))
    rows = X.reshape(len(X), 28, 28)
    H = np.zeros((len(X), v["Uz"].shape[0]))
    states, gates = [], []
    for t in range(28):
        Xt = rows[:, t, :]
        Z = sigmoid(Xt @ v["Wz"] + H @ v["Uz"] + v["Bz"])
        R = sigmoid(Xt @ v["Wr"] + H @ v["Ur"] + v["Br"])
        candidate = np.tanh(Xt @ v["Wh"] + (R * H) @ v["Uh"] + v["Bh"])
        H = Z * H + (1 - Z) * candidate
        states.append(H)
        gates.append((Z, R))
    return states, gates


def numpy_softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("script", LOW_LEVEL_SCRIPTS)
def test_network_and_loss_match_numpy(stages, script):
    stage = stages[script]
    randomise(stage)
    X = stage["mnist"].test.images[:50]
    Y_ = stage["mnist"].test.labels[:50]
    logits, probabilities = numpy_forward(stage, X.astype(np.float64))
    Y, loss, accuracy = stage["loss_and_accuracy"](X, Y_)
    np.testing.assert_allclose(Y.numpy(), probabilities, atol=2e-5)
    expected_loss = -np.mean(np.sum(Y_ * np.log(probabilities), axis=1)) * 100
    np.testing.assert_allclose(float(loss), expected_loss, rtol=1e-4)
    expected_accuracy = np.mean(np.argmax(probabilities, 1) == np.argmax(Y_, 1))
    assert float(accuracy) == pytest.approx(expected_accuracy)


@pytest.mark.parametrize("script", LOW_LEVEL_SCRIPTS)
def test_gradients_match_finite_differences(stages, script):
    """TensorFlow's gradients against central differences of the numpy network, in float64."""
    import tensorflow as tf
    stage = stages[script]
    randomise(stage, seed=2)
    X = stage["mnist"].train.images[:5]
    Y_ = stage["mnist"].train.labels[:5]
    with tf.GradientTape() as tape:
        cross_entropy = stage["loss_and_accuracy"](X, Y_)[1]  # no dropout: deterministic
    trainable = stage.get("trainable", stage["variables"])  # 4.x: not the moving averages
    gradients = tape.gradient(cross_entropy, trainable)
    values = variable_values(stage)

    def numpy_loss():
        probabilities = numpy_forward(stage, X.astype(np.float64), values)[1]
        return -np.mean(np.sum(Y_ * np.log(probabilities), axis=1)) * 100

    rng = np.random.default_rng(0)
    eps = 1e-6
    for var, gradient in zip(trainable, gradients):
        name, gradient = var.name.split(":")[0], gradient.numpy()
        largest = np.argsort(-np.abs(gradient).ravel())[:20]
        for flat_index in rng.choice(largest, size=3, replace=False):
            index = np.unravel_index(flat_index, gradient.shape)
            original = values[name][index]
            values[name][index] = original + eps
            up = numpy_loss()
            values[name][index] = original - eps
            down = numpy_loss()
            values[name][index] = original
            numeric = (up - down) / (2 * eps)
            assert gradient[index] == pytest.approx(numeric, rel=1e-3, abs=1e-3), (name, index)


# ----------------------------------------------------------------- failure modes

def test_a_nan_loss_stops_with_an_explanation(small_mnist_dir, tmp_path):
    """A learner's edit: stage 1.0 with a learning rate far too high."""
    source = open(os.path.join(REPO, "mnist_1.0_softmax.py")).read()
    edited = source.replace("LEARNING_RATE = 0.005", "LEARNING_RATE = 500.0")
    assert edited != source
    script = tmp_path / "my_softmax.py"
    script.write_text(edited)
    result = run_script(script, "--headless", "--iterations", "200", "--data-dir",
                        small_mnist_dir, cwd=tmp_path, env_extra={"PYTHONPATH": str(REPO)})
    assert result.returncode != 0
    assert "NaN" in result.stderr and "log(0)" in result.stderr
    assert "softmax_cross_entropy_with_logits" in result.stderr
    assert "stage 2.0 (mnist_2.0_five_layers_sigmoid.py)" in result.stderr  # where it comes in
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("flags, message", [
    (["--iterations", "0"], "--iterations"),
    (["--iterations", "ten"], "--iterations"),
    (["--seed", "-1"], "--seed"),
    (["--restore"], "--restore needs --save-model"),
    (["--save-image", "/no/such/folder/dashboard.png"], "--save-image"),
])
def test_bad_flags_are_refused_with_the_flag_named(flags, message, tmp_path):
    result = run_script("mnist_1.0_softmax.py", *flags, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_the_shared_flags(tmp_path):
    result = run_script("mnist_3.1_convolutional_bigger_dropout.py", "-h", cwd=tmp_path)
    assert result.returncode == 0
    for flag in ("--iterations", "--headless", "--seed", "--data-dir", "--save-image",
                 "--save-movie", "--save-model", "--restore", "--fresh", "--logdir"):
        assert flag in result.stdout
    assert "default: 10000" in result.stdout


@pytest.mark.parametrize("script", BATCHNORM_STAGES)
def test_batchnorm_in_training_normalises_and_updates_the_moving_averages(stages, script):
    stage = stages[script]
    rng = np.random.default_rng(3)
    shape = (100, 7, 7, 5) if "convolutional" in script else (100, 5)
    Z = rng.normal(3.0, 2.0, shape).astype(np.float32)
    import tensorflow as tf
    moving_mean = tf.Variable(np.zeros(5, np.float32))
    moving_variance = tf.Variable(np.ones(5, np.float32))
    step = 100000.0  # late in training: the decay is BN_DECAY
    normalised = stage["batchnorm"](Z, moving_mean, moving_variance, True, step).numpy()
    axes = tuple(range(Z.ndim - 1))
    np.testing.assert_allclose(normalised.mean(axis=axes), 0, atol=1e-4)
    np.testing.assert_allclose(normalised.var(axis=axes), 1, atol=1e-3)
    decay = stage["BN_DECAY"]
    np.testing.assert_allclose(moving_mean.numpy(), (1 - decay) * Z.mean(axis=axes), rtol=1e-4)
    np.testing.assert_allclose(moving_variance.numpy(),
                               decay + (1 - decay) * Z.var(axis=axes), rtol=1e-4)
    # At test time: the moving averages, not the batch's own figures.
    at_test = stage["batchnorm"](Z, moving_mean, moving_variance, False, step).numpy()
    expected = (Z - moving_mean.numpy()) / np.sqrt(moving_variance.numpy() + stage["BN_EPSILON"])
    np.testing.assert_allclose(at_test, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(100, 7, 7, 5), (100, 5)], ids=["conv", "dense"])
def test_speedrun_fused_batchnorm_is_the_written_out_one(stages, shape):
    """5.0's one fused operation does 4.2's maths: batch statistics and offset in training,
    moving averages at test time. Its kernel hands back the batch variance divided by
    n - 1 (not n) for the moving average: with 100 values (dense) that is 1 % larger."""
    import tensorflow as tf
    stage = stages[SPEEDRUN]
    rng = np.random.default_rng(3)
    Z = rng.normal(3.0, 2.0, shape).astype(np.float32)
    offset = rng.normal(0, 1, 5).astype(np.float32)
    moving_mean = tf.Variable(np.zeros(5, np.float32))
    moving_variance = tf.Variable(np.ones(5, np.float32))
    step = 100000.0  # late in training: the decay is BN_DECAY
    normalised = stage["batchnorm"](Z, offset, moving_mean, moving_variance, True, step).numpy()
    axes = tuple(range(Z.ndim - 1))
    epsilon, decay = stage["BN_EPSILON"], stage["BN_DECAY"]
    expected = (Z - Z.mean(axis=axes)) / np.sqrt(Z.var(axis=axes) + epsilon) + offset
    np.testing.assert_allclose(normalised, expected, atol=2e-4)
    np.testing.assert_allclose(moving_mean.numpy(), (1 - decay) * Z.mean(axis=axes), rtol=1e-4)
    np.testing.assert_allclose(moving_variance.numpy(),
                               decay + (1 - decay) * Z.var(axis=axes, ddof=1), rtol=1e-5)
    at_test = stage["batchnorm"](Z, offset, moving_mean, moving_variance, False, step).numpy()
    expected = ((Z - moving_mean.numpy()) / np.sqrt(moving_variance.numpy() + epsilon)
                + offset)
    np.testing.assert_allclose(at_test, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("script", SPEEDRUNS)
def test_speedrun_learning_rate_is_one_cycle(stages, script):
    """0 at the start, a straight climb to LR_MAX at WARMUP of the run, a half cosine down
    to 0 at the end; its length is --iterations (1 in these in-process runs)."""
    stage = stages[script]
    iterations, peak, warmup = stage["args"].iterations, stage["LR_MAX"], stage["WARMUP"]
    for progress in (0.0, 0.1, warmup / 2, warmup, 0.5, 0.8, 1.0):
        lr = float(stage["learning_rate"](progress * iterations))
        if progress <= warmup:
            expected = peak * progress / warmup
        else:
            expected = peak * 0.5 * (1 + np.cos(np.pi * (progress - warmup) / (1 - warmup)))
        assert lr == pytest.approx(expected, abs=1e-7), progress


def centre_of_mass(images):
    """[n, 2]: each image's (x, y) centre of ink, in pixels."""
    images = images[..., 0]
    mass = images.sum(axis=(1, 2))
    grid = np.arange(images.shape[1])
    x = (images.sum(axis=1) * grid).sum(axis=1) / mass
    y = (images.sum(axis=2) * grid).sum(axis=1) / mass
    return np.stack([x, y], axis=1)


def test_augmentation_moves_and_turns_each_image_within_its_limits(stages):
    """5.1's augment(): nearly every image keeps its ink (MNIST's digits mostly sit 4
    pixels inside the frame, so a move of up to 2 keeps them in it), its centre moves by at most
    SHIFT plus what a turn of ROTATION degrees moves it, each image by its own amount,
    and the draws go on (a new batch, new moves) from the saved generator."""
    stage = stages[AUGMENTED]
    X = stage["mnist"].test.images[:200]
    moved = stage["augment"](X).numpy()
    again = stage["augment"](X).numpy()
    assert moved.shape == X.shape and moved.dtype == X.dtype
    assert not np.allclose(moved, again)  # other moves at the next step
    ink = moved.sum(axis=(1, 2, 3)) / X.sum(axis=(1, 2, 3))
    assert (ink < 1.001).all()  # none made up
    kept = ink > 0.995  # the others touch the frame: a move can push some ink out
    assert kept.mean() > 0.9
    centre = centre_of_mass(X)
    offset = centre - 13.5
    turn = np.radians(stage["ROTATION"])
    # A turn by t about the image's centre moves a point at distance r by 2 r sin(t / 2).
    most = stage["SHIFT"] + 2 * np.hypot(*offset.T) * np.sin(turn / 2) + 0.05
    shift = np.abs(centre_of_mass(moved) - centre).max(axis=1)
    assert (shift[kept] <= most[kept]).all()
    assert shift.max() > 0.75 * stage["SHIFT"]  # they do move, and by various amounts
    assert np.std(shift) > 0.1 * stage["SHIFT"]


def test_augmentation_moves_are_numpy_shifts_and_turns(stages):
    """5.1's move(): by whole pixels with no turn, numpy's shift of the image (black
    coming in); a quarter turn about the centre, numpy's rot90 (clockwise on screen:
    y counts downwards); then both at once."""
    stage = stages[AUGMENTED]
    X = stage["mnist"].test.images[:3]
    n = len(X)

    def move(dx, dy, degrees):
        return stage["move"](X, np.full(n, dx, np.float32), np.full(n, dy, np.float32),
                             np.full(n, np.radians(degrees), np.float32)).numpy()

    def shifted(images, dx, dy):
        out = np.zeros_like(images)
        out[:, max(dy, 0):28 + min(dy, 0), max(dx, 0):28 + min(dx, 0)] = \
            images[:, max(-dy, 0):28 + min(-dy, 0), max(-dx, 0):28 + min(-dx, 0)]
        return out

    for dx, dy in [(2, 0), (0, -1), (-2, 1)]:
        np.testing.assert_allclose(move(dx, dy, 0), shifted(X, dx, dy), atol=1e-5)
    clockwise = np.rot90(X, k=-1, axes=(1, 2))
    np.testing.assert_allclose(move(0, 0, 90), clockwise, atol=1e-5)
    np.testing.assert_allclose(move(1, -2, 90), shifted(clockwise, 1, -2), atol=1e-5)


# ------------------------------------------------------------ the recurrent stage

def recurrent_states(stage, X):
    """6.0's cell run by TensorFlow over the rows of X: the state after each row."""
    import tensorflow as tf
    rows = tf.reshape(X, [-1, 28, 28])
    H = tf.zeros([len(X), stage["N"]])
    states = []
    for t in range(28):
        H = stage["cell"](rows[:, t, :], H)[0]
        states.append(H.numpy())
    return states


def test_recurrent_cell_matches_numpy_at_every_row(stages):
    """The state after each of the 28 rows, and both gates at each row (what panels 4
    and 5 show), against the GRU's equations written out in numpy."""
    stage = stages[RECURRENT]
    randomise(stage, seed=4)
    X = stage["mnist"].test.images[:20]
    expected_states, expected_gates = numpy_gru(X.astype(np.float64), variable_values(stage))
    for t, (state, expected) in enumerate(zip(recurrent_states(stage, X), expected_states)):
        np.testing.assert_allclose(state, expected, atol=2e-5, err_msg=f"state after row {t + 1}")
    Z, R = (gate.numpy() for gate in stage["gate_activations"](X))
    assert Z.shape == R.shape == (28, 20, stage["N"])  # [rows, images, neurons]: all 20
    np.testing.assert_allclose(Z, [z for z, _ in expected_gates], atol=2e-5)
    np.testing.assert_allclose(R, [r for _, r in expected_gates], atol=2e-5)
    assert np.ptp(expected_states[-1]) > 0.5  # the weights are random, the state is not flat


def test_recurrent_cell_is_keras_gru_with_the_same_weights(stages):
    """keras.layers.GRU(reset_after=False) computes the same GRU: given the stage's weights
    (gates in Keras' order z, r, h), it gives the same states, row by row, and logits."""
    import keras
    stage = stages[RECURRENT]
    randomise(stage, seed=5)
    v = {name: value.astype(np.float32) for name, value in variable_values(stage).items()}
    gru = keras.layers.GRU(stage["N"], reset_after=False, return_sequences=True)
    X = stage["mnist"].test.images[:20]
    rows = X.reshape(20, 28, 28)
    gru.build(rows.shape)
    gru.set_weights([np.concatenate([v["Wz"], v["Wr"], v["Wh"]], axis=1),
                     np.concatenate([v["Uz"], v["Ur"], v["Uh"]], axis=1),
                     np.concatenate([v["Bz"], v["Br"], v["Bh"]])])
    keras_states = np.asarray(gru(rows))  # [images, rows, N]
    for t, state in enumerate(recurrent_states(stage, X)):
        np.testing.assert_allclose(state, keras_states[:, t], atol=1e-5, err_msg=f"row {t + 1}")
    Ylogits = stage["model"](X)[0].numpy()
    np.testing.assert_allclose(Ylogits, keras_states[:, -1] @ v["W"] + v["B"], atol=1e-5)


def test_recurrent_drawing_shows_the_shapes_of_the_unrolled_network(stages):
    """The shapes of the drawing's rows, states and gates are those the code computes
    (its variables and X, Ylogits, Y: test_variable_shapes_match_the_drawing)."""
    import tensorflow as tf
    stage = stages[RECURRENT]
    drawn = drawn_shapes(stage["__doc__"])
    X = stage["mnist"].train.images[:100]
    XR = tf.reshape(X, [-1, stage["ROWS"], stage["PIXELS"]])
    H1, Z, R = stage["cell"](XR[:, 0, :], tf.zeros([100, stage["N"]]))
    assert drawn["XR"] == tuple(XR.shape)
    assert drawn["X1"] == drawn["X2"] == drawn["X28"] == drawn["Xt"] == tuple(XR[:, 0].shape)
    assert drawn["Z"] == tuple(Z.shape) and drawn["R"] == tuple(R.shape)
    assert drawn["H0"] == drawn["H"] == drawn["HH"] == drawn["H28"] == tuple(H1.shape)
    assert len(stage["model"](X)[2]) == XR.shape[1] == 28  # one cell per row: X1 .. X28
    Z, R = stage["gate_activations"](X)
    assert tuple(Z.shape) == tuple(R.shape) == (28, 25, stage["N"])  # the dashboard's 25 images
