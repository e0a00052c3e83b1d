from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liquid_controller.control.parameters import (
    CONTROLLER_NODE_PARAMETERS,
    POLICY_NODE_PARAMETERS,
    SAFETY_FILTER_NODE_PARAMETERS,
    NumericRange,
    ParameterType,
    defaults,
    parameters_for,
    validate_changes,
)

ALL = (POLICY_NODE_PARAMETERS, SAFETY_FILTER_NODE_PARAMETERS, CONTROLLER_NODE_PARAMETERS)


@pytest.mark.parametrize("specs", ALL)
def test_defaults_are_valid_and_names_unique(specs):
    names = [s.name for s in specs]
    assert len(names) == len(set(names))
    for spec in specs:
        assert spec.problem(spec.default) == "", spec.name
        assert spec.description
    assert validate_changes(specs, {}, defaults(specs), starting=True).ok


def test_contract_parameters_present():
    policy = {s.name for s in parameters_for("policy_node")}
    assert {
        "model_path", "rate_hz", "input_timeout_s", "camera_transport", "joint_names",
        "reset_on_resume", "publish_policy_state", "sensor_qos_depth", "sensor_qos_reliability",
    } <= policy  # fmt: skip
    safety = {s.name for s in parameters_for("safety_filter_node")}
    assert {"safety_config", "input_timeout_s", "command_type"} <= safety
    assert policy | safety == {s.name for s in parameters_for("controller_node")}
    with pytest.raises(KeyError, match="unknown node"):
        parameters_for("nope")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"rate_hz": 0.0}, "rate_hz: 0.0 is out of range (0, 1000]"),
        ({"rate_hz": 1001}, "rate_hz: 1001 is out of range (0, 1000]"),
        ({"rate_hz": "fast"}, "rate_hz: 'fast' is not a finite number"),
        ({"rate_hz": float("nan")}, "rate_hz: nan is not a finite number"),
        ({"reset_on_resume": 1}, "reset_on_resume: 1 is not a bool"),
        ({"joint_names": ["a", 3]}, "joint_names: ['a', 3] is not a list of strings"),
        ({"input_timeout_s": -1.0}, "input_timeout_s: -1.0 is out of range (0, 60]"),
        ({"bogus": 1}, "bogus: not a parameter of this node"),
        ({"max_dt_s": 0.01}, "max_dt_s: 0.01 is shorter than one period 1/rate_hz = 0.02 s"),
    ],
)
def test_bad_changes_are_rejected_with_the_reason(changes, reason):
    result = validate_changes(POLICY_NODE_PARAMETERS, {}, changes)
    assert not result.ok
    assert reason in result.reason
    assert result.values == defaults(POLICY_NODE_PARAMETERS)


def test_choices_and_read_only():
    bad = validate_changes(
        SAFETY_FILTER_NODE_PARAMETERS, {}, {"command_type": "joy"}, starting=True
    )
    assert "command_type: 'joy' is not one of ['float64_multi_array', 'twist', 'wrench']" in (
        bad.reason
    )
    ro = validate_changes(SAFETY_FILTER_NODE_PARAMETERS, {}, {"command_type": "twist"})
    assert not ro.ok and "command_type: read-only after start-up" in ro.reason
    same = validate_changes(
        SAFETY_FILTER_NODE_PARAMETERS, {}, {"command_type": "float64_multi_array"}
    )
    assert same.ok
    assert validate_changes(
        SAFETY_FILTER_NODE_PARAMETERS, {}, {"command_type": "twist"}, starting=True
    ).ok


def test_all_or_nothing():
    current = {"rate_hz": 50.0}
    result = validate_changes(
        POLICY_NODE_PARAMETERS, current, {"input_timeout_s": 0.5, "rate_hz": -1.0}
    )
    assert not result.ok and result.values["input_timeout_s"] == 0.25
    both = validate_changes(POLICY_NODE_PARAMETERS, current, {"rate_hz": 1.0, "max_dt_s": 2.0})
    assert both.ok and both.values["rate_hz"] == 1.0 and both.values["max_dt_s"] == 2.0
    # lowering the rate alone breaks max_dt_s >= period: rejected, naming the pair
    alone = validate_changes(POLICY_NODE_PARAMETERS, current, {"rate_hz": 1.0})
    assert not alone.ok and "max_dt_s" in alone.reason


