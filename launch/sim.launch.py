"""Drive the simulated lane-keeping robot with the liquid policy behind the safety filter.

    ros2 launch liquid_controller sim.launch.py [track:=oval] [seed:=0] \
        [real_time_factor:=1.0] [composed:=false] [model_path:=...] [safety_config:=...]

Starts sim_node (the MuJoCo world from description/diff_drive.urdf: it publishes /clock, the
camera, IMU and joint states, and applies /effort_controller/commands as wheel torques) and
robot.launch.py with use_sim_time:=true, so the nodes run on the simulation's clock. The
default safety config is config/safety.yaml (the robot's torque, traction and wheel-speed
limits); config/sim_safety.yaml's lane barrier needs a lateral-position input the ROS nodes do
not take yet (sim evaluate feeds it from ground truth).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

PACKAGE = "liquid_controller"


def generate_launch_description():
    """Declare the world's and the controller's arguments; start sim_node and the nodes."""
    share = FindPackageShare(PACKAGE)
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "track", default_value="oval", description="Track name or YAML file."
            ),
            DeclareLaunchArgument(
                "seed", default_value="0", description="Seed of the world's randomisation."
            ),
            DeclareLaunchArgument(
                "real_time_factor",
                default_value="1.0",
                description="Simulated seconds per wall second.",
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
            Node(
                package=PACKAGE,
                executable="sim_node",
                name="sim_node",
                parameters=[
                    PathJoinSubstitution([share, "config", "sim_node.yaml"]),
                    {
                        "track": LaunchConfiguration("track"),
                        "seed": ParameterValue(LaunchConfiguration("seed"), value_type=int),
                        "real_time_factor": ParameterValue(
                            LaunchConfiguration("real_time_factor"), value_type=float
                        ),
                    },
                ],
                output="screen",
            ),
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
