"""Write description/worlds/<track>.sdf, the Gazebo world of each package track.

    .venv/bin/python scripts/write_gazebo_worlds.py [--check]

The worlds are generated from description/tracks/*.yaml by liquid_controller.sim.gazebo_world
(needs the sim extra, as the MuJoCo world does) and committed, so that the installed package
needs neither to run Gazebo. --check writes nothing and exits 1 when a file differs from what
the tracks give (test/gazebo/test_gazebo_world.py runs the same comparison).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from liquid_controller.sim.gazebo_world import world_sdf
from liquid_controller.sim.track import load_track, track_names

WORLD_DIR = Path(__file__).resolve().parents[1] / "description" / "worlds"


def main() -> int:
    """Write (or with --check compare) the world of every track; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only, write nothing")
    args = parser.parse_args()
    stale = []
    for name in track_names():
        path = WORLD_DIR / f"{name}.sdf"
        text = world_sdf(load_track(name))
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    for path in stale:
        print(f"out of date: {path} (run scripts/write_gazebo_worlds.py)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
