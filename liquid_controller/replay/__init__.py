"""Offline replay: a recorded bag through the very controller the robot runs (no ROS needed).

:func:`replay_bag` feeds a bag's camera, IMU and joint-state messages, in bag order with
the bag's log time as the clock, to the composed controller
(:class:`~liquid_controller.control.ControlPipeline`) built and fed exactly as
``controller_node`` builds and feeds it, and writes what the nodes would have published to
an output bag, with a JSON summary and a self-contained HTML report. Needs the ``bags``
extra (rosbags); the report needs matplotlib.
"""

from liquid_controller.replay.run import ReplayResult, TopicNames, replay_bag

__all__ = ["ReplayResult", "TopicNames", "replay_bag"]
