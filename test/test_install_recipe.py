"""The apt ROS 2 install recipe: one script, quoted by the README, run by the Dockerfile.

Neither apt ROS nor a Docker daemon is available on these machines, so the recipe is not
executed here. These tests keep its copies from drifting apart: the README's block is the
script word for word, the Dockerfile installs and builds by running the script and nothing
else, the script's pip bounds are pyproject.toml's, and the README's `docker run` line has
the compose file's DDS settings.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

if sys.version_info >= (3, 11):
    import tomllib
else:
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "ros_install_recipe.sh"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"
README_MARKER = (
    "<!-- scripts/ros_install_recipe.sh, word for word (test/test_install_recipe.py) -->"
)
# apt's message packages (Jazzy, Humble) are compiled against NumPy 1.
NUMPY_CAP = "<2"


def recipe_body(script: str) -> str:
    """The commands of the recipe: everything after the script's `set -e` line."""
    lines = script.splitlines()
    if "set -e" not in lines:
        raise ValueError("the recipe script has no `set -e` line before its commands")
    return "\n".join(lines[lines.index("set -e") + 1 :]).strip("\n")


def fenced_block_after(text: str, marker: str) -> str:
    """The body of the first fenced code block following ``marker`` in ``text``."""
    if text.count(marker) != 1:
        raise ValueError(f"expected the marker {marker!r} once, found {text.count(marker)}")
    match = re.compile(r"```[a-z]*\n(.*?)\n```", re.S).search(text, text.index(marker))
    if match is None:
        raise ValueError(f"no fenced block after {marker!r}")
    return match.group(1)


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    instructions = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def pip_requirements(body: str) -> list[Requirement]:
    """The requirements of the recipe's one `pip install` command."""
    commands = [shlex.split(line) for line in body.splitlines() if " pip install " in line]
    if len(commands) != 1:
        raise ValueError(f"expected one pip install command in the recipe, found {len(commands)}")
    words = commands[0]
    return [Requirement(word) for word in words[words.index("install") + 1 :]]


@pytest.fixture(scope="module")
def body() -> str:
    return recipe_body(SCRIPT.read_text())


def test_readme_quotes_the_recipe_script_word_for_word(body):
    readme = (ROOT / "README.md").read_text()
    assert fenced_block_after(readme, README_MARKER) == body


def test_recipe_script_parses_with_bash():
    result = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_recipe_follows_the_ros_docs_venv_way(body):
    """A venv that sees apt's packages, ignored by colcon, and colcon run by its Python."""
    lines = [line for line in body.splitlines() if line and not line.startswith("#")]
    venv = "python3 -m venv --system-site-packages venv"
    assert venv in lines
    after_venv = lines[lines.index(venv) :]
    assert "touch venv/COLCON_IGNORE" in after_venv
    assert after_venv[-2:] == ["source venv/bin/activate", "python -m colcon build"]
    assert 'rosdep install --from-paths src --ignore-src -y --rosdistro "$ROS_DISTRO"' in lines
    assert not any(line.startswith(("pip ", "sudo pip", "python3 -m pip")) for line in lines), (
        "pip only inside the venv (PEP 668 refuses the system Python on Ubuntu 24.04)"
    )


def test_recipe_pip_bounds_are_pyprojects_with_numpy_below_2(body):
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = {
        req.name: req.specifier for req in map(Requirement, pyproject["project"]["dependencies"])
    }
    declared["numpy"] = declared["numpy"] & SpecifierSet(NUMPY_CAP)
    installed = {req.name: req.specifier for req in pip_requirements(body)}
    assert installed == declared


def test_a_drifted_pip_bound_is_detected():
    """The comparison above sees a changed bound (not only a missing package)."""
    drifted = "venv/bin/python -m pip install 'daqp>=0.4' 'numpy>=1.23,<2'"
    assert {r.name: r.specifier for r in pip_requirements(drifted)}["daqp"] != SpecifierSet(">=0.5")


