"""Library of the test/ros harness: a test node, node processes, ROS argument building.

The fixtures in ``conftest.py`` hand these out; tests may import the types and helpers
(``from ros_harness import NodeProcess``). Importing this module needs rclpy: ``conftest.py``
checks for it first and fails with instructions when it is missing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import rclpy
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.srv import GetParameters, SetParameters
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile

PACKAGE = "liquid_controller"
DEFAULT_TIMEOUT_S = 10.0
_TRACEBACK = "Traceback (most recent call last)"
# rclpy 7.1.6 (Jazzy) bug: garbage collection of a Task whose __init__ did not finish runs
# Future.__del__, which reads the unset `_exception`; Python prints it as "Exception ignored".
# That is rclpy's destructor, not a node callback: seen once in CI, it is not held against us.
_RCLPY_TASK_DEL_NOISE = re.compile(
    r"Exception ignored in: <function Future\.__del__.*?"
    r"AttributeError: 'Task' object has no attribute '_exception'\n",
    re.S,
)

# ROS_DOMAIN_ID values usable on Linux with the default port mapping.
_DOMAIN_IDS = range(1, 102)
_domain_lock: Any = None  # the open lock file, held until this process exits


def claim_domain_id() -> int:
    """Take a ROS_DOMAIN_ID that no other test session on this machine holds.

    Starts at a pid-derived id and takes the first whose lock file can be locked; the lock is
    released by the OS when this process exits, however it exits.
    """
    global _domain_lock
    lock_dir = Path(tempfile.gettempdir()) / "liquid_controller_ros_domains"
    lock_dir.mkdir(exist_ok=True)
    start = os.getpid() % len(_DOMAIN_IDS)
    for offset in range(len(_DOMAIN_IDS)):
        domain_id = _DOMAIN_IDS[(start + offset) % len(_DOMAIN_IDS)]
        handle = open(lock_dir / f"{domain_id}.lock", "w")  # noqa: SIM115 (held open on purpose)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _domain_lock = handle
        return domain_id
    raise RuntimeError(f"all ROS domain ids {_DOMAIN_IDS} are held by other test sessions")


@dataclass
class TopicRecorder:
    """Messages received on one topic, with their receipt times (``time.monotonic()``, s)."""

    topic: str
    messages: list[Any] = field(default_factory=list)
    receipt_times_s: list[float] = field(default_factory=list)

    def _on_message(self, msg: Any) -> None:
        self.messages.append(msg)
        self.receipt_times_s.append(time.monotonic())


class RosTestNode:
    """An rclpy node for tests, spun only inside its ``wait_*`` helpers.

    Args:
        name: Node name.
    """

    def __init__(self, name: str) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._publishers: dict[tuple[str, type], Any] = {}
        self._subscriptions: list[Any] = []

    def close(self) -> None:
        """Destroy the node and shut its context down."""
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)

    # ---- spinning

    def spin_for(self, duration_s: float) -> None:
        """Process callbacks and timers for ``duration_s`` seconds."""
        deadline = time.monotonic() + duration_s
        while (remaining := deadline - time.monotonic()) > 0:
            self.executor.spin_once(timeout_sec=min(remaining, 0.01))

    def wait_for(
        self, condition: Callable[[], bool], *, timeout_s: float = DEFAULT_TIMEOUT_S, what: str
    ) -> float:
        """Spin until ``condition()`` is true; fail the test after ``timeout_s``.

        Args:
            condition: Checked after every callback.
            timeout_s: Seconds to wait.
            what: What is awaited, for the failure message.

        Returns:
            Seconds it took.
        """
        start = time.monotonic()
        deadline = start + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout_s:.1f} s waiting for {what}")
            self.executor.spin_once(timeout_sec=0.01)
        return time.monotonic() - start

    # ---- topics

    def publisher(self, topic: str, msg_type: type, qos: QoSProfile | int = 10) -> Any:
        """Return this node's publisher of ``msg_type`` on ``topic`` (created on first use)."""
        key = (topic, msg_type)
        if key not in self._publishers:
            self._publishers[key] = self.node.create_publisher(msg_type, topic, qos)
        return self._publishers[key]

    def publish(self, topic: str, msg: Any, qos: QoSProfile | int = 10) -> None:
        """Publish ``msg`` on ``topic`` (the publisher is created on first use)."""
        self.publisher(topic, type(msg), qos).publish(msg)

    def publish_periodically(
        self,
        topic: str,
        make_msg: Callable[[], Any],
        rate_hz: float,
        qos: QoSProfile | int = 10,
    ) -> Any:
        """Publish ``make_msg()`` on ``topic`` at ``rate_hz`` while this node is spun.

        Returns:
            The rclpy timer; ``cancel()`` it to stop publishing.
        """
        sample = make_msg()
        publisher = self.publisher(topic, type(sample), qos)
        return self.node.create_timer(1.0 / rate_hz, lambda: publisher.publish(make_msg()))

    def subscribe(self, topic: str, msg_type: type, qos: QoSProfile | int = 10) -> TopicRecorder:
        """Record every message of ``msg_type`` received on ``topic`` from now on."""
        recorder = TopicRecorder(topic)
        self._subscriptions.append(
            self.node.create_subscription(msg_type, topic, recorder._on_message, qos)
        )
        return recorder

    def wait_for_messages(
        self, recorder: TopicRecorder, count: int = 1, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> list[Any]:
        """Spin until ``recorder`` holds at least ``count`` messages; return them all."""
        self.wait_for(
            lambda: len(recorder.messages) >= count,
            timeout_s=timeout_s,
            what=f"{count} message(s) on {recorder.topic} (got {len(recorder.messages)})",
        )
        return list(recorder.messages)

    def wait_for_subscribers(
        self, topic: str, msg_type: type, count: int = 1, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        """Spin until this node's publisher on ``topic`` is matched by ``count`` subscriptions.

        Publish only after this: DDS drops what is published before discovery completes.
        """
        publisher = self.publisher(topic, msg_type)
        self.wait_for(
            lambda: publisher.get_subscription_count() >= count,
            timeout_s=timeout_s,
            what=f"{count} subscriber(s) on {topic}",
        )

    # ---- graph, services, parameters

    def wait_for_node(
        self, name: str, namespace: str = "/", *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        """Spin until a node called ``name`` in ``namespace`` is in the ROS graph."""
        self.wait_for(
            lambda: (name, namespace) in self.node.get_node_names_and_namespaces(),
            timeout_s=timeout_s,
            what=f"node {namespace.rstrip('/')}/{name} in the ROS graph",
        )

    def call_service(
        self, srv_type: type, service: str, request: Any, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> Any:
        """Call ``service`` and return its response; fail the test on timeout."""
        client = self.node.create_client(srv_type, service)
        try:
            self.wait_for(client.service_is_ready, timeout_s=timeout_s, what=f"service {service}")
            future = client.call_async(request)
            self.wait_for(future.done, timeout_s=timeout_s, what=f"a response from {service}")
            return future.result()
        finally:
            self.node.destroy_client(client)

    def set_parameters(
        self, node_name: str, values: Mapping[str, Any], *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> list[Any]:
        """Set parameters of another node through its ``set_parameters`` service.

        Args:
            node_name: Fully qualified node name, e.g. ``/safety_filter_node``.
            values: Parameter name -> Python value (type inferred as rclpy does).
            timeout_s: Seconds to wait for the service and its response.

        Returns:
            One ``rcl_interfaces/SetParametersResult`` per parameter (``successful``, ``reason``).
        """
        response = self.call_service(
            SetParameters,
            f"{node_name}/set_parameters",
            _set_parameters_request(values),
            timeout_s=timeout_s,
        )
        return list(response.results)

    def set_parameters_async(
        self, node_name: str, values: Mapping[str, Any], *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> Any:
        """Send a ``set_parameters`` request without waiting for the answer; return its future.

        For requests whose answer may take long (or never come, if the node blocks).
        """
        client = self.node.create_client(SetParameters, f"{node_name}/set_parameters")
        self.wait_for(
            client.service_is_ready, timeout_s=timeout_s, what=f"{node_name}/set_parameters"
        )
        return client.call_async(_set_parameters_request(values))

    def get_parameter(
        self, node_name: str, name: str, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> Any:
        """Return the value of parameter ``name`` of node ``node_name`` (fully qualified)."""
        request = GetParameters.Request(names=[name])
        (value,) = self.call_service(
            GetParameters, f"{node_name}/get_parameters", request, timeout_s=timeout_s
        ).values
        return Parameter.from_parameter_msg(ParameterMsg(name=name, value=value)).value


def _set_parameters_request(values: Mapping[str, Any]) -> SetParameters.Request:
    return SetParameters.Request(
        parameters=[Parameter(name, value=v).to_parameter_msg() for name, v in values.items()]
    )


def format_parameter(value: Any) -> str:
    """Write a Python value as a ``-p name:=value`` value (YAML; JSON is valid YAML).

    Strings are quoted, so ``"true"`` or ``"1.0"`` stay strings; lists become YAML lists.
    """
    return json.dumps(value)


def ros_arguments(
    *,
    node_name: str | None = None,
    namespace: str | None = None,
    params: Mapping[str, Any] | None = None,
    params_file: Path | None = None,
    remaps: Mapping[str, str] | None = None,
    enclave: str | None = None,
) -> list[str]:
    """Build the ``--ros-args ...`` part of a node command line."""
    args = ["--ros-args"]
    if enclave is not None:
        args += ["--enclave", enclave]
    if node_name is not None:
        args += ["-r", f"__node:={node_name}"]
    if namespace is not None:
        args += ["-r", f"__ns:={namespace}"]
    if params_file is not None:
        args += ["--params-file", str(params_file)]
    for name, value in (params or {}).items():
        args += ["-p", f"{name}:={format_parameter(value)}"]
    for source, target in (remaps or {}).items():
        args += ["-r", f"{source}:={target}"]
    return args


class NodeProcess:
    """A node executable running as a subprocess, its stdout and stderr in one log file.

    Args:
        argv: Command line.
        log_path: File that receives the process's output.
    """

    def __init__(self, argv: Sequence[str], log_path: Path) -> None:
        self.argv = list(argv)
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in stop())
        # Own session: a Ctrl-C in the terminal reaches pytest only; we signal the node ourselves.
        self.process = subprocess.Popen(
            self.argv, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.returncode: int | None = None

    def output(self) -> str:
        """Everything the process has written so far."""
        return self.log_path.read_text(errors="replace")

    def is_running(self) -> bool:
        return self.process.poll() is None

    def describe(self) -> str:
        """The command line and the output, for failure messages."""
        return f"$ {' '.join(self.argv)}\n--- output ---\n{self.output()}--- end of output ---"

    def wait_for_output(self, pattern: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> re.Match:
        """Wait until the output matches the regular expression ``pattern``; fail on timeout."""
        deadline = time.monotonic() + timeout_s
        while (match := re.search(pattern, self.output())) is None:
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for output /{pattern}/\n{self.describe()}")
            time.sleep(0.02)
        return match

    def stop(self, *, timeout_s: float = DEFAULT_TIMEOUT_S, check: bool = True) -> int:
        """Send SIGINT (Ctrl-C) and wait for the exit; SIGKILL after ``timeout_s``.

        Args:
            timeout_s: Seconds the process gets to shut down after SIGINT.
            check: Fail the test unless the process exited by itself with code 0 and without a
                Python traceback in its output.

        Returns:
            The exit code (negative: killed by that signal).
        """
        if self.returncode is None:
            timed_out = False
            if self.is_running():
                self.process.send_signal(signal.SIGINT)
                try:
                    self.process.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    timed_out = True
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait()
            self.returncode = self.process.returncode
            self._log.close()
            if check and timed_out:
                pytest.fail(f"still running {timeout_s:.1f} s after SIGINT\n{self.describe()}")
        if check:
            self.check_clean_exit()
        return self.returncode

    def check_clean_exit(self) -> None:
        """Fail the test unless the process exited with 0 and printed no traceback."""
        if self.returncode != 0:
            pytest.fail(f"exited with code {self.returncode}\n{self.describe()}")
        if _TRACEBACK in _RCLPY_TASK_DEL_NOISE.sub("", self.output()):
            pytest.fail(f"printed a Python traceback\n{self.describe()}")


def stop_all(processes: Sequence[NodeProcess]) -> None:
    """Stop every process still running, then fail with all the unclean exits at once.

    Processes the test already stopped were checked (or deliberately not) by that ``stop()``.
    """
    failures = []
    for process in processes:
        if process.returncode is not None:
            continue
        try:
            process.stop()
        except pytest.fail.Exception as failure:
            failures.append(str(failure))
    if failures:
        pytest.fail("\n\n".join(failures))
