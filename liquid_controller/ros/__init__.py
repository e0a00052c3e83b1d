"""The ROS 2 shell: rclpy nodes that feed the ROS-free cores and publish what they return.

The only subpackage that imports rclpy and the generated ``liquid_controller.msg``.
Executables (``ros2 run liquid_controller <name>``): ``policy_node``,
``safety_filter_node`` and the composed ``controller_node``; each module has ``main()``.
"""

__all__: list[str] = []
