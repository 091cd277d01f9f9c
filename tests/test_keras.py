"""Keras: the KerasDashboard callback on a model that no stage defines, and stage 7.0
(mnist_7.0_keras.py) against its low-level twin, stage 5.0.

The callback is run as a user runs it: a small Sequential written here, model.fit on
real digits, headless with save_image, in a real Jupyter kernel (nbclient); stage 7.0
in a real Tk window is in tests/test_window.py. Its figures are checked against Keras'
own evaluation of the model, the network of 7.0 against 5.0's given the same values.
"""

import os
import re
import shutil
import sys

import numpy as np
import pytest

from codelab import runfolder
from helpers import (REPO, ctrl_c_after, figures_after, load_stage, randomise, run_cell,
                     run_script, start_stage,
                     stopped_by_ctrl_c_and_resumed, train)
from test_everyday_faults import small_disk  # noqa: F401  (the fixture: a small file system)

KERAS_STAGE, TWIN = "mnist_7.0_keras.py", "mnist_5.0_speedrun.py"


@pytest.fixture(scope="module")
def keras():
    sys.path.insert(0, str(REPO))
    import trainer
    trainer.load_tensorflow()
    import keras
    return keras


@pytest.fixture(scope="module")
def digits(full_mnist):
    """2,000 training and 500 test digits: images [N, 28, 28] in [0, 1], labels 0-9."""
    train_images, train_labels, test_images, test_labels = full_mnist
    return (train_images[:2000] / np.float32(255), train_labels[:2000].astype(np.int64),
            test_images[:500] / np.float32(255), test_labels[:500].astype(np.int64))


