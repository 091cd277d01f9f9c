"""The run folder of `--save-model DIR`: what a run keeps there, and who may use it.

    DIR/stage.json      which stage and which network (variable names, shapes) wrote it
    DIR/checkpoints/    TensorFlow's checkpoints, the latest 3 (runstate.py saves one every
                        runstate.CHECKPOINT_EVERY steps and at the end)
    DIR/saved_model/1/  the trained network, for predict.py and serve.py: DIR/saved_model
                        is laid out as TensorFlow Serving's model base path (numbered
                        version folders); earlier versions of the project wrote the
                        network straight into DIR/saved_model, and find_saved_model()
                        reads both
    DIR/previous-N/     earlier runs, moved aside by --fresh
    DIR/.lock           held by the run that trains there (safefiles.FolderLock)

How the trainers use it:

    runfolder.check(args)             # parse_args(): a look before TensorFlow loads
    with runfolder.claimed(args):     # run(): locked for this run, checked again
        runfolder.check_resume_is_exact(training_step, variables, optimizer, ...)
        folder = runfolder.RunFolder(path, args.stage, model, variables, state)
        folder.restore() or folder.start(args.fresh)
        folder.checkpoint() ...; folder.export()

The rules (a folder that holds a run needs --restore or --fresh; --restore needs a
checkpoint of the same stage; one run at a time) live in check() alone: parse_args()
calls it so that a mistake costs a second, not a TensorFlow start; claimed() calls it
again once the lock is held, because another run may have written there meanwhile.

Errors: RunFolderError, a safefiles.PathError: the trainers end the program with its
message (`error: ...`, exit code 1; parse_args() shows it as a flag error, exit code 2).
"""

import contextlib
import json
import os
import re
import shutil
from pathlib import Path

from codelab import hints
from codelab import safefiles
from codelab import tfmessages

RUN_RECORD = "stage.json"  # which stage and which network wrote the folder
CHECKPOINTS = "checkpoints"
SAVED_MODEL = "saved_model"
MODEL_VERSION = "1"  # the version folder inside DIR/saved_model (TensorFlow Serving needs one)
RUN_ENTRIES = (RUN_RECORD, CHECKPOINTS, SAVED_MODEL)  # what --fresh moves to DIR/previous-N
CHECKPOINTS_KEPT = 3
GLOB_CHARACTERS = ("[", "]", "*", "?")  # TensorFlow finds checkpoints by glob pattern


class RunFolderError(safefiles.PathError):
    """The --save-model folder cannot take this run, or could not keep it whole; the
    message names the folder or the flag, and what to do."""


# ------------------------------------------------------------------- reading a folder

def read_run_record(folder):
    """DIR/stage.json of a --save-model folder as a dict, or None if absent or unreadable."""
    try:
        with open(Path(folder) / RUN_RECORD, encoding="utf-8") as file:
            record = json.load(file)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def latest_checkpoint_step(folder):
    """The step of the latest checkpoint in DIR/checkpoints, read from TensorFlow's
    `checkpoint` index file (no TensorFlow needed), or None if there is none."""
    try:
        text = (Path(folder) / CHECKPOINTS / "checkpoint").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    match = re.search(r'^model_checkpoint_path: ".*?-(\d+)"$', text, re.MULTILINE)
    return int(match[1]) if match else None


def find_saved_model(path):
    """The SavedModel folder that `path` names, or None if there is none: a --save-model
    folder (DIR/saved_model/1, or the flat DIR/saved_model that earlier versions wrote),
    a TensorFlow Serving base folder (its highest numbered version), or a SavedModel."""
    for base in (Path(path) / SAVED_MODEL, Path(path)):
        if (base / "saved_model.pb").is_file():
            return base
        try:
            versions = [entry for entry in base.iterdir() if entry.name.isdigit()
                        and (entry / "saved_model.pb").is_file()]
        except OSError:
            continue
        if versions:
            return max(versions, key=lambda entry: int(entry.name))
    return None


def saved_model_above(path, levels=3):
    """The nearest folder above `path`, up to `levels` up, in which find_saved_model finds
    one, or None: what a learner who named a folder inside a run (its checkpoints/, or
    saved_model/1/variables) meant."""
    folder = Path(os.path.abspath(path))
    for parent in folder.parents[:levels]:
        if find_saved_model(parent) is not None:
            return parent if os.path.isabs(path) else Path(os.path.relpath(parent))
    return None


