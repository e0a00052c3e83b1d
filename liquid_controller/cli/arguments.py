"""argparse types that reject bad values up front, naming the value and the accepted range.

A subcommand that runs for minutes must not fail on its arguments at the end: every
number is checked for finiteness and range when it is parsed, and an output file is
checked (and created) before the work starts.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path


def bounded_float(low: float, high: float, *, low_inclusive: bool = True) -> Callable[[str], float]:
    """Return an argparse type for a finite float in ``[low, high]`` (or ``(low, high]``)."""
    opening = "[" if low_inclusive else "("
    expected = f"a finite number in {opening}{low:g}, {high:g}]"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a number; expected {expected}"
            ) from None
        above_low = value >= low if low_inclusive else value > low
        if not (math.isfinite(value) and above_low and value <= high):
            raise argparse.ArgumentTypeError(f"{text!r} is out of range; expected {expected}")
        return value

    parse.__name__ = "number"  # argparse names the type in its own messages
    return parse


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """Return an argparse type for an integer in ``[low, high]``."""
    expected = f"an integer in [{low}, {high}]"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not an integer; expected {expected}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is out of range; expected {expected}")
        return value

    parse.__name__ = "integer"
    return parse


def output_file(text: str) -> Path:
    """An argparse type for a file to write later: its folder exists and it can be written.

    Checked when the arguments are parsed, so a long run does not fail only at the end.
    The file itself is not created here; a disk that fills up meanwhile is reported when
    the file is written.
    """
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory; expected a file path")
    folder = path.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: folder {str(folder)!r} does not exist")
    if path.exists() and not os.access(path, os.W_OK):
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not writable")
    if not path.exists() and not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{text!r}: folder {str(folder)!r} is not writable")
    return path


def output_folder(text: str) -> Path:
    """An argparse type for a folder to write files into: created now if missing.

    Its parent must exist (a typo does not silently create a tree); an existing folder
    is reused and the files written there are replaced.
    """
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a directory")
    if not path.exists():
        if not path.parent.is_dir():
            raise argparse.ArgumentTypeError(
                f"{text!r}: folder {str(path.parent)!r} does not exist"
            )
        try:
            path.mkdir()
        except OSError as err:
            raise argparse.ArgumentTypeError(f"{text!r}: cannot create it ({err})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{text!r} is not writable")
    return path
