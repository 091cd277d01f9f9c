"""What trainer.run() checks in a stage before training, so that a learner's slip is
named at once: a training step whose random numbers a checkpoint would not keep (with
--save-model), and a stage function called with arguments its definition lacks."""

import numpy as np
import pytest

import runfolder
import trainer


class Train:
    """The slice of mnistdata's training set that the check reads: shapes and types."""
    images = np.zeros([10, 28, 28, 1], np.float32)
    labels = np.zeros([10, 10], np.float32)


def tiny_stage(dropout):
    """A one-layer stage whose training step applies dropout(Y) to its logits."""
    import keras
    import tensorflow as tf
    W = tf.Variable(tf.zeros([784, 10]), name="W")
    optimizer = keras.optimizers.SGD(0.1)

    @tf.function
    def training_step(X, Y_, step):
        with tf.GradientTape() as tape:
            Ylogits = dropout(tf.matmul(tf.reshape(X, [-1, 784]), W))
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(Y_, Ylogits))
        optimizer.apply_gradients(zip(tape.gradient(loss, [W]), [W]))
        return loss
    return training_step, [W], optimizer


def check(training_step, variables, optimizer, seed_generator=None):
    runfolder.check_resume_is_exact(training_step, variables, optimizer, seed_generator,
                                    Train, batch_size=5)


def test_a_generator_handed_to_the_trainer_passes():
    import keras
    seeds = keras.random.SeedGenerator(1)
    check(*tiny_stage(lambda Y: keras.random.dropout(Y, 0.25, seed=seeds)), seeds)
    check(*tiny_stage(lambda Y: Y))  # no randomness, no generator: nothing to keep


def test_a_training_step_without_tf_function_is_checked_too():
    import keras
    seeds = keras.random.SeedGenerator(1)
    training_step, variables, optimizer = tiny_stage(
        lambda Y: keras.random.dropout(Y, 0.25, seed=seeds))
    with pytest.raises(runfolder.RunFolderError, match=r"seed_generator=dropout_seeds"):
        check(training_step.python_function, variables, optimizer)


def test_a_generator_kept_from_the_trainer_is_named():
    import keras
    seeds = keras.random.SeedGenerator(1)
    with pytest.raises(runfolder.RunFolderError, match=r"seed_generator=dropout_seeds"):
        check(*tiny_stage(lambda Y: keras.random.dropout(Y, 0.25, seed=seeds)))


def test_dropout_without_a_seed_is_refused():
    import keras
    with pytest.raises(runfolder.RunFolderError, match=r"SeedGenerator .*not given"):
        check(*tiny_stage(lambda Y: keras.random.dropout(Y, 0.25)))


def test_tf_nn_dropout_is_refused():
    import tensorflow as tf
    with pytest.raises(runfolder.RunFolderError, match=r"RandomUniform.*no checkpoint can keep"):
        check(*tiny_stage(lambda Y: tf.nn.dropout(Y, 0.25)))


def test_a_variable_left_out_of_the_list_is_named():
    import tensorflow as tf
    shift = tf.Variable(tf.zeros([10]), name="SHIFT")
    step, variables, optimizer = tiny_stage(lambda Y: Y + shift)
    with pytest.raises(runfolder.RunFolderError, match=r"not in the list .*: SHIFT"):
        check(step, variables, optimizer)


def test_a_stage_function_called_with_an_argument_it_lacks_is_named():
    """Stage 3.0's model(X) kept while loss_and_accuracy passes `training` on (from
    stage 2.2): autograph's TypeError names tf__model; the trainer names the stage's."""
    import tensorflow as tf

    def model(X):
        return X, X

    def loss_and_accuracy(X, Y_, training=False):
        Ylogits, Y = model(X, training)
        return Y, tf.reduce_sum(Ylogits), 1.0

    with pytest.raises(trainer.TrainingError) as error:
        with trainer._stage_functions_named(model):
            tf.function(loss_and_accuracy)(tf.zeros([2, 3]), tf.zeros([2, 3]))
    message = str(error.value)
    assert "tf__" not in message
    assert "def model(X)" in message and "test_stage_checks.py" in message
    assert "by loss_and_accuracy()" in message and "model(X, training)" in message
    assert "takes 1 positional argument but 2 were given" in message


def test_other_type_errors_keep_their_traceback():
    def model(X):
        return X
    with pytest.raises(TypeError, match="unsupported operand"):
        with trainer._stage_functions_named(model):
            1 + "1"
