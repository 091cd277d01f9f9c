"""The exercise path, built from the guide alone: each stage's code blocks in the guide
are applied to the previous stage's file, as a learner would, and the result must be the
solution script's code and must train.

The guide marks which blocks build which stage with an HTML comment that readers do not
see: `<!-- build 2.1 from 2.0 -->` ... `<!-- /build -->`. Between the two, every
```python block is applied to the file built so far (the starter, mnist_1.0_softmax.py,
for the first stage; a solution script where the guide says to start from a copy of it),
by rules a reader would follow:

- a whole `def` replaces the function of that name, or is added;
- a statement at the left margin (a setting, a variable, `trainer.run(...)`) replaces
  the statement that assigns the same names or makes the same call, or is added;
- an indented fragment replaces, inside the functions, the statement that assigns the
  same names or makes the same call; it must match exactly one.

What the guide shows is all there is: the test knows nothing of any stage. The built
file is then compared with the solution statement by statement (code, not comments or
docstrings; a setting that nothing uses any more is a harmless leftover), and trained
for a few steps in this process.

An exercise that changes a solution rather than building the next stage is marked
`<!-- try 8.0 -->` ... `<!-- /try -->`: its blocks, applied to that solution, must train
and do what the guide says.
"""

import ast
import functools
import math
import re
import textwrap

import pytest

import trainer
from helpers import REPO, load_stage, run_script
GUIDES = [REPO / "docs" / "codelab.md", REPO / "docs" / "codelab.zh-CN.md"]
STARTER = "mnist_1.0_softmax.py"

