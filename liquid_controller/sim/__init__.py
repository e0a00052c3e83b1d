"""Simulations that feed the controller off-robot (no ROS, no torch)."""

from liquid_controller.sim.toy_diff_drive import DiffDriveParams, SensorFrame, ToyDiffDrive

__all__ = ["DiffDriveParams", "SensorFrame", "ToyDiffDrive"]