def outside_model(keras, output="softmax"):
    """A model no stage defines: [N, 28, 28] images, a hidden layer of 32, 10 outputs."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(32, activation="relu", name="hidden"),
                              keras.layers.Dense(10, activation=output, name="out")])
    model.compile(optimizer="adam", metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(
                      from_logits=output is None))
    return model


# ------------------------------------------------------------------- the callback

def test_the_callback_shows_an_outside_model_headless_and_saves_the_dashboard(
        keras, digits, tmp_path, capsys):
    from tensorflowvisu import KerasDashboard
    from PIL import Image
    train_x, train_y, test_x, test_y = digits
    model = outside_model(keras)
    image = tmp_path / "dashboard.png"
    dashboard = KerasDashboard(test_x, test_y, training_images=train_x,
                               training_labels=train_y, headless=True, save_image=image,
                               train_every=5, test_every=20)
    model.fit(train_x, train_y, batch_size=50, epochs=1, callbacks=[dashboard], verbose=0)
    assert capsys.readouterr().out == ""  # it only shows: the lines are the stage's
    training, tests = dashboard.history["training"], dashboard.history["test"]
    assert [step for step, _, _ in training] == list(range(0, 41, 5))  # 2,000 / 50 = 40
    assert [step for step, _, _ in tests] == [0, 20, 40]
    # The last test figure is Keras' own evaluation of the trained model, loss x 100.
    loss, accuracy = model.evaluate(test_x, test_y, verbose=0)
    assert tests[-1][1] == pytest.approx(accuracy, abs=1e-4)
    assert tests[-1][2] == pytest.approx(loss * 100, rel=1e-3)
    assert dashboard.max_test_accuracy == max(accuracy for _, accuracy, _ in tests)
    assert tests[-1][1] > 0.7                                                # it learned
    assert dashboard.written == [str(image)]
    with Image.open(image) as picture:
        assert picture.size == (1300, 720)
        pixels = np.asarray(picture.convert("RGB"))
    red = np.all(np.abs(pixels.astype(int) - (229, 51, 51)) <= 3, axis=-1)  # misrecognised
    assert red[:, 870:].mean() > 0.005                # panels 3 and 6 show digits, some red


def test_the_weight_and_bias_panels_and_fit_goes_on_to_its_end(keras, digits, tmp_path,
                                                               monkeypatch):
    """The dashboard never stops fit: every epoch is trained, every figure shown, also
    after its window is gone."""
    from tensorflowvisu import KerasDashboard
    train_x, train_y, test_x, test_y = digits
    model = outside_model(keras)
    dashboard = KerasDashboard(test_x.reshape(-1, 784).reshape(-1, 28, 28), test_y,
                               headless=True, train_every=3, test_every=100,
                               save_image=tmp_path / "dashboard.png")  # panels 4, 5 kept
    panels = {}
    monkeypatch.setattr(dashboard.datavis, "append_data_histograms",   # what they are given
                        lambda step, weights, biases: panels.update({step: (weights, biases)}))
    monkeypatch.setattr(dashboard.datavis, "is_closed", lambda: True)  # closed at once
    history = model.fit(train_x, train_y, batch_size=100, epochs=3, callbacks=[dashboard],
                        verbose=0)
    assert dashboard.step == 60 and len(history.history["loss"]) == 3   # 3 x 20 steps
    assert sorted(panels) == list(range(3, 61, 3))  # at step 0 fit has logged no figures
    weights, biases = panels[60]                       # the trained network
    assert weights.size == 784 * 32 + 32 * 10 and biases.size == 32 + 10
    np.testing.assert_array_equal(biases[:32], model.get_layer("hidden").bias.numpy())


def test_figures_from_logits_and_probabilities_are_the_same(keras):
    """Outputs that are probabilities are used as they are; anything else (logits) goes
    through softmax: the figures agree, and with Keras' own loss and accuracy."""
    from dashboard.kerascallback import figures
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (200, 10)).astype(np.float32)
    labels = rng.integers(0, 10, 200)
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
    from_logits = figures(logits, labels)
    from_probabilities = figures(probabilities, labels)
    np.testing.assert_allclose(from_logits[0], from_probabilities[0], atol=1e-6)
    expected = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    assert from_logits[1] == pytest.approx(float(expected) * 100, rel=1e-5)
    assert from_probabilities[1] == pytest.approx(from_logits[1], rel=1e-5)
    assert from_logits[2] == pytest.approx(np.mean(logits.argmax(1) == labels))


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((5, 32, 32)), np.zeros(5), "test_images of shape (5, 32, 32)"),
    (np.zeros((5, 784)), np.zeros((5, 3)), "test_labels of shape (5, 3)"),
    (np.zeros((5, 784)), np.full(5, 12), "values from 12 to 12"),
    (np.zeros((5, 28, 28, 1)), np.zeros(4), "5 test_images but 4 test_labels"),
    (np.where(np.arange(5)[:, None] == 3, np.nan, np.zeros((5, 784))), np.zeros(5),
     "test_images hold NaN or infinite values, in 1 of 5 images (the first: image 3)"),
])
def test_bad_inputs_are_refused_with_the_argument_named(keras, images, labels, message):
    from tensorflowvisu import KerasDashboard
    with pytest.raises(ValueError, match=re.escape(message)):
        KerasDashboard(images, labels, headless=True)


def test_one_hot_labels_and_flat_images_are_accepted(keras, digits):
    from tensorflowvisu import KerasDashboard
    _, _, test_x, test_y = digits
    one_hot = np.eye(10)[test_y]
    dashboard = KerasDashboard(test_x.reshape(-1, 784), one_hot, headless=True)
    np.testing.assert_array_equal(dashboard.measure.test_ids, test_y)


@pytest.mark.parametrize("count", [-1, 0, 6, 2.5])
def test_test_count_must_count_some_of_the_test_images(keras, count):
    from tensorflowvisu import KerasDashboard
    with pytest.raises(ValueError, match=re.escape(
            f"test_count must be a whole number from 1 to 5 (the test_images given), "
            f"not {count!r}")):
        KerasDashboard(np.zeros((5, 784)), np.zeros(5), headless=True, test_count=count)