BUILD = re.compile(r"<!-- build ([^>]*?) -->(.*?)<!-- /build -->", re.DOTALL)
STAGE = re.compile(r"^(\d\.\d)(?: from (\d\.\d))?$")
PYTHON_BLOCK = re.compile(r"^[ \t]*```python\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)


def solution(stage):
    from codelab.stages import OTHER_SCRIPTS, SCRIPTS
    [script] = [name for name in SCRIPTS + OTHER_SCRIPTS if name.startswith(f"mnist_{stage}_")]
    return script


def build_steps(guide):
    """[(stage, stage it starts from or None for the one before, [python blocks])], in
    the order the stages first appear. A marked region may serve several stages
    (`<!-- build 4.1 from 2.1, 4.0 from 2.0 -->`): its blocks go to each of them."""
    steps = {}
    for names, body in BUILD.findall(guide.read_text(encoding="utf-8")):
        for name in names.split(","):
            match = STAGE.match(name.strip())
            assert match, f"{guide.name}: a build marker names '{name}'"
            stage, start = match.groups()
            steps.setdefault(stage, [start, []])
            steps[stage][0] = steps[stage][0] or start
            steps[stage][1] += PYTHON_BLOCK.findall(body)
    return [(stage, start, blocks) for stage, (start, blocks) in steps.items()]


# ------------------------------------------------------------ applying a block

def target_key(statement):
    """What a statement assigns or calls, as text: its identity in a file."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return f"def {statement.name}"
    if isinstance(statement, ast.Assign):
        return " = ".join(ast.unparse(target) for target in statement.targets) + " ="
    if isinstance(statement, (ast.AugAssign, ast.AnnAssign)):
        return ast.unparse(statement.target) + " ="
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        return ast.unparse(statement.value.func) + "()"
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return ast.unparse(statement)
    return None


def bodies(node):
    """Every statement list inside node (function bodies, with blocks, ifs...)."""
    for field in ("body", "orelse", "finalbody"):
        statements = getattr(node, field, None)
        if isinstance(statements, list) and statements and isinstance(statements[0], ast.stmt):
            yield statements
            for statement in statements:
                yield from bodies(statement)


def defined_names(statement):
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in statement.names}
    return {node.id for node in ast.walk(statement)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}


def used_names(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def is_setting(statement):
    """A setting: NAME = a literal (a number, a tuple of numbers, a string)."""
    if not isinstance(statement, ast.Assign):
        return False
    try:
        ast.literal_eval(statement.value)
    except ValueError:
        return False
    return all(name.isupper() for name in defined_names(statement))


def insertion_point(module, statement):
    """Where a statement the file does not have yet goes: a setting after the settings;
    anything else before the first statement that uses what it defines, else (a new
    variable) before the first function or (a new function) before trainer.run()."""
    body = module.body
    if is_setting(statement):
        settings = [i for i, old in enumerate(body) if is_setting(old)]
        return settings[-1] + 1 if settings else 0
    names = defined_names(statement)
    users = [i for i, old in enumerate(body) if names & used_names(old)]
    if users:
        return users[0]
    if not isinstance(statement, ast.FunctionDef):
        functions = [i for i, old in enumerate(body) if isinstance(old, ast.FunctionDef)]
        if functions:
            return functions[0]
    run = [i for i, old in enumerate(body) if target_key(old) == "trainer.run()"]
    return run[0] if run else len(body)


def apply_block(module, block):
    """Apply one code block of the guide to the module (an ast.Module), in place."""
    indented = block.startswith((" ", "\t"))
    statements = ast.parse(textwrap.dedent(block)).body
    for statement in statements:
        key = target_key(statement)
        assert key, f"the guide's block has a statement the test cannot place:\n{block}"
        if indented:
            places = [(body, i) for function in module.body
                      if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
                      for body in bodies(function)
                      for i, old in enumerate(body) if target_key(old) == key]
            assert len(places) == 1, (f"the fragment's '{key}' matches {len(places)} "
                                      f"statements in the functions, not one:\n{block}")
            body, i = places[0]
            body[i] = statement
            continue
        same = [i for i, old in enumerate(module.body) if target_key(old) == key]
        if same:
            module.body[same[0]] = statement
        else:
            module.body.insert(insertion_point(module, statement), statement)


def in_running_order(module):
    """The module's statements, each after those that define the names it needs when it
    runs (a def needs nothing until called; a call at the left margin needs what the
    functions it calls use), otherwise in their order: a stable topological sort."""
    statements = module.body
    functions = {s.name: s for s in statements if isinstance(s, ast.FunctionDef)}

    def needs(statement):
        if isinstance(statement, ast.FunctionDef):
            return set().union(*(used_names(d) for d in statement.decorator_list),
                               *(used_names(d) for d in statement.args.defaults))
        names, seen = used_names(statement), set()
        while names & (set(functions) - seen):  # module-level calls run function bodies
            name = (names & (set(functions) - seen)).pop()
            seen.add(name)
            names |= used_names(functions[name])
        return names

    definers = {}
    for index, statement in enumerate(statements):
        for name in defined_names(statement):
            definers.setdefault(name, index)  # the first definition
    after = [{definers[name] for name in needs(s) if name in definers and definers[name] != i}
             for i, s in enumerate(statements)]
    order, placed = [], set()
    while len(order) < len(statements):
        ready = [i for i in range(len(statements)) if i not in placed and after[i] <= placed]
        assert ready, "the built file's statements need each other in a circle"
        order.append(ready[0])
        placed.add(ready[0])
    module.body = [statements[i] for i in order]
    return module


# ------------------------------------------------------------ comparing

def without_docstrings(node):
    for child in ast.walk(node):
        body = getattr(child, "body", None)
        if (isinstance(child, (ast.Module, ast.FunctionDef, ast.ClassDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            child.body = body[1:] or [ast.Pass()]
    return node


def is_leftover(module, index):
    """Is the statement at module.body[index] an assignment at the left margin that
    nothing reads: each name it sets is used nowhere, or set again further down before
    anything at the left margin reads it (the learner replaced it by other lines)?"""
    statement = module.body[index]
    if not isinstance(statement, ast.Assign):
        return False
    used = set().union(*(used_names(s) for s in module.body))
    for name in defined_names(statement):
        if name not in used:
            continue
        later = module.body[index + 1:]
        reset = [j for j, s in enumerate(later) if name in defined_names(s)]
        if not reset or any(name in used_names(s) for s in later[:reset[0] + 1]
                            if not isinstance(s, ast.FunctionDef)):
            return False
    return True


def statements_of(module):
    """{key: code} for the module's statements, docstrings and leftovers left out: also
    what only leftovers read (3.1's K, read by its W1 that 6.0 no longer uses)."""
    module = without_docstrings(module)
    while True:
        leftovers = [i for i in range(len(module.body)) if is_leftover(module, i)]
        if not leftovers:
            break
        module.body = [s for i, s in enumerate(module.body) if i not in leftovers]
    return {target_key(s) or ast.dump(s): ast.unparse(s) for s in module.body}


@functools.lru_cache(maxsize=None)
def build(guide, stage):
    """The source of `stage` built from the guide's blocks, applied to the file of the
    stage it starts from: the one it names, else the one before; the starter first."""
    steps = build_steps(guide)
    order = [s for s, _, _ in steps]
    start, blocks = {s: (start, blocks) for s, start, blocks in steps}[stage]
    previous = start or (order[order.index(stage) - 1] if order.index(stage) else None)
    base = (REPO / STARTER).read_text(encoding="utf-8") if previous is None else build(guide, previous)
    module = ast.parse(base)
    for block in blocks:
        apply_block(module, block)
    return ast.unparse(in_running_order(module))


def guide_stages():
    return [(guide, stage) for guide in GUIDES for stage, _, _ in build_steps(guide)]


def test_the_guides_mark_the_exercise_path():
    for guide in GUIDES:
        stages = [stage for stage, _, _ in build_steps(guide)]
        assert stages == ["2.0", "2.1", "2.2", "3.0", "3.1", "4.1", "4.0", "4.2", "6.0"], guide.name
        assert all(blocks for _, _, blocks in build_steps(guide))


@pytest.mark.parametrize("guide, stage", guide_stages(),
                         ids=lambda value: getattr(value, "name", value))
def test_each_stage_built_from_the_guide_is_the_solution(guide, stage):
    built = statements_of(ast.parse(build(guide, stage)))
    expected = statements_of(ast.parse((REPO / solution(stage)).read_text(encoding="utf-8")))
    missing = [expected[key] for key in expected if built.get(key) != expected[key]]
    extra = [built[key] for key in built if key not in expected]
    assert not missing and not extra, (
        f"{guide.name}, stage {stage} built from the guide's code blocks:\n"
        f"--- not as in {solution(stage)} (the guide should show these):\n"
        + "\n".join(missing) + "\n--- left over (the guide should say to remove these):\n"
        + "\n".join(extra))


def test_a_stage_built_from_the_english_guide_trains(small_mnist_dir, tmp_path, capsys):
    """3.1, built on 2.0 to 3.0 before it, with dropout and --save-model (which checks
    that the checkpoints keep dropout's generator). The later stages are checked
    statement by statement above; 3.1 is the lightest with all of that to run."""
    stage = "3.1"
    source = build(GUIDES[0], stage)
    script = tmp_path / f"built_{stage}.py"
    script.write_text(source, encoding="utf-8")
    load_stage(script, small_mnist_dir, "--iterations", "3", "--save-model", str(tmp_path / "model"))
    out = capsys.readouterr().out
    assert re.search(r"^max test accuracy: 0\.\d{4}$", out, re.MULTILINE), out[-2000:]


# An exercise that changes a solution instead of building the next stage:
# `<!-- try 8.0 -->` ... `<!-- /try -->`, its code blocks applied to that stage's file.
# (Plain ``` blocks: ```python is kept for code the stage scripts hold, test_docs.py.)
TRY = re.compile(r"<!-- try (\d\.\d) -->(.*?)<!-- /try -->", re.DOTALL)
ANY_BLOCK = re.compile(r"^[ \t]*```\w*\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)


def tries(guide):
    return [(stage, ANY_BLOCK.findall(body))
            for stage, body in TRY.findall(guide.read_text(encoding="utf-8"))]


def test_both_guides_give_the_same_code_for_each_try():
    english, chinese = (tries(guide) for guide in GUIDES)
    assert english and [stage for stage, _ in english] == [stage for stage, _ in chinese]
    code = lambda blocks: [ast.dump(ast.parse(textwrap.dedent(block))) for block in blocks]
    assert [code(blocks) for _, blocks in english] == [code(blocks) for _, blocks in chinese]


def test_the_bigger_global_batch_with_a_warm_up_trains_as_the_guide_says(small_mnist_dir, tmp_path):
    """Step 13's exercise (global batch 200, Adam's √2, a warm-up) applied to 8.0 as a
    learner would, then trained: one worker here (--workers 2 is 8.0's own tests' work);
    the learning rate it prints follows the guide's formula, warm-up included."""
    [(stage, blocks)] = tries(GUIDES[0])
    module = ast.parse((REPO / solution(stage)).read_text(encoding="utf-8"))
    for block in blocks:
        apply_block(module, block)
    script = tmp_path / "try_8.0.py"
    script.write_text(ast.unparse(in_running_order(module)), encoding="utf-8")
    result = run_script(script, "--headless", "--data-dir", small_mnist_dir, "--iterations", "60",
                        cwd=tmp_path, env_extra={"PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr[-3000:]
    rates = {int(m["step"]): float(m["lr"]) for m in trainer.PROGRESS_LINE.finditer(result.stdout)}
    assert 20 in rates and 40 in rates, result.stdout[-2000:]
    for done in (20, 40):  # "step 20": 20 steps done, the last one numbered 19 from 0
        step = done - 1  # LR_MIN = 0.0001, LR_DECAYING = 0.0042, LR_DECAY_STEPS = 1000
        expected = (step + 1) / 200 * (0.0001 + 0.0042 * math.exp(-step / 1000))
        assert rates[done] == pytest.approx(expected, abs=1e-6)
    assert rates[40] > 1.9 * rates[20], "still climbing: the warm-up lasts 200 steps"
