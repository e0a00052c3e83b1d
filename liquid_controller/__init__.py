"""liquid_controller: liquid neural network policies behind a CBF safety filter.

Layers, imports pointing downward only (see DESIGN.md): ``ros`` -> ``cli`` ->
applications (``sim``) -> core (``control``, ``safety``) -> ``models`` (torch) and
``runtime`` (numpy) -> ``sensing`` / ``data``. Only ``liquid_controller.ros`` imports
rclpy; ``liquid_controller.runtime`` never imports torch, and the core only loads torch
when asked to run a torch checkpoint.
"""

__version__ = "0.1.0"
