"""Read and write rosbag2 recordings (mcap or sqlite3) with ``rosbags``, without ROS.

Messages are ``rosbags`` type-store objects, which carry the ROS 2 field names
that :mod:`liquid_controller.sensing` reads. Timestamps are the bag's log
(receive) times in integer nanoseconds; the header stamps inside the messages
are untouched (read them with :func:`liquid_controller.sensing.header_stamp_ns`).

Bags are written in rosbag2 format version 9 (what ``rosbags`` writes), which
``ros2 bag`` on Jazzy reads; Humble's ``ros2 bag`` reads only older versions.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from rosbags.highlevel import AnyReader
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys.store import Typestore

from liquid_controller.data.typestore import typestore_with_custom_messages
from liquid_controller.errors import ConfigError, MessageConversionError

__all__ = [
    "BagMessage",
    "StoragePlugin",
    "TopicStream",
    "iter_messages",
    "read_streams",
    "write_bag",
]


class BagMessage(NamedTuple):
    """One message of a bag.

    Attributes:
        topic: topic name, e.g. ``"/imu/data"``.
        timestamp_ns: log time, integer nanoseconds.
        message: the deserialised message (a ``rosbags`` type-store object).
        msgtype: e.g. ``"sensor_msgs/msg/Imu"``; when writing, ``None`` takes
            the message class's ``__msgtype__``.
    """

    topic: str
    timestamp_ns: int
    message: object
    msgtype: str | None = None


class TopicStream(NamedTuple):
    """All messages of one topic in log-time order.

    Attributes:
        msgtype: the topic's message type.
        timestamps_ns: ``(n,)`` int64 log times.
        messages: the ``n`` messages.
    """

    msgtype: str
    timestamps_ns: npt.NDArray[np.int64]
    messages: list[object]


def _storage_plugin(storage: StoragePlugin | str) -> StoragePlugin:
    if isinstance(storage, StoragePlugin):
        return storage
    names = {plugin.name.lower(): plugin for plugin in StoragePlugin}
    plugin = names.get(str(storage).lower())
    if plugin is None:
        raise ConfigError("storage", storage, f"one of {sorted(names)}")
    return plugin


def _message_type(record: BagMessage) -> str:
    if record.msgtype is not None:
        return record.msgtype
    msgtype = getattr(type(record.message), "__msgtype__", None)
    if not isinstance(msgtype, str):
        raise MessageConversionError(
            "msgtype",
            f"{type(record.message).__name__} on {record.topic!r} has no __msgtype__; "
            "give BagMessage.msgtype or use a rosbags type-store class",
        )
    return msgtype


def write_bag(
    path: str | os.PathLike[str],
    messages: Iterable[BagMessage],
    *,
    storage: StoragePlugin | str = StoragePlugin.MCAP,
    typestore: Typestore | None = None,
) -> Path:
    """Write messages to a new rosbag2 folder.

    Each distinct ``(topic, msgtype)`` becomes one connection, with the message
    definition embedded so that readers need no type store of their own.

    Args:
        path: the bag folder to create; it must not exist.
        messages: the records, in any order.
        storage: ``StoragePlugin.MCAP`` / ``"mcap"`` or ``StoragePlugin.SQLITE3`` / ``"sqlite3"``.
        typestore: serialises the messages; default: Jazzy plus the package's
            custom messages (:func:`typestore_with_custom_messages`).

    Returns:
        ``Path(path)``.

    Raises:
        ConfigError: unknown storage.
        MessageConversionError: a negative or non-integer timestamp, a message
            type missing from the type store, or a message that does not
            serialise as its type.
        rosbags.rosbag2.WriterError: ``path`` exists already.
    """
    plugin = _storage_plugin(storage)
    store = typestore_with_custom_messages() if typestore is None else typestore
    bag_path = Path(path)
    with Writer(bag_path, version=Writer.VERSION_LATEST, storage_plugin=plugin) as writer:
        connections = {}
        for record in messages:
            msgtype = _message_type(record)
            timestamp = record.timestamp_ns
            if isinstance(timestamp, (bool, np.bool_)) or not isinstance(
                timestamp, (int, np.integer)
            ):
                raise MessageConversionError(
                    "timestamp_ns", f"got {timestamp!r} on {record.topic!r}; expected an integer"
                )
            if timestamp < 0:
                raise MessageConversionError(
                    "timestamp_ns", f"got {timestamp} on {record.topic!r}; expected >= 0"
                )
            if msgtype not in store.fielddefs:
                raise MessageConversionError(
                    "msgtype", f"{msgtype!r} on {record.topic!r} is not in the type store"
                )
            key = (record.topic, msgtype)
            if key not in connections:
                connections[key] = writer.add_connection(record.topic, msgtype, typestore=store)
            try:
                data = store.serialize_cdr(record.message, msgtype)
            except (AttributeError, TypeError, ValueError, KeyError, IndexError) as err:
                raise MessageConversionError(
                    "message", f"does not serialise as {msgtype} on {record.topic!r}: {err!r}"
                ) from None
            writer.write(connections[key], int(timestamp), data)
    return bag_path


def iter_messages(
    path: str | os.PathLike[str],
    topics: Iterable[str] | None = None,
    *,
    typestore: Typestore | None = None,
) -> Iterator[BagMessage]:
    """Yield the messages of a rosbag2 (mcap or sqlite3) in log-time order.

    Message definitions embedded in the bag are used; ``typestore`` is only
    the fallback for bags that lack them.

    Args:
        path: the bag folder.
        topics: only these topics; ``None`` for all.
        typestore: fallback type store; default: Jazzy plus the package's messages.

    Raises:
        ConfigError: ``path`` does not exist, or a requested topic is not in the
            bag (the error lists the topics it has).
    """
    bag_path = Path(path)
    if not bag_path.exists():
        raise ConfigError("path", str(bag_path), "an existing rosbag2 folder")
    store = typestore_with_custom_messages() if typestore is None else typestore
    with AnyReader([bag_path], default_typestore=store) as reader:
        connections = reader.connections
        if topics is not None:
            wanted = set(topics)
            available = {connection.topic for connection in connections}
            missing = sorted(wanted - available)
            if missing:
                raise ConfigError("topics", missing, f"topics of the bag: {sorted(available)}")
            connections = [c for c in connections if c.topic in wanted]
            if not connections:
                return
        for connection, timestamp, rawdata in reader.messages(connections=connections):
            message = reader.deserialize(rawdata, connection.msgtype)
            yield BagMessage(connection.topic, timestamp, message, connection.msgtype)


def read_streams(
    path: str | os.PathLike[str],
    topics: Iterable[str] | None = None,
    *,
    typestore: Typestore | None = None,
) -> dict[str, TopicStream]:
    """Read a bag into one time-ordered stream per topic.

    Args:
        path: the bag folder.
        topics: only these topics; ``None`` for all.
        typestore: fallback type store (see :func:`iter_messages`).

    Returns:
        ``{topic: TopicStream}`` for every topic with at least one message.

    Raises:
        ConfigError: as :func:`iter_messages`, or a topic that carries more than one type.
    """
    stamps: dict[str, list[int]] = {}
    messages: dict[str, list[object]] = {}
    types: dict[str, str] = {}
    for record in iter_messages(path, topics, typestore=typestore):
        assert record.msgtype is not None
        if types.setdefault(record.topic, record.msgtype) != record.msgtype:
            raise ConfigError(
                "topics",
                record.topic,
                f"one message type per topic (found {types[record.topic]} and {record.msgtype})",
            )
        stamps.setdefault(record.topic, []).append(record.timestamp_ns)
        messages.setdefault(record.topic, []).append(record.message)
    return {
        topic: TopicStream(types[topic], np.array(stamps[topic], dtype=np.int64), messages[topic])
        for topic in types
    }
