"""One bag's configured topics decoded into time-sorted numpy streams, one per input role.

Roles and the message types that fit them:

- ``camera``: ``sensor_msgs/Image`` or ``sensor_msgs/CompressedImage`` -> ``(n, H, W, 3)``
  uint8 RGB, cropped and resized to the config's image size
  (:func:`liquid_controller.sensing.image_to_rgb`);
- ``imu``: ``sensor_msgs/Imu`` -> ``(n, 6)`` (:func:`liquid_controller.sensing.imu_to_vector`);
- ``joint_states``: ``sensor_msgs/JointState`` -> ``joint_position`` / ``joint_velocity``
  ``(n, joints)`` by joint name (:class:`liquid_controller.sensing.JointStateMapper`);
- ``target``: ``std_msgs/Float64MultiArray`` (one value per action) or
  ``geometry_msgs/Twist`` / ``TwistStamped`` (the config's ``twist_fields``) -> ``(n, A)``.

A sample holding NaN or inf is dropped and counted (never aligned, never trained on); any
other message that does not convert is an error naming the topic, the message's index and
time. Stamps follow the config's clock (see :class:`~liquid_controller.train.dataset_config.Clock`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from PIL import Image as PILImage
from rosbags.highlevel import AnyReader
from rosbags.typesys.store import Typestore

from liquid_controller.data import typestore_with_custom_messages
from liquid_controller.data.mcap_walk import McapWalk, walk_mcap
from liquid_controller.errors import DatasetError, MessageConversionError
from liquid_controller.sensing import (
    JointStateMapper,
    header_stamp_ns,
    image_to_rgb,
    imu_to_vector,
)
from liquid_controller.train.dataset_config import Clock, DamagePolicy, DatasetConfig

__all__ = ["ROLE_TYPES", "Recording", "Stream", "read_recording"]

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
ROLE_TYPES: dict[str, tuple[str, ...]] = {
    "camera": (IMAGE, COMPRESSED_IMAGE),
    "imu": ("sensor_msgs/msg/Imu",),
    "joint_states": ("sensor_msgs/msg/JointState",),
    "target": (
        "std_msgs/msg/Float64MultiArray",
        "geometry_msgs/msg/Twist",
        "geometry_msgs/msg/TwistStamped",
    ),
}
"""Message types accepted for each role."""
NS_PER_S = 1_000_000_000


class Stream(NamedTuple):
    """One role's samples sorted by stamp.

    Attributes:
        stamps_ns: ``(n,)`` int64 stamps on the chosen clock.
        values: per output key (``"image"``, ``"imu"``, ``"joint_position"``,
            ``"joint_velocity"``, ``"action"``), an ``(n, ...)`` array in stamp order.
        header_offset_ns: median of receive time minus header stamp over the messages
            placed by their header stamps, or ``None`` when none were.
    """

    stamps_ns: npt.NDArray[np.int64]
    values: dict[str, np.ndarray]
    header_offset_ns: int | None


class Recording(NamedTuple):
    """The decoded streams of one bag.

    Attributes:
        name: the bag folder's name.
        streams: per role, its stream.
        dropped: per topic, the number of samples dropped for NaN/inf.
        damage: where the bag is damaged when only the messages before it were read
            (``damaged_bags: keep_readable``), else ``None``.
    """

    name: str
    streams: dict[str, Stream]
    dropped: dict[str, int]
    damage: str | None = None


class _Samples:
    """One role's decoded samples, in arrays allocated once for the topic's message count.

    Camera frames dominate the memory of a build; filling preallocated arrays avoids
    holding a list of frames and a stacked copy of it at the same time.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = max(capacity, 1)
        self._arrays: dict[str, np.ndarray] = {}
        self.stamps_ns: list[int] = []

    def add(self, stamp_ns: int, values: dict[str, np.ndarray]) -> None:
        count = len(self.stamps_ns)
        if count == self._capacity:  # more messages than the bag's index said
            self._capacity *= 2
            for key, array in self._arrays.items():
                grown = np.empty((self._capacity, *array.shape[1:]), array.dtype)
                grown[:count] = array[:count]
                self._arrays[key] = grown
        for key, value in values.items():
            if key not in self._arrays:
                self._arrays[key] = np.empty((self._capacity, *value.shape), value.dtype)
            self._arrays[key][count] = value
        self.stamps_ns.append(stamp_ns)

    def sorted_by_stamp(self) -> tuple[npt.NDArray[np.int64], dict[str, np.ndarray]]:
        """Return the stamps sorted (stable) and the arrays in that order."""
        stamps = np.asarray(self.stamps_ns, dtype=np.int64)
        count = len(stamps)
        if np.all(stamps[1:] >= stamps[:-1]):
            return stamps, {key: array[:count] for key, array in self._arrays.items()}
        order = np.argsort(stamps, kind="stable")
        return stamps[order], {key: array[:count][order] for key, array in self._arrays.items()}


