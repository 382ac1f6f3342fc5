"""The simulated marketplace mounted inside `mlproject serve` (embedded mode's default shop).

Built on its first request, so a server that never uses it pays nothing; its notifications go
to this server's own webhook unless SIMULATOR_WEBHOOK_URL says otherwise.
"""

from __future__ import annotations

import asyncio
import dataclasses

from starlette.types import ASGIApp, Receive, Scope, Send

from server.config import Settings

SIMULATOR_PATH = "/simulator"


class MountedSimulator:
    """An ASGI app that creates the simulator app on first use and closes it at shutdown."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._app: ASGIApp | None = None
        self._lock = asyncio.Lock()

    async def _build(self) -> ASGIApp:
        async with self._lock:
            if self._app is None:
                # Imported here: the simulator pulls numpy, which a server without it never needs.
                from server.simulator.app import create_simulator_app
                from server.simulator.config import SimulatorConfig

                config = SimulatorConfig.from_env()
                if config.webhook_url is None:
                    own = f"http://{self._settings.host}:{self._settings.port}"
                    config = dataclasses.replace(config, webhook_url=f"{own}/webhooks/mercadolivre")
                self._app = create_simulator_app(config)
            return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._app or await self._build()
        await app(scope, receive, send)

    async def aclose(self) -> None:
        if self._app is not None:
            await self._app.state.simulator.aclose()  # type: ignore[attr-defined]
