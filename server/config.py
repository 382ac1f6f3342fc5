"""Settings, read once from the environment (every variable is documented in the README)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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


def _holidays(env: Mapping[str, str], name: str, default: str) -> str | None:
    """A holiday calendar for date features: `BR` (Brazil's national holidays) or `none`."""
    raw = (env.get(name) or default).strip()
    if raw.lower() == "none":
        return None
    if raw.upper() != default:
        raise ConfigError(f"{name} must be {default} or none, got {raw!r}")
    return default


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    """A rate limit in the `limits` notation, e.g. `10/minute` or `100 per hour`."""
    from limits import parse

    raw = (env.get(name) or default).strip()
    try:
        parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must look like 10/minute or 100/hour, got {raw!r}") from exc
    return raw


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated IP addresses or CIDR networks."""
    import ipaddress

    values = tuple(v.strip() for v in (env.get(name) or "").split(",") if v.strip())
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise ConfigError(f"{name} must list IP addresses or networks, got {value!r}") from exc
    return values


def _base_url(env: Mapping[str, str], name: str, default: str) -> str:
    """An http(s) base URL, without a trailing slash."""
    raw = (env.get(name) or default).strip().rstrip("/")
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {raw!r}")
    return raw


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
    calendar_holidays: str | None = "BR"  # dates slice: holiday features of datetime columns
    worker_poll_delay: float = 0.05
    heartbeat_seconds: float = 2.0
    heartbeat_timeout_seconds: float = 30.0
    max_run_attempts: int = 3
    sweep_seconds: float = 5.0
    # graphiql slice: the in-browser IDE at GET /graphql (off in production unless asked for)
    graphiql: bool = True
    # -- auth slice (issue 7): rate limits, passwords, sessions, WebSocket checks --------------
    rate_limit_login_per_ip: str = "10/minute"
    rate_limit_login_per_email: str = "5/minute"
    rate_limit_signup_per_ip: str = "5/hour"
    rate_limit_per_account: str = "600/minute"
    rate_limit_per_ip: str = "1200/minute"
    trusted_proxies: tuple[str, ...] = field(default_factory=tuple)
    password_hash_threads: int = 2
    password_hash_queue: int = 32
    max_accounts_per_email: int = 10
    ws_auth_recheck_seconds: float = 5.0
    max_subscriptions_per_user: int = 20
    # lifecycle: how long a stopping server or worker waits for training to stop and hand back
    shutdown_grace_seconds: float = 5.0
    # edge (issue 7): request and document limits, query cost, document cache budget
    max_request_kb: int = 1024
    graphql_max_document_kb: int = 100
    graphql_max_cost: int = 5000
    graphql_cache_mb: int = 32
    # -- pipeline (issue 7): fairness, outbox, outages --
    max_queued_runs_per_account: int = 20
    max_running_runs_per_account: int = 2
    run_defer_seconds: float = 5.0
    requeue_after_seconds: float = 60.0
    run_write_retry_seconds: float = 120.0
    # -- marketplace client (issue 9): Mercado Livre's API, or the simulator speaking it --
    ml_api_base: str = "https://api.mercadolibre.com"
    ml_auth_base: str = "https://auth.mercadolivre.com.br"
    ml_rate_limit: float = 5.0  # requests/s per seller; 0 = unthrottled
    ml_connect_timeout_seconds: float = 5.0
    ml_read_timeout_seconds: float = 20.0
    ml_max_attempts: int = 5
    ml_retry_budget_seconds: float = 30.0
    # -- discount scheduler (issue 9): how often it applies and withdraws due discounts --
    scheduler_tick_seconds: float = 5.0
    # -- marketplace store (issue 9): connections, syncs, webhooks --
    simulator_url: str = "http://127.0.0.1:8000/simulator"  # the embedded mount by default
    simulator_client_id: str = "111"  # the simulator's one OAuth app
    simulator_client_secret: str = "simulator-secret"
    simulator_rate_limit: float = 0.0  # requests/s per seller to the simulator; 0 = unthrottled
    simulator_mount: bool = True  # `serve` mounts the simulator at /simulator (embedded default)
    ml_redirect_uri: str = "http://127.0.0.1:8000/oauth/mercadolivre/callback"
    sync_concurrency: int = 2  # embedded mode: syncs running at once in the API process
    sync_lease_seconds: float = 60.0  # a RUNNING sync silent this long was killed: resumable

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def mlflow_artifacts_dir(self) -> Path:
        """Where new MLflow experiments keep artifacts, unless MLflow is a tracking server."""
        return self.data_dir / "mlflow-artifacts"

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
        local = f"http://{env.get('HOST') or '127.0.0.1'}:{_int(env, 'PORT', 8000)}"
        return cls(
            environment=environment,
            data_dir=data_dir,
            database_url=database_url(
                env.get("DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir}/mlproject.db"
            ),
            redis_url=redis_url(env.get("REDIS_URL") or None),
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
            calendar_holidays=_holidays(env, "CALENDAR_HOLIDAYS", "BR"),
            worker_poll_delay=_float(env, "WORKER_POLL_DELAY_SECONDS", 0.05, 0.001),
            heartbeat_seconds=_float(env, "HEARTBEAT_SECONDS", 2.0, 0.1),
            heartbeat_timeout_seconds=_float(env, "HEARTBEAT_TIMEOUT_SECONDS", 30.0, 0.5),
            max_run_attempts=_int(env, "MAX_RUN_ATTEMPTS", 3),
            sweep_seconds=_float(env, "SWEEP_SECONDS", 5.0, 0.1),
            # graphiql slice
            graphiql=_bool(env, "GRAPHIQL", not production),
            # -- auth slice (issue 7) --
            rate_limit_login_per_ip=_rate(env, "RATE_LIMIT_LOGIN_PER_IP", "10/minute"),
            rate_limit_login_per_email=_rate(env, "RATE_LIMIT_LOGIN_PER_EMAIL", "5/minute"),
            rate_limit_signup_per_ip=_rate(env, "RATE_LIMIT_SIGNUP_PER_IP", "5/hour"),
            rate_limit_per_account=_rate(env, "RATE_LIMIT_PER_ACCOUNT", "600/minute"),
            rate_limit_per_ip=_rate(env, "RATE_LIMIT_PER_IP", "1200/minute"),
            trusted_proxies=_networks(env, "TRUSTED_PROXIES"),
            password_hash_threads=_int(env, "PASSWORD_HASH_THREADS", 2),
            password_hash_queue=_int(env, "PASSWORD_HASH_QUEUE", 32, minimum=0),
            max_accounts_per_email=_int(env, "MAX_ACCOUNTS_PER_EMAIL", 10),
            ws_auth_recheck_seconds=_float(env, "WS_AUTH_RECHECK_SECONDS", 5.0, 0.1),
            max_subscriptions_per_user=_int(env, "MAX_SUBSCRIPTIONS_PER_USER", 20),
            # lifecycle
            shutdown_grace_seconds=_float(env, "SHUTDOWN_GRACE_SECONDS", 5.0, 0.0),
            # edge (issue 7)
            max_request_kb=_int(env, "MAX_REQUEST_KB", 1024),
            graphql_max_document_kb=_int(env, "GRAPHQL_MAX_DOCUMENT_KB", 100),
            graphql_max_cost=_int(env, "GRAPHQL_MAX_COST", 5000),
            graphql_cache_mb=_int(env, "GRAPHQL_CACHE_MB", 32),
            # -- pipeline (issue 7): fairness, outbox, outages --
            max_queued_runs_per_account=_int(env, "MAX_QUEUED_RUNS_PER_ACCOUNT", 20),
            max_running_runs_per_account=_int(env, "MAX_RUNNING_RUNS_PER_ACCOUNT", 2),
            run_defer_seconds=_float(env, "RUN_DEFER_SECONDS", 5.0, 0.1),
            requeue_after_seconds=_float(env, "REQUEUE_AFTER_SECONDS", 60.0, 1.0),
            run_write_retry_seconds=_float(env, "RUN_WRITE_RETRY_SECONDS", 120.0, 1.0),
            # -- marketplace client (issue 9) --
            ml_api_base=_base_url(env, "ML_API_BASE", "https://api.mercadolibre.com"),
            ml_auth_base=_base_url(env, "ML_AUTH_BASE", "https://auth.mercadolivre.com.br"),
            ml_rate_limit=_float(env, "ML_RATE_LIMIT", 5.0, 0.0),
            ml_connect_timeout_seconds=_float(env, "ML_CONNECT_TIMEOUT_SECONDS", 5.0, 0.1),
            ml_read_timeout_seconds=_float(env, "ML_READ_TIMEOUT_SECONDS", 20.0, 0.1),
            ml_max_attempts=_int(env, "ML_MAX_ATTEMPTS", 5),
            ml_retry_budget_seconds=_float(env, "ML_RETRY_BUDGET_SECONDS", 30.0, 0.0),
            scheduler_tick_seconds=_float(env, "SCHEDULER_TICK_SECONDS", 5.0, 0.1),
            # -- marketplace store (issue 9) --
            simulator_url=_base_url(env, "SIMULATOR_URL", f"{local}/simulator"),
            simulator_client_id=env.get("SIMULATOR_CLIENT_ID") or "111",
            simulator_client_secret=env.get("SIMULATOR_CLIENT_SECRET") or "simulator-secret",
            simulator_rate_limit=_float(env, "SIMULATOR_RATE_LIMIT", 0.0, 0.0),
            simulator_mount=_bool(env, "SIMULATOR_MOUNT", not env.get("REDIS_URL")),
            ml_redirect_uri=_base_url(
                env, "ML_REDIRECT_URI", f"{local}/oauth/mercadolivre/callback"
            ),
            sync_concurrency=_int(env, "SYNC_CONCURRENCY", 2),
            sync_lease_seconds=_float(env, "SYNC_LEASE_SECONDS", 60.0, 1.0),
        )

    def listening_on(self, host: str, port: int) -> Settings:
        """These settings served at host:port; the URLs that pointed at this server follow it
        (the embedded simulator's and the OAuth callback's), explicit other URLs stay."""
        old, new = f"http://{self.host}:{self.port}", f"http://{host}:{port}"

        def moved(url: str) -> str:
            return new + url[len(old) :] if url.startswith(old + "/") else url

        return replace(
            self,
            host=host,
            port=port,
            simulator_url=moved(self.simulator_url),
            ml_redirect_uri=moved(self.ml_redirect_uri),
        )

    def signing_key(self) -> str:
        """SECRET_KEY, or in development a per-install key kept in the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key


# lifecycle: URL checks, so a wrong scheme is one sentence at start instead of a traceback
_DATABASE_SCHEMES = {
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql+asyncpg": "postgresql+asyncpg",
    # Friendlier: the URLs hosting providers hand out mean PostgreSQL; the driver is ours.
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}
_REDIS_SCHEMES = ("redis", "rediss", "unix")


def database_url(url: str) -> str:
    """DATABASE_URL with a driver this server runs on (postgres:// and postgresql:// are
    rewritten to postgresql+asyncpg://, sqlite:// to sqlite+aiosqlite://); any other scheme
    is a ConfigError."""
    scheme, separator, rest = url.partition("://")
    driver = _DATABASE_SCHEMES.get(scheme.lower()) if separator else None
    if driver is None:
        raise ConfigError(
            f"DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg:// "
            f"(postgresql://, postgres:// and sqlite:// are accepted too), not {scheme[:30]}://"
            if separator
            else "DATABASE_URL must be a URL such as "
            "postgresql+asyncpg://user@host:5432/dbname or sqlite+aiosqlite:///./data/mlproject.db"
        )
    return f"{driver}://{rest}"


def redis_url(url: str | None) -> str | None:
    """REDIS_URL if it is one redis-py can use (redis://, rediss:// or unix://)."""
    if url is None:
        return None
    from redis.connection import parse_url

    scheme = url.partition("://")[0].lower()
    try:
        if scheme not in _REDIS_SCHEMES:
            raise ValueError("unknown scheme")
        parse_url(url)
    except ValueError as exc:
        raise ConfigError(
            "REDIS_URL must look like redis://host:6379/0 (or rediss://, unix://), "
            f"and {_redact(url)!r} does not ({exc})"
        ) from exc
    return url


def _redact(url: str) -> str:
    """The URL without a password, fit for an error message."""
    scheme, separator, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.partition(":")[0]
    return f"{scheme}{separator}{user}:***@{host}" if user else f"{scheme}{separator}***@{host}"
