"""Every dependency key in package.xml resolves through rosdep on Jazzy (noble) and Humble (jammy).

The keys rosdep can resolve were recorded by hand from ros/rosdistro (the files and commits are
in test/resources/rosdep_keys.yaml, with the date): a ROS package from the distribution.yaml of
each distribution, a system package from rosdep/python.yaml. A key missing there makes
`rosdep install` fail on a robot, so it fails here first.
"""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "test" / "resources" / "rosdep_keys.yaml"
# REP 149 (package format 3): every element that names a rosdep key.
DEPENDENCY_TAGS = (
    "depend",
    "build_depend",
    "build_export_depend",
    "buildtool_depend",
    "buildtool_export_depend",
    "exec_depend",
    "test_depend",
    "doc_depend",
)


def package_xml_keys(path: Path) -> list[tuple[str, str]]:
    """(tag, key) for every dependency element of a package.xml, in file order."""
    root = ET.parse(path).getroot()
    if root.tag != "package" or root.get("format") != "3":
        raise ValueError(f'{path}: expected <package format="3">, got <{root.tag}>')
    keys = []
    for element in root:
        if element.tag in DEPENDENCY_TAGS:
            key = (element.text or "").strip()
            if not key:
                raise ValueError(f"{path}: empty <{element.tag}>")
            keys.append((element.tag, key))
    return keys


def unresolved(keys: list[tuple[str, str]], record: dict) -> list[str]:
    """The keys the record does not resolve, each as '<tag>key</tag>'."""
    known = set(record["ros_packages"]) | set(record["python_keys"])
    return [f"<{tag}>{key}</{tag}>" for tag, key in keys if key not in known]


@pytest.fixture(scope="module")
def record() -> dict:
    return yaml.safe_load(RECORD.read_text())


def test_record_names_its_date_sources_and_distributions(record):
    assert isinstance(record["recorded"], datetime.date)
    assert set(record["sources"]) == {
        "rosdep/python.yaml",
        "jazzy/distribution.yaml",
        "humble/distribution.yaml",
    }
    for source, commit in record["sources"].items():
        assert re.fullmatch(r"[0-9a-f]{40}", commit), f"{source}: commit {commit!r}"
    assert record["distributions"] == {"jazzy": "noble", "humble": "jammy"}


def test_every_package_xml_key_resolves_on_jazzy_and_humble(record):
    keys = package_xml_keys(ROOT / "package.xml")
    assert keys, "package.xml names no dependency"
    missing = unresolved(keys, record)
    assert not missing, (
        f"package.xml keys with no rosdep rule on jazzy/humble (per {RECORD.name}): {missing}; "
        "use the key rosdistro defines, or install the dependency with pip in "
        "scripts/ros_install_recipe.sh"
    )


def test_record_holds_only_keys_package_xml_uses(record):
    """A key dropped from package.xml is dropped from the record too (no stale entries)."""
    used = {key for _, key in package_xml_keys(ROOT / "package.xml")}
    stale = sorted((set(record["ros_packages"]) | set(record["python_keys"])) - used)
    assert not stale, f"recorded but not in package.xml: {stale}"


def test_keys_known_to_be_absent_are_not_used(record):
    used = {key for _, key in package_xml_keys(ROOT / "package.xml")}
    assert not used & set(record["absent"])
    assert not any("daqp" in key for key in used)


def test_a_wrong_key_is_reported_with_its_tag(tmp_path, record):
    """The check itself: a misspelt key (the pip name, not the rosdep key) is caught."""
    bad = tmp_path / "package.xml"
    bad.write_text(
        '<package format="3"><name>x</name>'
        "<exec_depend>python3-numpy</exec_depend><exec_depend>pyyaml</exec_depend>"
        "<test_depend>hypothesis</test_depend></package>"
    )
    assert unresolved(package_xml_keys(bad), record) == [
        "<exec_depend>pyyaml</exec_depend>",
        "<test_depend>hypothesis</test_depend>",
    ]


def test_a_package_xml_of_another_format_is_refused(tmp_path):
    old = tmp_path / "package.xml"
    old.write_text('<package format="2"><name>x</name></package>')
    with pytest.raises(ValueError, match='format="3"'):
        package_xml_keys(old)