def test_integer_accepted_for_double_not_bool():
    assert validate_changes(POLICY_NODE_PARAMETERS, {}, {"rate_hz": 100}).ok
    assert not validate_changes(POLICY_NODE_PARAMETERS, {}, {"rate_hz": True}).ok
    assert not validate_changes(
        POLICY_NODE_PARAMETERS, {}, {"sensor_qos_depth": 2.0}, starting=True
    ).ok


def test_range_text():
    assert str(NumericRange(0, 1000, low_inclusive=False)) == "(0, 1000]"
    assert str(NumericRange(0.05, 60.0)) == "[0.05, 60]"


@given(
    value=st.one_of(
        st.floats(allow_nan=True), st.integers(), st.booleans(), st.text(max_size=5), st.none()
    )
)
def test_validation_accepts_exactly_the_values_in_range(value):
    (rate,) = [s for s in POLICY_NODE_PARAMETERS if s.name == "rate_hz"]
    assert rate.type is ParameterType.DOUBLE
    result = validate_changes(POLICY_NODE_PARAMETERS, {"max_dt_s": 10.0}, {"rate_hz": value})
    expected = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and value == value
        and 0 < value <= 1000
        and 1.0 / value <= 10.0
    )
    assert result.ok == expected
    if not expected:
        assert result.reason.startswith(("rate_hz", "max_dt_s"))


# The safety limits of each node: (parameter, a widening value, a tightening value).
SAFETY_LIMITS = {
    "safety_filter_node": [
        ("safety_config", "/permissive.yaml", None),
        ("input_timeout_s", 0.5, 0.05),
        ("rate_hz", 10.0, 100.0),
        ("require_joint_state", False, True),
    ],
    "controller_node": [
        ("safety_config", "/permissive.yaml", None),
        ("input_timeout_s", 0.5, 0.05),
        ("rate_hz", 10.0, 100.0),
        ("require_joint_state", False, True),
    ],
    "policy_node": [("input_timeout_s", 0.5, 0.05)],
}
START = {"require_joint_state": True, "max_dt_s": 1.0}


@pytest.mark.parametrize(
    ("node", "name", "wider", "tighter"),
    [(node, *limit) for node, limits in SAFETY_LIMITS.items() for limit in limits],
)
def test_safety_limits_are_not_widened_at_run_time_unless_allowed(node, name, wider, tighter):
    specs = parameters_for(node)
    current = {k: v for k, v in START.items() if k in {s.name for s in specs}}
    refused = validate_changes(specs, current, {name: wider})
    assert not refused.ok
    assert refused.reason.startswith(f"{name}: ") and "safety limit" in refused.reason
    assert "allow_runtime_safety_changes:=true" in refused.reason
    if tighter is not None and name != "require_joint_state":  # already on: no tighter value
        assert validate_changes(specs, current, {name: tighter}).ok
    assert validate_changes(specs, current, {name: wider}, starting=True).ok
    allowed = {**current, "allow_runtime_safety_changes": True}
    assert validate_changes(specs, allowed, {name: wider}).ok


def test_the_allow_flag_is_read_only_and_off_by_default():
    for node in SAFETY_LIMITS:
        specs = parameters_for(node)
        assert defaults(specs)["allow_runtime_safety_changes"] is False
        flip = validate_changes(specs, {}, {"allow_runtime_safety_changes": True})
        assert not flip.ok and "read-only" in flip.reason


def test_turning_a_required_check_on_is_accepted_off_refused():
    specs = SAFETY_FILTER_NODE_PARAMETERS
    assert validate_changes(specs, {}, {"require_joint_state": True}).ok
    off = validate_changes(specs, {"require_joint_state": True}, {"require_joint_state": False})
    assert not off.ok and "widens a safety limit (True in force)" in off.reason


@given(old=st.floats(0.01, 60.0), new=st.floats(0.01, 60.0))
def test_a_timeout_change_is_accepted_exactly_when_it_does_not_widen(old, new):
    specs = SAFETY_FILTER_NODE_PARAMETERS
    result = validate_changes(specs, {"input_timeout_s": old}, {"input_timeout_s": new})
    assert result.ok == (new <= old)
