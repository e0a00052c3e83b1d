"""An episode in the MuJoCo lane world, with every camera frame labelled road / marking / other.

The policy (or the privileged expert) drives :class:`~liquid_controller.sim.lane_env.
LaneKeepingEnv`; each tick keeps the observation the policy received, and each new camera
frame gets a label image from the simulator's ground truth: every pixel's ray is cast
from the camera's pose onto the floor plane, and the point's lateral offset from the
track's centre line says what is painted there (:func:`floor_labels`): a boundary marking,
the dashed centre line, the road between them, or the rest (off the road, above the
horizon). The robot's own body is not separated from the floor behind it. The pose used is
the one at the end of the control period in which the frame was rendered (at most one
period later than the frame). Needs the ``sim`` extra.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from liquid_controller.errors import ConfigError
from liquid_controller.explain.episode import ExplainEpisode
from liquid_controller.runtime.policy import RuntimePolicy

__all__ = ["DRIVERS", "camera_labels", "camera_rays", "floor_labels", "sim_episode"]

DRIVERS = ("policy", "expert")
OTHER, ROAD, MARKING = 0, 1, 2  # indices into episode.MASK_LABELS


def camera_rays(
    rotation: npt.NDArray[np.float64],
    fovy_deg: float,
    height: int,
    width: int,
) -> npt.NDArray[np.float64]:
    """Return the ``(H, W, 3)`` world directions of a MuJoCo camera's pixel centres.

    MuJoCo cameras look along their -z axis with +y up; ``rotation`` is the camera's
    orientation matrix (``data.cam_xmat`` reshaped to 3x3: columns are the camera axes).
    Row 0 of the image is the top.
    """
    tan_half = math.tan(math.radians(fovy_deg) / 2)
    rows = 1.0 - 2.0 * (np.arange(height) + 0.5) / height
    columns = 2.0 * (np.arange(width) + 0.5) / width - 1.0
    x = columns[None, :] * tan_half * width / height
    y = rows[:, None] * tan_half
    local = np.stack(np.broadcast_arrays(x, y, -np.ones((height, width))), axis=-1)
    return np.asarray(local @ rotation.T, dtype=np.float64)


def floor_labels(
    track: Any,
    position: npt.NDArray[np.float64],
    rays: npt.NDArray[np.float64],
    dash_m: float,
) -> npt.NDArray[np.uint8]:
    """Label each ray by what is painted where it meets the floor (``z = 0``).

    Args:
        track: the :class:`~liquid_controller.sim.track.Track` painted on the floor.
        position: camera position (m, world frame).
        rays: ``(H, W, 3)`` directions (:func:`camera_rays`).
        dash_m: length of the centre line's dashes and gaps.

    Returns:
        ``(H, W)`` uint8: 2 marking, 1 road, 0 other.
    """
    from scipy.spatial import cKDTree

    height, width = rays.shape[:2]
    labels = np.zeros((height, width), dtype=np.uint8)
    down = rays[..., 2] < -1e-9
    if position[2] <= 0 or not down.any():
        return labels
    reach = -position[2] / rays[down][:, 2]
    points = position[:2] + reach[:, None] * rays[down][:, :2]
    _, nearest = cKDTree(track.points).query(points)
    heading = track.headings[nearest]
    offset = points - track.points[nearest]
    lateral = -offset[:, 0] * np.sin(heading) + offset[:, 1] * np.cos(heading)
    along = offset[:, 0] * np.cos(heading) + offset[:, 1] * np.sin(heading)
    s = (track.arc_lengths[nearest] + along) % track.length_m
    half, line = track.half_width_m, track.marking_width_m
    boundary = (np.abs(lateral) >= half) & (np.abs(lateral) <= half + line)
    centre = (np.abs(lateral) <= line / 2) & (np.floor(s / dash_m).astype(int) % 2 == 0)
    floor = np.where(np.abs(lateral) < half, ROAD, OTHER).astype(np.uint8)
    floor[boundary | centre] = MARKING
    labels[down] = floor
    return labels


def camera_labels(sim: Any, size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """Label the camera's ``(H, W)`` pixels of a ``LaneSimulation`` from its camera's pose now."""
    from liquid_controller.sim.robot_model import CAMERA_NAME
    from liquid_controller.sim.world import DASH_M

    camera = sim.model.camera(CAMERA_NAME)
    position = np.array(sim.data.cam_xpos[camera.id], dtype=np.float64)
    rotation = np.array(sim.data.cam_xmat[camera.id], dtype=np.float64).reshape(3, 3)
    rays = camera_rays(rotation, float(sim.model.cam_fovy[camera.id]), *size)
    return floor_labels(sim.track, position, rays, DASH_M)


def sim_episode(
    policy: RuntimePolicy,
    *,
    track: str = "oval",
    seconds: float = 10.0,
    seed: int = 0,
    driver: str = "policy",
    rate_hz: float = 50.0,
) -> ExplainEpisode:
    """Drive the lane world for ``seconds`` (or until the robot leaves the lane).

    Args:
        policy: the policy; with ``driver="policy"`` its nominal command drives the robot
            (clipped to the wheels' effort limits, no safety filter).
        track: track name or YAML path.
        seconds: simulated duration.
        seed: the world's randomisation seed.
        driver: ``"policy"`` or ``"expert"`` (the privileged pure-pursuit expert drives;
            the policy is only watched: for untrained policies).
        rate_hz: control rate.

    Raises:
        ConfigError: a policy whose inputs the simulator does not give, or a bad option.
        SimulationError: no OpenGL backend to render the camera.
    """
    from liquid_controller.sim.expert import Expert
    from liquid_controller.sim.lane_env import LaneKeepingEnv
    from liquid_controller.sim.simulation import SensorKind

    if driver not in DRIVERS:
        raise ConfigError("driver", driver, f"one of {list(DRIVERS)}")
    spec = policy.spec
    env = LaneKeepingEnv(track, control_rate_hz=rate_hz, max_seconds=seconds)
    try:
        obs, info = env.reset(seed=seed)
        size = obs["image"].shape[:2]
        if spec.image is None or (spec.image.height, spec.image.width) != size:
            raise ConfigError(
                "model", spec.image, f"a camera policy with {size[0]}x{size[1]} images"
            )
        missing = [v.name for v in spec.vectors if v.name not in obs]
        if missing:
            raise ConfigError("model", missing, f"inputs the simulator gives: {sorted(obs)}")
        expert = Expert(env.description, env.track, seed=seed) if driver == "expert" else None
        keys = ["image", *(v.name for v in spec.vectors)]
        rows: dict[str, list[np.ndarray]] = {key: [] for key in keys}
        masks, commands, times = [], [], []
        mask = camera_labels(env.sim, size)
        policy.reset()
        done = False
        while not done:
            assert env.sim is not None
            if any(s.kind is SensorKind.CAMERA for s in info["samples"]):
                mask = camera_labels(env.sim, size)
            step = policy.step({key: obs[key] for key in keys}, env.period_s)
            command = (
                step.action
                if expert is None
                else expert.command(env.sim.truth(), env.sim.joint_state()[1], env.period_s)
            )
            for key in keys:
                rows[key].append(np.array(obs[key]))
            masks.append(mask)
            commands.append(np.array(command, dtype=np.float64))
            times.append(env.sim.time_s)
            obs, _, terminated, truncated, info = env.step(command)
            done = terminated or truncated
    finally:
        env.close()
    ticks = len(times)
    return ExplainEpisode(
        name=f"sim {env.track.name} seed {seed} ({driver} driving)",
        t_s=np.asarray(times, dtype=np.float64),
        dt_s=np.full(ticks, env.period_s),
        observations={key: np.asarray(values) for key, values in rows.items()},
        recorded_action=np.asarray(commands) if expert is not None else None,
        masks=np.asarray(masks, dtype=np.uint8),
    )
