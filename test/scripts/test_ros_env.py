"""scripts/ros_env.sh: the environment it sets up for the pip-wheel ROS build and its tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "ros_env.sh"
VARIABLES = (
    "LIQUID_CONTROLLER_ROOT",
    "VIRTUAL_ENV",
    "PATH",
    "AMENT_PREFIX_PATH",
    "CMAKE_PREFIX_PATH",
    "PYTHONPATH",
    "LD_LIBRARY_PATH",
    "ROS_AUTOMATIC_DISCOVERY_RANGE",
)


def sourced_environment(
    shell: str, tmp_path: Path, *, times: int = 1, env: dict[str, str] | None = None
) -> dict[str, str]:
    """Source the script ``times`` times in a clean ``shell`` and return the variables."""
    source = " && ".join([f". {SCRIPT}"] * times)
    printer = "; ".join(f'echo "{name}=${{{name}:-}}"' for name in VARIABLES)
    result = subprocess.run(
        [shell, "-c", f"{source} && {printer}"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **(env or {})},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(line.split("=", 1) for line in result.stdout.splitlines())


def fake_checkout(tmp_path: Path, *, built: bool) -> Path:
    """A checkout root with a ROS venv and, if ``built``, an install prefix (directories only)."""
    root = tmp_path / "checkout"
    (root / ".venv-ros" / "bin").mkdir(parents=True)
    if built:
        install = root / "build" / "ros_ws" / "install" / "liquid_controller"
        (install / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    return root


def test_bash_finds_the_repository_from_the_script_path(tmp_path):
    env = sourced_environment("bash", tmp_path)
    assert env["LIQUID_CONTROLLER_ROOT"] == str(ROOT)
    assert env["VIRTUAL_ENV"] == str(ROOT / ".venv-ros")


def test_the_venv_is_the_underlay(tmp_path):
    root = fake_checkout(tmp_path, built=False)
    venv = root / ".venv-ros"
    env = sourced_environment("bash", tmp_path, env={"LIQUID_CONTROLLER_ROOT": str(root)})
    assert env["VIRTUAL_ENV"] == str(venv)
    assert env["PATH"].split(":")[0] == str(venv / "bin")
    assert env["AMENT_PREFIX_PATH"] == str(venv)
    assert env["CMAKE_PREFIX_PATH"] == str(venv)
    assert env["PYTHONPATH"] == env["LD_LIBRARY_PATH"] == ""
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"


def test_the_built_package_is_an_overlay_when_it_exists(tmp_path):
    root = fake_checkout(tmp_path, built=True)
    install = root / "build" / "ros_ws" / "install" / "liquid_controller"
    env = sourced_environment("bash", tmp_path, env={"LIQUID_CONTROLLER_ROOT": str(root)})
    assert env["AMENT_PREFIX_PATH"].split(":") == [str(install), str(root / ".venv-ros")]
    assert env["LD_LIBRARY_PATH"] == str(install / "lib")
    assert env["PYTHONPATH"] == str(install / "lib" / "python3.11" / "site-packages")


def test_sourcing_twice_adds_nothing_twice(tmp_path):
    env = {"LIQUID_CONTROLLER_ROOT": str(fake_checkout(tmp_path, built=True))}
    assert sourced_environment("bash", tmp_path, times=2, env=env) == sourced_environment(
        "bash", tmp_path, env=env
    )


def test_a_preset_discovery_range_is_kept(tmp_path):
    env = sourced_environment("bash", tmp_path, env={"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"})
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "SUBNET"


def test_posix_sh_needs_the_root_given_and_says_so(tmp_path):
    result = subprocess.run(
        ["sh", "-c", f". {SCRIPT}"],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "set LIQUID_CONTROLLER_ROOT" in result.stderr
    given = sourced_environment("sh", tmp_path, env={"LIQUID_CONTROLLER_ROOT": str(ROOT)})
    assert given["LIQUID_CONTROLLER_ROOT"] == str(ROOT)
