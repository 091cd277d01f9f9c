"""Do the stages run on the oldest TensorFlow and Keras that INSTALL.txt promises?

The oldest Keras is the one requirements-without-tensorflow.txt allows on the Python that
runs this script (installed.lowest_keras(): 3.14, on Python 3.10 3.12); run it with each.

Makes a virtual environment with those versions (and the rest of
requirements-without-tensorflow.txt), then runs every stage briefly there, headless on
the real MNIST, with --save-model, and asks predict.py to read one of the saved networks.
Prints one line per stage and a verdict; exits 1 if any stage failed.

    python3 benchmarks/check_versions.py                       # TensorFlow 2.18.1, Keras 3.14.0
    python3.10 benchmarks/check_versions.py                    # TensorFlow 2.18.1, Keras 3.12.0
    python3 benchmarks/check_versions.py --tensorflow 2.19.1 --keras 3.14.0 --venv /tmp/v219

Needs the package index once (the venv is kept and reused: --venv). Takes a few
minutes. Figures: benchmarks/README.md ("Oldest TensorFlow and Keras").
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from codelab import installed, runfolder  # noqa: E402
from codelab.stages import STAGES  # noqa: E402

TENSORFLOW_PACKAGE = "tensorflow-cpu" if sys.platform in ("linux", "win32") else "tensorflow"
OLDEST_TENSORFLOW = "2.18.1"  # the newest 2.18: installed.LOWEST_TENSORFLOW, with its fixes
OLDEST_KERAS = "{}.{}.0".format(*installed.LOWEST_KERAS)  # what the requirements allow here
VENV = Path(tempfile.gettempdir()) / "mnist-oldest-py{}.{}".format(*sys.version_info[:2])


def make_venv(venv, tensorflow, keras):
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # The rest of the requirements, but for their Keras: the one asked for instead.
    others = [line for line in (REPO / "requirements-without-tensorflow.txt").read_text().splitlines()
              if not line.startswith("keras")]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as requirements:
        requirements.write("\n".join(others + [f"{TENSORFLOW_PACKAGE}=={tensorflow}",
                                                 f"keras=={keras}"]) + "\n")
    try:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", requirements.name],
                       check=True)
    finally:
        os.unlink(requirements.name)
    return python


def versions(python):
    code = ("import importlib.metadata as m; print(' '.join(f'{n} {m.version(n)}' for n in "
            f"['{TENSORFLOW_PACKAGE}', 'keras', 'numpy']))")
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tensorflow", default=OLDEST_TENSORFLOW, help="default: %(default)s")
    parser.add_argument("--keras", default=OLDEST_KERAS, help="default: %(default)s")
    parser.add_argument("--venv", type=Path, default=VENV,
                        help="the virtual environment, made or reused (default: %(default)s)")
    parser.add_argument("--iterations", type=int, default=100, help="steps per stage")
    args = parser.parse_args()

    python = make_venv(args.venv, args.tensorflow, args.keras)
    print(f"{versions(python)}, Python {sys.version.split()[0]}, {args.iterations} steps each")
    failed = []
    with tempfile.TemporaryDirectory() as work:
        for stage, script in STAGES:
            model_dir = Path(work) / stage
            began = time.perf_counter()
            run = subprocess.run([str(python), str(REPO / script), "--headless", "--iterations",
                                  str(args.iterations), "--save-model", str(model_dir)],
                                 cwd=work, capture_output=True, text=True, timeout=1800)
            seconds = time.perf_counter() - began
            best = re.search(r"max test accuracy: ([\d.]+)", run.stdout)
            saved = runfolder.find_saved_model(model_dir) is not None
            ok = run.returncode == 0 and best and saved and "Traceback" not in run.stderr
            print(f"{stage:4} {script:48} {'ok  ' if ok else 'FAIL'} "
                  f"max test accuracy {best.group(1) if best else '-':7} {seconds:6.1f} s"
                  f"{'' if saved else '  (no SavedModel)'}", flush=True)
            if not ok:
                failed.append(stage)
                print(run.stderr[-2000:])
        image = sorted((REPO / "docs" / "pictures").glob("*.png"))[0]  # any picture will do:
        # what is checked is that the SavedModel loads and answers (exit 2: it does not)
        predicted = subprocess.run([str(python), str(REPO / "predict.py"), "--model",
                                    str(Path(work) / STAGES[-1][0]), str(image)],
                                   capture_output=True, text=True, timeout=600)
        print(f"predict.py with {STAGES[-1][0]}'s SavedModel: exit {predicted.returncode}: "
              f"{predicted.stdout.strip() or predicted.stderr.strip()[-300:]}")
        if predicted.returncode not in (0, 1):
            failed.append("predict.py")
    print("verdict:", "every stage ran" if not failed else f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
