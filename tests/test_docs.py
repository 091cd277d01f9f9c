"""The codelab guides against the code they teach, and docs/make_pictures.py's options.

Fast: no training, no TensorFlow. The guides' Python is checked against the stage
scripts as they are now, read at test time, so that guide and code cannot drift apart.
"""

import importlib.util
import re
import subprocess
import sys

import pytest

from helpers import REPO
DOCS = REPO / "docs"
ENGLISH = DOCS / "codelab.md"
CHINESE = DOCS / "codelab.zh-CN.md"
GUIDES = [ENGLISH, CHINESE]
MAKE_PICTURES = DOCS / "make_pictures.py"
STEPS = 14  # the fourteen steps of the codelab, one "## " section each

FENCE = re.compile(r"^[ \t]*```([^\n`]*)\n(.*?)^[ \t]*```[ \t]*$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_SOURCE = re.compile(r"<(?:img|a)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"", re.IGNORECASE)
IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def read(path):
    return path.read_text(encoding="utf-8")


def code_blocks(text, language=None):
    """The fenced code blocks of a Markdown text: [(language, body)]."""
    blocks = [(match.group(1).strip(), match.group(2)) for match in FENCE.finditer(text)]
    return [(lang, body) for lang, body in blocks if language is None or lang == language]


def without_code(text):
    """The text with its fenced code blocks and inline code removed."""
    text = FENCE.sub("", text)
    return re.sub(r"`[^`\n]*`", "", text)


def python_lines(text):
    """Every non-blank line of the ```python blocks, stripped."""
    return [line.strip() for _, body in code_blocks(text, "python")
            for line in body.splitlines() if line.strip()]


def sections(text):
    """The "## " sections (not "###"): [(heading, body)], in order."""
    parts = re.split(r"^## (?!#)(.*)$", without_fences(text), flags=re.MULTILINE)
    return list(zip(parts[1::2], parts[2::2]))


def without_fences(text):
    return FENCE.sub("", text)


def images(text):
    return [target for target in IMAGE.findall(without_fences(text))]


def load_make_pictures():
    spec = importlib.util.spec_from_file_location("make_pictures", MAKE_PICTURES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def stage_lines():
    """Every line of every stage script, stripped, read now."""
    sys.path.insert(0, str(REPO))
    from codelab.stages import OTHER_SCRIPTS, SCRIPTS
    scripts = sorted(REPO.glob("mnist_*.py"))
    assert [script.name for script in scripts] == sorted(SCRIPTS + OTHER_SCRIPTS)
    return {line.strip() for script in scripts for line in read(script).splitlines()}


# --------------------------------------------------------------------- the guides

@pytest.mark.parametrize("guide", GUIDES, ids=lambda path: path.name)
def test_guide_python_is_copied_from_the_stage_scripts(guide, stage_lines):
    lines = python_lines(read(guide))
    assert len(lines) > 100, "the guide should show the stages' code"
    missing = [line for line in lines if line not in stage_lines]
    assert not missing, ("lines in ```python blocks that no stage script contains "
                         "(copy them from the script again):\n" + "\n".join(missing))


@pytest.mark.parametrize("guide", GUIDES, ids=lambda path: path.name)
def test_guide_quotes_the_training_loop_as_it_is(guide):
    """The ```py block: trainer.train()'s loop, line for line, as the guide explains it."""
    source = read(REPO / "trainer.py")
    body = source[source.index("def train(args, mnist, stage):"):]
    body = body[:body.index("\nclass ")]
    quoted = [body for lang, body in code_blocks(read(guide), "py")]
    assert len(quoted) == 1
    assert quoted[0] in body, "the guide's loop is not trainer.train()'s: copy it again"
    assert len(body.splitlines()) <= 50  # on one screen


def markdown_files():
    """Every page of the project: README, the guide and reference pages, the tests' and
    benchmarks' own."""
    pages = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]
    return pages + sorted(path for folder in ("tests", "benchmarks")
                          for path in (REPO / folder).rglob("README.md"))


