"""The simulator's own rules: isolation, time steps, cursors and token lifetimes."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from server.cli import parser
from server.simulator import SimulatorConfig, SimulatorConfigError
from server.simulator.cli import config_from
from server.simulator.clock import SimClock
from server.simulator.errors import ApiError
from server.simulator.oauth import OAuthServer
from server.simulator.render import order_json
from server.simulator.simulator import Simulator

PACKAGE = Path(__file__).resolve().parents[3] / "server" / "simulator"
START = "2026-11-25T10:00:00.000-03:00"


def test_the_simulator_imports_nothing_from_the_product() -> None:
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            bad = [n for n in names if n.split(".")[0] in {"server", "domain", "automl"}]
            if bad:
                offenders[path.name] = bad
    assert offenders == {}


def orders_after(sim: Simulator) -> list[dict[str, object]]:
    shop = sim.default_shop
    return [order_json(shop, order) for order in shop.orders_between(shop.start, None)]


def test_the_same_time_in_other_steps_gives_the_same_orders() -> None:
    config = SimulatorConfig(seed=9, items=150, start=START, speed=0.0)
    at_once, in_steps = Simulator(config), Simulator(config)
    at_once.clock.advance(2 * 86_400)
    at_once.catch_up()
    for seconds in [1, 899, 3_601, 20_000, 77, 86_400 * 2 - 24_578]:
        in_steps.clock.advance(seconds)
        in_steps.catch_up()
    assert at_once.clock.now() == in_steps.clock.now()
    assert len(orders_after(at_once)) > 10
    assert orders_after(at_once) == orders_after(in_steps)


def test_a_scroll_expires_when_left_unused() -> None:
    sim = Simulator(SimulatorConfig(items=20, start=START, scroll_seconds=0.05))
    user = sim.default_shop.user_id
    scroll_id = sim.open_scroll(user, ["MLB1"])
    assert sim.scroll(scroll_id, user).ids == ["MLB1"]
    time.sleep(0.1)
    with pytest.raises(ApiError) as refused:
        sim.scroll(scroll_id, user)
    assert refused.value.status == 400


def test_an_access_token_expires_after_its_lifetime() -> None:
    now = [0.0]
    oauth = OAuthServer("111", "secret", access_seconds=21_600, monotonic=lambda: now[0])
    pair = oauth.issue(7)
    bearer = f"Bearer {pair['access_token']}"
    now[0] = 21_599.0
    assert oauth.user_for(bearer) == 7
    now[0] = 21_600.0
    assert oauth.user_for(bearer) is None
    refreshed = oauth.token(
        {
            "grant_type": "refresh_token",
            "client_id": "111",
            "client_secret": "secret",
            "refresh_token": str(pair["refresh_token"]),
        }
    )
    assert oauth.user_for(f"Bearer {refreshed['access_token']}") == 7


def test_the_clock_runs_at_its_speed_and_jumps_ahead() -> None:
    real = [100.0]
    clock = SimClock(1_000.0, speed=60.0, monotonic=lambda: real[0])
    real[0] = 101.0
    assert clock.now() == 1_060.0
    clock.set_speed(0.0)
    real[0] = 500.0
    assert clock.now() == 1_060.0
    clock.advance(3_600)
    assert clock.now() == 4_660.0
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_command_line_options_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMULATOR_SEED", "7")
    monkeypatch.setenv("SIMULATOR_ITEMS", "300")
    monkeypatch.setenv("SIMULATOR_RATE_429", "0.25")
    args = parser().parse_args(["simulator", "--items", "1500", "--speed", "10"])
    config = config_from(args)
    assert (config.seed, config.items, config.speed, config.rate_429) == (7, 1500, 10.0, 0.25)
    monkeypatch.setenv("SIMULATOR_RATE_429", "2")
    with pytest.raises(SimulatorConfigError):
        config_from(parser().parse_args(["simulator"]))