def test_flat_images_are_given_to_the_model_as_it_takes_them(keras, digits):
    """[N, 784] images for a model of [28, 28, 1] inputs: the same pixels, reshaped."""
    from tensorflowvisu import KerasDashboard
    train_x, train_y, test_x, test_y = digits
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10)])
    model.compile(optimizer="adam", metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    dashboard = KerasDashboard(test_x.reshape(-1, 784), test_y, headless=True,
                               training_images=train_x.reshape(-1, 784),
                               training_labels=train_y, train_every=10, test_every=10)
    model.fit(train_x[..., None], train_y, batch_size=100, epochs=1, callbacks=[dashboard],
              verbose=0)
    assert [step for step, _, _ in dashboard.history["test"]] == [0, 10, 20]
    _, accuracy = model.evaluate(test_x[..., None], test_y, verbose=0)
    assert dashboard.history["test"][-1][1] == pytest.approx(accuracy, abs=1e-4)


def test_a_model_with_two_outputs_is_refused_before_training(keras, digits):
    from tensorflowvisu import KerasDashboard
    train_x, train_y, test_x, test_y = digits
    inputs = keras.Input((28, 28))
    flat = keras.layers.Flatten()(inputs)
    model = keras.Model(inputs, [keras.layers.Dense(10)(flat), keras.layers.Dense(10)(flat)])
    model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy"] * 2)
    dashboard = KerasDashboard(test_x, test_y, headless=True)
    before = [v.numpy() for v in model.trainable_variables]
    with pytest.raises(ValueError, match=re.escape("the model has 2 outputs; the dashboard "
                                                   "reads one, of 10 scores per image")):
        model.fit(train_x[:200], [train_y[:200]] * 2, batch_size=100, callbacks=[dashboard],
                  verbose=0)
    for variable, value in zip(model.trainable_variables, before):  # nothing trained
        np.testing.assert_array_equal(variable.numpy(), value)


# ------------------------------------------------------------------ stage 7.0

def copy_twin_values(twin, model):
    """5.0's variables into 7.0's layers: W1 -> conv1's kernel, B1 -> bn1's offset..."""
    pairs = {"conv1": ["W1"], "bn1": ["B1", "MEAN1", "VAR1"], "conv2": ["W2"],
             "bn2": ["B2", "MEAN2", "VAR2"], "dense3": ["W3"], "bn3": ["B3", "MEAN3", "VAR3"],
             "dense4": ["W4", "B4"]}
    values = {v.name.split(":")[0]: v for v in twin["variables"]}
    for layer, names in pairs.items():
        variables = model.get_layer(layer).variables
        assert [tuple(v.shape) for v in variables] == [tuple(values[n].shape) for n in names]
        for variable, name in zip(variables, names):
            variable.assign(values[name].numpy())
    assert sum(len(names) for names in pairs.values()) == len(model.variables)


def test_the_keras_network_is_its_twin_given_the_same_values(small_mnist_dir):
    """Same shapes, same outputs at test time, same loss and gradients in training."""
    import tensorflow as tf
    twin = load_stage(TWIN, small_mnist_dir, "--iterations", "10")
    stage = load_stage(KERAS_STAGE, small_mnist_dir, "--iterations", "10")
    model = stage["model"]
    randomise(twin)
    copy_twin_values(twin, model)
    X = twin["mnist"].test.images[:64]
    Y_ = twin["mnist"].test.labels[:64]
    np.testing.assert_allclose(model(X, training=False).numpy(), twin["model"](X)[0].numpy(),
                               rtol=1e-4, atol=1e-4)
    # Training mode: batch statistics; the loss with label smoothing (x 100 in 5.0).
    step = tf.constant(5.0)
    with tf.GradientTape(persistent=True) as tape:
        twin_loss = twin["loss_and_accuracy"](X, Y_, training=True, step=step)[1]
        keras_loss = model.loss(Y_, model(X, training=True)) * 100
    assert float(keras_loss) == pytest.approx(float(twin_loss), rel=1e-4)
    twin_gradients = tape.gradient(twin_loss, twin["trainable"])
    keras_gradients = tape.gradient(keras_loss, model.trainable_variables)
    for ours, theirs in zip(keras_gradients, twin_gradients):  # float32 sums, two orders
        scale = float(np.abs(theirs.numpy()).max())
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-3, atol=1e-4 * scale)
    # The one-cycle learning rate: Keras' cosine decay with a warm-up is 5.0's schedule
    # (10 steps: the climb ends on a whole step, 3, in both).
    for k in range(11):
        assert float(stage["learning_rate"](k)) == pytest.approx(
            float(twin["learning_rate"](float(k))), abs=1e-7), k


