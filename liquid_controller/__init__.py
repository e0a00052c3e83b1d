"""liquid_controller: liquid neural network policies behind a CBF safety filter.

Layers (imports point downward only; see DESIGN.md):
``ros`` -> ``cli`` -> applications -> ``control``/``safety`` -> ``models`` -> ``runtime`` -> ``sensing``/``data``.
Only ``liquid_controller.ros`` imports rclpy; ``liquid_controller.runtime`` never imports torch.
"""

__version__ = "0.1.0"
