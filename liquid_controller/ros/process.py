"""Process entry point and callback guard shared by the nodes.

Why rclpy's own SIGINT handler is not installed: it shuts the context down
before our code runs, and a shut-down context cannot publish. The downstream
forward controllers hold the last command forever, so on SIGINT/SIGTERM the
node must still publish its safe command once. Our handler only records the
signal; the spin loop sees it within ``SIGNAL_CHECK_S``, publishes, then shuts
down. (Raising ``KeyboardInterrupt`` from the handler instead is unsafe: it can
land while rclpy's C++ code is building a Python object, which pybind11 turns
into an unrelated ``RuntimeError``.)
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any, Protocol, TypeVar, cast

import rclpy
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from liquid_controller.control.diagnostics import WindowStats
from liquid_controller.errors import ConfigError

__all__ = [
    "EXECUTOR_VARIABLE",
    "CallbackGuard",
    "ManagedNode",
    "StopRequest",
    "freeze_startup_objects",
    "make_executor",
    "run_node",
]

_R = TypeVar("_R")
SIGNAL_CHECK_S = 0.1
EXECUTOR_VARIABLE = "LIQUID_CONTROLLER_EXECUTOR"
TIMING_WINDOW = 500
"""Callback durations kept per callback for the p50/p99 on /diagnostics."""


class ManagedNode(Protocol):
    """A lifecycle node that can start itself and publish its safe command before it goes."""

    params: dict[str, Any]

    def autostart(self) -> None:
        """Configure and activate; raise what made it fail."""
        ...

    def finish(self, reason: str) -> None:
        """Publish the safe command if active, then release what configure created."""
        ...

    def destroy_node(self) -> None:
        """Release the node's ROS resources."""
        ...


class StopRequest:
    """Records SIGINT/SIGTERM; the spin loop polls ``signal_name``."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def install(self) -> None:
        """Make SIGINT and SIGTERM set ``signal_name`` instead of raising."""
        signal.signal(signal.SIGINT, self._record)
        signal.signal(signal.SIGTERM, self._record)

    def _record(self, signum: int, frame: FrameType | None) -> None:
        self.signal_name = signal.Signals(signum).name


def make_executor() -> Executor:
    """The executor named by ``LIQUID_CONTROLLER_EXECUTOR``: ``single`` (default) or ``events``.

    ``events`` is rclpy's experimental C++ ``EventsExecutor`` (Jazzy and later), which
    dispatches callbacks without rebuilding a wait set per wake-up.

    Raises:
        ConfigError: another value, or ``events`` where rclpy has no EventsExecutor.
    """
    kind = os.environ.get(EXECUTOR_VARIABLE, "single")
    if kind == "single":
        return SingleThreadedExecutor()
    if kind == "events":
        try:
            from rclpy.experimental import EventsExecutor
        except ImportError:
            raise ConfigError(
                EXECUTOR_VARIABLE, kind, "'single' (this rclpy has no EventsExecutor)"
            ) from None
        return EventsExecutor()
    raise ConfigError(EXECUTOR_VARIABLE, kind, "'single' or 'events'")


def freeze_startup_objects() -> None:
    """Collect once, then exclude every object alive now from later garbage collections.

    A started node holds ~40k objects (rclpy, numpy, the policy) that live until exit; a
    full collection scans them all (~10 ms here), inside whichever callback allocates
    when the collector runs. Frozen, later collections only scan what the loop allocates.
    """
    gc.collect()
    gc.freeze()


def run_node(factory: Callable[[], ManagedNode], args: list[str] | None = None) -> int:
    """Create the node, spin it until SIGINT/SIGTERM or external shutdown, stop it safely.

    With its ``autostart`` parameter (the default) the node is configured and activated
    first. A node that cannot start (bad parameter, missing model) logs one line naming the
    problem and the process exits with status 1, without a traceback.

    Returns:
        The process exit status.
    """
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    stop = StopRequest()
    stop.install()
    node: ManagedNode | None = None
    status = 0
    reason = "shutdown"
    try:
        node = factory()
        if node.params["autostart"]:
            node.autostart()
        executor = make_executor()
        executor.add_node(cast(Node, node))
        freeze_startup_objects()
        # Wake up at least every SIGNAL_CHECK_S to see a recorded signal, also with a
        # stopped /clock (use_sim_time), when no timer would ever wake us.
        while stop.signal_name is None:
            executor.spin_once(timeout_sec=SIGNAL_CHECK_S)
        reason = f"shutdown (signal {stop.signal_name})"
    except ExternalShutdownException:
        reason = "shutdown (external)"
    except Exception as err:  # a failed start: one clear line, not a traceback
        print(f"[liquid_controller] fatal: {type(err).__name__}: {err}", file=sys.stderr)
        status = 1
    finally:
        if node is not None:
            node.finish(reason)
            node.destroy_node()
        rclpy.try_shutdown()
    return status


class CallbackGuard:
    """Run callbacks so that an exception is counted and logged once, never re-raised.

    The first exception of each (callback, type) pair is logged with its traceback;
    later ones only increase ``count``. ``on_error`` (e.g. publish the safe command)
    runs on every exception. Every guarded call is timed (wall time, seconds) into
    ``timing[name]``, the callback compute time reported on ``/diagnostics``.

    Args:
        log_error: logs one message (``node.get_logger().error``).
        on_error: called with the callback name after each exception.
    """

    def __init__(self, log_error: Callable[[str], Any], on_error: Callable[[str], None]) -> None:
        self._log_error = log_error
        self._on_error = on_error
        self._seen: set[tuple[str, type[BaseException]]] = set()
        self.count = 0
        self.last_error = ""
        self.timing: dict[str, WindowStats] = {}

    def wrap(self, name: str, callback: Callable[..., _R]) -> Callable[..., _R | None]:
        """Return ``callback`` guarded and timed under ``name``."""
        stats = self.timing.setdefault(name, WindowStats(TIMING_WINDOW))

        def guarded(*args: Any) -> _R | None:
            start = time.perf_counter()
            try:
                return callback(*args)
            except Exception as err:
                self._handle(name, err)
                return None
            finally:
                stats.add(time.perf_counter() - start)

        return guarded

    def _handle(self, name: str, err: Exception) -> None:
        self.count += 1
        self.last_error = f"{name}: {type(err).__name__}: {err}"
        key = (name, type(err))
        if key not in self._seen:
            self._seen.add(key)
            self._log_error(
                f"exception in {name} (logged once per type; counted in diagnostics): "
                + "".join(traceback.format_exception(type(err), err, err.__traceback__))
            )
        try:
            self._on_error(name)
        except Exception as nested:  # never let the fallback itself crash the executor
            self.count += 1
            self.last_error = f"{name} fallback: {type(nested).__name__}: {nested}"
