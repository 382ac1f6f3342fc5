"""Settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import ConfigError, Settings


def test_defaults_are_the_embedded_mode() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite+aiosqlite:///data/mlproject.db"
    assert settings.redis_url is None
    assert settings.graphql_introspection is True


def test_production_refuses_to_start_without_a_secret_key() -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings.from_env({"ENVIRONMENT": "production"})
    settings = Settings.from_env({"ENVIRONMENT": "production", "SECRET_KEY": "k" * 32})
    assert settings.graphql_introspection is False


@pytest.mark.parametrize(
    "env", [{"PORT": "eighty"}, {"ENVIRONMENT": "staging"}, {"GRAPHQL_INTROSPECTION": "maybe"}]
)
def test_bad_values_are_named(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=next(iter(env))):
        Settings.from_env(env)


def test_development_keeps_a_generated_key(tmp_path: Path) -> None:
    settings = Settings.from_env({"DATA_DIR": str(tmp_path)})
    key = settings.signing_key()
    assert len(key) >= 32
    assert Settings.from_env({"DATA_DIR": str(tmp_path)}).signing_key() == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_urls_that_pointed_at_the_server_follow_its_address() -> None:
    settings = Settings.from_env({"SECRET_KEY": "x" * 40, "PORT": "8000"})
    assert settings.simulator_mount  # embedded mode (no REDIS_URL) mounts the simulator
    moved = settings.listening_on("127.0.0.1", 9123)
    assert moved.simulator_url == "http://127.0.0.1:9123/simulator"
    assert moved.ml_redirect_uri == "http://127.0.0.1:9123/oauth/mercadolivre/callback"
    elsewhere = Settings.from_env(
        {
            "SECRET_KEY": "x" * 40,
            "SIMULATOR_URL": "http://sim.internal:8100",
            "REDIS_URL": "redis://r",
        }
    )
    assert not elsewhere.simulator_mount
    assert elsewhere.listening_on("0.0.0.0", 9000).simulator_url == "http://sim.internal:8100"
