"""What trainer.run() checks in a stage before training, so that a learner's slip is
named at once: a training step whose random numbers a checkpoint would not keep (with
--save-model), and a stage function called with arguments its definition lacks.

Each test hands trainer.run() a one-layer stage written here, as a stage script does,
and reads what a learner would see: the run, or its one-line error and exit code."""

import re

import pytest

import trainer
from helpers import train_here


def tiny_stage(dropout, model=None, loss_and_accuracy=None):
    """The arguments of trainer.run() for a one-layer stage whose training step applies
    dropout(Y) to its logits."""
    import keras
    import tensorflow as tf
    W = tf.Variable(tf.zeros([784, 10]), name="W")
    b = tf.Variable(tf.zeros([10]), name="b")
    optimizer = keras.optimizers.SGD(0.1)

    def network(X):
        Ylogits = tf.matmul(tf.reshape(X, [-1, 784]), W) + b
        return Ylogits, tf.nn.softmax(Ylogits)

    def figures(X, Y_):
        Ylogits, Y = (model or network)(X)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(Y_, Ylogits))
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(Y, 1), tf.argmax(Y_, 1)),
                                          tf.float32))
        return Y, loss, accuracy

    @tf.function
    def training_step(X, Y_, step):
        with tf.GradientTape() as tape:
            Ylogits = dropout(network(X)[0])
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(Y_, Ylogits))
        optimizer.apply_gradients(zip(tape.gradient(loss, [W, b]), [W, b]))
        return loss

    return dict(model=model or network, loss_and_accuracy=loss_and_accuracy or figures,
                training_step=training_step, variables=[W, b], optimizer=optimizer,
                histograms=trainer.weights_and_biases([W], [b]), train_every=1, test_every=1)


def run(stage, data_dir, folder, **more):
    """trainer.run() as a stage script calls it: one step, saving into `folder`."""
    return train_here(dict(stage, **more), "--data-dir", data_dir, "--save-model", str(folder))


def refused(stage, data_dir, folder, capsys, **more):
    """Its one-line error, after checking that nothing was trained: exit code 1."""
    with pytest.raises(SystemExit) as stop:
        run(stage, data_dir, folder, **more)
    assert stop.value.code == 1
    out, err = capsys.readouterr()
    assert "step " not in out and err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_a_generator_handed_to_the_trainer_passes(small_mnist_dir, tmp_path):
    import keras
    seeds = keras.random.SeedGenerator(1)
    stage = tiny_stage(lambda Y: keras.random.dropout(Y, 0.25, seed=seeds))
    assert 0 <= run(stage, small_mnist_dir, tmp_path / "a", seed_generator=seeds) <= 1
    # No randomness, no generator: nothing to keep.
    assert 0 <= run(tiny_stage(lambda Y: Y), small_mnist_dir, tmp_path / "b") <= 1


def test_a_training_step_without_tf_function_is_checked_too(small_mnist_dir, tmp_path, capsys):
    import keras
    seeds = keras.random.SeedGenerator(1)
    stage = tiny_stage(lambda Y: keras.random.dropout(Y, 0.25, seed=seeds))
    stage["training_step"] = stage["training_step"].python_function
    assert "seed_generator=dropout_seeds" in refused(stage, small_mnist_dir, tmp_path, capsys)


def test_a_generator_kept_from_the_trainer_is_named(small_mnist_dir, tmp_path, capsys):
    import keras
    seeds = keras.random.SeedGenerator(1)
    stage = tiny_stage(lambda Y: keras.random.dropout(Y, 0.25, seed=seeds))
    assert "seed_generator=dropout_seeds" in refused(stage, small_mnist_dir, tmp_path, capsys)


def test_dropout_without_a_seed_is_refused(small_mnist_dir, tmp_path, capsys):
    import keras
    error = refused(tiny_stage(lambda Y: keras.random.dropout(Y, 0.25)), small_mnist_dir,
                    tmp_path, capsys)
    assert "SeedGenerator" in error and "not given" in error


def test_tf_nn_dropout_is_refused(small_mnist_dir, tmp_path, capsys):
    import tensorflow as tf
    error = refused(tiny_stage(lambda Y: tf.nn.dropout(Y, 0.25)), small_mnist_dir,
                    tmp_path, capsys)
    assert "RandomUniform" in error and "no checkpoint can keep" in error


def test_a_variable_left_out_of_the_list_is_named(small_mnist_dir, tmp_path, capsys):
    import tensorflow as tf
    shift = tf.Variable(tf.zeros([10]), name="SHIFT")
    error = refused(tiny_stage(lambda Y: Y + shift), small_mnist_dir, tmp_path, capsys)
    assert re.search(r"not in the list .*: SHIFT", error), error


def test_a_stage_function_called_with_an_argument_it_lacks_is_named(small_mnist_dir,
                                                                   tmp_path, capsys):
    """Stage 3.0's model(X) kept while loss_and_accuracy passes `training` on (from
    stage 2.2): autograph's TypeError names tf__model; the trainer names the stage's."""
    import tensorflow as tf

    def model(X):
        return X, X

    def loss_and_accuracy(X, Y_, training=False):
        Ylogits, Y = model(X, training)
        return Y, tf.reduce_sum(Ylogits), 1.0

    stage = tiny_stage(lambda Y: Y, model=model, loss_and_accuracy=loss_and_accuracy)
    message = refused(stage, small_mnist_dir, tmp_path, capsys)
    assert "tf__" not in message
    assert "def model(X)" in message and "test_stage_checks.py" in message
    assert "by loss_and_accuracy()" in message and "model(X, training)" in message
    assert "takes 1 positional argument but 2 were given" in message


def test_other_type_errors_keep_their_traceback(small_mnist_dir, tmp_path):
    def loss_and_accuracy(X, Y_):
        return 1 + "1"

    stage = tiny_stage(lambda Y: Y, loss_and_accuracy=loss_and_accuracy)
    with pytest.raises(TypeError, match="unsupported operand"):
        run(stage, small_mnist_dir, tmp_path)