class _Decoded(NamedTuple):
    values: dict[str, np.ndarray] | None  # None: dropped (non-finite)


def _topics_listing(reader: AnyReader | _WalkedMcap) -> str:
    pairs = sorted({(c.topic, c.msgtype) for c in reader.connections})
    return ", ".join(f"{topic} ({msgtype})" for topic, msgtype in pairs) or "none"


def _finite_numbers(values: Any) -> bool:
    array = np.asarray(values, dtype=np.float64)
    return bool(np.all(np.isfinite(array)))


def _has_non_finite(msg: Any, msgtype: str) -> bool:
    """Return whether a numeric field of ``msg`` the roles read holds NaN or inf."""
    if msgtype == "sensor_msgs/msg/Imu":
        parts = (msg.linear_acceleration, msg.angular_velocity, msg.orientation)
        return not all(_finite_numbers([getattr(p, a, 0.0) for a in "xyzw"]) for p in parts)
    if msgtype == "sensor_msgs/msg/JointState":
        return not all(_finite_numbers(a) for a in (msg.position, msg.velocity))
    return False


class _Decoder:
    """Turn one role's messages into arrays; checks the image size stays the same."""

    def __init__(self, config: DatasetConfig, role: str, topic: str, msgtype: str) -> None:
        self._config = config
        self._role = role
        self._topic = topic
        self._msgtype = msgtype
        self._source_size: tuple[int, int] | None = None
        self._convert: Callable[[Any], dict[str, np.ndarray]] = getattr(self, f"_{role}")
        if role == "joint_states":
            assert config.joints is not None
            self._mapper = JointStateMapper(config.joints.names)

    def __call__(self, msg: Any) -> _Decoded:
        if _has_non_finite(msg, self._msgtype):
            return _Decoded(None)
        values = self._convert(msg)
        if not all(np.all(np.isfinite(v)) for k, v in values.items() if k != "image"):
            return _Decoded(None)
        return _Decoded(values)

    # --- roles

    def _check_size(self, size: tuple[int, int]) -> None:
        if self._source_size is None:
            self._source_size = size
        elif size != self._source_size:
            first = "x".join(map(str, self._source_size))
            raise MessageConversionError(
                "height/width",
                f"image is {size[0]}x{size[1]}, but the topic's first image was {first}; "
                "images must keep one size within a bag",
            )

    def _camera(self, msg: Any) -> dict[str, np.ndarray]:
        image = self._config.image
        if self._msgtype == IMAGE:
            self._check_size((int(msg.height), int(msg.width)))
        else:
            try:
                width, height = PILImage.open(io.BytesIO(bytes(msg.data))).size
            except (OSError, ValueError) as err:
                raise MessageConversionError(
                    "data", f"does not decode as an image: {err}"
                ) from None
            self._check_size((height, width))
        size = (image.height, image.width)
        return {
            "image": image_to_rgb(msg, size, crop=image.crop_sides, jpeg_draft=image.jpeg_draft)
        }

    def _imu(self, msg: Any) -> dict[str, np.ndarray]:
        return {"imu": imu_to_vector(msg).astype(np.float32)}

    def _joint_states(self, msg: Any) -> dict[str, np.ndarray]:
        assert self._config.joints is not None
        sample = self._mapper.map(msg)
        values: dict[str, np.ndarray] = {}
        for quantity in self._config.joints.quantities:
            array = sample.position if quantity == "position" else sample.velocity
            if array is None:
                raise MessageConversionError(quantity, "is empty; joints.quantities asks for it")
            values[f"joint_{quantity}"] = array.astype(np.float32)
        return values

    def _target(self, msg: Any) -> dict[str, np.ndarray]:
        actions = self._config.actions
        if self._msgtype == "std_msgs/msg/Float64MultiArray":
            data = np.asarray(msg.data, dtype=np.float64)
            if data.shape != (len(actions),):
                raise MessageConversionError(
                    "data",
                    f"holds {data.size} values; expected one per action ({len(actions)}: "
                    f"{', '.join(actions)})",
                )
            return {"action": data.astype(np.float32)}
        twist = msg.twist if self._msgtype == "geometry_msgs/msg/TwistStamped" else msg
        fields = self._config.twist_fields
        if len(fields) != len(actions):
            raise DatasetError(
                f"topic {self._topic} is a Twist: twist_fields ({', '.join(fields)}) must list "
                f"one field per action ({', '.join(actions)})"
            )
        values = [getattr(getattr(twist, f.split(".")[0]), f.split(".")[1]) for f in fields]
        return {"action": np.asarray(values, dtype=np.float32)}


