"""A built wheel installs into a fresh venv and its console script runs."""
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_installs_and_runs(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(dist), str(ROOT)], check=True, capture_output=True, timeout=600)
    (wheel,) = dist.glob("creative_gan-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "creative_gan/pipelines/digits/plugin.py" in names
    assert "creative_gan/cli.py" in names
    assert "creative_gan/assets/audio-default/model.safetensors" in names
    assert not any(n.startswith(("pipelines/", "demos/", "tests/")) for n in names)
    assert any(n.endswith("entry_points.txt") for n in names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # dependencies (torch & co.) come from this environment, the package itself from the wheel:
    # a plain path entry, so this environment's editable-install hook is not processed
    Path(site, "deps_from_test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    exe = venv / "bin" / "creative-gan"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "train" in out.stdout and "digits" in out.stdout
    listed = subprocess.run([str(exe), "list"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert "digits" in listed.stdout.split()
    where = subprocess.run([str(py), "-c", "import creative_gan.pipelines.digits.plugin as m; print(m.__file__)"],
                           capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert where.stdout.strip().startswith(str(venv)), where.stdout + where.stderr
    module = subprocess.run([str(py), "-m", "creative_gan", "list"], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    assert module.returncode == 0 and "digits" in module.stdout