def network_is_saved(folder):
    """Whether the --save-model folder holds the trained network of its latest checkpoint:
    DIR/saved_model, written after that checkpoint (a run saves its network last)."""
    saved_model = find_saved_model(Path(folder) / SAVED_MODEL)
    if saved_model is None:
        return False
    try:
        saved = (saved_model / "saved_model.pb").stat().st_mtime_ns
    except OSError:
        return False
    try:
        return saved >= (Path(folder) / CHECKPOINTS / "checkpoint").stat().st_mtime_ns
    except OSError:
        return True


def next_previous_folder(folder):
    """DIR/previous-N with the first N that is free: where --fresh moves a run."""
    number = 1
    while os.path.lexists(Path(folder) / f"previous-{number}"):
        number += 1
    return Path(folder) / f"previous-{number}"


# ---------------------------------------------------------- checking and claiming it

def check(args, lock_probed=True):
    """Raise RunFolderError if --save-model DIR cannot take this run as --restore or
    --fresh ask (args: stage, iterations, save_model, restore, fresh); lock_probed: also
    if another run holds it now (claimed() holds the lock itself)."""
    given = args.save_model
    problem = safefiles.why_not_writable(given, folder=True)
    if problem:
        remedy = safefiles.with_remedy(problem, "choose another folder")
        raise RunFolderError(f"--save-model {given}: {remedy}")
    folder = Path(given).expanduser()
    if any(character in str(folder) for character in GLOB_CHARACTERS):
        raise RunFolderError(
            f"--save-model {hints.shell_path(given)}: TensorFlow reads a checkpoint's path as "
            f"a pattern, where {' '.join(GLOB_CHARACTERS)} mean something else, so this run "
            f"could not be resumed; choose a folder whose path has none of them")
    holder = safefiles.lock_holder(folder) if lock_probed else None
    if holder:
        raise RunFolderError(_in_use_message(given, holder))
    _check_entry_kinds(folder, given)
    if args.restore:
        _check_restore(args, folder)
    else:
        _check_new_run(args, folder)


def _check_entry_kinds(folder, given):
    for name in (CHECKPOINTS, SAVED_MODEL):
        if os.path.lexists(folder / name) and not (folder / name).is_dir():
            raise RunFolderError(
                f"--save-model {given}: {folder / name} is a file, where the run's {name} "
                f"folder goes; move it away or choose another --save-model folder")
    if os.path.lexists(folder / RUN_RECORD) and not (folder / RUN_RECORD).is_file():
        raise RunFolderError(
            f"--save-model {given}: {folder / RUN_RECORD} is not a file; move it away or "
            f"choose another --save-model folder")


def _check_restore(args, folder):
    """--restore: a checkpoint there, of this stage, with steps left to train (or a
    trained network left to save)."""
    record, step = read_run_record(folder), latest_checkpoint_step(folder)
    if step is None:
        raise RunFolderError(f"--restore: no checkpoint in {folder / CHECKPOINTS}; train once "
                             f"with --save-model {hints.shell_path(args.save_model)} first")
    if record is None:
        raise RunFolderError(
            f"--restore: {folder} holds checkpoints but no {RUN_RECORD} saying which stage "
            f"wrote them, so they cannot be trusted to fit this one; start over with --fresh "
            f"(they move to {next_previous_folder(folder)}) or choose another folder")
    if record.get("stage") != args.stage:
        raise RunFolderError(
            f"--restore: {folder} holds a run of {record.get('stage')}, not of {args.stage}: "
            f"a checkpoint fits only the network of the stage that wrote it. Give each stage "
            f"its own --save-model folder (e.g. models/{_stage_number(args.stage)}), or start "
            f"over here with --fresh (that run moves to {next_previous_folder(folder)}).")
    if args.iterations <= step and network_is_saved(folder):
        raise RunFolderError(f"--restore: the run in {folder} is at step {step} already; ask "
                             f"for more with --iterations (more than {step})")
    # (a run that ended without its trained network: --restore saves it)


def _check_new_run(args, folder):
    """Without --restore: an empty folder, or --fresh to move the run there aside."""
    held = [name for name in RUN_ENTRIES if os.path.lexists(folder / name)]
    if not held or args.fresh:
        return
    record, step = read_run_record(folder), latest_checkpoint_step(folder)
    what = f" of {record['stage']}" if record and record.get("stage") else ""
    where = f" (at step {step})" if step is not None else ""
    unsaved = ""
    if step is not None and not network_is_saved(folder):
        unsaved = (f" Its trained network is not in {folder / SAVED_MODEL} (the run was "
                   f"stopped while saving it?): --restore alone saves it.")
    raise RunFolderError(
        f"--save-model {args.save_model} already holds a run{what}{where}. To go on with it, "
        f"add --restore (and a larger --iterations); to start over, add --fresh (that run is "
        f"kept: it moves to {next_previous_folder(folder)}); or choose another "
        f"folder.{unsaved}")


