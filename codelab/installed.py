"""What is installed: the TensorFlow and Keras the stages need, checked before TensorFlow
loads, and what to tell a learner whose TensorFlow will not load.

    problem = installed.tensorflow_problem()   # None, or a message saying what to do
    ...
    import tensorflow                           # on failure: installed.why_not_loaded(error)

The stages need TensorFlow LOWEST_TENSORFLOW or newer and Keras LOWEST_KERAS or newer: the
oldest that requirements-without-tensorflow.txt lets pip install on this Python, checked
together (benchmarks/check_versions.py, figures in benchmarks/README.md). TensorFlow comes
in several packages that hold the same files (tensorflow, tensorflow-cpu, ...): two of them
installed side by side overwrite each other's files, and TensorFlow then fails to load with
an error that does not say why. That is what installing requirements.txt does on a machine
that had TensorFlow already (Colab), so it is looked for first, from the packages' records,
without loading anything.
"""

import importlib.metadata
import importlib.util
import re
import sys

LOWEST_TENSORFLOW = (2, 18)


def lowest_keras(python=sys.version_info[:2]):
    """The oldest Keras that requirements-without-tensorflow.txt installs on `python`
    (major, minor): 3.14, and 3.12 on Python 3.10, which newer Keras releases leave out."""
    return (3, 14) if tuple(python) >= (3, 11) else (3, 12)


LOWEST_KERAS = lowest_keras()

# The packages that install TensorFlow's own files (the folder `tensorflow`).
TENSORFLOW_PACKAGES = ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel",
                       "tensorflow-macos", "tensorflow-aarch64", "intel-tensorflow",
                       "tf-nightly", "tf-nightly-cpu")

WITHOUT_TENSORFLOW = "requirements-without-tensorflow.txt"
REPAIR_TWO = ("pip uninstall -y {names}, then install one TensorFlow: where TensorFlow "
              "came with the machine (Colab, a GPU build) pip install {keep}, then pip "
              "install -r " + WITHOUT_TENSORFLOW + "; elsewhere pip install -r requirements.txt")


def version_tuple(text):
    """'2.18.1' -> (2, 18, 1); '2.22.0rc0' -> (2, 22, 0): the numbers it starts with."""
    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0])[:3])


def installed_tensorflows():
    """[(package, version)] for each installed package that holds TensorFlow's files."""
    found = []
    for name in TENSORFLOW_PACKAGES:
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        record = distribution.read_text("RECORD") or ""
        if "tensorflow/__init__.py," in record:  # not a package that only names another
            found.append((name, distribution.version))
    return found


def installed_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def tensorflow_problem():
    """What stops TensorFlow or Keras from serving the stages, as a message saying what
    to do; None when nothing does (or when TensorFlow is not installed by a package: its
    import will tell)."""
    tensorflows = installed_tensorflows()
    if len(tensorflows) > 1:
        listed = " and ".join(f"{name} {version}" for name, version in tensorflows)
        names = " ".join(name for name, _ in tensorflows)
        keep = "tensorflow==" + max((version for _, version in tensorflows), key=version_tuple)
        return (f"two TensorFlow packages are installed side by side ({listed}): they hold "
                "the same files and overwrite each other's, so TensorFlow cannot load "
                "(uninstalling only one of them deletes files the other needs). Repair: "
                + REPAIR_TWO.format(names=names, keep=keep) + ".")
    if tensorflows:
        name, version = tensorflows[0]
        if version_tuple(version) < LOWEST_TENSORFLOW:
            lowest = ".".join(map(str, LOWEST_TENSORFLOW))
            return (f"{name} {version} is installed; the stages need TensorFlow {lowest} or "
                    f"newer (older ones need NumPy 1, and lack what the stages use). Upgrade: "
                    f"pip install --upgrade {name} (or pip install -r requirements.txt in a "
                    "new virtual environment, see INSTALL.txt).")
    keras_version = installed_version("keras")
    if keras_version and version_tuple(keras_version) < LOWEST_KERAS:
        lowest = ".".join(map(str, LOWEST_KERAS))
        return (f"Keras {keras_version} is installed; the stages need Keras {lowest} or newer. "
                f"Upgrade: pip install -r {WITHOUT_TENSORFLOW} (it keeps your TensorFlow).")
    return None


def tensorflow_missing():
    """The message for a Python without TensorFlow, or None. Looked up without loading
    anything, so that a learner who ran the wrong Python (not the virtual environment's)
    hears of it before the data is fetched."""
    if sys.modules.get("tensorflow") is not None or importlib.util.find_spec("tensorflow"):
        return None
    return f"TensorFlow {NOT_INSTALLED}"


NOT_INSTALLED = (f"is not installed in this Python ({sys.executable}). If you installed it "
                 "in a virtual environment, activate that first (source .venv/bin/activate; "
                 "Windows: .venv\\Scripts\\activate); else install what the stages need: pip "
                 "install -r requirements.txt (see INSTALL.txt).")


def why_not_loaded(error):
    """The message for a TensorFlow whose import raised `error`, naming the likely cause."""
    text = " ".join(str(error).split())[:300]
    happened = f"cannot load TensorFlow ({type(error).__name__}: {text})"
    if isinstance(error, ModuleNotFoundError) and error.name == "tensorflow":
        return f"{happened}: it {NOT_INSTALLED}"
    if "numpy" in text.lower() or isinstance(error, SystemError):
        return (f"{happened}. This TensorFlow was built for another NumPy than the one "
                f"installed (NumPy {installed_version('numpy')}): TensorFlow before 2.18 "
                "needs NumPy 1. Install TensorFlow 2.18 or newer (pip install -r "
                "requirements.txt), or pip install 'numpy<2' for an older one.")
    installed = installed_tensorflows()
    keep = f"tensorflow=={installed[0][1]}" if installed else "tensorflow"
    if "undefined symbol" in text or "NotFoundError" in type(error).__name__ \
            or isinstance(error, OSError):
        return (f"{happened}. Its files do not fit together: two TensorFlow packages installed "
                "over each other, or an install that was cut short. Repair: "
                + REPAIR_TWO.format(names=" ".join(name for name, _ in installed) or
                                    "tensorflow tensorflow-cpu", keep=keep) + ".")
    return (f"{happened}. Reinstall it: pip install --force-reinstall -r requirements.txt "
            "(see INSTALL.txt).")
