"""The marketplace client's settings come from ML_* variables."""

from __future__ import annotations

import pytest

from server.adapters.marketplace.transport import ClientSettings
from server.config import ConfigError, Settings


def test_the_defaults_point_at_mercado_livre_at_five_requests_a_second() -> None:
    settings = ClientSettings.from_settings(Settings.from_env({}))
    assert settings.api_base == "https://api.mercadolibre.com"
    assert settings.auth_base == "https://auth.mercadolivre.com.br"
    assert settings.rate_limit == 5.0


def test_the_simulator_is_reached_by_base_urls_and_may_run_unthrottled() -> None:
    env = {
        "ML_API_BASE": "http://127.0.0.1:8000/simulator/",
        "ML_AUTH_BASE": "http://127.0.0.1:8000/simulator",
        "ML_RATE_LIMIT": "0",
        "ML_CLIENT_ID": "111",
        "ML_CLIENT_SECRET": "s",
        "ML_MAX_ATTEMPTS": "2",
    }
    settings = ClientSettings.from_settings(Settings.from_env(env))
    assert settings.api_base == "http://127.0.0.1:8000/simulator"  # no trailing slash
    assert (settings.rate_limit, settings.client_id, settings.max_attempts) == (0.0, "111", 2)


@pytest.mark.parametrize(
    "env", [{"ML_API_BASE": "ftp://x"}, {"ML_RATE_LIMIT": "-1"}, {"ML_MAX_ATTEMPTS": "0"}]
)
def test_bad_values_are_named(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=next(iter(env))):
        Settings.from_env(env)
