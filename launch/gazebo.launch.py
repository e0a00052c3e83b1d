"""Drive the lane-keeping robot in Gazebo (gz sim) with the liquid policy behind the safety filter.

    ros2 launch liquid_controller gazebo.launch.py [world:=.../oval.sdf] [headless:=false] \
        [composed:=false] [model_path:=...] [safety_config:=...]

Gazebo Harmonic with Jazzy (README, "Gazebo"). Starts gz sim with the world (the track of
description/worlds/<track>.sdf, written from description/tracks/<track>.yaml by
scripts/write_gazebo_worlds.py; headless:=true runs the server only, `-s`),
robot_state_publisher with description/diff_drive.urdf (through xacro for its one
$(find liquid_controller)), spawns the robot from /robot_description at the track's start
pose (every shipped track starts at the origin heading +x), bridges /clock, the camera and the
IMU to ROS (config/gz_bridge.yaml), starts joint_state_broadcaster and effort_controller
(config/gazebo_controllers.yaml) once the robot is in the world, and robot.launch.py with
use_sim_time:=true, so the package's nodes run unchanged on the simulation's clock.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, RegisterEventHandler
from launch.conditions import IfCondition, UnlessCondition
from launch.event_handlers import OnProcessExit
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import Command, LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

PACKAGE = "liquid_controller"
ROBOT_NAME = "liquid_diff_drive"


def generate_launch_description():
    """Declare the world's and the controller's arguments; wire gz sim to the package's nodes."""
    share = FindPackageShare(PACKAGE)
    world = LaunchConfiguration("world")
    headless = LaunchConfiguration("headless")
    gz_sim_launch = PathJoinSubstitution(
        [FindPackageShare("ros_gz_sim"), "launch", "gz_sim.launch.py"]
    )
    urdf = PathJoinSubstitution([share, "description", "diff_drive.urdf"])
    robot_description = ParameterValue(Command(["xacro ", urdf]), value_type=str)
    spawn = Node(
        package="ros_gz_sim",
        executable="create",
        arguments=["-topic", "robot_description", "-name", ROBOT_NAME, "-z", "0.01"],
        output="screen",
    )
    # Started once the robot (and with it gz_ros2_control's controller manager) is in the world.
    controller_spawners = [
        Node(
            package="controller_manager",
            executable="spawner",
            arguments=["joint_state_broadcaster"],
            output="screen",
        ),
        Node(
            package="controller_manager",
            executable="spawner",
            arguments=["effort_controller"],
            output="screen",
        ),
    ]
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "world",
                default_value=PathJoinSubstitution([share, "description", "worlds", "oval.sdf"]),
                description="SDF world (the installed description/worlds/<track>.sdf: oval, "
                "corners, kidney).",
            ),
            DeclareLaunchArgument(
                "headless",
                default_value="false",
                description="true: the gz sim server only (-s), no GUI.",
            ),
            DeclareLaunchArgument(
                "composed",
                default_value="false",
                description="true: one controller_node; false: policy_node and safety_filter_node.",
            ),
            DeclareLaunchArgument(
                "model_path",
                default_value="",
                description="Policy file; empty: the installed resource/default_policy.npz.",
            ),
            DeclareLaunchArgument(
                "safety_config",
                default_value="",
                description="Safety filter YAML; empty: the installed config/safety.yaml.",
            ),
            IncludeLaunchDescription(
                PythonLaunchDescriptionSource(gz_sim_launch),
                launch_arguments={"gz_args": ["-r -s ", world]}.items(),
                condition=IfCondition(headless),
            ),
            IncludeLaunchDescription(
                PythonLaunchDescriptionSource(gz_sim_launch),
                launch_arguments={"gz_args": ["-r ", world]}.items(),
                condition=UnlessCondition(headless),
            ),
            Node(
                package="robot_state_publisher",
                executable="robot_state_publisher",
                parameters=[{"robot_description": robot_description, "use_sim_time": True}],
                output="screen",
            ),
            spawn,
            Node(
                package="ros_gz_bridge",
                executable="parameter_bridge",
                parameters=[
                    {"config_file": PathJoinSubstitution([share, "config", "gz_bridge.yaml"])}
                ],
                output="screen",
            ),
            RegisterEventHandler(OnProcessExit(target_action=spawn, on_exit=controller_spawners)),
            IncludeLaunchDescription(
                PythonLaunchDescriptionSource(
                    PathJoinSubstitution([share, "launch", "robot.launch.py"])
                ),
                launch_arguments={
                    "use_sim_time": "true",
                    "composed": LaunchConfiguration("composed"),
                    "model_path": LaunchConfiguration("model_path"),
                    "safety_config": LaunchConfiguration("safety_config"),
                }.items(),
            ),
        ]
    )
