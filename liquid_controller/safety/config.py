"""The safety filter's YAML schema: a plain mapping in, validated frozen dataclasses out.

Every error is a :class:`~liquid_controller.errors.ConfigError` naming the dotted key
(``actuators.effort_min[1]``, ``barriers[0].class_k``), the value found and what was
expected. Validation happens here, once, at load; the filter never re-checks config.

Schema (``config/safety.yaml`` is the commented example)::

    actuators:                      # order = order of the command vector
      names: [left_wheel, right_wheel]
      effort_min: [-2.0, -2.0]      # N*m (or N for linear actuators)
      effort_max: [2.0, 2.0]
      rate_max: [40.0, 40.0]        # optional, effort units per second
    force_limits:                   # optional, hard rows: lower <= A @ u <= upper
      - {name: traction, A: [[10.0, 10.0]], lower: [-12.0], upper: [12.0]}
      - {name: ee, function: ee_rows, rows: 3, params: {...}}   # state-dependent, plug-in
    barriers:                       # optional state barriers, see barriers.py
      - {name: wheel_speed, type: joint_velocity, joints: [left_wheel, right_wheel],
         lower: [-20, -20], upper: [20, 20], inertia: [0.05, 0.05], damping: [0.0, 0.0],
         class_k: [10.0], hard: false}
      - {name: lane, type: plugin, function: lane, rows: 2, relative_degree: 1,
         class_k: [2.0], params: {...}}
    nominal_state: {lateral_position: 0.0}   # optional, what plug-ins are trial-called on
    weights: [1.0, 1.0]             # optional, diagonal of W (default ones)
    slack_weight: 1.0e4             # optional, rho: cost of soft-barrier slack
    fallback: zero                  # zero | hold : the safe command
    timing: {period_s: 0.01, max_dt_s: 0.1}   # optional, see filter.py
    solver: daqp                    # optional, a backend registered in qp.py

``function`` values are plug-in names registered in an entry-point group, never import
paths (see plugins.py). ``nominal_state`` is a state the plug-ins are called on once at
load (joint arrays default to zeros); each value is a number or a list of numbers.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from liquid_controller.errors import ConfigError

__all__ = [
    "MAX_ROWS",
    "MAX_YAML_DEPTH",
    "ActuatorLimits",
    "BarrierConfig",
    "BarrierKind",
    "FallbackMode",
    "ForceLimitConfig",
    "SafetyConfig",
    "TimingConfig",
    "load_config",
    "parse_config",
]


#: Deepest YAML nesting :func:`load_config` composes. The schema itself nests 6 deep
#: (``force_limits[i].A[r][c]``), plug-in ``params`` a few levels more; PyYAML composes
#: recursively (three Python frames per level), so a file nested thousands deep would end
#: in ``RecursionError`` without this bound.
MAX_YAML_DEPTH = 64
#: Most rows one plug-in or force-limit function may declare: the QP grows with the rows
#: and the filter allocates them at load, so ``rows: 10**9`` must fail here, not in numpy.
MAX_ROWS = 1000
#: Highest relative degree of a plug-in barrier (the filter has one gain per degree).
MAX_RELATIVE_DEGREE = 8


class FallbackMode(enum.Enum):
    """The safe command the filter falls back to (always passed through the hard limits)."""

    ZERO = "zero"
    """Zero effort (clipped into the actuator box if zero lies outside it)."""
    HOLD = "hold"
    """The last command the filter emitted."""


class BarrierKind(enum.Enum):
    """Which barrier function a ``barriers[i]`` entry builds."""

    JOINT_POSITION = "joint_position"
    """Joint position limits: high-order CBF, relative degree 2."""
    JOINT_VELOCITY = "joint_velocity"
    """Joint velocity limits: CBF, relative degree 1."""
    PLUGIN = "plugin"
    """A registered plug-in function returning barrier terms for a state."""


@dataclass(frozen=True)
class ActuatorLimits:
    """Box and rate limits, one entry per actuator, in command order."""

    names: tuple[str, ...]
    effort_min: tuple[float, ...]
    effort_max: tuple[float, ...]
    rate_max: tuple[float, ...] | None = None
    """Effort units per second, or ``None`` for no rate limit."""

    @property
    def size(self) -> int:
        """Number of actuators ``n``."""
        return len(self.names)


@dataclass(frozen=True)
class ForceLimitConfig:
    """Hard rows ``lower <= A @ u <= upper``: constant ``A`` or a state-dependent function."""

    name: str
    rows: int
    A: tuple[tuple[float, ...], ...] | None = None
    lower: tuple[float, ...] | None = None
    upper: tuple[float, ...] | None = None
    function: str | None = None
    """Registered plug-in name (``liquid_controller.force_limits`` group, see plugins.py)
    of a function returning ``(A, lower, upper)`` for a state."""
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BarrierConfig:
    """One state barrier; which fields matter depends on ``kind``.

    For the built-in joint barriers, ``joints`` indexes the actuators (command order) and
    ``lower``/``upper``/``inertia``/``damping`` have one entry per listed joint. For
    plug-ins, ``function`` (a name registered in the ``liquid_controller.barriers``
    entry-point group, see plugins.py), ``rows``, ``relative_degree`` and ``params``.
    """

    name: str
    kind: BarrierKind
    class_k: tuple[float, ...]
    """Default linear class-K gains ``k_1..k_r`` (one per relative degree), all > 0."""
    hard: bool = False
    joints: tuple[int, ...] = ()
    lower: tuple[float, ...] = ()
    upper: tuple[float, ...] = ()
    inertia: tuple[float, ...] = ()
    damping: tuple[float, ...] = ()
    function: str | None = None
    rows: int = 0
    relative_degree: int = 1
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TimingConfig:
    """How the filter turns call times into the rate-limit step ``dt``."""

    period_s: float = 0.01
    """dt used when ``t`` is not given (and on the first call)."""
    max_dt_s: float = 0.1
    """Upper cap on dt, so a long pause never licenses a large jump."""


@dataclass(frozen=True)
class SafetyConfig:
    """The validated safety configuration (see the module docstring for the YAML)."""

    actuators: ActuatorLimits
    force_limits: tuple[ForceLimitConfig, ...] = ()
    barriers: tuple[BarrierConfig, ...] = ()
    weights: tuple[float, ...] | None = None
    slack_weight: float = 1.0e4
    fallback: FallbackMode = FallbackMode.ZERO
    timing: TimingConfig = TimingConfig()
    solver: str = "daqp"
    nominal_state: Mapping[str, float | tuple[float, ...]] = field(default_factory=dict)
    """A state plug-ins are trial-called on at load (joint arrays default to zeros)."""

    @property
    def size(self) -> int:
        """Number of actuators ``n``."""
        return self.actuators.size


# --------------------------------------------------------------------------- parsing helpers


def _mapping(key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(key, value, "a mapping")
    return value


def _check_keys(
    key: str, data: Mapping[str, Any], required: Sequence[str], optional: Sequence[str]
) -> None:
    prefix = f"{key}." if key else ""
    for name in data:
        if name not in required and name not in optional:
            allowed = ", ".join(sorted([*required, *optional]))
            raise ConfigError(f"{prefix}{name}", data[name], f"one of the known keys: {allowed}")
    for name in required:
        if name not in data:
            raise ConfigError(f"{prefix}{name}", None, "a value (the key is required)")


class OversizedInteger(NamedTuple):
    """An integer literal in a YAML file too long to convert (see ``_BoundedLoader``)."""

    digits: int


def _number(key: str, value: Any) -> float:
    if isinstance(value, OversizedInteger):
        raise ConfigError(key, f"an integer of {value.digits} digits", "a finite number")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(key, value, "a number")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range
        digits = int(int(value).bit_length() * math.log10(2.0)) + 1
        raise ConfigError(key, f"an integer of about {digits} digits", "a finite number") from None
    if not math.isfinite(number):
        raise ConfigError(key, value, "a finite number")
    return number


def _positive(key: str, value: Any) -> float:
    number = _number(key, value)
    if number <= 0.0:
        raise ConfigError(key, value, "a number > 0")
    return number


def _numbers(key: str, value: Any, length: int | None = None) -> tuple[float, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ConfigError(key, value, "a list of numbers")
    if length is not None and len(value) != length:
        raise ConfigError(key, value, f"a list of {length} numbers")
    return tuple(_number(f"{key}[{i}]", v) for i, v in enumerate(value))


def _positives(key: str, value: Any, length: int | None = None) -> tuple[float, ...]:
    numbers = _numbers(key, value, length)
    for i, number in enumerate(numbers):
        if number <= 0.0:
            raise ConfigError(f"{key}[{i}]", value[i], "a number > 0")
    return numbers


def _name(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(key, value, "a non-empty string")
    return value


def _count(key: str, value: Any, maximum: int, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ConfigError(key, value, f"an integer in [{minimum}, {maximum}]")
    return value


def _enum(key: str, value: Any, kind: type[enum.Enum]) -> Any:
    for member in kind:
        if value == member.value:
            return member
    raise ConfigError(key, value, "one of " + " | ".join(str(m.value) for m in kind))


def _ordered_pairs(
    key_lo: str, lo: Sequence[float], key_hi: str, hi: Sequence[float], strict: bool
) -> None:
    for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
        if a > b or (strict and a == b):
            relation = ">" if strict else ">="
            raise ConfigError(f"{key_hi}[{i}]", b, f"a number {relation} {key_lo}[{i}] = {a}")


# --------------------------------------------------------------------------- sections


def _parse_actuators(data: Any) -> ActuatorLimits:
    key = "actuators"
    section = _mapping(key, data)
    _check_keys(key, section, ("names", "effort_min", "effort_max"), ("rate_max",))
    names_raw = section["names"]
    if isinstance(names_raw, (str, bytes)) or not isinstance(names_raw, Sequence) or not names_raw:
        raise ConfigError(f"{key}.names", names_raw, "a non-empty list of actuator names")
    names = tuple(_name(f"{key}.names[{i}]", v) for i, v in enumerate(names_raw))
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"{key}.names[{i}]", name, "a name not used by another actuator")
    n = len(names)
    effort_min = _numbers(f"{key}.effort_min", section["effort_min"], n)
    effort_max = _numbers(f"{key}.effort_max", section["effort_max"], n)
    for i, (lo, hi) in enumerate(zip(effort_min, effort_max, strict=True)):
        if lo > hi:
            raise ConfigError(
                f"{key}.effort_min[{i}]", lo, f"a number <= actuators.effort_max[{i}] = {hi}"
            )
    rate_raw = section.get("rate_max")
    rate_max = None if rate_raw is None else _positives(f"{key}.rate_max", rate_raw, n)
    return ActuatorLimits(names, effort_min, effort_max, rate_max)


def _box_range(row: Sequence[float], limits: ActuatorLimits) -> tuple[float, float]:
    """Return ``(min, max)`` of ``row @ u`` over the actuator box."""
    low = high = 0.0
    for a, lo, hi in zip(row, limits.effort_min, limits.effort_max, strict=True):
        low += min(a * lo, a * hi)
        high += max(a * lo, a * hi)
    return low, high


def _parse_force_limit(index: int, data: Any, limits: ActuatorLimits) -> ForceLimitConfig:
    key = f"force_limits[{index}]"
    entry = _mapping(key, data)
    name = _name(f"{key}.name", entry.get("name"))
    if "function" in entry:
        _check_keys(key, entry, ("name", "function", "rows"), ("params",))
        return ForceLimitConfig(
            name=name,
            rows=_count(f"{key}.rows", entry["rows"], MAX_ROWS),
            function=_name(f"{key}.function", entry["function"]),
            params=dict(_mapping(f"{key}.params", entry.get("params", {}))),
        )
    _check_keys(key, entry, ("name", "A", "lower", "upper"), ())
    A_raw = entry["A"]
    if isinstance(A_raw, (str, bytes)) or not isinstance(A_raw, Sequence) or not A_raw:
        raise ConfigError(f"{key}.A", A_raw, f"a non-empty list of rows of {limits.size} numbers")
    A = tuple(_numbers(f"{key}.A[{r}]", row, limits.size) for r, row in enumerate(A_raw))
    lower = _numbers(f"{key}.lower", entry["lower"], len(A))
    upper = _numbers(f"{key}.upper", entry["upper"], len(A))
    for r, row in enumerate(A):
        if lower[r] > upper[r]:
            raise ConfigError(f"{key}.lower[{r}]", lower[r], f"a number <= {key}.upper[{r}]")
        low, high = _box_range(row, limits)
        rounding = 1e-9 * (1.0 + abs(low) + abs(high))  # a band touching the range is fine
        if upper[r] < low - rounding or lower[r] > high + rounding:
            raise ConfigError(
                f"{key}.lower[{r}]..upper[{r}]",
                [lower[r], upper[r]],
                f"a band meeting [{low:g}, {high:g}], the range of A[{r}] @ u over the "
                "actuator box (this band excludes every command the box allows)",
            )
    return ForceLimitConfig(name=name, rows=len(A), A=A, lower=lower, upper=upper)


_JOINT_KEYS = ("name", "type", "lower", "upper", "inertia", "class_k")
_JOINT_OPTIONAL = ("joints", "damping", "hard")
_PLUGIN_KEYS = ("name", "type", "function", "rows", "class_k")
_PLUGIN_OPTIONAL = ("relative_degree", "hard", "params")


def _parse_hard(key: str, entry: Mapping[str, Any]) -> bool:
    hard = entry.get("hard", False)
    if not isinstance(hard, bool):
        raise ConfigError(f"{key}.hard", hard, "true or false")
    return hard


def _parse_joints(key: str, entry: Mapping[str, Any], limits: ActuatorLimits) -> tuple[int, ...]:
    if "joints" not in entry:
        return tuple(range(limits.size))
    raw = entry["joints"]
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence) or not raw:
        raise ConfigError(f"{key}.joints", raw, "a non-empty list of actuator names")
    joints: list[int] = []
    for i, name in enumerate(raw):
        if name not in limits.names:
            raise ConfigError(f"{key}.joints[{i}]", name, f"one of {list(limits.names)}")
        if limits.names.index(name) in joints:
            raise ConfigError(f"{key}.joints[{i}]", name, "a joint not listed twice")
        joints.append(limits.names.index(name))
    return tuple(joints)


def _parse_barrier(index: int, data: Any, limits: ActuatorLimits) -> BarrierConfig:
    key = f"barriers[{index}]"
    entry = _mapping(key, data)
    kind = _enum(f"{key}.type", entry.get("type"), BarrierKind)
    if kind is BarrierKind.PLUGIN:
        _check_keys(key, entry, _PLUGIN_KEYS, _PLUGIN_OPTIONAL)
        degree = _count(
            f"{key}.relative_degree", entry.get("relative_degree", 1), MAX_RELATIVE_DEGREE
        )
        return BarrierConfig(
            name=_name(f"{key}.name", entry["name"]),
            kind=kind,
            class_k=_positives(f"{key}.class_k", entry["class_k"], degree),
            hard=_parse_hard(key, entry),
            function=_name(f"{key}.function", entry["function"]),
            rows=_count(f"{key}.rows", entry["rows"], MAX_ROWS),
            relative_degree=degree,
            params=dict(_mapping(f"{key}.params", entry.get("params", {}))),
        )
    _check_keys(key, entry, _JOINT_KEYS, _JOINT_OPTIONAL)
    degree = 2 if kind is BarrierKind.JOINT_POSITION else 1
    joints = _parse_joints(key, entry, limits)
    m = len(joints)
    lower = _numbers(f"{key}.lower", entry["lower"], m)
    upper = _numbers(f"{key}.upper", entry["upper"], m)
    _ordered_pairs(f"{key}.lower", lower, f"{key}.upper", upper, strict=True)
    damping = _numbers(f"{key}.damping", entry.get("damping", [0.0] * m), m)
    for i, d in enumerate(damping):
        if d < 0.0:
            raise ConfigError(f"{key}.damping[{i}]", d, "a number >= 0 (1/s)")
    return BarrierConfig(
        name=_name(f"{key}.name", entry["name"]),
        kind=kind,
        class_k=_positives(f"{key}.class_k", entry["class_k"], degree),
        hard=_parse_hard(key, entry),
        joints=joints,
        lower=lower,
        upper=upper,
        inertia=_positives(f"{key}.inertia", entry["inertia"], m),
        damping=damping,
        relative_degree=degree,
    )


def _parse_list(key: str, data: Mapping[str, Any]) -> Sequence[Any]:
    raw = data.get(key, [])
    if raw is None:
        return []
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        raise ConfigError(key, raw, "a list (possibly empty)")
    return raw


def _unique_names(key: str, entries: Sequence[ForceLimitConfig | BarrierConfig]) -> None:
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if entry.name in seen:
            raise ConfigError(f"{key}[{i}].name", entry.name, "a name unique within " + key)
        seen.add(entry.name)


def _parse_timing(data: Any) -> TimingConfig:
    section = _mapping("timing", data)
    _check_keys("timing", section, (), ("period_s", "max_dt_s"))
    period = _positive("timing.period_s", section.get("period_s", TimingConfig.period_s))
    max_dt = _positive("timing.max_dt_s", section.get("max_dt_s", TimingConfig.max_dt_s))
    if max_dt < period:
        raise ConfigError("timing.max_dt_s", max_dt, f"a number >= timing.period_s = {period}")
    return TimingConfig(period, max_dt)


_TOP_REQUIRED = ("actuators",)
_TOP_OPTIONAL = (
    "nominal_state",
    "force_limits",
    "barriers",
    "weights",
    "slack_weight",
    "fallback",
    "timing",
    "solver",
)


def _parse_nominal_state(data: Any, n: int) -> dict[str, float | tuple[float, ...]]:
    section = _mapping("nominal_state", data)
    state: dict[str, float | tuple[float, ...]] = {}
    for name, value in section.items():
        key = f"nominal_state.{name}"
        if not isinstance(name, str):
            raise ConfigError(key, name, "a state key (a string)")
        if name in ("joint_position", "joint_velocity"):
            state[name] = _numbers(key, value, n)
        elif isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            state[name] = _number(key, value)
        else:
            state[name] = _numbers(key, value)
    return state


def parse_config(data: Any) -> SafetyConfig:
    """Validate a parsed YAML mapping and return the frozen config.

    Args:
        data: the mapping (e.g. ``yaml.safe_load`` of ``config/safety.yaml``).

    Returns:
        The validated :class:`SafetyConfig`.

    Raises:
        ConfigError: naming the first offending key, its value and what was expected.
    """
    top = _mapping("<root>", data)
    _check_keys("", top, _TOP_REQUIRED, _TOP_OPTIONAL)
    limits = _parse_actuators(top["actuators"])
    force_limits = tuple(
        _parse_force_limit(i, entry, limits)
        for i, entry in enumerate(_parse_list("force_limits", top))
    )
    barriers = tuple(
        _parse_barrier(i, entry, limits) for i, entry in enumerate(_parse_list("barriers", top))
    )
    _unique_names("force_limits", force_limits)
    _unique_names("barriers", barriers)
    weights_raw = top.get("weights")
    weights = None if weights_raw is None else _positives("weights", weights_raw, limits.size)
    solver = _name("solver", top.get("solver", "daqp"))
    return SafetyConfig(
        actuators=limits,
        force_limits=force_limits,
        barriers=barriers,
        weights=weights,
        slack_weight=_positive("slack_weight", top.get("slack_weight", SafetyConfig.slack_weight)),
        fallback=_enum("fallback", top.get("fallback", "zero"), FallbackMode),
        timing=_parse_timing(top.get("timing", {})),
        solver=solver,
        nominal_state=_parse_nominal_state(top.get("nominal_state", {}), limits.size),
    )


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        super().__init__(mark)
        self.mark = mark


class _BoundedLoader(yaml.SafeLoader):  # type: ignore[misc]  # no PyYAML stubs
    """``yaml.SafeLoader`` with nesting bounded by :data:`MAX_YAML_DEPTH`.

    Integers too long for ``int()`` (Python's digit limit) are kept as
    :class:`OversizedInteger`, so that the schema check names their key.
    """

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # beyond sys.get_int_max_str_digits()
            return OversizedInteger(len(node.value))


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)


def load_config(path: str | Path) -> SafetyConfig:
    """Read and validate a safety YAML file.

    Args:
        path: the YAML file. A ROS parameter file (``<node>: {ros__parameters: {...}}``)
            is not accepted here: pass the inner mapping to :func:`parse_config`.

    Raises:
        ConfigError: on a missing file, malformed YAML, nesting deeper than
            :data:`MAX_YAML_DEPTH` or any invalid key.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError("<file>", str(path), f"a readable YAML file ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise ConfigError("<file>", str(path), f"UTF-8 text ({err.reason})") from None
    try:
        data = yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader subclass
    except _TooDeep as err:
        where = f"line {err.mark.line + 1}, column {err.mark.column + 1}"
        raise ConfigError(
            "<file>", str(path), f"YAML nested at most {MAX_YAML_DEPTH} deep (deeper at {where})"
        ) from None
    except yaml.YAMLError as err:
        raise ConfigError("<file>", str(path), f"valid YAML ({err})") from None
    return parse_config(data)
