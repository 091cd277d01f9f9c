"""--save-model, --restore and --logdir: what a stage saves can be read back."""

import glob
import os

import numpy as np
import pytest

from codelab import runfolder
from helpers import load_stage, run_script


def test_checkpoint_and_saved_model_give_identical_predictions(small_mnist_dir, tmp_path):
    import tensorflow as tf
    # Stage 4.1: its moving averages (not trained, but needed at test time) must be saved too.
    script = "mnist_4.1_batchnorm_five_layers_relu.py"
    model_dir = tmp_path / "model"
    trained = load_stage(script, small_mnist_dir, "--iterations", "30",
                         "--save-model", str(model_dir))
    X = trained["mnist"].test.images[:200]
    expected = trained["model"](X)[1].numpy()

    served = tf.saved_model.load(str(runfolder.find_saved_model(model_dir))).signatures["serving_default"]
    np.testing.assert_allclose(served(images=tf.constant(X))["probabilities"].numpy(),
                               expected, rtol=1e-5, atol=1e-6)

    fresh = load_stage(script, small_mnist_dir, "--seed", "7")  # other initial values
    assert not np.allclose(fresh["model"](X)[1].numpy(), expected)
    latest = tf.train.latest_checkpoint(str(model_dir / "checkpoints"))
    assert latest.endswith("-30")
    tf.train.Checkpoint(network=fresh["variables"]).restore(latest).expect_partial()
    np.testing.assert_array_equal(fresh["model"](X)[1].numpy(), expected)


def test_restore_resumes_at_the_saved_step(small_mnist_dir, tmp_path):
    model_dir = str(tmp_path / "model")
    flags = ("--headless", "--data-dir", small_mnist_dir, "--save-model", model_dir)
    first = run_script("mnist_1.0_softmax.py", *flags, "--iterations", "30", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    resumed = run_script("mnist_1.0_softmax.py", *flags, "--iterations", "50", "--restore",
                         cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    lines = resumed.stdout.splitlines()
    assert any(line.startswith("restored ") and "(step 30)" in line for line in lines)
    steps = [int(line.split(":")[0].split()[1]) for line in lines if line.startswith("step ")]
    assert steps[0] == 30 and steps[-1] == 50
    assert "trained 20 steps" in resumed.stdout
    # Loss after resuming continues from where the first run left off, not from scratch.
    start_loss = lambda out: float(next(l for l in out.splitlines()
                                        if "test loss" in l).split("test loss:")[1])
    assert start_loss(resumed.stdout) < 0.5 * start_loss(first.stdout)

    done = run_script("mnist_1.0_softmax.py", *flags, "--iterations", "50", "--restore",
                      cwd=tmp_path)
    assert done.returncode != 0 and "--iterations" in done.stderr


def test_restore_without_a_checkpoint_says_what_to_do(small_mnist_dir, tmp_path):
    result = run_script("mnist_1.0_softmax.py", "--headless", "--data-dir", small_mnist_dir,
                        "--save-model", str(tmp_path / "empty"), "--restore", cwd=tmp_path)
    assert result.returncode != 0
    assert "no checkpoint" in result.stderr and "Traceback" not in result.stderr


def event_tags(folder):
    import tensorflow as tf
    tags = set()
    for path in glob.glob(os.path.join(folder, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    return tags


def test_tensorboard_event_files_hold_the_expected_tags(small_mnist_dir, tmp_path):
    pytest.importorskip("tensorboard", reason="TensorBoard is optional (.ci/run installs it)")
    logdir = tmp_path / "logs"
    result = run_script("mnist_2.1_five_layers_relu_lrdecay.py", "--headless", "--iterations",
                        "20", "--data-dir", small_mnist_dir, "--logdir", str(logdir),
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert event_tags(logdir / "train") >= {"accuracy", "loss", "learning_rate", "weights",
                                            "biases", "training_digits"}
    assert event_tags(logdir / "test") >= {"accuracy", "loss", "test_digits"}


def test_logdir_without_tensorboard_says_how_to_install_it(tmp_path):
    # A 'tensorboard' that fails to import, first on the path, stands for a missing one.
    fake = tmp_path / "fake" / "tensorboard"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('not installed')\n")
    result = run_script("mnist_1.0_softmax.py", "--logdir", str(tmp_path / "logs"),
                        cwd=tmp_path, env_extra={"PYTHONPATH": str(tmp_path / "fake")})
    assert result.returncode == 2
    assert "pip install tensorboard" in result.stderr