def anchors(page):
    """The anchors GitHub gives the headings of a Markdown page: lower case, no
    punctuation but - and _, spaces as hyphens; a repeated one gets -1, -2, ..."""
    seen = {}
    for heading in re.findall(r"^#{1,6} +(.+?) *#* *$", without_fences(read(page)), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        seen[slug] = seen.get(slug, -1) + 1
        yield slug if seen[slug] == 0 else f"{slug}-{seen[slug]}"


@pytest.mark.parametrize("page", markdown_files(), ids=lambda path: str(path.relative_to(REPO)))
def test_relative_links_and_pictures_resolve(page):
    text = without_code(read(page))
    targets = LINK.findall(text) + HTML_SOURCE.findall(text)
    broken = []
    for target in targets:
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
            continue  # http:, https:, mailto: ...
        path, _, anchor = target.partition("#")
        linked = (page.parent / path.split("?")[0]).resolve() if path else page
        if not linked.exists() or (anchor and linked.suffix == ".md"
                                   and anchor not in set(anchors(linked))):
            if target not in broken:
                broken.append(target)
    assert not broken, (f"{page.name}: links to missing files or headings: {broken} (the "
                        "end-of-stage dashboards come from: python3 docs/make_pictures.py)")


def test_the_anchors_are_github_s():
    """GitHub's rule on headings with dots, brackets, backticks and dashes, worked out
    by hand: "The run folder (`--save-model DIR`)" is #the-run-folder---save-model-dir."""
    page = DOCS / "reference.md"
    made = set(anchors(page))
    assert {"exit-codes", "the-run-folder---save-model-dir", "predictpy",
            "when-something-goes-wrong"} <= made
    assert "stage-80-on-several-workers-2026-12-07" in set(anchors(REPO / "benchmarks" / "README.md"))


@pytest.mark.parametrize("guide", GUIDES, ids=lambda path: path.name)
def test_every_step_has_a_picture(guide):
    steps = sections(read(guide))
    assert len(steps) == STEPS, [heading for heading, _ in steps]
    for number, (heading, body) in enumerate(steps, start=1):
        assert heading.startswith(f"{number}."), heading
        assert images(body), f"{guide.name}: step '{heading}' shows no picture"


def test_english_guide_is_long_enough():
    words = re.findall(r"[A-Za-z0-9][A-Za-z0-9'’.,%-]*", without_code(read(ENGLISH)))
    assert len(words) >= 3500, len(words)


def test_chinese_guide_covers_what_the_english_one_does():
    english, chinese = read(ENGLISH), read(CHINESE)
    assert len(sections(chinese)) == len(sections(english)) == STEPS
    # the same pictures, step by step: the diagrams with Chinese labels (pictures/zh/),
    # the dashboards as the program draws them
    make_pictures = load_make_pictures()
    diagrams = {name for name, _, _ in make_pictures.DIAGRAMS}

    def in_chinese(target):
        name = target.removeprefix("pictures/")
        return f"pictures/zh/{name}" if name in diagrams else target

    for (en_heading, en_body), (zh_heading, zh_body) in zip(sections(english), sections(chinese)):
        assert set(images(zh_body)) == {in_chinese(t) for t in images(en_body)}, \
            (en_heading, zh_heading)
    # the same code
    assert python_lines(chinese) == python_lines(english)
    # and a text of comparable length: a Chinese character carries about as much as an
    # English word or more, so ask for at least 1.2 characters per English word
    english_words = len(re.findall(r"[A-Za-z0-9][A-Za-z0-9'’.,%-]*", without_code(english)))
    chinese_characters = len(re.findall(r"[\u4e00-\u9fff]", without_code(chinese)))
    assert chinese_characters >= 1.2 * english_words, (chinese_characters, english_words)


# ---------------------------------------------------------------------- README

README_LIMIT = 8000  # bytes: a page a learner reads, not a manual (docs/reference.md is that)


def test_readme_is_one_page_that_links_to_both_guides():
    readme = read(REPO / "README.md")
    assert len(readme.encode("utf-8")) <= README_LIMIT, "move reference text to docs/"
    assert "](docs/codelab.md)" in readme and "](docs/codelab.zh-CN.md)" in readme


def test_readme_s_test_commands_use_declared_markers():
    """The quick start's test commands, and the markers they name exist in pytest.ini."""
    commands = [line.split("#")[0].split() for _, body in code_blocks(read(REPO / "README.md"))
                for line in body.splitlines() if line.startswith("python3 -m pytest")]
    assert ["python3", "-m", "pytest"] in commands
    assert ["python3", "-m", "pytest", "-m", "quick"] in commands
    declared = re.findall(r"^    (\w+):", read(REPO / "pytest.ini"), re.M)
    for command in commands:
        if "-m" in command[3:]:
            assert command[command.index("-m", 3) + 1] in declared, command


def test_readme_s_diff_walkthrough_compares_consecutive_stages():
    from codelab.stages import SCRIPTS
    diffs = re.findall(r"^diff (\S+) (\S+)$", read(REPO / "README.md"), re.M)
    assert len(diffs) >= 2
    for before, after in diffs:
        assert SCRIPTS.index(after) == SCRIPTS.index(before) + 1, (before, after)


def test_readme_s_layout_names_what_is_there():
    """Each line of "Where things are" names a file or folder of the repository, and
    every Python file at the top level that is not a stage is named there."""
    text = read(REPO / "README.md")
    block = code_blocks(text[text.index("\n## Where things are"):])[0][1]
    named = [line.split()[0] for line in block.splitlines() if line.strip()]
    for name in named:
        assert list(REPO.glob(name)), f"README's layout names {name}, which is not there"
    assert "mnist_*.py" in named
    for path in REPO.glob("*.py"):
        if not path.name.startswith("mnist_"):
            assert path.name in named, f"{path.name}: say in README's layout what it is"


def test_guides_show_only_pictures_that_make_pictures_makes():
    make_pictures = load_make_pictures()
    made = {f"pictures/{name}" for name in make_pictures.all_picture_names()}
    shown = {target for guide in GUIDES for target in images(read(guide))}
    assert shown <= made, f"pictures no script makes: {sorted(shown - made)}"
    assert made <= shown, f"pictures made for nothing: {sorted(made - shown)}"


# ------------------------------------------------------------- make_pictures.py

def make_pictures(*args):
    return subprocess.run([sys.executable, str(MAKE_PICTURES), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_dry_run_lists_a_real_run_of_every_stage_and_writes_nothing(tmp_path):
    result = make_pictures("--dry-run", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    module = load_make_pictures()
    for stage, script, *_ in module.STAGES:
        assert (REPO / script).exists(), script
        picture = tmp_path / f"{stage}.png"
        assert f"{script} --headless --save-image" in result.stdout
        assert f"{picture}" in result.stdout or f"{stage}.png" in result.stdout
    assert "--iterations" not in result.stdout  # each stage's own number of steps
    assert "estimate" in result.stdout
    for name in module.all_picture_names():
        assert name in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_one_stage_alone_with_fewer_iterations(tmp_path):
    result = make_pictures("--dry-run", "--stage", "2.1", "--iterations", "50",
                           "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    commands = [line for line in result.stdout.splitlines() if "--save-image" in line]
    assert len(commands) == 1
    assert "mnist_2.1_five_layers_relu_lrdecay.py --headless --save-image" in commands[0]
    assert commands[0].rstrip().endswith("--iterations 50")
    assert "2.1.png" in commands[0]
    module = load_make_pictures()
    listed = {name for name in module.all_picture_names() if name in result.stdout}
    diagrams = {name for name, stage, _ in module.DIAGRAMS if stage == "2.1"}
    assert listed == diagrams | {f"zh/{name}" for name in diagrams} | {"2.1.png"}


def test_plan_selects_by_stage_and_kind():
    module = load_make_pictures()
    everything = module.plan()
    assert [stage for kind, stage, _, _ in everything if kind == "dashboard"] == module.STAGE_IDS
    assert {kind for kind, *_ in module.plan(only="diagrams")} == {"diagram"}
    only = module.plan(["3.1", "4.2"], "dashboards")
    assert [(stage, name) for _, stage, name, _ in only] == [("3.1", "3.1.png"), ("4.2", "4.2.png")]
    assert module.estimate_seconds("4.2") > module.estimate_seconds("1.0")
    assert module.estimate_seconds("1.0", iterations=50) < module.estimate_seconds("1.0")


@pytest.mark.parametrize("args", [["--stage", "9.9"], ["--only", "movies"],
                                  ["--iterations", "0"], ["--iterations", "x"]])
def test_bad_options_are_refused(args, tmp_path):
    result = make_pictures("--dry-run", "--out", str(tmp_path), *args)
    assert result.returncode == 2
    assert "error" in result.stderr


def test_diagrams_of_one_stage_are_drawn_and_renamed_into_place(tmp_path):
    result = make_pictures("--only", "diagrams", "--stage", "2.1", "--language", "en",
                           "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    made = sorted(path.name for path in tmp_path.iterdir())
    assert made == ["lr_decay.png", "sigmoid_relu.png"]  # no temporary file left behind
    for name in made:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_shape_pictures_show_the_stages_networks(tmp_path):
    """The pictures of the convolutional networks take their shapes from the drawing in
    each stage's docstring (which tests/test_stages.py checks against its variables)."""
    module = load_make_pictures()
    for stage in module.CONV_NETWORKS:
        images, dense, _ = module.conv_network(stage)
        assert images[0][:2] == (28, 1) and dense[-1][0] == 10, stage  # digits in, 10 out
        size, channels, _ = images[-1]
        assert dense[0] == (size * size * channels,
                            f"reshape\n{size}·{size}·{channels}"), stage
        for _, channels, made in images[1:]:
            if made.startswith("conv"):  # its weights end in the channels it makes
                assert made.split("\n")[-1].endswith(f", {channels}]"), (stage, made)
    assert module.conv_network("3.0")[0][1][2] == "conv 5x5, stride 1\nW1 [5, 5, 1, 4]"
    module.draw_conv_shapes(tmp_path / "conv_shapes_5.0.png", "5.0")
    assert (tmp_path / "conv_shapes_5.0.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_one_stage_s_diagrams_in_chinese_too(tmp_path):
    module = load_make_pictures()
    if not module.CJK_FONTS_FOUND():
        pytest.skip("no font with Chinese characters (apt install fonts-noto-cjk)")
    options = ["--only", "diagrams", "--stage", "2.1", "--out", str(tmp_path)]
    assert module.main(options + ["--language", "zh"]) == 0  # in this process: quicker
    assert sorted(path.name for path in tmp_path.iterdir()) == ["zh"]
    made = sorted(path.name for path in (tmp_path / "zh").iterdir())
    assert made == ["lr_decay.png", "sigmoid_relu.png"]
    assert module.main(options + ["--language", "en"]) == 0
    for name in made:  # the same drawing, other labels
        assert (tmp_path / "zh" / name).read_bytes() != (tmp_path / name).read_bytes()


@pytest.mark.slow
def test_every_label_of_every_diagram_has_its_chinese(tmp_path):
    """The Chinese diagrams: drawn with every English label put into Chinese (a label
    without a translation stops the drawing and is named), in a CJK font."""
    module = load_make_pictures()
    if not module.CJK_FONTS_FOUND():
        pytest.skip("no font with Chinese characters (apt install fonts-noto-cjk)")
    untranslated = []
    for name, _, maker in module.DIAGRAMS:
        try:
            module.in_chinese(maker)(tmp_path / name)
        except module.MissingTranslation as error:
            untranslated.append(f"{name}: {error}")
    assert not untranslated, "\n".join(untranslated)
    # the drawing went back to English, and the Chinese pictures differ from the English
    english = tmp_path / "english"
    english.mkdir()
    module.draw_tensor(english / "tensor.png")
    assert (english / "tensor.png").read_bytes() != (tmp_path / "tensor.png").read_bytes()
    assert module.LANGUAGE["now"] == "en"


def test_a_label_without_its_chinese_is_named(tmp_path):
    module = load_make_pictures()
    if not module.CJK_FONTS_FOUND():
        pytest.skip("no font with Chinese characters (apt install fonts-noto-cjk)")
    from matplotlib.figure import Figure
    fig = Figure()
    fig.text(0.5, 0.5, "a label nobody translated")
    module.LANGUAGE["now"] = "zh"
    try:
        with pytest.raises(module.MissingTranslation, match="a label nobody translated"):
            module.save_figure(fig, tmp_path / "untranslated.png")
    finally:
        module.LANGUAGE["now"] = "en"
    assert list(tmp_path.iterdir()) == []  # nothing written
