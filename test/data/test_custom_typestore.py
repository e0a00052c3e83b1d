"""data.typestore: custom .msg files found (checkout, install prefixes, explicit) and registered."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rosbags.typesys import Stores

import liquid_controller
from liquid_controller.data import (
    POLICY_STATE,
    SAFETY_STATUS,
    custom_message_types,
    find_msg_dir,
    typestore_with_custom_messages,
)
from liquid_controller.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def field_names(msg_file: Path) -> list[str]:
    """Field names of a .msg file, read independently of rosbags' parser."""
    names = []
    for line in msg_file.read_text().splitlines():
        code = line.split("#", 1)[0].strip()
        if code and "=" not in code:
            names.append(code.split()[1])
    return names


def test_checkout_msg_folder_is_found_first():
    assert find_msg_dir() == REPO / "msg"


@pytest.mark.parametrize("store", [Stores.ROS2_JAZZY, Stores.ROS2_HUMBLE, "ros2_humble"])
def test_custom_messages_registered_with_the_msg_file_fields(store):
    typestore = typestore_with_custom_messages(store)
    for typename in (SAFETY_STATUS, POLICY_STATE):
        stem = typename.rsplit("/", 1)[1]
        fields = [name for name, _ in typestore.fielddefs[typename][1]]
        assert fields == field_names(REPO / "msg" / f"{stem}.msg")
    assert "sensor_msgs/msg/Image" in typestore.types


def test_each_call_returns_a_fresh_store():
    first = typestore_with_custom_messages()
    second = typestore_with_custom_messages()
    assert first is not second and first.types is not second.types


def test_explicit_msg_dir(tmp_path):
    (tmp_path / "Heartbeat.msg").write_text("std_msgs/Header header\nuint32 count  # ticks\n")
    types = custom_message_types(tmp_path)
    assert set(types) == {"liquid_controller/msg/Heartbeat"}
    typestore = typestore_with_custom_messages(msg_dir=tmp_path)
    heartbeat = typestore.types["liquid_controller/msg/Heartbeat"]
    assert heartbeat.__msgtype__ == "liquid_controller/msg/Heartbeat"
    assert SAFETY_STATUS not in typestore.types


def test_explicit_msg_dir_without_msg_files(tmp_path):
    with pytest.raises(ConfigError, match=r"config key 'msg_dir'.*folder containing \.msg files"):
        find_msg_dir(tmp_path)


@pytest.mark.parametrize("store", [Stores.ROS1_NOETIC, Stores.EMPTY, "ros3", 7])
def test_non_ros2_stores_are_rejected(store):
    with pytest.raises(ConfigError, match=r"config key 'store'.*a ROS 2 store: .*ros2_jazzy"):
        typestore_with_custom_messages(store)


def fake_installed_package(monkeypatch, root: Path) -> None:
    """Point liquid_controller.__file__ into a fake <root>/lib/python3/site-packages."""
    package = root / "lib" / "python3" / "site-packages" / "liquid_controller"
    package.mkdir(parents=True)
    monkeypatch.setattr(liquid_controller, "__file__", str(package / "__init__.py"))
    monkeypatch.setattr(sys, "prefix", str(root / "elsewhere"))
    monkeypatch.setenv("AMENT_PREFIX_PATH", "")


def share_msg(prefix: Path) -> Path:
    folder = prefix / "share" / "liquid_controller" / "msg"
    folder.mkdir(parents=True)
    shutil.copy(REPO / "msg" / "SafetyStatus.msg", folder)
    return folder


def test_lookup_finds_the_share_folder_of_the_install_prefix(tmp_path, monkeypatch):
    fake_installed_package(monkeypatch, tmp_path / "prefix")
    expected = share_msg(tmp_path / "prefix")
    assert find_msg_dir() == expected


def test_lookup_falls_back_to_ament_prefix_path(tmp_path, monkeypatch):
    fake_installed_package(monkeypatch, tmp_path / "prefix")
    other = share_msg(tmp_path / "ws" / "install" / "liquid_controller")
    monkeypatch.setenv("AMENT_PREFIX_PATH", f"/nonexistent{os.pathsep}{other.parents[2]}")
    assert find_msg_dir() == other
    assert set(custom_message_types()) == {SAFETY_STATUS}


def test_a_msg_folder_beside_an_installed_package_is_not_a_checkout(tmp_path, monkeypatch):
    fake_installed_package(monkeypatch, tmp_path / "prefix")
    site_packages = tmp_path / "prefix" / "lib" / "python3" / "site-packages"
    shutil.copytree(REPO / "msg", site_packages / "msg")
    expected = share_msg(tmp_path / "prefix")
    assert find_msg_dir() == expected
    (site_packages / "pyproject.toml").write_text("")
    assert find_msg_dir() == site_packages / "msg"


def test_lookup_failure_lists_the_places_searched(tmp_path, monkeypatch):
    fake_installed_package(monkeypatch, tmp_path / "prefix")
    with pytest.raises(ConfigError, match="no .msg files in any of .*share/liquid_controller/msg"):
        find_msg_dir()


def run(*command: str | Path, cwd: Path) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_missing_rosbags_gives_an_install_hint():
    code = (
        "import sys; sys.modules['rosbags'] = None\n"
        "import liquid_controller.sensing\n"  # sensing works without rosbags
        "try:\n"
        "    import liquid_controller.data.bags\n"
        "except ImportError as err:\n"
        "    print(err)\n"
    )
    output = run(sys.executable, "-c", code, cwd=REPO)
    assert "pip install 'liquid_controller[bags]'" in output
