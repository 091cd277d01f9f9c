"""The lines a run prints: its figures, where a stopped run stopped, the NaN stop and the summary."""

from codelab.signals import say


def training_line(step, accuracy, loss, lr):
    say(f"step {step}: training accuracy: {accuracy:.4f} loss: {loss:.4f} lr: {lr:.6f}")


def test_line(step, epoch, accuracy, loss):
    say(f"step {step}: epoch {epoch:.2f} test accuracy: {accuracy:.4f} test loss: {loss:.4f}")


def stopped_line(step, last_step, why, last_test=None):
    """Where a run stopped early; and when its last test came before that step, so that
    the max test accuracy below is no surprise (headless, the tests are few)."""
    print(f"stopped at step {step} of {last_step} ({why})")
    if last_test is not None and last_test < step:
        print(f"the test set was last measured at step {last_test}: the max test accuracy "
              f"below is of the tests up to there")


def summary(written, steps, seconds, max_accuracy):
    """The last lines: the dashboard's files, the speed, the best test accuracy."""
    for path in written:
        print(f"saved the dashboard in {path}")
    print(f"trained {steps} steps in {seconds:.1f} s ({steps / max(seconds, 1e-9):.1f} steps/s)")
    print(f"max test accuracy: {max_accuracy:.4f}")


def nan_message(step):
    return (f"the loss became NaN at step {step}; the numbers after this would be garbage, "
            "so training stops here.\n"
            "Why: the cross-entropy -sum(Y_ * log(Y)) takes the log of the predicted "
            "probabilities; when the network grows confident, softmax rounds a probability "
            "to exactly 0, log(0) is -infinity, and 0 * -infinity is NaN.\n"
            "How the later stages avoid it: from stage 2.0 (mnist_2.0_five_layers_sigmoid.py) "
            "on, they compute the loss from the logits with "
            "tf.nn.softmax_cross_entropy_with_logits, which never takes log(0). "
            "A smaller learning rate also helps.")
