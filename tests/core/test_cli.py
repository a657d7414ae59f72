"""CLI behaviour shared by all pipelines: one-line errors, exit codes, seeds, listing."""
import subprocess
import sys

import pytest

from creative_gan.cli import main, parse_seeds
from creative_gan.errors import UsageError


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, needle):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("creative-gan: error:") and needle in lines[0], lines[0]
    assert "Traceback" not in err


def test_list_prints_registered_pipelines(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0 and "digits" in out.split()


@pytest.mark.parametrize("argv, needle", [
    (["frobnicate"], "unknown verb 'frobnicate'"),
    (["train"], "train needs a pipeline"),
    (["train", "nope"], "unknown pipeline 'nope'"),
    (["train", "digits", "--preset", "nope"], "unknown preset 'nope'"),
    (["train", "digits", "--loss", "nope", "--steps", "1"], "unknown loss 'nope'"),
    (["train", "digits", "--steps", "0"], "steps must be at least 1"),
    (["train", "digits", "--set", "lr=1"], "unknown training option(s): lr"),
    (["train", "digits", "--set", "oops"], "expected KEY=VALUE"),
    (["train", "digits", "--bogus"], "unrecognized arguments: --bogus"),
    (["sample", "digits", "--model", "/no/such/model", "-o", "x.png"], "no such file, folder or shipped model"),
    (["evaluate", "digits"], "the following arguments are required: --model"),
])
def test_errors_are_one_line(capsys, argv, needle):
    code, _, err = run(capsys, *argv)
    assert_one_line_error(code, err, needle)


def test_bad_model_file_is_one_line(capsys, tmp_path):
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"\x80\x04garbage")
    code, _, err = run(capsys, "sample", "digits", "--model", str(bad), "--seeds", "0-3", "-o",
                       str(tmp_path / "out.png"))
    assert_one_line_error(code, err, "not a release folder")
    assert not (tmp_path / "out.png").exists()


def test_seed_parsing():
    assert parse_seeds("0-3,10") == [0, 1, 2, 3, 10]
    assert parse_seeds("7") == [7]
    for bad in ("3-1", "a", "", "1-x"):
        with pytest.raises(UsageError):
            parse_seeds(bad)


def test_python_dash_m_and_help():
    proc = subprocess.run([sys.executable, "-m", "creative_gan", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "Verbs:" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "creative_gan", "train", "digits", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "--preset" in proc.stdout and "--resume" in proc.stdout