def _in_use_message(given, holder):
    return (f"--save-model {given} is in use by another run ({holder}). Two runs in one "
            f"folder would overwrite each other's checkpoints: wait for that run to end (or "
            f"stop it with Ctrl-C), or choose another --save-model folder.")


def _stage_number(script_name):
    """'2.1' for mnist_2.1_five_layers_relu_lrdecay.py, else the name without .py."""
    match = re.match(r"mnist_(\d+\.\d+)_", script_name)
    return match[1] if match else Path(script_name).stem


@contextlib.contextmanager
def claimed(args):
    """With --save-model DIR: the folder for this run alone until the block ends
    (DIR/.lock), checked (check()) now that no other run can change it: check() ran
    when the flags were read, seconds or minutes ago, and a run started meanwhile into
    the same folder would overwrite this one's files. Without --save-model: nothing."""
    if not args.save_model:
        yield
        return
    folder = Path(args.save_model)
    lock = safefiles.FolderLock(folder, args.command)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except safefiles.FolderInUse as error:
        raise RunFolderError(_in_use_message(args.save_model, error.holder)) from None
    except OSError as error:
        raise RunFolderError(f"--save-model {folder}: cannot write there "
                             f"({tfmessages.reason(error)}); free some space or choose "
                             f"another folder") from None
    try:
        check(args, lock_probed=False)
        yield
    finally:
        lock.release()


def resume_data(mnist, progress, args):
    """After a restore: the batches go on where the checkpoint's had got to (`progress`:
    what the checkpoint kept of the data, see python_state)."""
    if progress.get("dataset") != args.dataset:
        raise RunFolderError(f"--restore: the run in {args.save_model} trained on "
                             f"--dataset {progress.get('dataset')}, not {args.dataset}")
    try:
        mnist.train.set_state(progress["batches"])
    except (KeyError, ValueError) as error:
        raise RunFolderError(f"--restore: the run in {args.save_model} trained on other data "
                             f"({error}): resume with the --data-dir it used") from None


# ------------------------------------------------------------- what a run keeps there

def python_state(get, put):
    """A checkpointable holder of plain Python state, kept as JSON: get() gives the
    value to save, put(value) receives the value restored."""
    import tensorflow as tf

    class PythonState(tf.train.experimental.PythonState):
        def serialize(self):
            return json.dumps(get())

        def deserialize(self, string_value):
            put(json.loads(string_value))

    return PythonState()


