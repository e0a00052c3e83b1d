"""Load model and config files off the control thread, bounded in time.

A run-time ``model_path`` or ``safety_config`` change must never stop the commands: reading
a file can block (a FIFO, a hung network mount) or take long (a large archive). So the
parameter callback only starts the load here and returns; the control loop keeps
commanding with what is in force and calls :meth:`BackgroundLoader.poll` every period. A
load that finished is handed back to the loop, which swaps it in between two ticks; one
that runs past its timeout is abandoned: its thread is left to end on its own (a thread
blocked in a system call cannot be stopped) and whatever it returns later is dropped.

Everything takes the time explicitly (``now_s``, a monotonic clock: a load timeout is wall
time even under simulation time) and the thread start is injectable, so the logic is
tested deterministically.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from liquid_controller.control.diagnostics import DiagnosticLevel, DiagnosticRecord
from liquid_controller.errors import ConfigError

__all__ = [
    "MAX_ABANDONED",
    "BackgroundLoader",
    "LoadOutcome",
    "LoadRequest",
    "load_within",
    "start_thread",
]

T = TypeVar("T")
Spawn = Callable[[Callable[[], Any]], "Future[Any]"]

MAX_ABANDONED = 2
"""Abandoned loads whose threads still run (blocked) before new loads are refused."""


def start_thread(load: Callable[[], T]) -> Future[T]:
    """Run ``load`` in a new daemon thread; its result or exception lands in the future.

    Daemon: a thread blocked for good (a FIFO nobody writes) must not hold the process at
    exit, as a ``ThreadPoolExecutor`` worker would.
    """
    future: Future[T] = Future()

    def run() -> None:
        future.set_running_or_notify_cancel()
        try:
            result = load()
        except BaseException as err:  # noqa: BLE001 - handed to the caller, whatever it is
            future.set_exception(err)
        else:
            future.set_result(result)

    threading.Thread(target=run, name="liquid_controller-load", daemon=True).start()
    return future


def _assignments(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items())


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


def load_within(load: Callable[[], T], timeout_s: float, key: str, value: Any) -> T:
    """Run ``load`` in a thread and wait for it at most ``timeout_s`` (a start-up load).

    Raises:
        ConfigError: the load did not finish in time (it is abandoned), naming ``key``.
        Exception: whatever ``load`` raised.
    """
    future = start_thread(load)
    try:
        return future.result(timeout=timeout_s)
    except FutureTimeout:
        raise ConfigError(
            key, value, f"a file that loads within load_timeout_s = {timeout_s:g} s (abandoned)"
        ) from None


@dataclass(frozen=True)
class LoadRequest:
    """One background load: which parameters it sets, what it replaces, when it started.

    Attributes:
        values: the requested values of the file parameters (e.g. ``{"safety_config": p}``).
        previous: their values in force when it started (what a failure reverts to).
        started_s: monotonic start time, s.
        timeout_s: how long it may take, s.
    """

    values: Mapping[str, Any]
    previous: Mapping[str, Any]
    started_s: float
    timeout_s: float

    def describe(self) -> str:
        """``name='value'`` for each parameter of the request."""
        return _assignments(self.values)


class LoadOutcome(NamedTuple):
    """A finished or abandoned load, as :meth:`BackgroundLoader.poll` returns it."""

    request: LoadRequest
    loaded: Any
    """What the load returned (``None`` on failure)."""
    error: str
    """Why it failed (``"ExceptionType: message"`` or the timeout); empty on success."""
    finished_s: float

    @property
    def ok(self) -> bool:
        """Whether the load succeeded (``loaded`` is ready to swap in)."""
        return not self.error


class BackgroundLoader:
    """At most one pending load at a time, started off the control thread, polled by it.

    Args:
        spawn: starts a load and returns its future (default :func:`start_thread`).
        max_abandoned: abandoned loads still running before :meth:`start` refuses more.
    """

    def __init__(self, *, spawn: Spawn = start_thread, max_abandoned: int = MAX_ABANDONED) -> None:
        self._spawn = spawn
        self._max_abandoned = max_abandoned
        self._pending: tuple[LoadRequest, Future[Any]] | None = None
        self._abandoned: list[Future[Any]] = []
        self.last: LoadOutcome | None = None
        """The latest outcome, for diagnostics (kept until the next one)."""

    @property
    def pending(self) -> LoadRequest | None:
        """The load in progress, if any."""
        return None if self._pending is None else self._pending[0]

    def start(
        self,
        values: Mapping[str, Any],
        previous: Mapping[str, Any],
        load: Callable[[], Any],
        *,
        now_s: float,
        timeout_s: float,
    ) -> LoadRequest:
        """Start loading ``values`` with ``load`` (run in the background).

        Raises:
            ConfigError: a load is already pending, or too many abandoned loads still block;
                nothing is started.
        """
        key = ", ".join(values)
        if self._pending is not None:
            request = self._pending[0]
            raise ConfigError(
                key,
                dict(values),
                f"no change while the load of {request.describe()} is pending "
                f"({now_s - request.started_s:.1f} s of {request.timeout_s:g} s); retry after it",
            )
        self._abandoned = [f for f in self._abandoned if not f.done()]
        if len(self._abandoned) >= self._max_abandoned:
            raise ConfigError(
                key,
                dict(values),
                f"no new load while {len(self._abandoned)} abandoned (timed out) loads are "
                "still blocked reading their files; unblock them or restart the node",
            )
        request = LoadRequest(dict(values), dict(previous), now_s, timeout_s)
        self._pending = (request, self._spawn(load))
        return request

    def poll(self, now_s: float) -> LoadOutcome | None:
        """Return the pending load's outcome once it finished or timed out, else ``None``.

        The outcome is returned once; after it nothing is pending.
        """
        if self._pending is None:
            return None
        request, future = self._pending
        if future.done():
            error = future.exception()
            loaded = None if error is not None else future.result()
            outcome = LoadOutcome(request, loaded, "" if error is None else _describe(error), now_s)
        elif now_s - request.started_s > request.timeout_s:
            self._abandoned.append(future)
            outcome = LoadOutcome(
                request,
                None,
                f"timed out after {request.timeout_s:g} s (load_timeout_s); abandoned",
                now_s,
            )
        else:
            return None
        self._pending = None
        self.last = outcome
        return outcome

    def abandon(self) -> LoadRequest | None:
        """Drop the pending load without an outcome (the node is being unconfigured)."""
        if self._pending is None:
            return None
        request, future = self._pending
        if not future.done():
            self._abandoned.append(future)
        self._pending = None
        return request

    def record(self, node_name: str, now_s: float) -> DiagnosticRecord:
        """Pending load and latest outcome; ERROR while the latest load failed."""
        values = [("abandoned_loads_running", str(sum(not f.done() for f in self._abandoned)))]
        level, message = DiagnosticLevel.OK, "no load pending"
        pending, last = self.pending, self.last
        if pending is not None:
            values.append(("pending", pending.describe()))
            elapsed = now_s - pending.started_s
            message = f"loading {pending.describe()} ({elapsed:.1f} s of {pending.timeout_s:g} s)"
        if last is not None:
            values.append(("last", last.request.describe()))
            values.append(("last_result", "loaded" if last.ok else last.error))
            if not last.ok:
                level = DiagnosticLevel.ERROR
                message = (
                    f"loading {last.request.describe()} failed: {last.error}; kept "
                    f"{_assignments(last.request.previous)}"
                )
        return DiagnosticRecord(f"{node_name}: reconfiguration", level, message, tuple(values))
