"""A one-line progress display on stderr: documents, documents per second, text removed.

Redrawn in place at most a few times a second, so it costs nothing next to scoring; the
CLI turns it on when stderr is a terminal or ``--progress`` is given.
"""

from __future__ import annotations

import time
from typing import TextIO

from .batch import Tally


class Progress:
    def __init__(self, stream: TextIO, enabled: bool, interval: float = 0.25) -> None:
        self.stream, self.enabled, self.interval = stream, enabled, interval
        self.start = self.last = time.monotonic()
        self.tty = enabled and stream.isatty()
        self.width = 0
        self.logged = 0.0

    def update(self, tally: Tally, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        line = self.line(tally, now - self.start)
        if self.tty:
            # Pad over the previous, longer line instead of relying on terminal escapes.
            self.stream.write("\r" + line.ljust(self.width))
            self.width = len(line)
        else:  # a log file: one line per update, at most one a second
            if not force and now - self.logged < 1.0:
                return
            self.logged = now
            self.stream.write(line + "\n")
        self.stream.flush()

    @staticmethod
    def line(tally: Tally, seconds: float) -> str:
        rate = tally.records / seconds if seconds > 0 else 0.0
        errors = f", {tally.errors:,} errored" if tally.errors else ""
        return (f"contamfilter: {tally.records:,} documents, {rate:,.0f} docs/s, "
                f"{tally.removed_share:.1%} of text removed{errors}")

    def close(self, tally: Tally) -> None:
        if not self.enabled:
            return
        self.update(tally, force=True)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
