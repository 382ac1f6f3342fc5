"""Settings, read once from the environment (every variable is documented in the README)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATA_DIR = "./data"


class ConfigError(RuntimeError):
    """The environment asks for something the server will not run with."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if not value >= minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server can be told; defaults give the embedded mode."""

    environment: str = "development"
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_DATA_DIR}/mlproject.db"
    redis_url: str | None = None
    mlflow_tracking_uri: str = f"sqlite:///{DEFAULT_DATA_DIR}/mlflow.db"
    secret_key: str = ""
    artifacts_dir: Path = Path(DEFAULT_DATA_DIR) / "artifacts"
    ml_client_id: str | None = None
    ml_client_secret: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    max_upload_bytes: int = 100 * 2**20
    access_token_minutes: int = 15
    refresh_token_days: int = 7
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 2000
    graphql_introspection: bool = True
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    worker_concurrency: int = 1
    worker_poll_delay: float = 0.05
    heartbeat_seconds: float = 2.0
    heartbeat_timeout_seconds: float = 30.0
    max_run_attempts: int = 3
    sweep_seconds: float = 5.0
    # -- pipeline (issue 7): fairness, outbox, outages --
    max_queued_runs_per_account: int = 20
    max_running_runs_per_account: int = 2
    run_defer_seconds: float = 5.0
    requeue_after_seconds: float = 60.0
    run_write_retry_seconds: float = 120.0

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the environment; refuse unsafe production settings."""
        env = os.environ if env is None else env
        environment = env.get("ENVIRONMENT", "development").strip().lower()
        if environment not in {"development", "production"}:
            raise ConfigError(f"ENVIRONMENT must be development or production, got {environment!r}")
        production = environment == "production"
        data_dir = Path(env.get("DATA_DIR") or DEFAULT_DATA_DIR)
        secret = env.get("SECRET_KEY", "")
        if production and len(secret) < 32:
            raise ConfigError(
                "SECRET_KEY must be set (32 characters or more) when ENVIRONMENT=production"
            )
        return cls(
            environment=environment,
            data_dir=data_dir,
            database_url=env.get("DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir}/mlproject.db",
            redis_url=env.get("REDIS_URL") or None,
            mlflow_tracking_uri=env.get("MLFLOW_TRACKING_URI") or f"sqlite:///{data_dir}/mlflow.db",
            secret_key=secret,
            artifacts_dir=Path(env.get("ARTIFACTS_DIR") or data_dir / "artifacts"),
            ml_client_id=env.get("ML_CLIENT_ID") or None,
            ml_client_secret=env.get("ML_CLIENT_SECRET") or None,
            host=env.get("HOST") or "127.0.0.1",
            port=_int(env, "PORT", 8000),
            log_level=(env.get("LOG_LEVEL") or "INFO").upper(),
            max_upload_bytes=_int(env, "MAX_UPLOAD_MB", 100) * 2**20,
            access_token_minutes=_int(env, "ACCESS_TOKEN_MINUTES", 15),
            refresh_token_days=_int(env, "REFRESH_TOKEN_DAYS", 7),
            graphql_max_depth=_int(env, "GRAPHQL_MAX_DEPTH", 12),
            graphql_max_aliases=_int(env, "GRAPHQL_MAX_ALIASES", 30),
            graphql_max_tokens=_int(env, "GRAPHQL_MAX_TOKENS", 2000),
            graphql_introspection=_bool(env, "GRAPHQL_INTROSPECTION", not production),
            cors_origins=tuple(
                o.strip() for o in (env.get("CORS_ORIGINS") or "").split(",") if o.strip()
            ),
            worker_concurrency=_int(env, "WORKER_CONCURRENCY", 1),
            worker_poll_delay=_float(env, "WORKER_POLL_DELAY_SECONDS", 0.05, 0.001),
            heartbeat_seconds=_float(env, "HEARTBEAT_SECONDS", 2.0, 0.1),
            heartbeat_timeout_seconds=_float(env, "HEARTBEAT_TIMEOUT_SECONDS", 30.0, 0.5),
            max_run_attempts=_int(env, "MAX_RUN_ATTEMPTS", 3),
            sweep_seconds=_float(env, "SWEEP_SECONDS", 5.0, 0.1),
            # -- pipeline (issue 7): fairness, outbox, outages --
            max_queued_runs_per_account=_int(env, "MAX_QUEUED_RUNS_PER_ACCOUNT", 20),
            max_running_runs_per_account=_int(env, "MAX_RUNNING_RUNS_PER_ACCOUNT", 2),
            run_defer_seconds=_float(env, "RUN_DEFER_SECONDS", 5.0, 0.1),
            requeue_after_seconds=_float(env, "REQUEUE_AFTER_SECONDS", 60.0, 1.0),
            run_write_retry_seconds=_float(env, "RUN_WRITE_RETRY_SECONDS", 120.0, 1.0),
        )

    def signing_key(self) -> str:
        """SECRET_KEY, or in development a per-install key kept in the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key
