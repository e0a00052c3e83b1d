"""Run the controller on a recorded bag, on the bag's clock.

    ros2 launch liquid_controller replay.launch.py bag:=/path/to/bag [rate:=1.0] \
        [clock_rate:=200.0] [any robot.launch.py argument, e.g. composed:=true]

Starts robot.launch.py with use_sim_time:=true and plays the bag with
`ros2 bag play --clock <clock_rate>`, so the nodes' stamps, dt and input timeouts follow the
recorded time. The nodes' timers run on /clock: they can fire no more often than /clock is
published, so clock_rate must be above the control rate (rate_hz, 50 Hz by default); at
`--clock`'s own default of 40 Hz a 50 Hz controller steps at about 40 Hz. Record without the
actuator topic (or remap command_topic) so the replayed commands do not mix with the new ones.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

PACKAGE = "liquid_controller"


def generate_launch_description():
    """Declare bag, rate and clock rate, include robot.launch.py on sim time, play the bag."""
    share = FindPackageShare(PACKAGE)
    return LaunchDescription(
        [
            DeclareLaunchArgument("bag", description="rosbag2 directory (or file) to play."),
            DeclareLaunchArgument(
                "rate", default_value="1.0", description="Playback speed factor."
            ),
            DeclareLaunchArgument(
                "clock_rate",
                default_value="200.0",
                description="Hz at which /clock is published (ros2 bag play --clock); keep it "
                "above the control rate, or the control timer steps at the clock's rate.",
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
                    LaunchConfiguration("clock_rate"),
                    "--rate",
                    LaunchConfiguration("rate"),
                ],
                output="screen",
            ),
        ]
    )