class RunFolder:
    """A claimed --save-model folder as a run writes it (see the module docstring):
    `state`, the objects a checkpoint keeps (tf.train.Checkpoint's keyword arguments);
    `model` and `variables`, the network that export() writes for predict.py."""

    def __init__(self, folder, stage, model, variables, state):
        import tensorflow as tf
        self.folder = Path(folder)
        self.stage = stage
        self.model = model
        self.variables = list(variables)
        self.network = {v.name.split(":")[0]: [int(n) for n in v.shape] for v in self.variables}
        self.checkpoint_ = tf.train.Checkpoint(**state)
        self.manager = None  # made once the folder is ready: it reads what is there

    def _make_manager(self):
        import tensorflow as tf
        self.manager = tf.train.CheckpointManager(self.checkpoint_, self.folder / CHECKPOINTS,
                                                  max_to_keep=CHECKPOINTS_KEPT)

    def start(self, fresh):
        """A new run: move a run that is there to DIR/previous-N (fresh: --fresh; check()
        has refused a folder that holds a run without it), then record which stage and
        network this one is."""
        held = [name for name in RUN_ENTRIES if os.path.lexists(self.folder / name)]
        try:
            if held and fresh:
                previous = next_previous_folder(self.folder)
                previous.mkdir(parents=True)
                for name in held:
                    os.rename(self.folder / name, previous / name)
                print(f"moved the run that was in {self.folder} to {previous} (--fresh)")
            self.folder.mkdir(parents=True, exist_ok=True)
            self._write_record()
        except OSError as error:
            raise RunFolderError(
                f"--save-model {self.folder}: cannot write the run's files there "
                f"({tfmessages.reason(error)}); nothing was trained yet: free some space or "
                f"choose another folder") from None
        self._make_manager()

    def _write_record(self):
        for name in (RUN_RECORD, SAVED_MODEL):
            safefiles.remove_leftovers(self.folder / name)
        shapes = ",\n".join(f"    {json.dumps(name)}: {json.dumps(shape)}"
                             for name, shape in self.network.items())
        with safefiles.atomic_write(self.folder / RUN_RECORD, "w", encoding="utf-8") as file:
            file.write(f'{{\n  "stage": {json.dumps(self.stage)},\n'
                       f'  "network": {{\n{shapes}\n  }}\n}}\n')

    def restore(self):
        """Load the latest checkpoint, after checking that it is this network (check()
        has made sure that it is this stage's)."""
        import tensorflow as tf
        saved = (read_run_record(self.folder) or {}).get("network")
        if saved != self.network:
            raise RunFolderError(
                f"--restore: the network in {self.folder} is not this script's "
                f"({_network_difference(saved, self.network)}): was the script edited since? "
                f"Start over with --fresh (that run moves to "
                f"{next_previous_folder(self.folder)}) or use another --save-model folder.")
        self._make_manager()
        latest = self.manager.latest_checkpoint
        if latest is None:
            raise RunFolderError(f"--restore: no checkpoint in {self.folder / CHECKPOINTS}")
        try:
            self.checkpoint_.restore(latest).assert_existing_objects_matched()
        except (AssertionError, ValueError, IndexError, tf.errors.OpError) as error:
            detail = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
            raise RunFolderError(
                f"--restore: cannot read the checkpoint {latest} ({type(error).__name__}: "
                f"{detail}): its files are damaged or cut short (a full disk, an interrupted "
                f"copy?). Start over with --fresh (the damaged run moves to "
                f"{next_previous_folder(self.folder)}) or use another --save-model folder."
            ) from None
        print(f"restored {latest} (step {self.step})")

    @property
    def step(self):
        """The step that the checkpoint's `step` counter holds."""
        return int(self.checkpoint_.step.numpy())

    def checkpoint(self):
        """Save a checkpoint numbered by the `step` counter; on a full disk, say which
        earlier one is intact."""
        import tensorflow as tf
        step = self.step
        try:
            with tfmessages.stderr_lines_hidden(tfmessages.FAILED_OPERATION_NOTICES):
                self.manager.save(checkpoint_number=step)
        except (OSError, tf.errors.OpError) as error:
            for leftover in (self.folder / CHECKPOINTS).glob(f"ckpt-{step}_temp*"):
                shutil.rmtree(leftover, ignore_errors=True)
            earlier = latest_checkpoint_step(self.folder)
            if earlier is not None and earlier != step:
                kept = (f"The checkpoint of step {earlier} is intact: free some space, then "
                        f"go on from it with --restore.")
            else:
                kept = "No earlier checkpoint was kept: free some space and run again."
            raise RunFolderError(f"cannot write the checkpoint of step {step} in "
                                 f"{self.folder / CHECKPOINTS} ({tfmessages.reason(error)}). "
                                 f"{kept}") from None

    def export(self):
        """Write the trained network to DIR/saved_model (export_saved_model)."""
        import tensorflow as tf
        path = self.folder / SAVED_MODEL
        safefiles.remove_leftovers(path)  # of an export that was killed
        try:
            with tfmessages.stderr_lines_hidden(tfmessages.FAILED_OPERATION_NOTICES):
                export_saved_model(path, self.model, self.variables)
        except (OSError, tf.errors.OpError) as error:
            raise RunFolderError(
                f"cannot write the trained network in {path} ({tfmessages.reason(error)}). "
                f"The checkpoint of step {self.step} is saved: free some space, then run the "
                f"stage with --save-model {hints.shell_path(self.folder)} --restore "
                f"--iterations {self.step} to save the network from it.") from None
        print(f"saved the trained network in {path} "
              f"(try: python3 predict.py --model {hints.shell_path(self.folder)} my_digit.png)")


def _network_difference(saved, current):
    """A short description of how two {name: shape} networks differ."""
    if not isinstance(saved, dict):
        return "no network recorded"
    differences = []
    for name in list(saved) + [name for name in current if name not in saved]:
        if name not in current:
            differences.append(f"{name} there, not here")
        elif name not in saved:
            differences.append(f"{name} here, not there")
        elif saved[name] != current[name]:
            differences.append(f"{name} {saved[name]} there, {current[name]} here")
    return "; ".join(differences[:4]) + (" ..." if len(differences) > 4 else "")


