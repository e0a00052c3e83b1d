"""Drive a robot with the liquid policy behind the CBF safety filter.

    ros2 launch liquid_controller robot.launch.py [composed:=true] [model_path:=...] \
        [safety_config:=...] [params_file:=...] [namespace:=...] [use_sim_time:=true] \
        [autostart:=false] [camera_topic:=...] [imu_topic:=...] [joint_states_topic:=...] \
        [command_topic:=...] [enclave:=/liquid_controller]

composed:=false (default) starts policy_node and safety_filter_node, the filter reading the
policy's ~/nominal_command; composed:=true starts controller_node, which runs both in one
process and one timer (no inter-process hop). Parameters come, later ones winning, from the
installed config/<node>.yaml, then model_path / safety_config / use_sim_time / autostart, then
params_file. The nodes are lifecycle nodes: autostart:=false leaves them unconfigured for a
lifecycle manager (or `ros2 lifecycle set /policy_node configure`, then `activate`).

enclave: the SROS2 (DDS-Security) enclave every node runs in, passed as `--ros-args --enclave`;
used only when ROS_SECURITY_ENABLE=true (see the README's SROS2 section). The default `/` is the
enclave rcl takes when none is given.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

PACKAGE = "liquid_controller"


def generate_launch_description():
    """Declare the arguments and the policy/filter (or composed controller) nodes."""
    share = FindPackageShare(PACKAGE)
    namespace = LaunchConfiguration("namespace")
    composed = LaunchConfiguration("composed")
    params_file = LaunchConfiguration("params_file")
    autostart = ParameterValue(LaunchConfiguration("autostart"), value_type=bool)
    # Kept as strings: an empty value means "the installed default" to the nodes.
    model_path = ParameterValue(LaunchConfiguration("model_path"), value_type=str)
    safety_config = ParameterValue(LaunchConfiguration("safety_config"), value_type=str)
    # The launch arguments every node takes as parameters.
    common = {"use_sim_time": LaunchConfiguration("use_sim_time"), "autostart": autostart}
    camera_topic = LaunchConfiguration("camera_topic")
    imu_topic = LaunchConfiguration("imu_topic")
    joint_states_topic = LaunchConfiguration("joint_states_topic")
    command_topic = LaunchConfiguration("command_topic")
    # --ros-args --enclave <enclave> for every node.
    security = ["--enclave", LaunchConfiguration("enclave")]

    # The nodes' default topic names (relative, so they follow `namespace`), remapped to the
    # launch arguments. A relative argument value also resolves inside the namespace.
    sensor_remaps = [
        ("camera/image_raw", camera_topic),
        ("camera/image_raw/compressed", [camera_topic, "/compressed"]),
        ("imu/data", imu_topic),
        ("joint_states", joint_states_topic),
    ]
    command_remaps = [("effort_controller/commands", command_topic)]

    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "namespace", default_value="", description="Namespace of the nodes."
            ),
            DeclareLaunchArgument(
                "composed",
                default_value="false",
                description="true: one controller_node (policy and filter in one process); "
                "false: policy_node and safety_filter_node.",
            ),
            DeclareLaunchArgument(
                "params_file",
                default_value=PathJoinSubstitution([share, "launch", "no_overrides.params.yaml"]),
                description="Parameter file applied last, sections per node name.",
            ),
            DeclareLaunchArgument(
                "model_path",
                default_value="",
                description="Policy file (.npz artifact or torch checkpoint); empty: the "
                "installed resource/default_policy.npz.",
            ),
            DeclareLaunchArgument(
                "safety_config",
                default_value="",
                description="Safety filter YAML; empty: the installed config/safety.yaml.",
            ),
            DeclareLaunchArgument(
                "use_sim_time",
                default_value="false",
                description="Use /clock (simulation or bag replay) instead of the wall clock.",
            ),
            DeclareLaunchArgument(
                "autostart",
                default_value="true",
                description="true: the lifecycle nodes configure and activate themselves; "
                "false: they wait unconfigured for the lifecycle transitions.",
            ),
            DeclareLaunchArgument(
                "camera_topic",
                default_value="camera/image_raw",
                description="Camera topic (sensor_msgs/Image; <topic>/compressed when "
                "camera_transport is compressed).",
            ),
            DeclareLaunchArgument(
                "imu_topic", default_value="imu/data", description="IMU topic (sensor_msgs/Imu)."
            ),
            DeclareLaunchArgument(
                "joint_states_topic",
                default_value="joint_states",
                description="Joint state topic (sensor_msgs/JointState).",
            ),
            DeclareLaunchArgument(
                "command_topic",
                default_value="effort_controller/commands",
                description="Actuator command topic the filtered command is published on.",
            ),
            DeclareLaunchArgument(
                "enclave",
                default_value="/",
                description="SROS2 enclave of the nodes (keystore path from ROS_SECURITY_KEYSTORE; "
                "used when ROS_SECURITY_ENABLE=true). Default /: rcl's default enclave.",
            ),
            Node(
                package=PACKAGE,
                executable="policy_node",
                name="policy_node",
                namespace=namespace,
                parameters=[
                    PathJoinSubstitution([share, "config", "policy_node.yaml"]),
                    {"model_path": model_path, **common},
                    params_file,
                ],
                remappings=sensor_remaps,
                ros_arguments=security,
                output="screen",
                condition=UnlessCondition(composed),
            ),
            Node(
                package=PACKAGE,
                executable="safety_filter_node",
                name="safety_filter_node",
                namespace=namespace,
                parameters=[
                    PathJoinSubstitution([share, "config", "safety_filter_node.yaml"]),
                    {"safety_config": safety_config, **common},
                    params_file,
                ],
                remappings=[
                    ("nominal_command", "policy_node/nominal_command"),
                    ("joint_states", joint_states_topic),
                    *command_remaps,
                ],
                ros_arguments=security,
                output="screen",
                condition=UnlessCondition(composed),
            ),
            Node(
                package=PACKAGE,
                executable="controller_node",
                name="controller_node",
                namespace=namespace,
                parameters=[
                    PathJoinSubstitution([share, "config", "controller_node.yaml"]),
                    {"model_path": model_path, "safety_config": safety_config, **common},
                    params_file,
                ],
                remappings=sensor_remaps + command_remaps,
                ros_arguments=security,
                output="screen",
                condition=IfCondition(composed),
            ),
        ]
    )
