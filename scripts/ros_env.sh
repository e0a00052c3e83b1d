# Set up this shell for the ROS 2 side of liquid_controller, built with the PyPI ROS wheels.
#
# Usage (bash or zsh, from anywhere):  . scripts/ros_env.sh
# then e.g.  python -c "from liquid_controller.msg import SafetyStatus"
#            "$LIQUID_CONTROLLER_ROS_INSTALL/lib/liquid_controller/policy_node" --ros-args -p rate_hz:=50.0
#
# `make ros-venv` creates the venv, `make ros-build` builds the package into build/ros_ws (both
# source this file). On a machine with apt ROS 2, do not use this: build in your workspace with
# scripts/ros_install_recipe.sh (the README's recipe) instead.
#
# Environment read: LIQUID_CONTROLLER_ROOT (default: found from this file under bash/zsh),
# LIQUID_CONTROLLER_ROS_VENV (default <repo>/.venv-ros),
# ROS_AUTOMATIC_DISCOVERY_RANGE (default LOCALHOST: DDS traffic stays on this machine).

# The repository root: given (a plain POSIX sh cannot tell which file it is sourcing; the Makefile
# passes it), or found from this file's path under bash and zsh.
if [ -z "${LIQUID_CONTROLLER_ROOT:-}" ]; then
  if [ -n "${BASH_VERSION:-}" ]; then
    LIQUID_CONTROLLER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  elif [ -n "${ZSH_VERSION:-}" ]; then
    LIQUID_CONTROLLER_ROOT="$(cd "$(dirname "${(%):-%x}")/.." && pwd)"
  else
    echo "scripts/ros_env.sh: set LIQUID_CONTROLLER_ROOT=<repository> when sourcing from sh" >&2
    return 1
  fi
fi

LIQUID_CONTROLLER_ROS_VENV="${LIQUID_CONTROLLER_ROS_VENV:-$LIQUID_CONTROLLER_ROOT/.venv-ros}"
# colcon workspace: the repository is the only package path; build/, install/ and log/ live here.
LIQUID_CONTROLLER_ROS_WS="$LIQUID_CONTROLLER_ROOT/build/ros_ws"
LIQUID_CONTROLLER_ROS_INSTALL="$LIQUID_CONTROLLER_ROS_WS/install/liquid_controller"
export LIQUID_CONTROLLER_ROOT LIQUID_CONTROLLER_ROS_VENV LIQUID_CONTROLLER_ROS_WS \
  LIQUID_CONTROLLER_ROS_INSTALL

# Prepend $2 to the ':'-separated variable named $1 unless it is already there.
_lc_prepend() {
  eval "_lc_value=\${$1:-}"
  case ":$_lc_value:" in
    *":$2:"*) ;;
    "::") export "$1=$2" ;;
    *) export "$1=$2:$_lc_value" ;;
  esac
  unset _lc_value
}

# The wheels install ROS into the venv prefix (share/, lib/, include/), so the venv is the
# underlay: PATH lets CMake's find_package search it, AMENT_PREFIX_PATH lets ament find packages.
export VIRTUAL_ENV="$LIQUID_CONTROLLER_ROS_VENV"
_lc_prepend PATH "$LIQUID_CONTROLLER_ROS_VENV/bin"
_lc_prepend AMENT_PREFIX_PATH "$LIQUID_CONTROLLER_ROS_VENV"
_lc_prepend CMAKE_PREFIX_PATH "$LIQUID_CONTROLLER_ROS_VENV"

# The built package (an overlay on the venv), once `make ros-build` has run.
if [ -d "$LIQUID_CONTROLLER_ROS_INSTALL" ]; then
  _lc_prepend AMENT_PREFIX_PATH "$LIQUID_CONTROLLER_ROS_INSTALL"
  for _lc_site in "$LIQUID_CONTROLLER_ROS_INSTALL"/lib/python3*/site-packages; do
    [ -d "$_lc_site" ] && _lc_prepend PYTHONPATH "$_lc_site"
  done
  unset _lc_site
  _lc_prepend LD_LIBRARY_PATH "$LIQUID_CONTROLLER_ROS_INSTALL/lib"
fi
unset -f _lc_prepend

export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
