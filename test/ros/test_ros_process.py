"""ros.process.CallbackGuard: exceptions are counted, logged once per type, fallen back on."""

from __future__ import annotations

import gc
import os
import signal

import pytest
import rclpy

from liquid_controller.errors import ConfigError
from liquid_controller.ros.process import (
    EXECUTOR_VARIABLE,
    CallbackGuard,
    StopRequest,
    freeze_startup_objects,
    make_executor,
)


def make_guard():
    logged, fallbacks = [], []
    return CallbackGuard(logged.append, fallbacks.append), logged, fallbacks


def test_an_exception_is_swallowed_counted_logged_once_per_type_and_falls_back_each_time():
    guard, logged, fallbacks = make_guard()

    def boom(value):
        if value < 0:
            raise KeyError(value)
        raise ValueError(f"bad {value}")

    wrapped = guard.wrap("camera", boom)
    assert [wrapped(1), wrapped(2), wrapped(-1)] == [None, None, None]
    assert guard.count == 3
    assert len(logged) == 2  # ValueError once, KeyError once
    assert "Traceback" in logged[0] and "ValueError: bad 1" in logged[0]
    assert fallbacks == ["camera"] * 3
    assert guard.last_error == "camera: KeyError: -1"


def test_a_successful_call_returns_its_value_and_is_timed():
    guard, logged, fallbacks = make_guard()
    wrapped = guard.wrap("imu", lambda x: x * 2)
    assert wrapped(21) == 42
    assert guard.count == 0 and not logged and not fallbacks
    assert len(guard.timing["imu"]) == 1 and guard.timing["imu"].percentile(50) >= 0.0


def test_a_failing_fallback_is_counted_not_raised():
    logged = []

    def broken_fallback(name):
        raise RuntimeError("publisher gone")

    guard = CallbackGuard(logged.append, broken_fallback)
    guard.wrap("timer", lambda: 1 / 0)()
    assert guard.count == 2
    assert guard.last_error == "timer fallback: RuntimeError: publisher gone"


@pytest.mark.parametrize("exception", [KeyboardInterrupt, SystemExit])
def test_shutdown_exceptions_pass_through(exception):
    guard, _, fallbacks = make_guard()

    def stop():
        raise exception

    with pytest.raises(exception):
        guard.wrap("timer", stop)()
    assert guard.count == 0 and not fallbacks


@pytest.mark.parametrize(("kind", "class_name"), [("single", "SingleThreadedExecutor"),
                                                  ("events", "EventsExecutor")])  # fmt: skip
def test_executor_is_chosen_by_the_environment(monkeypatch, kind, class_name):
    monkeypatch.setenv(EXECUTOR_VARIABLE, kind)
    rclpy.init()  # run_node initialises the default context before making the executor
    try:
        executor = make_executor()
        assert type(executor).__name__ == class_name
        executor.shutdown()
    finally:
        rclpy.try_shutdown()


def test_an_unknown_executor_is_a_config_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv(EXECUTOR_VARIABLE, "multi")
    with pytest.raises(ConfigError, match=r"LIQUID_CONTROLLER_EXECUTOR.*'multi'.*'single' or"):
        make_executor()


def test_startup_objects_are_frozen_out_of_later_collections():
    held = [[k] for k in range(1000)]  # long-lived containers, like a started node's
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() >= len(held)
        scanned = {id(obj) for generation in range(3) for obj in gc.get_objects(generation)}
        assert not any(id(obj) in scanned for obj in held)
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_is_recorded_not_raised(signum):
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    stop = StopRequest()
    try:
        stop.install()
        assert stop.signal_name is None
        os.kill(os.getpid(), signum)  # the handler runs before the next bytecode
        assert stop.signal_name == signal.Signals(signum).name
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
