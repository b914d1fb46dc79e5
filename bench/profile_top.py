"""The top lines of a py-spy profile: where the sampled process spent its time.

``py-spy record --format raw`` writes collapsed stacks, one line per distinct stack:
``thread;outer (file.py:12);...;inner (file.py:34) COUNT``. :func:`top_frames` ranks frames by
*self* samples (the innermost frame: where the CPU was) and by *total* samples (the frame was
anywhere on the stack: the cost of calling it), as percentages of every sample.

    .venv/bin/python -m bench.profile_top bench/results/api-polls-tools.raw [N]
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_LINE_NUMBER = re.compile(r":\d+\)$")


@dataclass(frozen=True)
class Ranked:
    """One frame's share of the samples, in percent."""

    frame: str
    percent: float


def _function(frame: str) -> str:
    """``name (path/to/file.py:12)`` without its line number: the function, not the line."""
    return _LINE_NUMBER.sub(")", frame.strip())


def top_frames(lines: Iterable[str], count: int) -> tuple[int, list[Ranked], list[Ranked]]:
    """Every sample's number, the ``count`` frames with the most self samples and those with the
    most total samples (pure)."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in lines:
        stack, _, number = line.rstrip().rpartition(" ")
        if not stack or not number.isdigit():
            continue
        weight = int(number)
        frames = [_function(f) for f in stack.split(";")[1:]]
        if not frames:
            continue
        samples += weight
        own[frames[-1]] += weight
        for frame in set(frames):
            total[frame] += weight

    def ranked(counter: Counter[str]) -> list[Ranked]:
        return [Ranked(f, round(100 * n / samples, 1)) for f, n in counter.most_common(count)]

    return samples, ranked(own), ranked(total)


def report(lines: Iterable[str], count: int = 25) -> str:
    """:func:`top_frames` as text (pure)."""
    samples, own, total = top_frames(lines, count)
    out = [f"samples: {samples}", "", "self %  (where the CPU was)"]
    out += [f"{r.percent:6.1f}  {r.frame}" for r in own]
    out += ["", "total % (on the stack)"]
    out += [f"{r.percent:6.1f}  {r.frame}" for r in total]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path, count = Path(args[0]), int(args[1]) if len(args) > 1 else 25
    sys.stdout.write(report(path.read_text().splitlines(), count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
