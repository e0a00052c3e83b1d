"""Run the controller on a recorded bag, on the bag's clock.

    ros2 launch liquid_controller replay.launch.py bag:=/path/to/bag [rate:=1.0] \
        [any robot.launch.py argument, e.g. composed:=true]

Starts robot.launch.py with use_sim_time:=true and plays the bag with `ros2 bag play --clock`,
so the nodes' stamps, dt and input timeouts follow the recorded time. Record without the
actuator topic (or remap command_topic) so the replayed commands do not mix with the new ones.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

PACKAGE = "liquid_controller"


def generate_launch_description():
    """Declare bag and rate, include robot.launch.py on sim time, play the bag."""
    share = FindPackageShare(PACKAGE)
    return LaunchDescription(
        [
            DeclareLaunchArgument("bag", description="rosbag2 directory (or file) to play."),
            DeclareLaunchArgument(
                "rate", default_value="1.0", description="Playback speed factor."
            ),
            IncludeLaunchDescription(
                PythonLaunchDescriptionSource(
                    PathJoinSubstitution([share, "launch", "robot.launch.py"])
                ),
                launch_arguments={"use_sim_time": "true"}.items(),
            ),
            ExecuteProcess(
                cmd=[
                    "ros2",
                    "bag",
                    "play",
                    LaunchConfiguration("bag"),
                    "--clock",
                    "--rate",
                    LaunchConfiguration("rate"),
                ],
                output="screen",
            ),
        ]
    )
