"""CLI behaviour shared by all pipelines: one-line errors, exit codes, seeds, listing, signals."""
import os
import signal
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
    (["train", "digits", "--steps", "0"], "steps must be in [1, "),
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


@pytest.mark.parametrize("verb", ["train", "sample", "evaluate"])
def test_verb_help_without_a_pipeline(capsys, verb):
    code, out, err = run(capsys, verb, "--help")
    assert code == 0 and err == ""
    assert f"creative-gan {verb} <pipeline>" in out and "digits" in out


@pytest.mark.parametrize("key, value, needle", [
    ("steps", "abc", "steps must be a whole number"),
    ("steps", "1.5", "steps must be a whole number"),
    ("seed", "1e30", "seed must be a whole number"),
    ("lr_g", "-1", "lr_g must be in (0.0, 10.0]"),
    ("lr_d", "NaN", "lr_d must be a finite number"),
    ("snapshot_every", "0", "snapshot_every must be in [1, "),
    ("betas_g", "5", "betas_g must be a list of 2 numbers"),
    ("betas_d", "[0.5, 1.5]", "betas_d must be in [0.0, 0.9999]"),
    ("amp", "7", "amp must be true or false"),
    ("regularisers", '{"r1": "x"}', "regularisers must be a number"),
])
def test_every_option_is_type_and_range_checked(capsys, tmp_path, key, value, needle):
    code, _, err = run(capsys, "train", "digits", "--out", str(tmp_path / "run"), "--set", f"{key}={value}")
    assert_one_line_error(code, err, needle)
    assert not (tmp_path / "run").exists()


def test_every_numeric_option_has_a_range():
    import dataclasses
    import typing

    from creative_gan.options import RANGES, TrainOptions

    hints = typing.get_type_hints(TrainOptions)
    numeric = {f.name for f in dataclasses.fields(TrainOptions)
               if hints[f.name] in (int, float) or typing.get_origin(hints[f.name]) is tuple
               or typing.get_args(hints[f.name])[1:] == (float,)}
    assert numeric - set(RANGES) == set()


def test_unbuildable_model_options_are_one_line_naming_the_option(capsys, tmp_path):
    code, _, err = run(capsys, "train", "digits", "--preset", "tiny", "--no-progress", "--out",
                       str(tmp_path / "run"), "--set", "model.latent_dim=0")
    assert_one_line_error(code, err, "latent_dim")
    assert list(tmp_path.iterdir()) == []


def test_resume_summary_counts_the_steps_this_run_added(capsys, tmp_path):
    out = str(tmp_path / "run")
    code, stdout, _ = run(capsys, "train", "digits", "--preset", "tiny", "--no-progress", "--out", out)
    assert code == 0 and "trained 4 steps in" in stdout
    code, _, err = run(capsys, "train", "digits", "--preset", "tiny", "--no-progress", "--out", out)
    assert_one_line_error(code, err, "already holds a training run; add --resume")
    code, stdout, _ = run(capsys, "train", "digits", "--preset", "tiny", "--no-progress", "--out", out,
                          "--resume", "--steps", "6")
    assert code == 0 and "trained 2 steps (now at step 6)" in stdout, stdout


@pytest.mark.parametrize("device", ["nonsense", "cuda:99"])
def test_unusable_device_is_one_line_before_any_work(capsys, tmp_path, device):
    code, _, err = run(capsys, "sample", "digits", "--model", "digits-default", "--device", device,
                       "-o", str(tmp_path / "grid.png"))
    assert_one_line_error(code, err, device)
    assert list(tmp_path.iterdir()) == []


def test_output_problems_are_found_before_any_work(capsys, tmp_path):
    (tmp_path / "taken").mkdir()
    code, _, err = run(capsys, "evaluate", "digits", "--model", "digits-default", "--json", str(tmp_path / "taken"))
    assert_one_line_error(code, err, "is a folder")
    code, _, err = run(capsys, "evaluate", "digits", "--model", "digits-default", "--json",
                       str(tmp_path / "nowhere" / "m.json"))
    assert_one_line_error(code, err, "does not exist")


def test_signal_handlers_are_the_cli_s_alone(monkeypatch):
    """main() installs SIGTERM/SIGHUP handlers only while it runs; importing the library installs none."""
    import creative_gan.cli as cli
    import creative_gan.release  # noqa: F401
    from creative_gan.stop_signals import raise_terminated

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)
    assert raise_terminated not in before
    during = []
    monkeypatch.setattr(cli, "_run", lambda argv: during.append(
        (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP))) or 0)
    assert main(["list"]) == 0
    assert during == [(raise_terminated, raise_terminated)]
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)) == before


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_stop_signal_is_one_line_and_its_exit_code(capsys, monkeypatch, sig, code):
    import creative_gan.cli as cli

    def killed(argv):
        os.kill(os.getpid(), sig)
        raise AssertionError("the signal handler did not raise")

    monkeypatch.setattr(cli, "_run", killed)
    assert main(["list"]) == code
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"creative-gan: stopped by {signal.Signals(sig).name}"]


def test_resume_keeps_the_runs_own_options(capsys, tmp_path):
    """``--resume`` continues with the run's saved options (its ``--set`` values, model options included), not
    the preset's; flags and ``--set`` given with it change them on top; unreadable saved options are one line."""
    import json

    out = tmp_path / "run"
    base = ["train", "digits", "--preset", "tiny", "--no-progress", "--out", str(out)]
    code, _, _ = run(capsys, *base, "--steps", "2", "--set", "lr_g=0.00123", "--set", "model.latent_dim=12")
    assert code == 0
    code, stdout, _ = run(capsys, *base, "--resume", "--steps", "4")
    assert code == 0 and "now at step 4" in stdout                 # latent_dim 12 again, or G would not fit
    saved = json.loads((out / "options.json").read_text())
    assert saved["lr_g"] == 0.00123 and saved["model"]["latent_dim"] == 12 and saved["steps"] == 4
    code, _, _ = run(capsys, *base, "--resume", "--steps", "5", "--set", "lr_d=0.00077")
    saved = json.loads((out / "options.json").read_text())
    assert code == 0 and saved["lr_d"] == 0.00077 and saved["lr_g"] == 0.00123
    (out / "options.json").write_text("{broken")
    code, _, err = run(capsys, *base, "--resume", "--steps", "6")
    assert_one_line_error(code, err, "unreadable run options")
