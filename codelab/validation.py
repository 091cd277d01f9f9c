"""The validation split, and a stage with some of its settings changed: how settings are
chosen without looking at the test set (benchmarks/bench_speedrun.py --validation and
tune.py both run stages this way).

validation_folder() writes IDX files whose "training" set is the first 55,000 MNIST
training images and whose "test" set is the last 5,000 of them: a stage run with
--data-dir on that folder prints validation figures in its test lines.
edited_stage() copies a stage with some module-level settings ('NAME=VALUE') changed.
"""
import gzip
import re
import struct
import sys
import tempfile
from pathlib import Path

HELD_OUT = 5000  # the last 5,000 training images: the validation set
HELD_OUT_SHARE = 12  # of a smaller training set: its last twelfth (60,000 / 12 = 5,000)


def write_idx(path, array):
    import numpy as np
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb", compresslevel=1) as file:
        file.write(header + array.tobytes())


def validation_folder(data_dir=None, dataset="mnist"):
    """A new temporary folder of IDX files whose 'training' set is the first 55,000
    training images of `dataset` (read from `data_dir`, None: the default place) and
    whose 'test' set is the last 5,000 of them (of a smaller set: its last twelfth).
    A stage run with --data-dir on this folder prints validation figures in its test
    lines. Choose settings on these, never on the test set."""
    import numpy as np
    import mnistdata
    data = mnistdata.read_data_sets(data_dir, one_hot=False, reshape=False, dataset=dataset)
    images = np.rint(data.train.images[..., 0] * 255).astype(np.uint8)
    labels = data.train.labels.astype(np.uint8)
    folder = Path(tempfile.mkdtemp(prefix="mnist-validation-"))
    keep = len(images) - min(HELD_OUT, len(images) // HELD_OUT_SHARE)
    write_idx(folder / "train-images-idx3-ubyte.gz", images[:keep])
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels[:keep])
    write_idx(folder / "t10k-images-idx3-ubyte.gz", images[keep:])
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels[keep:])
    return folder


def edited_stage(script, settings, folder, replacements=()):
    """A copy of the stage `script` in `folder`, with some module-level settings changed
    ('NAME=VALUE') and some lines replaced ((old, new, flag) triples). Run it with
    PYTHONPATH set to the repository (it imports trainer from there)."""
    source = Path(script).read_text(encoding="utf-8")
    for old, new, flag in replacements:
        if old not in source:
            sys.exit(f"error: {flag}: no line '{old.strip()}' in {Path(script).name}")
        source = source.replace(old, new)
    for setting in settings:
        name, value = setting.split("=", 1)
        source, count = re.subn(rf"^{name} = [^#\n]*?(\s*#|$)", rf"{name} = {value}\1", source,
                                count=1, flags=re.MULTILINE)
        if count != 1:
            sys.exit(f"error: --set {setting}: no line '{name} = ...' in {Path(script).name}")
    path = Path(folder) / Path(script).name
    path.write_text(source, encoding="utf-8")
    return path
