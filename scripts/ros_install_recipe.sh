#!/usr/bin/env bash
# Install liquid_controller's dependencies and build it on apt ROS 2: Ubuntu 24.04 + Jazzy or
# Ubuntu 22.04 + Humble (ROS_DISTRO=humble), and in the ros:<distro> images (docker/Dockerfile).
# Run it from the workspace root, the folder holding src/liquid_controller:
#     bash src/liquid_controller/scripts/ros_install_recipe.sh
# Everything below the `set -e` line is the README's "ROS 2" recipe, word for word
# (test/test_install_recipe.py), so it can also be pasted into a shell.
set -e
source /opt/ros/${ROS_DISTRO:-jazzy}/setup.bash
# 1. apt: the tools, then every key in package.xml through rosdep (ROS packages, NumPy, PyYAML,
#    Pillow, pytest, hypothesis).
sudo apt-get update
sudo apt-get install -y python3-venv python3-rosdep python3-colcon-common-extensions
[ -e /etc/ros/rosdep/sources.list.d/20-default.list ] || sudo rosdep init
rosdep update --rosdistro "$ROS_DISTRO"
rosdep install --from-paths src --ignore-src -y --rosdistro "$ROS_DISTRO"
# 2. pip, into a venv that also sees apt's packages (24.04's Python refuses pip, PEP 668): daqp
#    (no rosdep key) and, on 22.04 only, newer Pillow, PyYAML and NumPy than apt's. NumPy stays
#    below 2: apt's message modules are built against NumPy 1.
python3 -m venv --system-site-packages venv
touch venv/COLCON_IGNORE
venv/bin/python -m pip install 'daqp>=0.5' 'numpy>=1.23,<2' 'pillow>=9.1' 'pyyaml>=6'
# 3. colcon run by the venv's Python: CMake finds that interpreter first, so the node
#    executables run with it and import daqp.
source venv/bin/activate
python -m colcon build
