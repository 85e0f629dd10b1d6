"""Bounded, jittered exponential back-off for the long-running loops (exporter, enforce).

Why jitter: several exporters and an enforce loop that lost the same cloud at the same
moment should not all knock again in the same second when it comes back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    """``failed()`` gives the next wait: ``first``, then doubling, never above ``cap``,
    each scaled by a random factor in [1 - jitter, 1]; ``succeeded()`` starts over."""

    first: float
    cap: float
    jitter: float = 0.2
    failures: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def failed(self) -> float:
        self.failures += 1
        base = min(self.cap, self.first * 2 ** min(self.failures - 1, 30))
        return base * (1 - self.jitter * self.rng.random())

    def succeeded(self) -> None:
        self.failures = 0
