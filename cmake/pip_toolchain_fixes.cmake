# Work-arounds needed only when ROS 2 comes from the PyPI wheels (see scripts/ros_env.sh).
# Both functions change nothing on an apt or source install of ROS 2 (Humble or Jazzy), where
# every exported path exists and no Python environment lives inside this package's sources.

# Drop non-existent include directories from the imported `*__rosidl_generator_py` targets.
#
# The PyPI message wheels export these targets with the include directories of the machine that
# built the wheels (/opt/python/...). CMake refuses to generate when a linked imported target
# names a missing include directory, and rosidl links our Python extension against them.
function(liquid_controller_drop_missing_wheel_include_dirs)
  get_directory_property(_imported_targets IMPORTED_TARGETS)
  foreach(_target IN LISTS _imported_targets)
    if(NOT _target MATCHES "__rosidl_generator_py$")
      continue()
    endif()
    get_target_property(_include_dirs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
    if(NOT _include_dirs)
      continue()
    endif()
    set(_kept_dirs "")
    foreach(_dir IN LISTS _include_dirs)
      if(EXISTS "${_dir}" OR _dir MATCHES "^\\$<")
        list(APPEND _kept_dirs "${_dir}")
      else()
        message(STATUS "${_target}: ignoring missing include directory ${_dir}")
      endif()
    endforeach()
    set_target_properties(${_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_kept_dirs}")
  endforeach()
endfunction()

# Keep include directories that lie inside the source tree out of the installed export of a target.
#
# rosidl_generator_py adds the numpy include directory to the public interface of the generated
# Python extension. When the build's Python venv sits inside this repository (.venv-ros), that
# path is inside the source tree and CMake refuses to export it; wrapping it in BUILD_INTERFACE
# keeps it for the build and leaves it out of the install, where no consumer needs it.
function(liquid_controller_build_only_source_include_dirs target)
  get_target_property(_include_dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
  if(NOT _include_dirs)
    return()
  endif()
  set(_rewritten_dirs "")
  foreach(_dir IN LISTS _include_dirs)
    string(FIND "${_dir}" "${CMAKE_SOURCE_DIR}/" _position)
    if(_position EQUAL 0)
      list(APPEND _rewritten_dirs "$<BUILD_INTERFACE:${_dir}>")
    else()
      list(APPEND _rewritten_dirs "${_dir}")
    endif()
  endforeach()
  set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_rewritten_dirs}")
endfunction()
