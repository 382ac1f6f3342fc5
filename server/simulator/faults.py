"""Fault injection: 429s with Retry-After, 5xx, added latency (seeded, so reproducible)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, bad_request


@dataclass(slots=True)
class Faults:
    """What goes wrong and how often; changed at run time by `POST /_sim/faults`."""

    rate_429: float = 0.0
    rate_5xx: float = 0.0
    latency_ms: int = 0
    duplicate_webhooks: float = 0.0
    retry_after_seconds: int = 1
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def update(self, body: dict[str, Any]) -> None:
        """Set the fields present in `body` (rates in [0, 1], latency in ms)."""
        for name in ("rate_429", "rate_5xx", "duplicate_webhooks"):
            if name in body:
                value = body[name]
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise bad_request("bad_request", f"{name} must be a number")
                if not 0.0 <= value <= 1.0:
                    raise bad_request("bad_request", f"{name} must be between 0 and 1")
                setattr(self, name, float(value))
        for name in ("latency_ms", "retry_after_seconds"):
            if name in body:
                value = body[name]
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise bad_request("bad_request", f"{name} must be a whole number >= 0")
                setattr(self, name, value)

    def failure(self) -> ApiError | None:
        """The injected error for this request, if any."""
        if self.rate_429 and self.rng.random() < self.rate_429:
            return ApiError(
                429,
                "too_many_requests",
                "rate limit exceeded, retry later",
                retry_after=self.retry_after_seconds,
            )
        if self.rate_5xx and self.rng.random() < self.rate_5xx:
            return ApiError(503, "service_unavailable", "the service is temporarily unavailable")
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "rate_429": self.rate_429,
            "rate_5xx": self.rate_5xx,
            "latency_ms": self.latency_ms,
            "duplicate_webhooks": self.duplicate_webhooks,
            "retry_after_seconds": self.retry_after_seconds,
        }
