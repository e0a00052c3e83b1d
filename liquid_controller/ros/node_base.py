"""What the three nodes share: lifecycle, parameters, the control timer, diagnostics, guard.

Each node is a ROS 2 managed (lifecycle) node. Construction only declares and validates the
parameters and starts ``/diagnostics``; ``configure`` loads the model / safety config and
creates the topics, services and the control timer (``_build``, STYLE.md §7); ``activate``
lets commands out; ``deactivate`` publishes the safe command once and stops commanding;
``cleanup`` destroys what ``configure`` created. With ``autostart`` (the default) the process
configures and activates the node itself, so ``ros2 run`` behaves like a plain node.

A run-time change of a file parameter (``model_path``, ``safety_config``) never blocks the
executor that runs the control timer: the parameter callback starts a background load
(:class:`~liquid_controller.control.background_load.BackgroundLoader`) and accepts the
change; the control timer keeps commanding with what is in force, polls the load every
period and swaps the result in between two ticks. A load that fails or runs past
``load_timeout_s`` is logged, reported on ``/diagnostics`` (ERROR) and the parameter is set
back to the value in force (a second ``/parameter_events`` entry).

Outsiders: every ``GRAPH_CHECK_PERIOD_S`` (and once at configure) the node lists the
publishers of the topics it must publish alone (the actuator commands, the nominal) and
reports any other one as an ERROR on ``/diagnostics`` and in the log, when it appears.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray

# `State` (not `LifecycleState`): the name Humble and Jazzy both export.
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn
from rclpy.parameter import Parameter

from liquid_controller.control.background_load import BackgroundLoader, LoadOutcome
from liquid_controller.control.diagnostics import DiagnosticLevel, DiagnosticRecord
from liquid_controller.control.graph_watch import GraphPublisher, PublisherWatch
from liquid_controller.control.parameters import FILE_PARAMETERS, ParameterSpec
from liquid_controller.control.watchdog import FreshnessTransition
from liquid_controller.ros.messages import diagnostic_array
from liquid_controller.ros.parameters import AUTOSTART, ParameterGate, declare_parameters
from liquid_controller.ros.process import CallbackGuard

__all__ = ["ControlNode", "log_freshness"]

DIAGNOSTICS_TOPIC = "/diagnostics"
GRAPH_CHECK_PERIOD_S = 1.0
"""How often the publishers of the node's exclusive topics are listed (a graph query)."""
SUCCESS = TransitionCallbackReturn.SUCCESS
FAILURE = TransitionCallbackReturn.FAILURE

# The entity kinds ``configure`` creates, as (Node property, destroy method).
_ENTITY_KINDS = (
    ("subscriptions", "destroy_subscription"),
    ("publishers", "destroy_publisher"),
    ("services", "destroy_service"),
    ("timers", "destroy_timer"),
)


