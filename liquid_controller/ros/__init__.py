"""The ROS 2 shell: rclpy nodes that feed the ROS-free cores and publish what they return.

The only subpackage that imports rclpy and the generated ``liquid_controller.msg``.
Executables (``ros2 run liquid_controller <name>``): ``policy_node``,
``safety_filter_node`` and the composed ``controller_node``; each module has ``main()``.

The node processes use one BLAS/OpenMP thread unless the environment says otherwise
(see :mod:`liquid_controller.threads`); importing this package sets that up, before numpy.
"""

from liquid_controller.threads import prefer_single_thread

prefer_single_thread()

__all__: list[str] = []
