"""The measured figures have one copy, benchmarks/results.json: the pages that quote
them agree with it, and the benchmarks write it. A re-measure that changes a figure
fails here until every page says the new one."""

import json
import os
import re
import sys

import pytest

from codelab import stages
from helpers import REPO

MEASURED = stages.MEASURED
LADDER = MEASURED["ladder"]["stages"]
SPEEDRUN = MEASURED["speedrun"]["seeds"]


def read(path):
    return open(os.path.join(REPO, path), encoding="utf-8").read()


def test_readme_stage_table_quotes_the_ladder():
    rows = re.findall(r"^\| `(mnist_[\w.]+\.py)` \|.*\| ([\d.]+)(?: \(final\))? \| [^|]* \|$",
                      read("README.md"), re.MULTILINE)
    quoted = dict(rows)
    for stage, script in stages.STAGES:
        if stage not in LADDER:
            continue
        figures = LADDER[stage]
        expected = figures["final_test_accuracy"] if stage in stages.PROMISES \
            else figures["max_test_accuracy"]
        assert quoted.get(script) == f"{expected:.4f}", (stage, quoted.get(script))
    assert f"seed 0, on 2 CPU cores, {MEASURED['ladder']['date']}" in read("README.md")


def test_benchmarks_readme_ladder_table_is_the_recorded_run():
    text = read("benchmarks/README.md")
    assert f"## The accuracy ladder, {MEASURED['ladder']['date']}" in text
    for stage, figures in LADDER.items():
        if "date" in figures:
            continue  # measured on its own, later: in its stage's own section
        row = (f"| {stage} | {figures['steps']} | {figures['max_test_accuracy']:.4f} | "
               f"{figures['final_test_accuracy']:.4f} |")
        assert row in text, row


@pytest.mark.parametrize("section", ["speedrun", "speedrun_5.1"])
def test_the_speedrun_figures_quoted_are_the_recorded_seeds(section):
    seeds = MEASURED[section]["seeds"]
    finals = [seed["final_test_accuracy"] for seed in seeds.values()]
    loops = [seed["loop_seconds"] for seed in seeds.values()]
    quoted = (f"{min(finals):.4f}-{max(finals):.4f} (seeds 0-{len(seeds) - 1}) after a "
              f"training loop of {min(loops):.1f}-{max(loops):.1f} s")
    benchmarks = read("benchmarks/README.md")
    assert quoted in " ".join(benchmarks.split())  # its summary, "In short"
    for seed, figures in seeds.items():
        row = f"| {seed} | {figures['final_test_accuracy']:.4f} | {figures['loop_seconds']:.1f} s |"
        assert row in benchmarks, row


def test_the_guides_quote_stage_5_1_s_recorded_seeds():
    finals = [f"{seed['final_test_accuracy']:.4f}"
              for seed in MEASURED["speedrun_5.1"]["seeds"].values()]
    english = " ".join(read("docs/codelab.md").split())
    chinese = "".join(read("docs/codelab.zh-CN.md").split())
    assert f"final test accuracy {', '.join(finals[:-1])} and {finals[-1]}**" in english
    assert f"最终测试准确率{'、'.join(finals[:-1])}和{finals[-1]}**" in chinese


def test_ladder_targets_sit_below_what_was_measured():
    for stage, target in stages.LADDER_TARGETS.items():
        if stage in stages.PROMISES:
            assert LADDER[stage]["final_test_accuracy"] >= target
        else:
            best = LADDER[stage]["max_test_accuracy"]
            assert best - 0.005 < target <= best - stages.LADDER_MARGIN + 1e-9, stage


