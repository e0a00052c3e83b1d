"""``sim collect``: the perturbed expert drives randomised worlds; each episode becomes a bag.

With ``driver`` (a policy file) the policy drives instead, behind the safety filter as in
``sim evaluate``, and the expert only labels the states it visits (DAgger: the data then
covers where the policy goes, not only where the expert goes).

Episodes run in parallel worker processes (:mod:`.workers`). Episode ``i`` drives track
``tracks[i % len(tracks)]`` in the world drawn from seed ``seed + i``; by default the tracks
are those not held out. Each bag folder is ``<out>/<track>_seed<NNNN>`` (unique names, as
the dataset builder needs) holding what a real robot records (:mod:`.recording`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

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
    driver: str | None = None
    """A policy file that drives (the expert labels); ``None``: the perturbed expert drives."""


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
    driver: str | None = None,
) -> list[EpisodeSummary]:
    """Record ``episodes`` episodes of ``seconds`` each into ``out_dir``.

    Raises:
        ConfigError: a bad count, duration, track or driver, or a bag folder that exists
            already.
        CheckpointError: the driver's file cannot be loaded.
    """
    if episodes < 1:
        raise ConfigError("--episodes", episodes, "at least 1")
    if not 0 < seconds <= 3600:
        raise ConfigError("--seconds", seconds, "a duration in (0, 3600] s")
    names = tracks or training_tracks()
    from liquid_controller.sim.track import load_track

    for name in names:
        load_track(name)  # a bad name fails here, not in a worker
    if driver is not None:
        from liquid_controller.sim.evaluate import EvaluateJob, build_pipeline

        build_pipeline(EvaluateJob(driver, names[0], seed))  # a bad policy fails here too
    out = Path(out_dir)
    jobs = [
        CollectJob(
            names[i % len(names)],
            seed + i,
            seconds,
            str(out / f"{Path(names[i % len(names)]).stem}_seed{seed + i:04d}"),
            driver,
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
    """Drive one episode with the perturbed expert (or the driver) and write its bag."""
    if job.driver is not None:
        return _driven_episode(job)
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


def _driven_episode(job: CollectJob) -> EpisodeSummary:
    """Let ``job.driver`` drive through the filter; record it with the expert's labels."""
    from liquid_controller.sim.evaluate import EvaluateJob, evaluate_episode
    from liquid_controller.sim.expert import Expert
    from liquid_controller.sim.recording import LABEL_TOPIC, BagRecorder

    recording: dict[str, Any] = {}

    def record(tick: Any, env: Any, samples: Any) -> None:
        if not recording:  # the first tick: the world exists now
            recording.update(recorder=BagRecorder(env.description),
                             expert=Expert(env.description, env.track))  # fmt: skip
        recorder, expert = recording["recorder"], recording["expert"]
        recorder.add_samples(samples)
        recorder.add_command(env.sim.time_s, tick.safety.command)
        _, intended = expert.act(env.sim.truth(), env.sim.joint_state()[1], env.period_s)
        recorder.add_command(env.sim.time_s, intended, LABEL_TOPIC)

    start = time.perf_counter()
    metrics = evaluate_episode(
        EvaluateJob(job.driver or "", job.track, job.seed, laps=1000.0, max_seconds=job.seconds),
        observer=record,
    )
    recording["recorder"].write(job.bag)
    return EpisodeSummary(job.bag, job.track, job.seed, metrics.survival_s,
                          recording["recorder"].frames, time.perf_counter() - start,
                          metrics.laps, metrics.departures, metrics.max_abs_lateral_m)  # fmt: skip
