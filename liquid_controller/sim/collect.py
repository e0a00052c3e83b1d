"""``sim collect``: the perturbed expert drives randomised worlds; each episode becomes a bag.

Episodes run in parallel worker processes (:mod:`.workers`). Episode ``i`` drives track
``tracks[i % len(tracks)]`` in the world drawn from seed ``seed + i``; by default the tracks
are those not held out. Each bag folder is ``<out>/<track>_seed<NNNN>`` (unique names, as
the dataset builder needs) holding what a real robot records (:mod:`.recording`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from liquid_controller.errors import ConfigError
from liquid_controller.sim.workers import default_workers, run_parallel

__all__ = ["CollectJob", "EpisodeSummary", "collect", "collect_episode", "training_tracks"]


@dataclass(frozen=True)
class CollectJob:
    """One episode to record."""

    track: str
    seed: int
    seconds: float
    bag: str
    """The bag folder to create."""


class EpisodeSummary(NamedTuple):
    """What one recorded episode holds."""

    bag: str
    track: str
    seed: int
    sim_seconds: float
    frames: int
    wall_s: float
    laps: float
    departures: int
    max_abs_lateral_m: float


def training_tracks() -> tuple[str, ...]:
    """Return the package's tracks that are not held out."""
    from liquid_controller.sim.track import load_track, track_names

    return tuple(name for name in track_names() if not load_track(name).held_out)


def collect(
    out_dir: str | Path,
    episodes: int,
    *,
    tracks: tuple[str, ...] | None = None,
    seconds: float = 30.0,
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
) -> list[EpisodeSummary]:
    """Record ``episodes`` expert episodes of ``seconds`` each into ``out_dir``.

    Raises:
        ConfigError: a bad count, duration or track, or a bag folder that exists already.
    """
    if episodes < 1:
        raise ConfigError("--episodes", episodes, "at least 1")
    if not 0 < seconds <= 3600:
        raise ConfigError("--seconds", seconds, "a duration in (0, 3600] s")
    names = tracks or training_tracks()
    from liquid_controller.sim.track import load_track

    for name in names:
        load_track(name)  # a bad name fails here, not in a worker
    out = Path(out_dir)
    jobs = [
        CollectJob(
            names[i % len(names)],
            seed + i,
            seconds,
            str(out / f"{Path(names[i % len(names)]).stem}_seed{seed + i:04d}"),
        )
        for i in range(episodes)
    ]
    existing = [job.bag for job in jobs if Path(job.bag).exists()]
    if existing:
        raise ConfigError(
            "--out", existing[0], "a folder without bags of the same names (or another --seed)"
        )
    out.mkdir(parents=True, exist_ok=True)
    return run_parallel(
        collect_episode,
        jobs,
        workers=workers or default_workers(),
        label="sim collect",
        progress=progress,
    )


def collect_episode(job: CollectJob) -> EpisodeSummary:
    """Drive one episode with the perturbed expert and write its bag."""
    import numpy as np

    from liquid_controller.sim.expert import Expert, Perturbations
    from liquid_controller.sim.lane_env import LaneKeepingEnv
    from liquid_controller.sim.recording import LABEL_TOPIC, BagRecorder

    start = time.perf_counter()
    env = LaneKeepingEnv(job.track, max_seconds=job.seconds)
    try:
        _, info = env.reset(seed=job.seed)
        assert env.sim is not None
        recorder = BagRecorder(env.description)
        recorder.add_samples(info["samples"])
        expert = Expert(env.description, env.track, perturbations=Perturbations(), seed=job.seed)
        departures, departed, worst = 0, False, 0.0
        done = False
        while not done:
            command, intended = expert.act(env.sim.truth(), env.sim.joint_state()[1], env.period_s)
            recorder.add_command(env.sim.time_s, command)
            recorder.add_command(env.sim.time_s, intended, LABEL_TOPIC)
            _, _, terminated, truncated, info = env.step(command)
            recorder.add_samples(info["samples"])
            departures += info["departed"] and not departed
            departed = info["departed"]
            worst = max(worst, abs(info["lateral_m"]))
            done = terminated or truncated
        recorder.write(job.bag)
        return EpisodeSummary(
            job.bag,
            job.track,
            job.seed,
            float(np.round(info["time_s"], 6)),
            recorder.frames,
            time.perf_counter() - start,
            float(info["laps"]),
            int(departures),
            worst,
        )
    finally:
        env.close()
