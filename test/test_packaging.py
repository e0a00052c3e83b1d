"""A non-editable pip install carries the data files (msg, config, default model) it needs."""

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(*command: str | Path, cwd: Path) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_non_editable_install_from_sdist_finds_its_share_folder(tmp_path):
    """Build an sdist, pip-install it into a fresh venv, use the installed msgs, model, configs.

    The venv reuses this interpreter's dependencies through a .pth line (no downloads, no
    --system-site-packages: the base interpreter's own packages stay out), so the installed
    copy of liquid_controller is the only one it can import.
    """
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source)
    for folder in ("msg", "config", "resource", "description"):
        shutil.copytree(REPO / folder, source / folder)
    shutil.copytree(
        REPO / "liquid_controller",
        source / "liquid_controller",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    dist = tmp_path / "dist"
    build = "from setuptools import build_meta; print(build_meta.build_sdist({!r}))"
    sdist = dist / run(sys.executable, "-c", build.format(str(dist)), cwd=source).split()[-1]

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path)
    Path(site.strip(), "dev_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet"]
    run(*pip, "--no-deps", "--no-build-isolation", "--no-index", sdist, cwd=tmp_path)

    probe = (
        "import liquid_controller, liquid_controller.data as data\n"
        "store = data.typestore_with_custom_messages()\n"
        "print(liquid_controller.__file__)\n"
        "print(data.find_msg_dir())\n"
        "print(data.SAFETY_STATUS in store.types and data.POLICY_STATE in store.types)\n"
        "from liquid_controller.package_files import find_data_file\n"
        "print(find_data_file('resource/default_policy.npz', key='model'))\n"
    )
    # -I: no current directory or user site on sys.path, so the checkout cannot leak in.
    output = run(python, "-I", "-c", probe, cwd=tmp_path).split()
    package_file, msg_dir, registered, model = output
    assert Path(package_file).is_relative_to(venv)
    assert Path(msg_dir) == venv / "share" / "liquid_controller" / "msg"
    assert registered == "True"
    for msg_file in (REPO / "msg").glob("*.msg"):
        assert (Path(msg_dir) / msg_file.name).read_bytes() == msg_file.read_bytes()
    share = venv / "share" / "liquid_controller"
    assert Path(model) == share / "resource" / "default_policy.npz"
    # The main job runs from the install alone, on its installed defaults.
    demo = (
        "from liquid_controller.cli import main; raise SystemExit(main(['demo', '--seconds', '1']))"
    )
    printed = run(python, "-I", "-c", demo, cwd=tmp_path)
    assert f"safety config  {share / 'config' / 'sim_safety.yaml'}" in printed
    assert "commands       0 limit violations" in printed
