"""BackgroundLoader: one pending load, polled with an explicit clock, bounded by its timeout."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest

from liquid_controller.control.background_load import (
    BackgroundLoader,
    load_within,
    start_thread,
)
from liquid_controller.control.diagnostics import DiagnosticLevel
from liquid_controller.errors import ConfigError

NEW = {"safety_config": "/new.yaml"}
OLD = {"safety_config": "/old.yaml"}


class FakeSpawn:
    """Hands out futures the test completes by hand; nothing runs."""

    def __init__(self) -> None:
        self.futures: list[Future] = []

    def __call__(self, load):
        future: Future = Future()
        self.futures.append(future)
        return future


def start(loader, *, now_s=0.0, timeout_s=2.0, values=NEW):
    return loader.start(values, OLD, lambda: None, now_s=now_s, timeout_s=timeout_s)


def test_a_finished_load_is_returned_once_with_what_it_loaded():
    spawn = FakeSpawn()
    loader = BackgroundLoader(spawn=spawn)
    start(loader)
    assert loader.poll(1.0) is None and loader.pending is not None
    spawn.futures[0].set_result("config")
    outcome = loader.poll(1.5)
    assert outcome.ok and outcome.loaded == "config" and outcome.request.values == NEW
    assert outcome.request.previous == OLD and outcome.finished_s == 1.5
    assert loader.pending is None and loader.poll(2.0) is None
    assert loader.record("n", 2.0).level is DiagnosticLevel.OK


def test_a_failed_load_reports_the_error_and_the_values_kept():
    spawn = FakeSpawn()
    loader = BackgroundLoader(spawn=spawn)
    start(loader)
    spawn.futures[0].set_exception(ConfigError("actuators", None, "a mapping"))
    outcome = loader.poll(0.5)
    assert not outcome.ok and outcome.loaded is None
    assert outcome.error.startswith("ConfigError: config key 'actuators'")
    record = loader.record("filter", 0.6)
    assert record.level is DiagnosticLevel.ERROR and record.name == "filter: reconfiguration"
    assert "/new.yaml" in record.message and "kept safety_config='/old.yaml'" in record.message


def test_a_load_past_its_timeout_is_abandoned_and_its_late_result_dropped():
    spawn = FakeSpawn()
    loader = BackgroundLoader(spawn=spawn)
    start(loader, now_s=10.0, timeout_s=2.0)
    assert loader.poll(12.0) is None  # exactly at the timeout: still waiting
    outcome = loader.poll(12.01)
    assert not outcome.ok and "timed out after 2 s" in outcome.error
    spawn.futures[0].set_result("late")
    assert loader.poll(13.0) is None  # the late result is never handed out
    # A new load may start at once; its own result is the one returned.
    start(loader, now_s=13.0)
    spawn.futures[1].set_result("fresh")
    assert loader.poll(13.1).loaded == "fresh"


def test_only_one_load_at_a_time():
    loader = BackgroundLoader(spawn=FakeSpawn())
    start(loader, now_s=1.0)
    with pytest.raises(ConfigError, match=r"while the load of safety_config='/new.yaml'"):
        start(loader, now_s=1.5, values={"safety_config": "/other.yaml"})
    assert loader.pending.values == NEW
    record = loader.record("n", 1.5)
    assert record.level is DiagnosticLevel.OK and "loading safety_config" in record.message


def test_abandoned_loads_still_blocked_are_capped():
    spawn = FakeSpawn()
    loader = BackgroundLoader(spawn=spawn, max_abandoned=2)
    for i in range(2):
        start(loader, now_s=10.0 * i, timeout_s=1.0)
        assert not loader.poll(10.0 * i + 2.0).ok
    with pytest.raises(ConfigError, match="2 abandoned .* still blocked"):
        start(loader, now_s=30.0)
    spawn.futures[0].set_result(None)  # one blocked load ends: room for a new one
    start(loader, now_s=31.0)
    assert loader.pending is not None


def test_abandon_drops_the_pending_load_without_an_outcome():
    spawn = FakeSpawn()
    loader = BackgroundLoader(spawn=spawn)
    start(loader)
    assert loader.abandon().values == NEW
    assert loader.pending is None and loader.poll(100.0) is None and loader.last is None


def test_start_thread_runs_off_the_calling_thread_and_keeps_exceptions():
    release = threading.Event()
    callers = []

    def load():
        callers.append(threading.current_thread())
        release.wait()
        return 42

    future = start_thread(load)
    assert not future.done()  # blocked in the worker, not in this thread
    release.set()
    assert future.result(timeout=30.0) == 42
    assert callers[0] is not threading.current_thread() and callers[0].daemon

    def fail():
        raise ConfigError("key", 1, "2")

    with pytest.raises(ConfigError):
        start_thread(fail).result(timeout=30.0)


def test_load_within_abandons_a_blocked_start_up_load_naming_the_parameter():
    release = threading.Event()
    try:
        with pytest.raises(ConfigError, match=r"'safety_config'.*/fifo.*within load_timeout_s"):
            load_within(release.wait, 0.05, "safety_config", "/fifo")
    finally:
        release.set()
    assert load_within(lambda: "ok", 30.0, "model_path", "") == "ok"
