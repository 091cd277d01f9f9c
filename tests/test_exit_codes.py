"""The exit codes that docs/reference.md documents ("Exit codes") are the ones the programs
return: a stage's error and refusal, predict.py's error. No TensorFlow loads: each
program stops before it would."""

import re

import pytest

from helpers import REPO, run_script

REFERENCE = REPO / "docs" / "reference.md"


def documented_codes():
    """{(program, first words of its cell): exit code} from the reference's table,
    program "stage" or "predict"; a row with several codes gives the first."""
    section = REFERENCE.read_text(encoding="utf-8").split("## Exit codes", 1)[1].split("\n#", 1)[0]
    codes = {}
    for row in re.findall(r"^\| *(\d+)[^|]* \| *(.*?) *\| *(.*?) *\|$", section, re.M):
        code, stage, predict = int(row[0]), row[1], row[2]
        for program, cell in (("stage", stage), ("predict", predict)):
            word = re.match(r"[\w ]+?(?=:|,|$)", cell)
            if word:
                codes[(program, word[0])] = code
    return codes


def stage(*flags, cwd):
    return run_script("mnist_1.0_softmax.py", *flags, cwd=cwd, timeout=120)


def test_the_table_names_each_outcome_once():
    codes = documented_codes()
    assert codes[("stage", "done")] == codes[("predict", "done")] == 0
    assert {codes[("stage", "error")], codes[("stage", "refused")]} == {1, 2}
    assert codes[("predict", "partly done")] != codes[("predict", "error")]


def test_the_taken_port_code_is_stage_8_0_s():
    """test_distributed.py holds a real worker on a taken port to this code."""
    from codelab import workers
    assert documented_codes()[("stage", "port taken")] == workers.EXIT_PORT_TAKEN


def test_the_signals_codes_are_the_stages():
    import trainer
    text = REFERENCE.read_text(encoding="utf-8")
    row = re.search(r"^\| ([\d, ]+) \| stopped by Ctrl-C, SIGTERM, SIGHUP", text, re.M)
    assert [int(code) for code in row[1].split(",")] == [
        trainer.STOP_SIGNALS[name][1] for name in ("SIGINT", "SIGTERM", "SIGHUP")]


def test_a_stage_error_exits_as_documented(tmp_path):
    """A --data-dir that is a file: mnistdata's error, before TensorFlow loads."""
    not_a_folder = tmp_path / "digits.txt"
    not_a_folder.write_text("not the MNIST files")
    result = stage("--headless", "--data-dir", str(not_a_folder), cwd=tmp_path)
    assert result.returncode == documented_codes()[("stage", "error")], result.stderr
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_refused_stage_flag_exits_as_documented(tmp_path):
    """--save-model naming a file: refused while the flags are read."""
    a_file = tmp_path / "model"
    a_file.write_text("")
    result = stage("--save-model", str(a_file), cwd=tmp_path)
    assert result.returncode == documented_codes()[("stage", "refused")], result.stderr
    assert result.stderr.startswith("usage: ") and "error: --save-model" in result.stderr


@pytest.mark.parametrize("flags", [["--model", "MISSING"], ["--modle", "x"]],
                         ids=["no model", "mistyped flag"])
def test_predict_errors_exit_as_documented(flags, tmp_path, capsys):
    import predict
    image = tmp_path / "digit.png"
    image.write_bytes(b"")
    try:
        code = predict.main([*[str(tmp_path / f) if f == "MISSING" else f for f in flags],
                             str(image)])
    except SystemExit as exit_:  # argparse's own exit
        code = exit_.code
    assert code == documented_codes()[("predict", "error")]
    assert "error: " in capsys.readouterr().err
