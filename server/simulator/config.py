"""The simulator's own settings (it is a separate app: nothing here comes from server.config)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class SimulatorConfigError(ValueError):
    """A simulator setting the simulator will not run with."""


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """How the simulated marketplace is built and behaves.

    `start` is the simulated "now" when the app is created (ISO 8601; unset: the real time); the
    default shop's year of orders ends there. `client_id`/`client_secret` are the one OAuth app the
    simulator knows (the product's `ML_CLIENT_ID`/`ML_CLIENT_SECRET` must match them).
    """

    seed: int = 42
    items: int = 1200
    speed: float = 1.0
    start: str | None = None
    webhook_url: str | None = None
    client_id: str = "111"
    client_secret: str = "simulator-secret"
    access_token_seconds: int = 21600
    scroll_seconds: float = 300.0
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    latency_ms: int = 0
    webhook_timeout_seconds: float = 0.5
    webhook_max_attempts: int = 5
    webhook_retry_seconds: float = 1.0
    tick_seconds: float = 1.0

    def __post_init__(self) -> None:
        if not 1 <= self.items <= 10_000:
            raise SimulatorConfigError(f"items must be between 1 and 10000, got {self.items}")
        if self.speed < 0:
            raise SimulatorConfigError(f"speed must be at least 0, got {self.speed}")
        for name in ("rate_429", "rate_5xx"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise SimulatorConfigError(f"{name} must be between 0 and 1, got {value}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SimulatorConfig:
        """Read the `SIMULATOR_*` variables (documented in the README)."""
        env = os.environ if env is None else env

        def text(name: str, default: str | None) -> str | None:
            raw = env.get(name)
            return default if raw is None or raw == "" else raw

        def number(name: str, default: float) -> float:
            raw = text(name, None)
            if raw is None:
                return default
            try:
                return float(raw)
            except ValueError as exc:
                raise SimulatorConfigError(f"{name} must be a number, got {raw!r}") from exc

        base = cls()
        return cls(
            seed=int(number("SIMULATOR_SEED", base.seed)),
            items=int(number("SIMULATOR_ITEMS", base.items)),
            speed=number("SIMULATOR_SPEED", base.speed),
            start=text("SIMULATOR_START", None),
            webhook_url=text("SIMULATOR_WEBHOOK_URL", None),
            client_id=text("SIMULATOR_CLIENT_ID", base.client_id) or base.client_id,
            client_secret=text("SIMULATOR_CLIENT_SECRET", base.client_secret) or base.client_secret,
            rate_429=number("SIMULATOR_RATE_429", 0.0),
            rate_5xx=number("SIMULATOR_RATE_5XX", 0.0),
            latency_ms=int(number("SIMULATOR_LATENCY_MS", 0)),
        )