def test_dockerfile_installs_and_builds_only_through_the_recipe():
    instructions = dockerfile_instructions(DOCKERFILE.read_text())
    assert instructions[0] == ("ARG", "ROS_DISTRO=jazzy")
    assert instructions[1] == ("FROM", "ros:${ROS_DISTRO}")
    assert ("WORKDIR", "/ws") in instructions
    assert ("COPY", ". src/liquid_controller") in instructions
    runs = [arguments for keyword, arguments in instructions if keyword == "RUN"]
    recipe_runs = [run for run in runs if "scripts/ros_install_recipe.sh" in run]
    assert len(recipe_runs) == 1
    assert recipe_runs[0].startswith("bash src/liquid_controller/scripts/ros_install_recipe.sh")
    for run in runs:
        if run in recipe_runs:
            continue
        words = shlex.split(run)
        assert not {"rosdep", "colcon", "pip", "pip3"} & set(words), run
        for start in (i for i, word in enumerate(words) if word == "install"):
            packages = [w for w in words[start + 1 :] if not w.startswith("-")]
            # Only sudo, which the recipe (written for a user with sudo) calls.
            assert packages[: packages.index("&&") if "&&" in packages else None] == ["sudo"], run


def test_dockerfile_launches_the_robot_launch_file():
    instructions = dict(dockerfile_instructions(DOCKERFILE.read_text()))
    command = yaml.safe_load(instructions["CMD"])  # exec form: a JSON list
    assert command[:2] == ["bash", "-c"]
    assert "source /ws/install/setup.bash" in command[2]
    assert command[2].endswith("exec ros2 launch liquid_controller robot.launch.py")
    assert (ROOT / "launch" / "robot.launch.py").is_file()
    assert instructions["STOPSIGNAL"] == "SIGINT"


def test_docker_run_line_has_the_compose_settings():
    compose = yaml.safe_load(COMPOSE.read_text())["services"]["liquid_controller"]
    assert compose["network_mode"] == "host"
    assert compose["ipc"] == "host"
    assert compose["stop_signal"] == "SIGINT"
    assert compose["build"] == {
        "context": "..",
        "dockerfile": "docker/Dockerfile",
        "args": {"ROS_DISTRO": "${ROS_DISTRO:-jazzy}"},
    }
    environment = set(compose["environment"])
    assert {"ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_LOCALHOST_ONLY"} <= environment
    assert "RMW_IMPLEMENTATION" in environment

    readme = (ROOT / "README.md").read_text()
    (run_line,) = re.findall(r"^docker run (?:.*\\\n)*.*", readme, re.M)
    words = shlex.split(run_line.replace("\\\n", " "))
    assert {"--net=host", "--ipc=host"} <= set(words)
    passed = {words[i + 1] for i, word in enumerate(words) if word == "-e"}
    assert passed == environment
    assert words[-1] == compose["image"].replace("${ROS_DISTRO:-jazzy}", "jazzy")


def test_dockerignore_keeps_the_hosts_venvs_and_build_outputs_out():
    patterns = [
        line.strip()
        for line in (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    makefile = (ROOT / "Makefile").read_text()
    venvs = re.findall(r"^\w*VENV := (\S+)$", makefile, re.M)
    assert {".venv", ".venv-ros"} <= set(venvs)
    for path in [*venvs, "build", "install", "log"]:
        assert any(fnmatch.fnmatch(path, pattern) for pattern in patterns), path


def test_raspberry_pi_section_names_every_extra_to_skip():
    """A new extra in pyproject.toml is classed for the Pi (skipped) in the README too."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Raspberry Pi") :]
    section = section[: section.index("\n## ")]
    (skip_line,) = re.findall(r"^- Extras to skip.*?(?=^- |^$)", section, re.M | re.S)
    named = set(re.findall(r"`([a-z]+)`", skip_line))
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert set(extras["optional-dependencies"]) <= named
