"""train.alignment: at each tick the newest sample stamped at or before it, never a later one."""

from __future__ import annotations

import numpy as np
from bag_factory import (
    EFFORT_TOPIC,
    IMU_TOPIC,
    NS,
    Record,
    dataset_config,
    float64_array_msg,
    image_msg,
    imu_msg,
    typestore,
    write_messages,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from liquid_controller.train.alignment import align_streams, newest_at_or_before, tick_grid
from liquid_controller.train.dataset import load_dataset

stamps = st.lists(st.integers(0, 2_000), min_size=1, max_size=40).map(
    lambda v: np.sort(np.array(v, dtype=np.int64))
)


@settings(max_examples=200)
@given(stamps, st.lists(st.integers(-100, 2_100), min_size=1, max_size=40))
def test_newest_at_or_before_is_the_newest_sample_not_after_the_tick(stamps_ns, ticks):
    ticks_ns = np.array(ticks, dtype=np.int64)
    index = newest_at_or_before(stamps_ns, ticks_ns)
    for tick, i in zip(ticks_ns, index, strict=True):
        not_after = np.flatnonzero(stamps_ns <= tick)
        if not not_after.size:
            assert i == -1
        else:
            assert stamps_ns[i] <= tick  # never a future sample
            assert i == not_after[-1]  # and no newer one it could have used


@settings(max_examples=100)
@given(
    st.lists(stamps, min_size=1, max_size=3),
    st.integers(5, 200),
    st.integers(1, 400),
)
def test_aligned_ticks_use_no_future_sample_and_no_stale_one(streams, period_ns, gap_extra):
    gap_ns = period_ns + gap_extra
    aligned = align_streams(streams, period_ns=period_ns, gap_ns=gap_ns)
    for stream, index in zip(streams, aligned.indices, strict=True):
        used = stream[index]
        assert np.all(index >= 0)
        assert np.all(used <= aligned.ticks_ns)
        assert np.all(aligned.ticks_ns - used <= gap_ns)
        later = np.searchsorted(stream, aligned.ticks_ns, side="right")
        assert np.all(later - 1 == index)
    for start, stop in aligned.episodes:
        assert stop > start
        assert aligned.dt_ns[start] == 0
        assert np.all(aligned.dt_ns[start + 1 : stop] > 0)
        assert np.all(np.diff(aligned.ticks_ns[start:stop]) > 0)
    assert aligned.episodes == tuple(sorted(aligned.episodes))


def test_tick_grid_includes_the_end_when_it_falls_on_a_tick():
    assert tick_grid(10, 30, 10).tolist() == [10, 20, 30]
    assert tick_grid(10, 29, 10).tolist() == [10, 20]
    assert tick_grid(10, 9, 10).tolist() == []


def test_a_gap_longer_than_the_threshold_splits_the_episode():
    imu = np.array([0, 10, 20, 30, 100, 110, 120], dtype=np.int64)
    aligned = align_streams([imu], period_ns=10, gap_ns=25)
    assert aligned.episodes == ((0, 4), (4, 7))
    assert aligned.ticks_ns.tolist() == [0, 10, 20, 30, 100, 110, 120]
    # The ticks at 40 and 50 saw no new sample (idle), 60 .. 90 a stale one (gap).
    assert aligned.idle_ticks == 2


def test_dt_is_the_difference_of_observation_stamps_not_of_ticks():
    # Samples arrive 3 ns after ticks 0, 10, ... : each tick uses the previous tick's sample.
    imu = np.array([0, 13, 23, 33], dtype=np.int64)
    aligned = align_streams([imu], period_ns=10, gap_ns=50)
    assert aligned.ticks_ns.tolist() == [0, 20, 30]  # tick 10 had nothing newer than 0
    assert aligned.dt_ns.tolist() == [0, 13, 10]


def test_bag_rows_never_hold_a_sample_stamped_after_their_tick(tmp_path):
    """Each message carries its own stamp; every aligned row must be at or before its tick."""
    store = typestore()
    rng = np.random.default_rng(7)
    start = 50 * NS
    records = []
    imu_stamps = np.sort(rng.integers(0, 3 * NS, 120))
    for k, offset in enumerate(imu_stamps):
        stamp = start + int(offset)
        msg = imu_msg(store, stamp, ax=offset / NS, wz=float(k))
        records.append(Record(IMU_TOPIC, "sensor_msgs/msg/Imu", stamp + 1000, msg))
    camera_stamps = np.sort(rng.integers(0, 3 * NS, 40))
    for k, offset in enumerate(camera_stamps):
        stamp = start + int(offset)
        pixels = np.full((4, 4, 3), k, np.uint8)
        msg = image_msg(store, stamp, pixels)
        records.append(Record("/camera/image_raw", "sensor_msgs/msg/Image", stamp + 1000, msg))
    command_stamps = np.sort(rng.integers(0, 3 * NS, 70))
    for k, offset in enumerate(command_stamps):
        # Float64MultiArray has no header: it is placed by its receive time.
        msg = float64_array_msg(store, [offset / NS, float(k)])
        records.append(
            Record(EFFORT_TOPIC, "std_msgs/msg/Float64MultiArray", start + int(offset), msg)
        )
    bag = write_messages(tmp_path / "jitter", records)
    config = dataset_config(
        tmp_path / "dataset.yaml",
        [bag],
        joints=False,
        image_size=(4, 4),
        rate_hz=25.0,
        gap_s=3.0,
        split={"validation": 0, "test": 0},
    )
    splits = load_dataset(config, progress=False)
    (episode,) = splits.train
    t_rel = episode.t_s - 50.0
    imu_stamp = np.asarray(episode.observations["imu"][:, 0], dtype=np.float64)
    frame = episode.observations["image"][:, 0, 0, 0].astype(int)
    command_stamp = np.asarray(episode.action[:, 0], dtype=np.float64)
    tolerance = 1e-6  # float32 storage of the stamps
    assert np.all(imu_stamp <= t_rel + tolerance)
    assert np.all(camera_stamps[frame] / NS <= t_rel + 1e-9)
    assert np.all(command_stamp <= t_rel + tolerance)
    # ... and the newest such sample each time.
    tick_ns = np.round(t_rel * NS).astype(np.int64)
    imu_index = episode.observations["imu"][:, 5].astype(int)
    assert np.array_equal(imu_index, np.searchsorted(imu_stamps, tick_ns, side="right") - 1)
    assert np.array_equal(frame, np.searchsorted(camera_stamps, tick_ns, side="right") - 1)
    command_index = episode.action[:, 1].astype(int)
    assert np.array_equal(command_index, np.searchsorted(command_stamps, tick_ns, side="right") - 1)


def test_header_stamps_received_out_of_order_are_placed_by_stamp(tmp_path):
    store = typestore()
    start = 20 * NS
    period = NS // 20
    records = []
    for k in range(40):
        stamp = start + k * period
        # Pairs arrive swapped: k = 1 before k = 0, 3 before 2, ...
        receive = start + (k + 1 if k % 2 == 0 else k - 1) * period + 1000
        records.append(
            Record(IMU_TOPIC, "sensor_msgs/msg/Imu", receive, imu_msg(store, stamp, 0.0, float(k)))
        )
        command = float64_array_msg(store, [float(k), 0.0])
        records.append(
            Record(EFFORT_TOPIC, "std_msgs/msg/Float64MultiArray", stamp + 1000, command)
        )
    bag = write_messages(tmp_path / "swapped", records)
    config = dataset_config(
        tmp_path / "d.yaml", [bag], camera=None, joints=False, split={"validation": 0, "test": 0}
    )
    (episode,) = load_dataset(config, progress=False).train
    imu_index = np.asarray(episode.observations["imu"][:, 5])
    # Tick k (1 us after stamp k) sees IMU sample k by its header stamp.
    np.testing.assert_array_equal(imu_index, np.arange(len(episode)))


def test_samples_grow_past_the_announced_message_count():
    from liquid_controller.train.recording import _Samples

    samples = _Samples(1)
    for k in (3, 1, 2):
        samples.add(k, {"imu": np.full(6, k, np.float32)})
    stamps, arrays = samples.sorted_by_stamp()
    assert stamps.tolist() == [1, 2, 3]
    assert arrays["imu"][:, 0].tolist() == [1.0, 2.0, 3.0]