def test_the_keras_stage_stops_on_ctrl_c_saves_and_resumes_as_if_unbroken(small_mnist_dir,
                                                                        tmp_path):
    """Ctrl-C stops fit cleanly with everything saved (exit 130); --restore then prints
    what an unbroken run prints after the stop. The SavedModel for predict.py and
    model.keras hold the same network."""
    steps = "60"
    flags = ["--headless", "--data-dir", small_mnist_dir, "--iterations", steps, "--seed", "0"]
    straight = run_script(KERAS_STAGE, *flags, cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr[-3000:]
    model_dir = tmp_path / "run"
    stop, err, resumed = stopped_by_ctrl_c_and_resumed(KERAS_STAGE, flags, model_dir, 15,
                                                       cwd=tmp_path)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    assert (model_dir / "model.keras").is_file()
    assert f"(step {stop})" in resumed.stdout
    assert len(figures_after(straight.stdout, stop)) >= 3
    assert figures_after(resumed.stdout, stop) == figures_after(straight.stdout, stop)

    import tensorflow as tf
    import keras
    loaded = keras.models.load_model(model_dir / "model.keras")
    served = tf.saved_model.load(str(runfolder.find_saved_model(model_dir)))
    X = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    probabilities = served.signatures["serving_default"](images=tf.constant(X))["probabilities"]
    np.testing.assert_allclose(probabilities.numpy(),
                               keras.ops.convert_to_numpy(keras.ops.softmax(loaded(X))),
                               atol=1e-5)


def test_the_keras_stage_logs_for_tensorboard_as_the_other_stages(small_mnist_dir, tmp_path):
    """One trainer path: 7.0's TensorBoard logs have the other stages' tags (the
    dashboard's panel names), not Keras' own callback's (epoch_loss, ...)."""
    pytest.importorskip("tensorboard", reason="TensorBoard is optional (.ci/run installs it)")
    from test_saving import event_tags
    logdir = tmp_path / "logs"
    result = run_script(KERAS_STAGE, "--headless", "--iterations", "10", "--data-dir",
                        small_mnist_dir, "--logdir", str(logdir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert event_tags(logdir / "train") == {"accuracy", "loss", "learning_rate", "weights",
                                            "biases", "training_digits"}
    assert event_tags(logdir / "test") == {"accuracy", "loss", "test_digits"}


def test_a_full_disk_under_logdir_is_said_and_the_keras_stage_goes_on(small_mnist_dir,
                                                                     tmp_path, small_disk):
    pytest.importorskip("tensorboard", reason="TensorBoard is optional (.ci/run installs it)")
    logs = small_disk("256k") / "logs"
    result = run_script(KERAS_STAGE, "--headless", "--data-dir", small_mnist_dir,
                        "--iterations", "100", "--logdir", str(logs), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    warnings = re.findall(rf"^warning: --logdir {re.escape(str(logs))}: the TensorBoard logs "
                          r"stop at step \d+: they cannot be written \(No space left on "
                          r"device\); training goes on$", result.stderr, re.M)
    assert len(warnings) == 1, result.stderr[-3000:]
    assert "step 100: training accuracy" in result.stdout


def test_the_keras_stage_saves_a_missing_network_on_restore_without_training(
        small_mnist_dir, tmp_path):
    """saved_model gone (a disk-full stop, deleted): --restore saves it and model.keras
    again, as the other stages do, also with fewer --iterations than the run has (as
    predict.py's advice, --restore alone, gives after a longer run); no step trained."""
    model_dir = tmp_path / "run"
    train(KERAS_STAGE, small_mnist_dir, model_dir, "--iterations", "20", cwd=tmp_path)
    for iterations in ("20", "10"):
        shutil.rmtree(model_dir / "saved_model")
        (model_dir / "model.keras").unlink()
        restored = train(KERAS_STAGE, small_mnist_dir, model_dir, "--iterations", iterations,
                         "--restore", cwd=tmp_path)
        assert "had ended at step 20, but its trained network was not saved" in restored.stdout
        assert not re.search(r"^step \d+:", restored.stdout, re.M)  # no training
        assert runfolder.find_saved_model(model_dir) is not None
        assert (model_dir / "model.keras").is_file()
        assert "Traceback" not in restored.stderr
    again = run_script(KERAS_STAGE, "--headless", "--data-dir", small_mnist_dir, "--iterations",
                       "20", "--save-model", str(model_dir), "--restore", cwd=tmp_path)
    assert again.returncode == 2 and "is at step 20 already" in again.stderr


def test_a_full_disk_while_saving_the_keras_model_keeps_its_checkpoint(small_mnist_dir,
                                                                      tmp_path, small_disk):
    """One clear line, exit 1, nothing half-written; once there is space, --restore
    writes model.keras and the SavedModel without training further."""
    from test_everyday_faults import full_disk_while_saving, one_error_line
    model_dir = small_disk("12m") / "model"  # 7.0's checkpoints take 1.3 MB each
    result, filler = full_disk_while_saving(KERAS_STAGE, small_mnist_dir, model_dir, tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    error = one_error_line(result)
    assert re.fullmatch(r"error: cannot write the (Keras model|trained network) in .*\(No "
                        r"space left on device\)\. The checkpoint of step 30 is saved: free "
                        r"some space, then run the stage with --save-model .* --restore "
                        r"--iterations 30 to save the (model|network) from it\.", error), error
    assert not (model_dir / "saved_model").exists()
    assert not [path for path in model_dir.rglob(".*") if ".part" in path.name]
    filler.unlink()
    restored = train(KERAS_STAGE, small_mnist_dir, model_dir, "--iterations", "30",
                     "--restore", cwd=tmp_path)
    assert "had ended at step 30, but its trained network was not saved" in restored.stdout
    assert not re.search(r"^step \d+:", restored.stdout, re.M)  # no training
    assert (model_dir / "model.keras").is_file()
    assert runfolder.find_saved_model(model_dir) is not None


def test_the_keras_stage_starts_at_once_for_the_largest_iterations_and_stops_quietly(
        small_mnist_dir, tmp_path):
    """--iterations 10**15 (the most the flag takes) allocates nothing per step ahead;
    Ctrl-C then stops it with the summary, and no TensorFlow line about its data
    iterator at exit."""
    process = start_stage(KERAS_STAGE, "--headless", "--data-dir", small_mnist_dir,
                          "--iterations", str(10**15), cwd=tmp_path)
    _, out, err = ctrl_c_after(process, r"step 10: training accuracy")
    assert process.returncode == 130, err[-3000:]
    assert re.search(rf"^stopped at step \d+ of {10**15} \(Ctrl-C\)$", out, re.M), out
    assert re.search(r"^max test accuracy: 0\.\d{4}$", out, re.M)
    assert err.strip() == "", err[-3000:]  # no GeneratorDataset finalizing error


def test_a_nan_loss_stops_the_keras_stage_with_the_stages_explanation(small_mnist_dir,
                                                                     tmp_path):
    """A learner's edit: 7.0 with a learning rate far too high stops as the other stages
    do, with report.py's message (one error line, exit code 1)."""
    from codelab.report import nan_message
    source = open(os.path.join(REPO, KERAS_STAGE)).read()
    edited = source.replace("LR_MAX = 0.02", "LR_MAX = 1e38")
    assert edited != source
    script = tmp_path / "my_keras.py"
    script.write_text(edited)
    result = run_script(script, "--headless", "--iterations", "100", "--data-dir", small_mnist_dir,
                        cwd=tmp_path, env_extra={"PYTHONPATH": str(REPO)})
    assert result.returncode == 1, result.stderr[-3000:]
    step = re.search(r"^error: the loss became NaN at step (\d+);", result.stderr, re.M)
    assert step, result.stderr[-3000:]
    assert result.stderr.strip() == f"error: {nan_message(int(step[1]))}"


# --------------------------------------------------------------------- Jupyter

NOTEBOOK_CELL = """
import sys
sys.path.insert(0, {repo!r})
import numpy as np
import keras
from tensorflowvisu import KerasDashboard
data = np.load({data!r})
model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                          keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)])
model.compile(optimizer="adam", metrics=["accuracy"],
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
dashboard = KerasDashboard(data["test_x"], data["test_y"], training_images=data["train_x"],
                           training_labels=data["train_y"], train_every=2, test_every=10)
model.fit(data["train_x"], data["train_y"], batch_size=20, epochs=2, callbacks=[dashboard],
          verbose=0)
print(f"max test accuracy: {{dashboard.max_test_accuracy:.4f}}")
"""


@pytest.mark.parametrize("backend", ["inline", "widget"])
def test_the_callback_in_a_real_jupyter_kernel(digits, tmp_path, monkeypatch, backend):
    """A notebook cell that builds a Keras model and fits it with the dashboard: a picture
    refreshed in the output (inline), or one live figure (%matplotlib widget)."""
    pytest.importorskip("nbclient")
    if backend == "widget":
        pytest.importorskip("ipympl")
    train_x, train_y, test_x, test_y = digits
    data = tmp_path / "digits.npz"
    np.savez(data, train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y)
    cell = NOTEBOOK_CELL.format(repo=str(REPO), data=str(data))
    if backend == "widget":
        cell = "%matplotlib widget\n" + cell
    outputs, stdout, counts = run_cell(cell, tmp_path, monkeypatch)
    assert re.search(r"^max test accuracy: 0\.[5-9]\d{3}$", stdout, re.M), stdout[-2000:]
    if backend == "inline":
        pictures = [out for out in outputs if out.output_type == "display_data"]
        assert len(pictures) == 1 and "image/png" in pictures[0]["data"]
        assert counts.get("update_display_data", 0) >= 1
    else:
        figures = [out for out in outputs if out.output_type == "display_data"
                   and "application/vnd.jupyter.widget-view+json" in out["data"]]
        assert len(figures) == 1
        assert counts.get("comm_msg with data", 0) >= 3


# ------------------------------------------------------------ docs/keras-dashboard.md

@pytest.mark.parametrize("guide", ["codelab.md", "codelab.zh-CN.md"])
def test_the_guides_keras_dashboard_example_runs_as_written(guide, small_mnist_dir, tmp_path):
    """Step 12's "watch your own Keras model" script, saved in the repository's folder as
    the guide says, runs offline as it is (here on small data), in both languages."""
    text = open(os.path.join(REPO, "docs", guide), encoding="utf-8").read()
    examples = [block for block in re.findall(r"^```\n(.*?)^```$", text, re.M | re.S)
                if "KerasDashboard(" in block and "import mnistdata" in block]
    assert len(examples) == 1, guide
    script = tmp_path / "my_keras.py"
    script.write_text(examples[0], encoding="utf-8")
    result = run_script(script, cwd=REPO,  # as if saved there: the repository on the path
                        env_extra={"PYTHONPATH": str(REPO), "MNIST_DATA_DIR": small_mnist_dir})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "Epoch 2/2" in result.stdout  # both epochs trained, on the data named offline
    assert small_mnist_dir in result.stdout


def test_the_keras_dashboard_page_s_example_runs_as_written(small_mnist_dir, tmp_path):
    """The page's complete example, copied into a file of its own and run from another
    folder as the page says (the repository on PYTHONPATH), on small offline data."""
    page = open(os.path.join(REPO, "docs", "keras-dashboard.md"), encoding="utf-8").read()
    examples = [block for block in re.findall(r"^```\n(.*?)^```$", page, re.M | re.S)
                if "KerasDashboard(" in block]
    assert len(examples) == 1
    script = tmp_path / "my_model.py"
    script.write_text(examples[0], encoding="utf-8")
    result = run_script(script, cwd=tmp_path,
                        env_extra={"PYTHONPATH": str(REPO), "MNIST_DATA_DIR": small_mnist_dir})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "Epoch 2/2" in result.stdout  # fit's own progress: both epochs trained
    assert small_mnist_dir in result.stdout  # the data: where MNIST_DATA_DIR says, offline