def _stamp_ns(msg: Any, receive_ns: int, clock: Clock) -> tuple[int, bool]:
    """Return ``(stamp, from_header)`` for one message on the chosen clock."""
    if clock is Clock.HEADER and hasattr(msg, "header"):
        stamp = header_stamp_ns(msg)
        if stamp != 0:
            return stamp, True
    return receive_ns, False


def _progress(iterable: Iterator[Any], total: int, label: str, enabled: bool) -> Iterator[Any]:
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return iter(tqdm(iterable, total=total, desc=label, unit="msg", leave=False))


def _role_topics(config: DatasetConfig) -> dict[str, str]:
    topics = config.topics
    roles = {
        "camera": topics.camera,
        "imu": topics.imu,
        "joint_states": topics.joint_states,
        "target": topics.target,
    }
    return {role: topic for role, topic in roles.items() if topic is not None}


def _time_s(stamp_ns: int) -> str:
    return f"{stamp_ns / NS_PER_S:.3f} s"


class _Channel(NamedTuple):
    """A topic of a walked MCAP file, shaped like a rosbags connection."""

    id: int
    topic: str
    msgtype: str
    msgcount: int


class _WalkedMcap:
    """The complete messages of walked MCAP files, read like a rosbags ``AnyReader``."""

    def __init__(self, walks: list[McapWalk], store: Typestore) -> None:
        self._store = store
        ids: dict[tuple[int, int], int] = {}
        topics: dict[int, tuple[str, str]] = {}
        for number, walk in enumerate(walks):
            for channel, pair in walk.channels.items():
                ids[(number, channel)] = len(ids) + 1
                topics[ids[(number, channel)]] = pair
        self._messages = sorted(
            (
                (log_ns, ids[(number, channel)], data)
                for number, walk in enumerate(walks)
                for channel, log_ns, data in walk.messages
                if (number, channel) in ids
            ),
            key=lambda item: item[0],
        )
        counts = {cid: 0 for cid in topics}
        for _, cid, _ in self._messages:
            counts[cid] += 1
        self.connections = [
            _Channel(cid, topic, msgtype, counts[cid]) for cid, (topic, msgtype) in topics.items()
        ]
        self.message_count = len(self._messages)

    def messages(self, connections: Iterable[_Channel]) -> Iterator[tuple[_Channel, int, bytes]]:
        by_id = {c.id: c for c in connections}
        for log_ns, cid, data in self._messages:
            if cid in by_id:
                yield by_id[cid], log_ns, data

    def deserialize(self, raw: bytes, msgtype: str) -> object:
        return self._store.deserialize_cdr(raw, msgtype)


def read_recording(bag: Path, config: DatasetConfig, *, progress: bool = False) -> Recording:
    """Decode the configured topics of one bag.

    With ``damaged_bags: keep_readable`` a damaged bag gives the messages before the
    damage (an MCAP file that does not open is walked record by record); the returned
    :attr:`Recording.damage` says where it is.

    Raises:
        DatasetError: the bag does not open (damaged, truncated: the error says where),
            is empty, lacks a configured topic (the error lists the topics and types it
            has), a topic's type does not fit its role, a topic has no usable sample, the
            bag breaks off while being read (the error says after which message and
            time), or a message does not convert (images changing size, wrong action
            count, ...).
    """
    store = typestore_with_custom_messages(config.typestore)
    keep = config.damaged_bags is DamagePolicy.KEEP_READABLE
    try:
        reader = AnyReader([bag], default_typestore=store)
        reader.open()
    except Exception as err:  # noqa: BLE001 - rosbags raises many kinds for damaged files
        walks = [walk_mcap(path) for path in sorted(bag.glob("*.mcap"))]
        damage = "; ".join(w.damage for w in walks if w.damage)
        if keep and walks and not any(bag.glob("*.db3")):
            return _read_open(_WalkedMcap(walks, store), bag, config, progress, damage or None)
        where = f" ({damage})" if damage else ""
        hint = "" if keep else "; damaged_bags: keep_readable uses what comes before the damage"
        raise DatasetError(
            f"bag {bag}: cannot be opened (damaged or truncated file?): "
            f"{type(err).__name__}: {err}{where}{hint if walks else ''}"
        ) from None
    try:
        return _read_open(reader, bag, config, progress, None)
    finally:
        reader.close()


