"""`mlproject simulator` (its options are declared in server/cli.py): the simulator on uvicorn."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from .config import SimulatorConfig, SimulatorConfigError

log = logging.getLogger("mlproject.simulator")


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
