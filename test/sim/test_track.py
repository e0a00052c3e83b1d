import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_controller.errors import ConfigError
from liquid_controller.sim.track import load_track, parse_track, track_names

TRACK = {
    "name": "square-ish",
    "lane_width_m": 0.6,
    "marking_width_m": 0.05,
    "start": {"x": 0.0, "y": 0.0, "yaw_rad": 0.0},
    "segments": [{"straight_m": 2.0}, {"arc": {"radius_m": 1.0, "angle_deg": 180}}] * 2,
}


def test_package_tracks_close_and_one_is_held_out():
    names = track_names()
    assert {"oval", "corners", "kidney"} <= set(names)
    tracks = [load_track(name) for name in names]
    assert any(t.held_out for t in tracks) and not all(t.held_out for t in tracks)
    radii = [1 / abs(k) for t in tracks for k in t.curvatures if k != 0]
    assert min(radii) <= 0.6  # a tight curve
    assert any(k < 0 for t in tracks for k in t.curvatures)  # a right-hand bend


def test_length_is_the_sum_of_the_segments():
    track = parse_track(TRACK)
    assert track.length_m == pytest.approx(4.0 + 2 * math.pi)


@settings(max_examples=60)
@given(
    name=st.sampled_from(["oval", "corners", "kidney"]),
    fraction=st.floats(0.0, 0.999),
    lateral=st.floats(-0.3, 0.3),
    heading=st.floats(-1.0, 1.0),
)
def test_locate_inverts_start_pose(name, fraction, lateral, heading):
    track = load_track(name)
    s = fraction * track.length_m
    x, y, yaw = track.start_pose(s, lateral)
    state = track.locate(x, y, yaw + heading)
    assert state.lateral_m == pytest.approx(lateral, abs=0.01)
    gap = (state.s_m - s + track.length_m / 2) % track.length_m - track.length_m / 2
    assert abs(gap) < 0.02
    assert state.heading_error_rad == pytest.approx(heading, abs=0.01)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (
            {"segments": [{"straight_m": 2.0}, {"arc": {"radius_m": 1.0, "angle_deg": 90}}]},
            "segments",
        ),
        ({"segments": [{"straight_m": -1.0}]}, r"segments\[0\]\.straight_m"),
        (
            {"segments": [{"arc": {"radius_m": 1.0, "angle_deg": 0}}]},
            r"segments\[0\]\.arc\.angle_deg",
        ),
        ({"segments": [{"curve": 1}]}, r"segments\[0\]"),
        ({"lane_width_m": "wide"}, "lane_width_m"),
        ({"start": [0, 0]}, "start"),
    ],
)
def test_bad_tracks_name_the_key(change, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        parse_track({**TRACK, **change})


def test_unknown_track_name_lists_the_known_ones():
    with pytest.raises(ConfigError, match="oval"):
        load_track("monza")
