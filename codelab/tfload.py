"""Loading TensorFlow: our CPU options set first, its start-up notices hidden, a clear error if it cannot load."""

import contextlib
import os
import sys

from codelab import installed
from codelab import tfmessages
from codelab.errors import TrainingError, exit_on_error


def load_tensorflow():
    """Import TensorFlow with our CPU options, and without its start-up notices.

    TensorFlow reads its options once, when it loads: call this before the stage's
    `import tensorflow`, which then finds it loaded. If TensorFlow is loaded already
    (a second run in the same notebook), its options stay as they were.
    """
    with exit_on_error():
        import_tensorflow()


def import_tensorflow():
    """load_tensorflow() without the exit: raises TrainingError if TensorFlow cannot be
    imported. For programs with their own exit point (predict.py)."""
    if "tensorflow" in sys.modules:
        return
    problem = installed.tensorflow_problem()  # two TensorFlows, or too old: before loading
    if problem:
        raise TrainingError(problem)
    # oneDNN's CPU kernels train these networks faster than TensorFlow's default ones
    # (benchmarks/README.md, "Speed of the training loop"), but TensorFlow turns them on
    # only for CPUs with AI instructions (AVX512_VNNI, AMX...). Set
    # TF_ENABLE_ONEDNN_OPTS=0 yourself to compare.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    # TensorFlow's warnings and errors only, unless you ask for more (0: its notices too).
    level = os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    notices = (contextlib.nullcontext() if level in ("", "0") else
               tfmessages.stderr_lines_hidden(tfmessages.start_up_notices()))
    try:
        with notices:
            import tensorflow
            tensorflow.config.list_physical_devices()  # CUDA starts, or fails, in here
    except Exception as error:  # ImportError, SystemError (NumPy), TensorFlow's own
        raise TrainingError(installed.why_not_loaded(error)) from None
