"""``replay_bag``: one bag through the controller, to an output bag, a JSON summary and a report."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from liquid_controller.control.command_guard import CommandGuard
from liquid_controller.control.policy_loading import load_policy
from liquid_controller.data.typestore import typestore_with_custom_messages
from liquid_controller.errors import ConfigError, LiquidControllerError
from liquid_controller.replay.barrier_probe import BarrierProbe
from liquid_controller.replay.controller import OfflineController, controller_parameters
from liquid_controller.replay.engine import run_replay
from liquid_controller.replay.messages import OutputMessages
from liquid_controller.replay.output_bag import OutputBag
from liquid_controller.replay.publish import BagPublisher
from liquid_controller.replay.record import ReplayRecorder
from liquid_controller.replay.source import BagSource
from liquid_controller.replay.summary import build_summary
from liquid_controller.replay.topics import resolve_topics
from liquid_controller.safety.config import load_config

__all__ = ["ReplayResult", "TopicNames", "replay_bag"]


class TopicNames(NamedTuple):
    """Input topic remappings (``None``: the nodes' defaults)."""

    camera: str | None = None
    imu: str | None = None
    joint_states: str | None = None
    executed: str | None = None


class ReplayResult(NamedTuple):
    """Where the outputs went, and the summary."""

    output_bag: Path
    summary: dict[str, Any]
    recorder: ReplayRecorder
    report_files: tuple[Path, ...]


def replay_bag(
    bag: str | os.PathLike[str],
    model: str | os.PathLike[str],
    safety_config: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    storage: str = "mcap",
    parameters: Mapping[str, Any] | None = None,
    topics: TopicNames | None = None,
    copy_inputs: bool = False,
    tail_s: float = 0.0,
    report_dir: str | os.PathLike[str] | None = None,
) -> ReplayResult:
    """Replay ``bag`` through the composed controller and write the outputs.

    Args:
        bag: the input rosbag2 folder (mcap or sqlite3).
        model: the policy (``.npz`` artifact or torch checkpoint).
        safety_config: the safety filter YAML.
        out: the output bag folder to create.
        storage: the output bag's storage, ``"mcap"`` or ``"sqlite3"``.
        parameters: ``controller_node`` parameter overrides (``rate_hz``, ``trigger`` ...).
        topics: input topic remappings.
        copy_inputs: also write the input topics to the output bag.
        tail_s: clock time to run on after the last message.
        report_dir: write ``summary.json`` and ``report.html`` here (``None``: no report).

    Raises:
        LiquidControllerError: bad parameters, a missing or unreadable bag, missing topics
            (listing the bag's), a model or config that does not load or fit.
    """
    values = controller_parameters(parameters or {})
    config = load_config(Path(safety_config))
    policy = load_policy(model)
    controller = OfflineController(policy, config, values)
    typestore = typestore_with_custom_messages()
    with BagSource(Path(bag), typestore) as source:
        try:
            chosen = resolve_topics(
                source.topics,
                controller.policy_runner.input_names,
                joint_states_required=bool(values["require_joint_state"]),
                **(topics or TopicNames())._asdict(),
            )
        except ConfigError as err:
            if source.damage is None:
                raise
            raise LiquidControllerError(f"{err}; the bag is damaged: {source.damage}") from None
        output = OutputBag(Path(out), storage, typestore)
        recorder = ReplayRecorder(
            controller.actuator_names,
            CommandGuard.from_config(config),
            max_dt_s=float(config.timing.max_dt_s),
            input_timeout_s=float(values["input_timeout_s"]),
            barriers=BarrierProbe(config, float(values["input_timeout_s"])),
        )
        publisher = BagPublisher(
            output,
            OutputMessages(typestore, controller.actuator_names, controller.neuron_types),
            publish_policy_state=bool(values["publish_policy_state"]),
            publish_safety_status=bool(values["publish_safety_status"]),
            copy_inputs=copy_inputs,
        )
        try:
            run = run_replay(source, controller, chosen, [recorder, publisher], tail_s=tail_s)
        finally:
            output.close()
        recorder.close(run.end_ns)
        header = {
            "bag": str(bag),
            "input_storage": source.storage,
            "output_bag": str(out),
            "output_storage": storage,
            "model": str(model),
            "safety_config": str(safety_config),
            "topics": chosen._asdict(),
            "bag_topics": source.topics,
        }
    summary = build_summary(run, recorder, controller, header=header, output_counts=output.counts)
    files: tuple[Path, ...] = ()
    if report_dir is not None:
        from liquid_controller.replay.report import write_report

        folder = Path(report_dir)
        folder.mkdir(parents=True, exist_ok=True)
        summary_path = folder / "summary.json"
        summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        files = (summary_path, write_report(folder / "report.html", summary, recorder))
    return ReplayResult(Path(out), summary, recorder, files)