def export_saved_model(path, model, variables):
    """Write a SavedModel whose serving_default maps `images` to `probabilities`, in
    path/MODEL_VERSION: `path` is then a model base path that TensorFlow Serving loads.

    images: float32 [N, 28, 28, 1] in [0, 1], light ink on black as in MNIST.
    model(images) -> (Ylogits, Y, ...): the network at test time.
    Written beside the target and swapped in when complete (safefiles.replace_folder):
    an interrupted export leaves the previous model as it was.
    """
    import tensorflow as tf
    module = tf.Module()
    module.variables_ = list(variables)

    @tf.function(input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.float32, name="images")])
    def serve(images):
        return {"probabilities": model(images)[1]}

    module.serve = serve
    # Whatever else the function reads is saved with it too: a seed generator's state,
    # which Keras before 3.14 reads even for dropout at rate 0 (untracked, it fails the
    # export with "references an 'untracked' resource").
    module.captured_ = list(serve.get_concrete_function().variables)
    with safefiles.replace_folder(path) as temporary:
        tf.saved_model.save(module, str(temporary / MODEL_VERSION),
                            signatures={"serving_default": serve})


# ------------------------------------------------------------ resumed runs are exact

# Stateful random ops: their state lives in the op, where no checkpoint can reach it.
_UNSAVED_RANDOM_OPS = re.compile(r"^(Random\w*|TruncatedNormal|Multinomial|"
                                 r"ParameterizedTruncatedNormal)$")

_SEED_GENERATOR_FIX = (
    "Draw dropout's random numbers from a generator made once, before the model: "
    "dropout_seeds = keras.random.SeedGenerator(args.seed), "
    "keras.random.dropout(Y, rate, seed=dropout_seeds), and hand it to the trainer: "
    "trainer.run(..., seed_generator=dropout_seeds) (stage 2.2 shows all three).")


def check_resume_is_exact(training_step, variables, optimizer, seed_generator, train,
                          batch_size):
    """With --save-model, a run resumed with --restore must be the same run: every
    variable the training step reads or changes has to be in the checkpoints, and its
    random numbers (dropout) must come from a generator that is. Traces training_step
    for one batch of `train` (the training loop reuses that trace), and raises a
    RunFolderError that names what would be lost, rather than let a resumed run
    quietly differ."""
    optimizer.build([v for v in variables if v.trainable])  # as the training loop does, first
    kept = list(variables) + list(optimizer.variables)
    if seed_generator is not None:
        kept.append(seed_generator.state)
    traced = _traced_step(training_step, train, batch_size)
    kept_ids = _variable_ids(kept)
    unsaved = [v.name.split(":")[0] for v in traced.variables if id(v) not in kept_ids]
    if any("seed_generator" in name for name in unsaved):
        raise RunFolderError(
            f"--save-model: the training step draws random numbers from a "
            f"keras.random.SeedGenerator ({', '.join(unsaved)}) that trainer.run() was not "
            f"given, so the checkpoints would not keep its state and a run resumed with "
            f"--restore would drop out other neurons than an uninterrupted run. "
            f"{_SEED_GENERATOR_FIX}")
    stateful_random = _stateful_random_ops(traced)
    if stateful_random:
        raise RunFolderError(
            f"--save-model: the training step draws random numbers with "
            f"{', '.join(stateful_random)} (tf.nn.dropout or tf.random without a generator), "
            f"whose state no checkpoint can keep: a run resumed with --restore would not be "
            f"the same run. {_SEED_GENERATOR_FIX}")
    if unsaved:
        raise RunFolderError(
            f"--save-model: the training step uses variables that are not in the list "
            f"given to trainer.run(variables=...): {', '.join(unsaved)}. The checkpoints "
            f"and the saved network would miss them: add them to that list.")


def _traced_step(training_step, train, batch_size):
    """training_step traced for one batch of `train`'s images and labels."""
    import tensorflow as tf
    if not hasattr(training_step, "get_concrete_function"):  # a plain function: trace it
        training_step = tf.function(training_step)
    return training_step.get_concrete_function(
        tf.TensorSpec([batch_size, *train.images.shape[1:]], tf.as_dtype(train.images.dtype)),
        tf.TensorSpec([batch_size, *train.labels.shape[1:]], tf.as_dtype(train.labels.dtype)),
        tf.TensorSpec([], tf.float32))


def _variable_ids(variables):
    """The ids of the tf.Variables behind `variables` (Keras variables too), with each
    worker's copy of a distributed variable."""
    import tensorflow as tf
    ids = set()
    for variable in variables:
        variable = variable if isinstance(variable, tf.Variable) else variable.value
        ids |= {id(variable), *map(id, getattr(variable, "values", ()))}
    return ids


def _stateful_random_ops(traced):
    """The stateful random operations in a traced function and the functions it calls."""
    graph = traced.graph.as_graph_def()
    op_types = {node.op for node in graph.node}
    op_types |= {node.op for function in graph.library.function for node in function.node_def}
    return sorted(op for op in op_types if _UNSAVED_RANDOM_OPS.match(op))
