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
