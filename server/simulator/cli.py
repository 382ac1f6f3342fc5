"""`mlproject simulator`: the simulated marketplace alone, under uvicorn."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from .config import SimulatorConfig, SimulatorConfigError

log = logging.getLogger("mlproject.simulator")


def add_arguments(command: argparse.ArgumentParser) -> None:
    """The subcommand's options; each overrides its `SIMULATOR_*` variable."""
    command.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    command.add_argument("--port", type=int, default=8100, help="port (default 8100)")
    command.add_argument("--seed", type=int, help="shop seed (SIMULATOR_SEED, default 42)")
    command.add_argument("--items", type=int, help="listings (SIMULATOR_ITEMS, default 1200)")
    command.add_argument("--speed", type=float, help="simulated seconds per real second")
    command.add_argument("--start", help="simulated now at start-up, ISO 8601 (default: now)")
    command.add_argument("--webhook-url", help="where notifications are POSTed")


def config_from(args: argparse.Namespace) -> SimulatorConfig:
    config = SimulatorConfig.from_env()
    overrides = {
        "seed": args.seed,
        "items": args.items,
        "speed": args.speed,
        "start": args.start,
        "webhook_url": args.webhook_url,
    }
    return dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_simulator_app

    try:
        config = config_from(args)
        app = create_simulator_app(config)
    except (SimulatorConfigError, ValueError) as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    shop = app.state.simulator.default_shop
    log.info(
        "simulator serving",
        extra={
            "url": f"http://{args.host}:{args.port}",
            "seller": shop.user_id,
            "items": shop.size,
            "orders": len(shop.orders),
        },
    )
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)
    return 0
