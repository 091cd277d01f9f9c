"""Stage 1.0 in a real Jupyter kernel (ipykernel, run by nbclient), as a learner runs
it from a notebook cell: `%run mnist_1.0_softmax.py`, inline and with %matplotlib widget."""

import base64
import importlib.util
import io
import os
import re

import numpy as np
import pytest
from PIL import Image

from helpers import REPO, run_cell
from trainer import TIMING_LINE

pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
# Not imported here: importing ipykernel sets up matplotlib for a kernel in this process.
pytestmark = pytest.mark.skipif(importlib.util.find_spec("ipykernel") is None,
                                reason="needs ipykernel (pip install -r requirements-test.txt)")


def stage_cell(small_mnist_dir, iterations, flags=""):
    script = os.path.join(REPO, "mnist_1.0_softmax.py")
    return f"%run {script} --iterations {iterations} --data-dir {small_mnist_dir} {flags}"


def png_pixels(data):
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


def training_seconds(stdout):
    return float(TIMING_LINE.search(stdout)["seconds"])


def test_run_in_a_notebook_shows_a_refreshed_picture(small_mnist_dir, tmp_path, monkeypatch):
    home = tmp_path / "home"  # a fresh home folder: the kernel and the run leave it empty
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    outputs, stdout, counts = run_cell(stage_cell(small_mnist_dir, 300), tmp_path, monkeypatch)
    assert list(home.rglob("*")) == []  # IPython's profile, Jupyter's files: elsewhere
    assert re.search(r"^max test accuracy: 0\.\d{4}$", stdout.strip().splitlines()[-1])
    pictures = [out for out in outputs if out.output_type == "display_data"]
    assert len(pictures) == 1 and "image/png" in pictures[0]["data"]   # one picture ...
    assert counts.get("update_display_data", 0) >= 1                   # ... refreshed
    refreshes = counts.get("update_display_data", 0)
    assert refreshes <= training_seconds(stdout) / 0.9 + 2              # about once a second


def test_run_with_the_widget_backend_shows_one_live_figure(small_mnist_dir, tmp_path,
                                                           monkeypatch):
    pytest.importorskip("ipympl")
    final = tmp_path / "final.png"
    cell = "%matplotlib widget\n" + stage_cell(small_mnist_dir, 600, f"--save-image {final}")
    outputs, stdout, counts = run_cell(cell, tmp_path, monkeypatch)
    assert stdout.strip().splitlines()[-1].startswith("max test accuracy: ")
    figures = [out for out in outputs if out.output_type == "display_data"
               and "application/vnd.jupyter.widget-view+json" in out["data"]]
    assert len(figures) == 1                                   # shown once, not twice
    assert counts.get("comm_msg with data", 0) >= 10           # new pictures while training
    # What the notebook file keeps for a viewer without a kernel (GitHub, nbconvert) is
    # the final picture, the one --save-image wrote, not the empty axes of the start.
    kept = png_pixels(figures[0]["data"]["image/png"])
    saved = np.asarray(Image.open(final).convert("RGB"))
    assert kept.shape == saved.shape
    below_strip = slice(30, None)                              # the strip: keys, status
    assert np.mean(np.any(kept[below_strip] != saved[below_strip], axis=-1)) < 0.001
    assert figures[0]["data"]["image/png"] in figures[0]["data"]["text/html"]
