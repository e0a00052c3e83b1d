"""The ROS 2 shell: rclpy nodes that feed the ROS-free cores and publish what they return.

The only subpackage that imports rclpy and the generated ``liquid_controller.msg``.
Executables (``ros2 run liquid_controller <name>``): ``policy_node``,
``safety_filter_node`` and the composed ``controller_node``; each module has ``main()``.

BLAS threads: a control step is batch-1 work of a millisecond, and a multi-threaded BLAS
only adds contention. Measured on a busy 2-core machine, the default camera policy's step
took ~110 ms (p50) with OpenBLAS's default threads and ~1.1 ms with one. So, unless the
environment says otherwise, the node processes use one BLAS/OpenMP thread. This only
works if numpy is not imported yet, which holds for the node executables.
"""

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

__all__: list[str] = []
