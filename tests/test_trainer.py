"""trainer.py's training loop (codelab/cadence.py, stepping.py, schedule.py): figures
at their steps, several steps per call, cut where the figures or a checkpoint need the
network as it is at that step."""

import numpy as np
import pytest

from codelab import runstate
from codelab.cadence import count_figure_steps, figure_flags, figure_steps
from helpers import checkpoint_step, load_stage, run_script
from trainer import PROGRESS_LINE, TEST_LINE


def test_figure_steps_follow_the_stage_cadence():
    def steps(last, train_every, test_every, more_tests_every=None):
        flags = [figure_flags(s, last, train_every, test_every, more_tests_every)
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
    cadences = [(0, 120, 10, 50, None), (37, 401, 7, 30, None), (0, 250, 20, 100, 20),
                (0, 234, 5, 234, 20), (5, 1003, 3, 17, 4), (90, 91, 20, 100, 20)]
    for first, last, train_every, test_every, more in cadences:
        listed = [step for step in range(first, last + 1) if any(
            figure_flags(step, last, train_every, test_every, more))]
        cadence = (first, last, train_every, test_every, more)
        assert list(figure_steps(*cadence)) == listed
        assert count_figure_steps(*cadence) == len(listed)
    huge = (0, 10**12, 20, 100, 20)
    assert list(itertools.islice(figure_steps(*huge), 8)) == [0, 20, 40, 60, 80, 100,
                                                                       120, 140]
    # multiples of 20 up to 10**12, plus nothing else (100 divides by 20), from step 0
    assert count_figure_steps(*huge) == 10**12 // 20 + 1


# Stages without dropout: dense layers, convolutions, batch norm.
NO_DROPOUT = ["mnist_2.1_five_layers_relu_lrdecay.py", "mnist_3.0_convolutional.py",
              "mnist_4.1_batchnorm_five_layers_relu.py"]


@pytest.mark.parametrize("script", NO_DROPOUT)
def test_a_stretch_trains_as_the_same_steps_one_call_each(small_mnist_dir, script,
                                                         monkeypatch, capsys):
    """The steps up to the next figures are trained in one call: the same network and
    the same figures as one step a call (a stretch ends at a checkpoint step at the
    latest, so a checkpoint at every step makes every stretch one step long)."""
    def trained(checkpoint_every):
        monkeypatch.setattr(runstate, "CHECKPOINT_EVERY", checkpoint_every)
        stage = load_stage(script, small_mnist_dir, "--iterations", "25")
        figures = [[float(number) for number in match.groups()]
                   for match in PROGRESS_LINE.finditer(capsys.readouterr().out)]
        return [v.numpy() for v in stage["variables"]], figures

    in_stretches, stretch_figures = trained(runstate.CHECKPOINT_EVERY)
    one_by_one, step_figures = trained(1)
    assert stretch_figures[1][0] >= 10  # steps 1 to 10 (or more) in one call
    np.testing.assert_allclose(stretch_figures, step_figures, atol=2e-4)
    assert stretch_figures[-1][2] < stretch_figures[0][2]  # it learned
    for ours, expected in zip(in_stretches, one_by_one):
        np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-6)


def test_checkpoints_fall_on_their_steps_inside_stretches(small_mnist_dir, tmp_path,
                                                          monkeypatch):
    """A checkpoint due inside a stretch of steps cuts it there: it holds the step and
    the network that a run of just that many steps ends with."""
    import tensorflow as tf
    every = runstate.CHECKPOINT_EVERY
    monkeypatch.setattr(runstate, "CHECKPOINT_EVERY", 7)  # not a multiple of 10
    model_dir = tmp_path / "model"
    load_stage("mnist_1.0_softmax.py", small_mnist_dir, "--iterations", "30",
               "--save-model", str(model_dir))
    kept = sorted(path.name for path in (model_dir / "checkpoints").glob("ckpt-*.index"))
    assert kept == ["ckpt-21.index", "ckpt-28.index", "ckpt-30.index"]  # the last three
    assert checkpoint_step(model_dir) == 30
    monkeypatch.setattr(runstate, "CHECKPOINT_EVERY", every)
    for steps in (21, 28):
        stage = load_stage("mnist_1.0_softmax.py", small_mnist_dir, "--iterations", str(steps))
        step = tf.Variable(0, dtype=tf.int64)
        network = [tf.Variable(tf.zeros_like(v)) for v in stage["variables"]]
        tf.train.Checkpoint(step=step, network=network).read(
            str(model_dir / "checkpoints" / f"ckpt-{steps}")).expect_partial()
        assert int(step.numpy()) == steps
        for saved, expected in zip(network, stage["variables"]):
            np.testing.assert_allclose(saved.numpy(), expected.numpy(), rtol=1e-5, atol=1e-7)


def test_early_test_figures_only_when_the_curves_are_drawn(small_mnist_dir, tmp_path):
    """Stage 1.0 tests every 50 steps and shows training figures every 10. Headless,
    nothing is drawn: the test set is evaluated every 50 steps only. With the dashboard
    saved, the first 50 steps get a test point at every training figure, for the curve.
    Training is the same either way."""
    flags = ("--headless", "--iterations", "60", "--data-dir", small_mnist_dir)
    plain = run_script("mnist_1.0_softmax.py", *flags, cwd=tmp_path)
    drawn = run_script("mnist_1.0_softmax.py", *flags, "--save-image",
                       str(tmp_path / "dashboard.png"), cwd=tmp_path)
    assert plain.returncode == 0 and drawn.returncode == 0, plain.stderr + drawn.stderr

    def tested_steps(out):
        return [int(m["step"]) for m in TEST_LINE.finditer(out)]

    def progress(out):
        return [line for line in out.splitlines() if PROGRESS_LINE.match(line)]

    assert tested_steps(plain.stdout) == [0, 50, 60]
    assert tested_steps(drawn.stdout) == [0, 10, 20, 30, 40, 50, 60]
    assert progress(plain.stdout) == progress(drawn.stdout)
    assert len(progress(plain.stdout)) == 7
    assert (tmp_path / "dashboard.png").stat().st_size > 0