def test_a_benchmark_records_its_figures_in_place(tmp_path, monkeypatch):
    sys.path.insert(0, os.path.join(REPO, "benchmarks"))
    try:
        import runs
    finally:
        sys.path.remove(os.path.join(REPO, "benchmarks"))
    copy = tmp_path / "results.json"
    copy.write_text(read("benchmarks/results.json"), encoding="utf-8")
    monkeypatch.setattr(runs, "RESULTS", copy)
    monkeypatch.setattr(runs, "REPO", tmp_path)
    runs.record("ladder", "bench", {"3.1": {"steps": 10000, "max_test_accuracy": 0.9941}},
                 "stages")
    written = json.loads(copy.read_text(encoding="utf-8"))
    assert written["ladder"]["stages"]["3.1"] == {"steps": 10000, "max_test_accuracy": 0.9941}
    assert written["ladder"]["stages"]["1.0"] == LADDER["1.0"]  # the others kept
    assert written["ladder"]["command"] == "bench"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", written["ladder"]["date"])
    assert written["speedrun"] == MEASURED["speedrun"]  # other sections untouched
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary left


def duration(seconds, chinese=False):
    """As the guides write a run's length: 54 s, 5 min 51 s (54 秒, 5 分 51 秒)."""
    if seconds < 100:
        return f"{seconds} 秒" if chinese else f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} 分 {seconds:02d} 秒" if chinese else f"{minutes} min {seconds:02d} s"


@pytest.mark.parametrize("guide, chinese", [("docs/codelab.md", False),
                                            ("docs/codelab.zh-CN.md", True)])
def test_the_guides_quote_the_recorded_runs(guide, chinese):
    text = read(guide)
    flat = " ".join(text.split())
    for stage, figures in LADDER.items():  # the timing table: every stage that has a time
        if "seconds" not in figures:
            continue
        row = f"| {stage} | {figures['steps']:,} | {duration(figures['seconds'], chinese)} |"
        assert row in text, row
    # "Expect max test accuracy M, final F (our run, 10,000 steps, T": every stage that
    # says it, with the recorded figures.
    expect = (r"\*\*最高测试准确率 ([\d.]+)，最终 ([\d.]+)\*\*（我们的运行，([\d,]+) 步，(?:机器繁忙时 )?([^；）]+)"
              if chinese else
              r"\*\*max test accuracy ([\d.]+), final ([\d.]+)\*\* \(our run, ([\d,]+) steps, ([^;)]+?)(?: on|;|\))")
    quoted = re.findall(expect, flat)
    assert len(quoted) >= 7, quoted
    by_accuracy = {f"{f['max_test_accuracy']:.4f}": f for f in LADDER.values()}
    for best, final, steps, took in quoted:
        figures = by_accuracy[best]
        assert (final, steps) == (f"{figures['final_test_accuracy']:.4f}",
                                  f"{figures['steps']:,}"), best
        assert took.strip() == duration(figures["seconds"], chinese), (best, took)
    loops = [seed["loop_seconds"] for seed in SPEEDRUN.values()]
    span = (f"{min(loops):.1f} 到 {max(loops):.1f} 秒" if chinese
            else f"{min(loops):.1f} to {max(loops):.1f} s")
    assert flat.count(span) >= 2, span


@pytest.mark.parametrize("guide, chinese", [("docs/codelab.md", False),
                                            ("docs/codelab.zh-CN.md", True)])
def test_digits_wrong_are_counted_from_the_accuracy_they_follow(guide, chinese):
    """"0.9909 ... only 91 test digits wrong at the best point": each count of digits
    wrong after an "Expect" line is 10,000 times what the accuracy it follows leaves."""
    lines = [line.strip() for line in read(guide).splitlines()]
    flat = ("" if chinese else " ").join(lines)  # Chinese lines join without a space
    expect = (r"预期\*\*(?:最高|最终)测试准确率 ([\d.]+)" if chinese
              else r"Expect \*\*(?:max|final) test accuracy ([\d.]+)")
    count = (r"(?:最好的时候只认错|1 万张测试数字里错) ?(\d+) 张" if chinese
             else r"(\d+) test digits wrong")
    sections = re.split(expect, flat)[1:]  # accuracy, the text up to the next "Expect", ...
    checked = 0
    for accuracy, text in zip(sections[::2], sections[1::2]):
        for wrong in re.findall(count, text):
            assert int(wrong) == round((1 - float(accuracy)) * 10000), (accuracy, wrong)
            checked += 1
    assert checked >= 4, checked  # 3.0, 3.1, 5.0, 6.0 say how many
