"""Shim for tools that still look for a setup.py; everything is in pyproject.toml (PEP 621).

colcon builds this package with ament_cmake (package.xml's build type): its setup.py
extensions act only on ament_python and plain Python packages, so this file is not run
there (checked: `make ros-build`, test/ros/test_build.py).
"""

from setuptools import setup

setup()