# rclpy is untyped (LifecycleNode is Any to mypy where rclpy is not installed).
class ControlNode(LifecycleNode):  # type: ignore[misc,unused-ignore]
    """Base of ``policy_node``, ``safety_filter_node`` and ``controller_node``.

    Subclasses implement :meth:`_build` (publishers, subscriptions, services; run by
    ``configure``), :meth:`_tick` (one control step and its publishing), :meth:`_records`
    (diagnostic records), :meth:`_prepare` (accepted settings, atomically), :meth:`_load`
    and :meth:`_swap` (a file parameter change: loaded off-thread, swapped in by the timer),
    :meth:`_on_activate` (fresh start of the runners), :meth:`stop_safely` and
    :meth:`_on_callback_error` (publish the safe command).

    Steps are started by the timer (every ``1 / rate_hz``), or by an input event (a camera
    frame with ``trigger:=camera``, a nominal command in the filter node) through
    :meth:`run_tick`, and only while the node is active. An event-driven subclass overrides
    :meth:`_timer_due` so that the timer only steps while its inputs are stale: the safe
    command then still goes out (and keeps ramping) within one period after an input goes
    silent.

    Args:
        node_name: default node name (remappable with ``__node:=``).
        specs: the node's parameters (``autostart`` is added here).
    """

    def __init__(self, node_name: str, specs: Sequence[ParameterSpec], **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.specs = (*specs, AUTOSTART)
        self.params = declare_parameters(self, self.specs)
        self.guard = CallbackGuard(self.get_logger().error, self._on_guarded_error)
        self.configured = False
        self.stopped = True  # commands go out only while active
        self._configure_error: Exception | None = None
        self._configured_entities: list[tuple[str, Any]] = []
        self.loader = BackgroundLoader()
        # The file parameters' values whose files are loaded and in force (set by configure).
        self._in_force: dict[str, Any] = {}
        self._graph_watches: list[PublisherWatch] = []
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, 10)
        self._diagnostics_timer = self.create_timer(
            self.params["diagnostics_period_s"],
            self.guard.wrap("diagnostics", self._publish_diagnostics),
        )
        self.add_on_set_parameters_callback(ParameterGate(self.specs, self.params, self._on_set))
        # Also takes the first rclpy log call (~10 ms: it builds inspect's module cache) out
        # of the control callbacks, where the first stale/fresh message would pay for it.
        self.get_logger().info(
            "unconfigured; "
            + ("configuring and activating (autostart)" if self.params["autostart"]
               else "waiting for the lifecycle transitions configure and activate")
        )  # fmt: skip

    # ------------------------------------------------------------------ lifecycle

    def autostart(self) -> None:
        """Configure and activate now, as a lifecycle manager would.

        Raises:
            Exception: what made ``configure`` fail (bad model or config file), so that the
                process can exit naming it; or ``RuntimeError`` if ``activate`` failed.
        """
        if self.trigger_configure() != SUCCESS:
            raise self._configure_error or RuntimeError("configure failed")
        if self.trigger_activate() != SUCCESS:
            raise RuntimeError("activate failed")

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Load the model / safety config; create topics, services and the control timer."""
        before = self._entities()
        try:
            self._build()
            self._timer = self.create_timer(
                1.0 / self.params["rate_hz"], self.guard.wrap("timer", self._timed_tick)
            )
            own = self.get_fully_qualified_name()
            self._graph_watches = [
                PublisherWatch(publisher.topic_name, own, consequence)
                for publisher, consequence in self._exclusive_publishers()
            ]
            self.create_timer(GRAPH_CHECK_PERIOD_S, self.guard.wrap("graph", self._check_graph))
        except Exception as err:  # a bad file: reported, and the node stays unconfigured
            self._configure_error = err
            self.get_logger().error(f"configure failed: {type(err).__name__}: {err}")
            self._destroy([e for e in self._entities() if e not in before])
            return FAILURE
        self._configured_entities = [e for e in self._entities() if e not in before]
        self._in_force = {n: self.params[n] for n in FILE_PARAMETERS if n in self.params}
        self._configure_error = None
        self.configured = True
        self._check_graph()
        self.get_logger().info(f"configured: stepping at {self.params['rate_hz']} Hz once active")
        return SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Start commanding, from a fresh hidden state and the command the actuators hold."""
        self._on_activate(self.now_s())
        self.stopped = False
        self.get_logger().info("active: publishing commands")
        return SUCCESS

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Publish the safe command once and stop commanding (inputs are still read)."""
        self.stop_safely("deactivated")
        return SUCCESS

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        """Destroy what ``configure`` created; parameters are kept."""
        self._unconfigure()
        self.get_logger().info("cleaned up: unconfigured")
        return SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        """Publish the safe command if still active, then release everything."""
        self.finish("shutdown (lifecycle)")
        return SUCCESS

    def on_error(self, state: State) -> TransitionCallbackReturn:
        """A transition raised: publish the safe command if possible, back to unconfigured."""
        try:
            self.finish("lifecycle error")
        except Exception as err:  # noqa: BLE001 - still end up unconfigured
            self.get_logger().error(f"safe stop after a lifecycle error failed: {err}")
            self._unconfigure()
        return SUCCESS

    def finish(self, reason: str) -> None:
        """Publish the safe command if active (``stop_safely``), then unconfigure."""
        if self.configured and not self.stopped:
            self.stop_safely(reason)
        self._unconfigure()

    def _unconfigure(self) -> None:
        dropped = self.loader.abandon()
        if dropped is not None:
            self.get_logger().warning(
                f"unconfigured while loading {dropped.describe()}: load dropped; configure "
                "loads the parameter values"
            )
        self.stopped = True
        self.configured = False
        self._graph_watches = []
        self._destroy(self._configured_entities)
        self._configured_entities = []

    def _entities(self) -> list[tuple[str, Any]]:
        return [(destroy, e) for kind, destroy in _ENTITY_KINDS for e in getattr(self, kind)]

    def _destroy(self, entities: Iterable[tuple[str, Any]]) -> None:
        for destroy, entity in entities:
            getattr(self, destroy)(entity)

    # ------------------------------------------------------------------ for subclasses

    def _build(self) -> None:
        raise NotImplementedError

    def _on_activate(self, now_s: float) -> None:
        """Prepare for commanding again (a mixin may reset its runner); nothing by default."""

    def _tick(self, now_s: float, started_s: float) -> None:
        """Run one step at node time ``now_s``; the callback began at ``started_s`` (perf)."""
        raise NotImplementedError

    def _records(self, now_s: float) -> list[DiagnosticRecord]:
        raise NotImplementedError

    def _exclusive_publishers(self) -> list[tuple[Any, str]]:
        """The publishers (made by ``_build``) whose topics this node must publish alone.

        Each with what an outsider's messages on that topic do, for the report.
        """
        raise NotImplementedError

    def _prepare(self, values: Mapping[str, Any]) -> Callable[[], None]:
        """Check the settings in ``values`` (file parameters: the files in force).

        Returns:
            The step that applies them; it cannot fail.

        Raises:
            LiquidControllerError: to reject the change (nothing is applied).
        """
        raise NotImplementedError

    def _load(self, files: Mapping[str, Any], values: Mapping[str, Any]) -> Any:
        """Load and verify the files of changed file parameters (runs in a worker thread).

        Only builds new objects and reads the node's state; never changes it.

        Args:
            files: the changed file parameters and their new values.
            values: all parameter values after the change.

        Raises:
            LiquidControllerError: the files cannot be loaded or do not fit.
        """
        raise NotImplementedError

    def _swap(self, files: Mapping[str, Any], loaded: Any) -> None:
        """Put what :meth:`_load` returned in force (on the control thread, between ticks)."""
        raise NotImplementedError

    def stop_safely(self, reason: str) -> None:
        """Publish the safe command once and stop publishing commands."""
        raise NotImplementedError

    def _on_callback_error(self, callback_name: str) -> None:
        """An exception escaped a callback: the safe command goes out (subclass decides how)."""
        raise NotImplementedError

    def _on_guarded_error(self, callback_name: str) -> None:
        # Inactive or unconfigured, no command goes out, the safe one included.
        if self.configured and not self.stopped:
            self._on_callback_error(callback_name)

    # ------------------------------------------------------------------ shared

    def now_s(self) -> float:
        """Node clock in seconds (the simulation clock under ``use_sim_time``)."""
        return float(self.get_clock().now().nanoseconds) * 1e-9

    def run_tick(self, started_s: float) -> None:
        """Step now (an input event, or the timer); ``started_s``: callback start (perf)."""
        if self.stopped:
            return
        self._tick(self.now_s(), started_s)

    def _timer_due(self, now_s: float) -> bool:
        """Whether the timer steps at ``now_s`` (always, unless steps are event-driven)."""
        return True

    def _timed_tick(self) -> None:
        started = time.perf_counter()
        self._poll_load()
        if self._timer_due(self.now_s()):
            self.run_tick(started)

    def _poll_load(self) -> None:
        """Swap in a background load that finished; revert and report one that failed."""
        outcome = self.loader.poll(time.monotonic())
        if outcome is None:
            return
        request = outcome.request
        if outcome.ok:
            self._swap(request.values, outcome.loaded)
            self._in_force.update(request.values)
            took = outcome.finished_s - request.started_s
            self.get_logger().info(f"loaded {request.describe()} in {took:.2f} s: now in force")
            return
        self._revert(outcome)
        self._publish_diagnostics()  # the ERROR record now, not at the next period

    def _revert(self, outcome: LoadOutcome) -> None:
        """Set the file parameters of a failed load back to the values in force."""
        previous = outcome.request.previous
        results = self.set_parameters([Parameter(k, value=v) for k, v in previous.items()])
        refused = "; ".join(r.reason for r in results if not r.successful)
        self.get_logger().error(
            f"loading {outcome.request.describe()} failed: {outcome.error}; "
            + ("reverted to " if not refused else f"could not revert ({refused}) to ")
            + ", ".join(f"{k}={v!r}" for k, v in previous.items())
            + " (still in force)"
        )

    def _check_graph(self) -> None:
        """List the publishers of the exclusive topics; report outsiders as they appear."""
        appeared = False
        for watch in self._graph_watches:
            publishers = [
                GraphPublisher(
                    _qualified(info.node_namespace, info.node_name),
                    info.topic_type,
                    "".join(f"{b:02x}" for b in info.endpoint_gid),
                )
                for info in self.get_publishers_info_by_topic(watch.topic)
            ]
            for outsider in watch.update(publishers):
                appeared = True
                self.get_logger().error(
                    f"another publisher on {watch.topic}: {outsider.describe()}; "
                    f"{watch.consequence}. Restrict who may publish with SROS2 (README)."
                )
        if appeared:
            self._publish_diagnostics()  # the ERROR record now, not at the next period

    def _publish_diagnostics(self) -> None:
        now = self.now_s()
        records = self._records(now) if self.configured else []
        records += [watch.record(self.get_name()) for watch in self._graph_watches]
        records += [
            self._lifecycle_record(),
            self._callbacks_record(),
            self.loader.record(self.get_name(), time.monotonic()),
        ]
        self._diagnostics_pub.publish(
            diagnostic_array(
                self.get_clock().now().to_msg(), records, self.get_fully_qualified_name()
            )
        )

    def _lifecycle_record(self) -> DiagnosticRecord:
        """The lifecycle state; WARN unless active (no commands go out)."""
        if self.configured and not self.stopped:
            level, message = DiagnosticLevel.OK, "active: publishing commands"
        elif self.configured:
            level, message = DiagnosticLevel.WARN, "inactive: configured, not commanding"
        else:
            level, message = DiagnosticLevel.WARN, "unconfigured: nothing loaded"
        return DiagnosticRecord(f"{self.get_name()}: lifecycle", level, message, ())

    def _callbacks_record(self) -> DiagnosticRecord:
        """Exceptions and compute time (p50/p99, microseconds) of every ROS callback."""
        guard = self.guard
        values = [("exceptions", str(guard.count)), ("last_error", guard.last_error)]
        for name, stats in sorted(guard.timing.items()):
            if len(stats):
                p50, p99 = stats.percentiles(50, 99)
                values += [
                    (f"{name}.p50_us", f"{p50 * 1e6:.1f}"),
                    (f"{name}.p99_us", f"{p99 * 1e6:.1f}"),
                ]
        if guard.count:
            level = DiagnosticLevel.ERROR
            message = f"{guard.count} callback exception(s); last: {guard.last_error}"
        else:
            level, message = DiagnosticLevel.OK, "no callback exceptions"
        return DiagnosticRecord(f"{self.get_name()}: callbacks", level, message, tuple(values))

    def _on_set(self, changes: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        # Unconfigured, there is nothing to apply to: configure reads the new values.
        if self.configured:
            files = {k: v for k, v in changes.items() if k in self._in_force}
            files = {k: v for k, v in files.items() if v != self._in_force[k]}
            commit = self._prepare({**values, **self._in_force})
            if files:  # refused (nothing applied) while another load is pending
                self._start_load(files, values)
            commit()
            if "rate_hz" in changes:
                self._timer.timer_period_ns = int(1e9 / float(values["rate_hz"]))
                self._timer.reset()
        if "diagnostics_period_s" in changes:
            self._diagnostics_timer.timer_period_ns = int(
                1e9 * float(values["diagnostics_period_s"])
            )
            self._diagnostics_timer.reset()

    def _start_load(self, files: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        snapshot = dict(values)
        timeout_s = float(values["load_timeout_s"])
        request = self.loader.start(
            files,
            {k: self._in_force[k] for k in files},
            lambda: self._load(files, snapshot),
            now_s=time.monotonic(),
            timeout_s=timeout_s,
        )
        self.get_logger().info(
            f"loading {request.describe()} in the background (at most {timeout_s:g} s); "
            "commanding with the files in force until it is verified"
        )


def _qualified(namespace: str, name: str) -> str:
    return f"{namespace.rstrip('/')}/{name}"


def log_freshness(
    logger: Any, transitions: Iterable[FreshnessTransition], consequence: str
) -> None:
    """Log each input going stale (with ``consequence``) or fresh again, once per change."""
    for t in transitions:
        if t.stale:
            age = "never received" if t.age_s is None else f"{t.age_s:.3f} s old"
            logger.warning(f"input '{t.name}' is stale ({age}): {consequence}")
        else:
            logger.info(f"input '{t.name}' is fresh again")
