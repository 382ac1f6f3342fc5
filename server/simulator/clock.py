"""The simulated clock: real time times a speed, plus explicit jumps."""

from __future__ import annotations

import time
from collections.abc import Callable


class SimClock:
    """`now()` moves `speed` simulated seconds per real second; `advance` jumps ahead."""

    def __init__(
        self, start: float, speed: float = 1.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._monotonic = monotonic
        self._anchor_real = monotonic()
        self._anchor_sim = start
        self.speed = speed

    def now(self) -> float:
        return self._anchor_sim + (self._monotonic() - self._anchor_real) * self.speed

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError("speed must be at least 0")
        self._anchor_sim = self.now()
        self._anchor_real = self._monotonic()
        self.speed = speed

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._anchor_sim += seconds
