"""Learning from recordings: rosbags -> aligned episodes -> trained checkpoint -> evaluation.

No ROS install and no rclpy: bags are read with ``liquid_controller.data`` (rosbags).
"""
