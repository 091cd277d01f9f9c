"""trainer.py's training loop: figures at their steps, several steps per call, cut
where the figures or a checkpoint need the network as it is at that step."""

import numpy as np
import pytest

from test_stages import load_stage


def test_figure_steps_follow_the_stage_cadence():
    import trainer

    def steps(last, train_every, test_every, more_tests_every=None):
        flags = [trainer.figure_flags(s, last, train_every, test_every, more_tests_every)
                 for s in range(last + 1)]
        return ([s for s, (train, _) in enumerate(flags) if train],
                [s for s, (_, test) in enumerate(flags) if test])

    assert steps(120, 10, 50) == (list(range(0, 121, 10)), [0, 50, 100, 120])
    assert steps(125, 10, 50) == (list(range(0, 121, 10)) + [125], [0, 50, 100, 125])
    assert steps(250, 20, 100, 20)[1] == [0, 20, 40, 60, 80, 100, 200, 250]
    assert steps(234, 5, 234, 20) == (list(range(0, 231, 5)) + [234],  # stage 5.0, drawn
                                      list(range(0, 221, 20)) + [234])


def test_figure_steps_are_found_as_needed_and_counted_without_a_list():
    """--iterations 10**12 starts at once: the steps with figures are never listed."""
    import itertools
    import trainer
    cadences = [(0, 120, 10, 50, None), (37, 401, 7, 30, None), (0, 250, 20, 100, 20),
                (0, 234, 5, 234, 20), (5, 1003, 3, 17, 4), (90, 91, 20, 100, 20)]
    for first, last, train_every, test_every, more in cadences:
        listed = [step for step in range(first, last + 1) if any(
            trainer.figure_flags(step, last, train_every, test_every, more))]
        cadence = (first, last, train_every, test_every, more)
        assert list(trainer.figure_steps(*cadence)) == listed
        assert trainer.count_figure_steps(*cadence) == len(listed)
    huge = (0, 10**12, 20, 100, 20)
    assert list(itertools.islice(trainer.figure_steps(*huge), 8)) == [0, 20, 40, 60, 80, 100,
                                                                       120, 140]
    # multiples of 20 up to 10**12, plus nothing else (100 divides by 20), from step 0
    assert trainer.count_figure_steps(*huge) == 10**12 // 20 + 1


# Stages without dropout, so that both ways draw no random numbers while training.
NO_DROPOUT = ["mnist_2.1_five_layers_relu_lrdecay.py", "mnist_3.0_convolutional.py",
              "mnist_4.1_batchnorm_five_layers_relu.py"]


@pytest.mark.parametrize("script", NO_DROPOUT)
def test_a_stretch_trains_as_the_same_steps_one_call_each(small_mnist_dir, script):
    import tensorflow as tf
    import trainer
    stage = load_stage(script, small_mnist_dir)
    training_step, mnist = stage["training_step"], stage["mnist"]
    state = list(stage["variables"]) + list(stage["optimizer"].variables)
    before = [v.numpy() for v in state]
    picked = np.random.default_rng(3).permutation(mnist.train.num_examples)[:400].reshape(4, 100)
    X, Y_ = mnist.train.images[picked], mnist.train.labels[picked]

    one_by_one = [float(training_step(X[k], Y_[k], tf.constant(50.0 + k))) for k in range(4)]
    after_one_by_one = [v.numpy() for v in state]
    for variable, value in zip(state, before):
        variable.assign(value)
    train_steps = trainer._stretch_of_steps(training_step, mnist.train.images, mnist.train.labels)
    losses = train_steps(X, Y_, tf.constant(50.0)).numpy()

    np.testing.assert_allclose(losses, one_by_one, rtol=1e-5)
    assert losses[-1] < losses[0]
    for variable, expected, old in zip(state, after_one_by_one, before):
        np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-4, atol=1e-6,
                                   err_msg=variable.name)
    assert any(not np.array_equal(new, old) for new, old in zip(after_one_by_one, before))


def test_checkpoints_fall_on_their_steps_inside_stretches(small_mnist_dir, tmp_path,
                                                          monkeypatch):
    import tensorflow as tf
    import trainer
    monkeypatch.setattr(trainer, "CHECKPOINT_EVERY", 7)  # not a multiple of 20
    model_dir = tmp_path / "model"
    load_stage("mnist_1.0_softmax.py", small_mnist_dir, "--iterations", "30",
               "--save-model", str(model_dir))
    state = tf.train.get_checkpoint_state(str(model_dir / "checkpoints"))
    kept = [path.rsplit("-", 1)[1] for path in state.all_model_checkpoint_paths]
    assert kept == ["21", "28", "30"]  # the last three of 7, 14, 21, 28 and the end
    for path, number in zip(state.all_model_checkpoint_paths, kept):
        assert tf.train.load_variable(path, "step/.ATTRIBUTES/VARIABLE_VALUE") == int(number)


def test_early_test_figures_only_when_the_curves_are_drawn(small_mnist_dir, tmp_path):
    """Stage 1.0 tests every 50 steps and shows training figures every 10. Headless,
    nothing is drawn: the test set is evaluated every 50 steps only. With the dashboard
    saved, the first 50 steps get a test point at every training figure, for the curve.
    Training is the same either way."""
    from test_stages import PROGRESS_LINE, TEST_LINE, run_script
    flags = ("--headless", "--iterations", "60", "--data-dir", small_mnist_dir)
    plain = run_script("mnist_1.0_softmax.py", *flags, cwd=tmp_path)
    drawn = run_script("mnist_1.0_softmax.py", *flags, "--save-image",
                       str(tmp_path / "dashboard.png"), cwd=tmp_path)
    assert plain.returncode == 0 and drawn.returncode == 0, plain.stderr + drawn.stderr

    def tested_steps(out):
        return [int(m[1]) for m in map(TEST_LINE.match, out.splitlines()) if m]

    def progress(out):
        return [line for line in out.splitlines() if PROGRESS_LINE.match(line)]

    assert tested_steps(plain.stdout) == [0, 50, 60]
    assert tested_steps(drawn.stdout) == [0, 10, 20, 30, 40, 50, 60]
    assert progress(plain.stdout) == progress(drawn.stdout)
    assert len(progress(plain.stdout)) == 7
    assert (tmp_path / "dashboard.png").stat().st_size > 0
