"""The codelab's stage scripts, in order: the one list that the tests and the
benchmarks read (a stage script does not need it).

MEASURED: the measured figures, read from benchmarks/results.json (the one copy, which
the benchmarks write with --record; README.md and the guide quote it, and
tests/test_figures.py checks that they agree).

LADDER_TARGETS: what the slow test (tests/test_ladder.py) asks of each stage at its
full budget with --seed 0 on a CPU: the max test accuracy of the recorded ladder run,
less a margin of 40 of the 10,000 test images (rounded down to 0.001), so that the
small changes that a TensorFlow release or a change of the training loop bring do not
fail it. A stage that makes a promise of its own is held to it instead (5.0: 99 % on
its final figure, 5.1: 99.5 %).
"""

import ast
import json
import math
import re
from pathlib import Path

STAGES = [  # (stage, script)
    ("1.0", "mnist_1.0_softmax.py"),
    ("2.0", "mnist_2.0_five_layers_sigmoid.py"),
    ("2.1", "mnist_2.1_five_layers_relu_lrdecay.py"),
    ("2.2", "mnist_2.2_five_layers_relu_lrdecay_dropout.py"),
    ("3.0", "mnist_3.0_convolutional.py"),
    ("3.1", "mnist_3.1_convolutional_bigger_dropout.py"),
    ("4.0", "mnist_4.0_batchnorm_five_layers_sigmoid.py"),
    ("4.1", "mnist_4.1_batchnorm_five_layers_relu.py"),
    ("4.2", "mnist_4.2_batchnorm_convolutional.py"),
    ("5.0", "mnist_5.0_speedrun.py"),
    ("5.1", "mnist_5.1_speedrun_augmented.py"),
    ("6.0", "mnist_6.0_recurrent.py"),
    ("7.0", "mnist_7.0_keras.py"),
]
SCRIPTS = [script for _, script in STAGES]
# Stages outside the ladder, tested their own way: 8.0 trains 3.1's network on several
# worker processes (tests/test_distributed.py, benchmarks/bench_distributed.py).
OTHER_SCRIPTS = ["mnist_8.0_distributed.py"]

REPO = Path(__file__).resolve().parent.parent  # the repository: codelab/ is one level down
RESULTS_FILE = REPO / "benchmarks" / "results.json"
MEASURED = json.loads(RESULTS_FILE.read_text(encoding="utf-8"))

LADDER_MARGIN = 0.004  # 40 of the 10,000 test images
PROMISES = {"5.0": 0.990,  # the speedrun promises 99 %, on its final figure too
            "5.1": 0.995,  # 99.5 % in a minute, on its final figure too
            "7.0": 0.990}  # 5.0's promise, kept by its Keras twin


def ladder_target(stage):
    if stage in PROMISES:
        return PROMISES[stage]
    best = MEASURED["ladder"]["stages"][stage]["max_test_accuracy"]
    return math.floor(round((best - LADDER_MARGIN) * 1000, 6)) / 1000


LADDER_TARGETS = {stage: ladder_target(stage) for stage, _ in STAGES
                  if stage in MEASURED["ladder"]["stages"] or stage in PROMISES}

# Stages written with Keras layers and model.fit, and the low-level stage whose network
# each rebuilds (its twin): they have no variables W1, B1... of their own to check
# against numpy, so the tests check them against their twin instead.
KERAS_TWINS = {"mnist_7.0_keras.py": "mnist_5.0_speedrun.py"}
LOW_LEVEL_SCRIPTS = [script for script in SCRIPTS if script not in KERAS_TWINS]


# The network that each stage script draws in its docstring: a column of tensors from X
# down to Y, "NAME [a, b, ...]" ('..' for one without a name), with the weights beside
# the operations between them. tests/test_stages.py checks the drawing against the
# stage's variables; docs/make_pictures.py draws its pictures of the shapes from it.
DRAWN_SHAPE = re.compile(r"\b(\w+) +\[(\d+(?:, \d+)*)\]")
DRAWN_TENSOR = re.compile(r"^ {4}(\w+|\.\.) +\[(\d+(?:, \d+)+)\]", re.MULTILINE)


def docstring(script):
    """A stage script's docstring, read without running the script."""
    return ast.get_docstring(ast.parse((REPO / script).read_text(encoding="utf-8")))


def drawn_shapes(text):
    """{name: shape} for every 'NAME [a, b, ...]' in a stage's drawing."""
    return {name: _shape(dims) for name, dims in DRAWN_SHAPE.findall(text)}


def drawn_tensors(text):
    """[(name, shape)] of the drawing's column of tensors, from X down to Y."""
    return [(name, _shape(dims)) for name, dims in DRAWN_TENSOR.findall(text)]


def _shape(dims):
    return tuple(int(n) for n in dims.split(","))
