"""The issue's guarantees as hypothesis properties.

HYPOTHESIS_PROFILE=stress runs each with 100,000 cases.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, note, settings
from safety_scenarios import Scenario, grid_scenarios, hard_rows, margin, scenarios, window

from liquid_controller.safety.filter import Enforced, FilterStatus
from liquid_controller.safety.reference import ReferenceQP

TOL = 1e-9
#: below this LP margin a hard set counts as (numerically) infeasible, for the precedence check
ROBUST = 1e-6


def default_examples(count: int):
    """``count`` examples in the default profile; the stress profile's count otherwise."""
    current = settings().max_examples
    return settings(max_examples=count if current <= 100 else current)


@default_examples(300)
@given(scenarios())
def test_hard_constraints_always_hold(s: Scenario) -> None:
    f = s.filter()
    r = f.filter(s.nominal, s.state, s.dt)
    note(f"{r}")
    lo, hi = window(f, s.u_prev, s.dt)
    b = f.builder
    assert r.u.shape == (b.n,) and np.isfinite(r.u).all()
    # the box holds exactly; the rate window to TOL
    assert ((r.u >= b.effort_min) & (r.u <= b.effort_max)).all()
    assert ((r.u >= lo - TOL) & (r.u <= hi + TOL)).all()
    if not np.all(np.abs(s.nominal) <= 1e9):
        assert r.status is FilterStatus.FALLBACK_INVALID_NOMINAL and r.intervened
    if not r.status.fallback:
        assert r.enforced is Enforced.ALL
    # rows per precedence level; a dropped level must be (numerically) infeasible
    A, lower, upper = hard_rows(f, s.state, barriers=r.enforced is Enforced.ALL)
    values = A @ r.u
    if r.enforced is not Enforced.BOX_RATE:
        assert (values >= lower - TOL).all() and (values <= upper + TOL).all()
    if r.enforced is not Enforced.ALL:
        assert margin(lo, hi, *hard_rows(f, s.state, barriers=True)) < ROBUST
    if r.enforced is Enforced.BOX_RATE:
        assert margin(lo, hi, *hard_rows(f, s.state, barriers=False)) < ROBUST


def satisfies_everything(s: Scenario, f, u: np.ndarray) -> bool:
    lo, hi = window(f, s.u_prev, s.dt)
    b = f.builder
    ok = bool(((u >= lo) & (u <= hi)).all())
    force = b.force_rows(s.state)
    values = force.F @ u
    ok = ok and bool(((values >= force.lower) & (values <= force.upper)).all())
    if b.num_barrier_rows:
        G, bound = b.barrier_rows(s.state)
        ok = ok and bool((G @ u >= bound).all())
    return ok


@default_examples(300)
@given(scenarios(finite_nominal=True))
def test_passthrough_iff_the_nominal_satisfies_everything(s: Scenario) -> None:
    f = s.filter()
    nominal = s.nominal.copy()
    r = f.filter(nominal, s.state, s.dt)
    if satisfies_everything(s, f, s.nominal):
        assert r.status is FilterStatus.PASSTHROUGH and not r.intervened
        assert r.u.tobytes() == s.nominal.tobytes()
        assert r.u is not nominal and r.active_constraints == ()
    else:
        assert r.status is not FilterStatus.PASSTHROUGH
        changed = r.u.tobytes() != s.nominal.tobytes()
        assert r.intervened == (changed or r.status.fallback)
    np.testing.assert_array_equal(nominal, s.nominal)  # the input is never written to


_REFERENCES: dict[tuple, ReferenceQP] = {}


def reference_for(f) -> ReferenceQP:
    key = ReferenceQP.shape_of(f.builder)
    if key not in _REFERENCES:
        _REFERENCES[key] = ReferenceQP(f.builder)
    ref = _REFERENCES[key]
    ref.builder = f.builder
    return ref


@default_examples(60)
@given(grid_scenarios(max_n=3))
def test_qp_optimum_matches_cvxpy(s: Scenario) -> None:
    f = s.filter()
    r = f.filter(s.nominal, s.state, s.dt)
    note(f"{r}")
    u_ref, status = reference_for(f).solve(s.nominal, s.state, s.u_prev, min(s.dt, 0.1))
    if r.status in (FilterStatus.OPTIMAL, FilterStatus.RELAXED, FilterStatus.PASSTHROUGH):
        assert u_ref is not None, status
        np.testing.assert_allclose(r.u, u_ref, atol=1e-6)
        if r.status is FilterStatus.RELAXED:
            assert r.slack.max() > 0.0
    else:  # infeasible, or a solver failure: only on (numerically) degenerate hard sets
        assert (
            u_ref is None
            or margin(*window(f, s.u_prev, s.dt), *hard_rows(f, s.state, barriers=True)) < ROBUST
        )
