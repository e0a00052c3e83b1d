import numpy as np
import pytest

from liquid_controller.sim import DiffDriveParams, ToyDiffDrive


def test_same_seed_same_run_other_seed_other_run():
    def run(seed):
        robot = ToyDiffDrive(seed=seed)
        frames = []
        for _ in range(20):
            robot.step(np.array([0.3, -0.1]), 0.02)
            frames.append(robot.sense())
        return frames

    a, b, c = run(3), run(3), run(4)
    assert all(
        np.array_equal(x.image, y.image) and np.array_equal(x.imu, y.imu)
        for x, y in zip(a, b, strict=True)
    )
    assert not np.array_equal(a[-1].imu, c[-1].imu)


def test_wheel_speed_follows_first_order_model():
    params = DiffDriveParams(imu_accel_noise_m_s2=0.0, imu_gyro_noise_rad_s=0.0)
    robot = ToyDiffDrive(params=params)
    torque, dt, steps = 0.1, 1e-3, 2000
    for _ in range(steps):
        robot.step(np.array([torque, torque]), dt)
    inertia, damping = params.wheel_inertia_kg_m2, params.wheel_damping_per_s
    t = dt * steps
    expected = torque / (inertia * damping) * (1 - np.exp(-damping * t))
    np.testing.assert_allclose(robot.wheel_speed, [expected, expected], rtol=1e-3)
    assert robot.yaw_rate_rad_s == pytest.approx(0.0)


def test_faster_left_wheel_turns_clockwise_and_imu_reports_it():
    params = DiffDriveParams(imu_accel_noise_m_s2=0.0, imu_gyro_noise_rad_s=0.0)
    robot = ToyDiffDrive(params=params)
    for _ in range(50):
        robot.step(np.array([0.2, 0.0]), 0.02)
    frame = robot.sense()
    assert robot.yaw_rate_rad_s < 0
    assert frame.imu[5] == pytest.approx(robot.yaw_rate_rad_s)
    assert frame.imu[2] == pytest.approx(9.81)


def test_camera_frame_shape_and_motion():
    robot = ToyDiffDrive(image_size=(30, 40), seed=1)
    before = robot.sense().image
    assert before.shape == (30, 40, 3) and before.dtype == np.uint8
    for _ in range(25):
        robot.step(np.array([1.0, 1.0]), 0.02)
    assert not np.array_equal(robot.sense().image, before)
