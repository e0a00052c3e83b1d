"""The colcon build products: executables, data files, Python package and generated messages.

Runs against the install space that ``make ros-build`` produced (see conftest.py).
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXECUTABLES = (
    "policy_node",
    "safety_filter_node",
    "controller_node",
    "sim_node",
    "policy_state_plot",
)
SHARE_FILES = (
    "package.xml",
    "launch/robot.launch.py",
    "launch/replay.launch.py",
    "launch/sim.launch.py",
    "launch/no_overrides.params.yaml",
    "config/policy_node.yaml",
    "config/safety_filter_node.yaml",
    "config/controller_node.yaml",
    "config/safety.yaml",
    "config/sim_safety.yaml",
    "config/sim_node.yaml",
    "description/diff_drive.urdf",
    "description/tracks/kidney.yaml",
    "config/fastdds_large_messages.xml",
    "resource/default_policy.npz",
    "msg/SafetyStatus.msg",
    "msg/PolicyState.msg",
)
# Everything the nodes import must work without torch (the ROS venv has none).
TORCH_FREE_MODULES = (
    "liquid_controller.runtime",
    "liquid_controller.sensing",
    "liquid_controller.safety",
    "liquid_controller.control",
    "liquid_controller.ros.paths",
)


def site_packages(install_prefix: Path) -> Path:
    (path,) = install_prefix.glob("lib/python3*/site-packages")
    return path


@pytest.mark.parametrize("executable", EXECUTABLES)
def test_executable_is_installed_for_ros2_run(install_prefix, executable):
    path = install_prefix / "lib" / "liquid_controller" / executable
    assert os.access(path, os.X_OK), f"{path} missing or not executable"
    shebang = path.read_text().splitlines()[0]
    interpreter = Path(shebang.removeprefix("#!"))
    assert shebang.startswith("#!") and os.access(interpreter, os.X_OK), shebang
    assert f"from liquid_controller.ros.{executable} import main" in path.read_text()
    module = site_packages(install_prefix) / "liquid_controller" / "ros" / f"{executable}.py"
    assert module.is_file(), f"{executable} runs {module}, which is not installed"


@pytest.mark.parametrize("relative_path", SHARE_FILES)
def test_data_file_is_installed_in_share(install_prefix, relative_path):
    path = install_prefix / "share" / "liquid_controller" / relative_path
    assert path.is_file(), f"{relative_path} is not installed (is it in the checkout?)"


def test_installed_python_package_matches_the_sources(install_prefix):
    """A stale build (sources changed, no `make ros-build`) fails here, not in odd ways later."""
    installed = site_packages(install_prefix) / "liquid_controller"
    sources = sorted((ROOT / "liquid_controller").rglob("*.py"))
    assert sources
    stale = [
        str(source.relative_to(ROOT))
        for source in sources
        if not (installed / source.relative_to(ROOT / "liquid_controller")).is_file()
        or (installed / source.relative_to(ROOT / "liquid_controller")).read_bytes()
        != source.read_bytes()
    ]
    assert not stale, f"install space out of date (run `make ros-build`): {stale}"


def _msg_field_names(msg_file: Path) -> list[str]:
    names = []
    for line in msg_file.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and "=" not in line:  # skip comments and constants
            names.append(line.split()[1])
    return names


@pytest.mark.parametrize("msg_file", sorted((ROOT / "msg").glob("*.msg")), ids=lambda p: p.stem)
def test_generated_message_has_the_fields_of_its_msg_file(install_prefix, msg_file):
    msg_module = importlib.import_module("liquid_controller.msg")
    msg_type = getattr(msg_module, msg_file.stem)
    assert Path(msg_module.__file__).is_relative_to(install_prefix)
    assert list(msg_type.get_fields_and_field_types()) == _msg_field_names(msg_file)


@pytest.mark.parametrize("module_name", TORCH_FREE_MODULES)
def test_package_imports_from_the_install_space_without_torch(install_prefix, module_name):
    module = importlib.import_module(module_name)
    assert Path(module.__file__).is_relative_to(install_prefix), module.__file__


def test_install_space_registers_the_safety_plugins_of_pyproject(install_prefix):
    """The colcon install declares the entry points pip would (cmake/entry_points.cmake)."""
    from liquid_controller.safety.plugins import PluginKind, available_plugins, resolve_plugin

    (lane,) = [p for p in available_plugins(PluginKind.BARRIER) if p.name == "lane"]
    assert lane.value == "liquid_controller.safety.lane:lane"
    assert Path(lane.dist.locate_file("")).is_relative_to(install_prefix)
    function = resolve_plugin("barriers[0].function", PluginKind.BARRIER, "lane")
    assert Path(function.__code__.co_filename).is_relative_to(install_prefix)


def test_default_paths_resolve_to_installed_files(install_prefix):
    from liquid_controller.ros import paths

    share = install_prefix / "share" / "liquid_controller"
    assert paths.share_directory() == share
    assert paths.default_model_path() == share / "resource" / "default_policy.npz"
    assert paths.default_safety_config_path() == share / "config" / "safety.yaml"
    for executable in EXECUTABLES:
        assert paths.default_node_params_path(executable) == share / "config" / f"{executable}.yaml"


def test_missing_package_is_a_config_error_naming_ament_prefix_path(monkeypatch):
    from liquid_controller.errors import ConfigError
    from liquid_controller.ros import paths

    monkeypatch.setenv("AMENT_PREFIX_PATH", "/nonexistent")
    with pytest.raises(ConfigError, match=re.escape("config key 'AMENT_PREFIX_PATH'")):
        paths.share_directory()


@pytest.mark.parametrize("executable", EXECUTABLES)
def test_executable_starts_with_installed_defaults_and_stops_cleanly_on_sigint(
    start_node, executable
):
    node = start_node(executable)
    assert node.stop() == 0