def _read_open(
    reader: AnyReader | _WalkedMcap,
    bag: Path,
    config: DatasetConfig,
    progress: bool,
    damage: str | None,
) -> Recording:
    if reader.message_count == 0:
        raise DatasetError(f"bag {bag}: is empty (no messages; topics: {_topics_listing(reader)})")
    decoders: dict[int, tuple[str, str, _Decoder]] = {}
    connections: list[Any] = []  # rosbags Connection or _Channel
    for role, topic in _role_topics(config).items():
        matching = [c for c in reader.connections if c.topic == topic]
        if not matching:
            raise DatasetError(
                f"bag {bag}: has no topic {topic} (topics.{role}); "
                f"it has: {_topics_listing(reader)}"
            )
        for connection in matching:
            if connection.msgtype not in ROLE_TYPES[role]:
                raise DatasetError(
                    f"bag {bag}: topic {topic} (topics.{role}) carries {connection.msgtype}; "
                    f"the {role} role takes {' or '.join(ROLE_TYPES[role])}"
                )
        if len({c.msgtype for c in matching}) > 1:
            raise DatasetError(f"bag {bag}: topic {topic} carries more than one message type")
        for connection in matching:
            decoders[connection.id] = (
                role,
                topic,
                _Decoder(config, role, topic, connection.msgtype),
            )
            connections.append(connection)

    capacity: dict[str, int] = {}
    for connection in connections:
        role = decoders[connection.id][0]
        capacity[role] = capacity.get(role, 0) + connection.msgcount
    samples = {role: _Samples(count) for role, count in capacity.items()}
    offsets: dict[str, list[int]] = {role: [] for role in samples}
    dropped: dict[str, int] = {}
    counts: dict[str, int] = {}
    read = 0
    last_ns: int | None = None
    total = sum(c.msgcount for c in connections)
    messages = _progress(reader.messages(connections=connections), total, bag.name, progress)
    while True:
        try:
            item = next(messages, None)
        except Exception as err:  # noqa: BLE001 - a damaged storage file fails in many ways
            where = (
                "before the first message"
                if last_ns is None
                else (f"after {read} messages (the last at {_time_s(last_ns)} receive time)")
            )
            damage = f"reading stopped {where}: {type(err).__name__}: {err}"
            if config.damaged_bags is DamagePolicy.KEEP_READABLE:
                break
            raise DatasetError(f"bag {bag}: is damaged: {damage}") from None
        if item is None:
            break
        connection, receive_ns, raw = item
        role, topic, decode = decoders[connection.id]
        index = counts.get(topic, 0)
        counts[topic] = index + 1
        read += 1
        last_ns = receive_ns
        try:
            msg = reader.deserialize(raw, connection.msgtype)
            stamp, from_header = _stamp_ns(msg, receive_ns, config.clock)
            decoded = decode(msg)
        except MessageConversionError as err:
            raise DatasetError(
                f"bag {bag}: topic {topic} message #{index} (received at {_time_s(receive_ns)}): "
                f"{err}"
            ) from None
        except Exception as err:  # noqa: BLE001 - deserialisation of damaged data
            damage = (
                f"topic {topic} message #{index} (received at {_time_s(receive_ns)}) does not "
                f"deserialise: {type(err).__name__}: {err}"
            )
            if config.damaged_bags is DamagePolicy.KEEP_READABLE:
                break
            raise DatasetError(f"bag {bag}: is damaged: {damage}") from None
        if decoded.values is None:
            dropped[topic] = dropped.get(topic, 0) + 1
            continue
        samples[role].add(stamp, decoded.values)
        if from_header:
            offsets[role].append(receive_ns - stamp)

    streams: dict[str, Stream] = {}
    for role, role_samples in samples.items():
        topic = _role_topics(config)[role]
        if not role_samples.stamps_ns:
            why = f" ({dropped[topic]} dropped for NaN/inf)" if topic in dropped else ""
            raise DatasetError(
                f"bag {bag}: topic {topic} (topics.{role}) has no usable sample{why}"
            )
        stamps_ns, arrays = role_samples.sorted_by_stamp()
        streams[role] = Stream(
            stamps_ns=stamps_ns,
            values=arrays,
            header_offset_ns=int(np.median(offsets[role])) if offsets[role] else None,
        )
    _check_clocks(bag, streams, config)
    return Recording(bag.name, streams, dropped, damage)


def _check_clocks(bag: Path, streams: dict[str, Stream], config: DatasetConfig) -> None:
    """Refuse mixing header stamps and receive times that are far apart (e.g. sim time)."""
    header_roles = {
        r: s.header_offset_ns for r, s in streams.items() if s.header_offset_ns is not None
    }
    receive_roles = [r for r, s in streams.items() if s.header_offset_ns is None]
    if not header_roles or not receive_roles:
        return
    role, offset = max(header_roles.items(), key=lambda item: abs(item[1]))
    if abs(offset) > config.gap_s * NS_PER_S:
        raise DatasetError(
            f"bag {bag}: clock: header: topics.{role}'s header stamps are "
            f"{offset / NS_PER_S:.3f} s from its receive times (simulation time?), but "
            f"topics.{', topics.'.join(receive_roles)} has no header stamp "
            "and can only be placed by receive time; use 'clock: receive' "
            "or record the bag on the same clock (ros2 bag record --use-sim-time)"
        )
