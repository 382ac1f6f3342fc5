"""ASGI app factory: /graphql (HTTP + WebSocket + GraphiQL and its assets), /health/*."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.adapters.jobs.discounts import tick_forever
from server.adapters.jobs.inprocess import InProcessJobQueue, sweep_forever
from server.bootstrap import Container, build
from server.config import Settings
from server.graphiql import ASSETS_PATH, graphiql_assets, graphiql_page
from server.health import readiness, readiness_redis
from server.http import GraphQLView
from server.marketplace_http import marketplace_routes
from server.ratelimit import RateLimitMiddleware
from server.schema import build_schema
from server.simulator_mount import SIMULATOR_PATH, MountedSimulator
from server.uploads import UploadGuard

log = logging.getLogger("mlproject.http")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestLog:
    """Gives each request an id (X-Request-ID, echoed back) and logs one line when it ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # The mounted simulator is the marketplace's side: its traffic is not our requests.
            path = scope.get("path") or ""
            level = logging.DEBUG if path.startswith(SIMULATOR_PATH) else logging.INFO
            log.log(
                level,
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method", "WS"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )


def create_app(settings: Settings | None = None, container: Container | None = None) -> Starlette:
    """The application; builds its container from settings unless one is given."""
    settings = settings or Settings.from_env()
    container = container or build(settings)
    operations = Path(__file__).resolve().parent.parent / "graphql" / "operations"
    page = graphiql_page(operations) if settings.graphiql else None
    view = GraphQLView(container, build_schema(settings), page)

    async def live(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    health_redis = readiness_redis(settings.redis_url)

    async def ready(_: Request) -> JSONResponse:
        ok, body = await readiness(container.engine, health_redis)
        return JSONResponse(body, status_code=200 if ok else 503)

    simulator = MountedSimulator(settings) if settings.simulator_mount else None

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        sweeping = None
        if container.runs_in_process:
            # Embedded mode: this process is also the worker, so it sweeps crashed runs too,
            # and takes up the runs a previous stop handed back (its queue was in memory).
            await container.sweeper.requeue_waiting()
            sweeping = asyncio.create_task(sweep_forever(container.sweeper, settings.sweep_seconds))
            if container.marketplace is not None:  # syncs a stop interrupted carry on
                await container.marketplace.service.resume_syncs()
        scheduling = None
        if container.runs_in_process and container.scheduler is not None:
            scheduling = asyncio.create_task(
                tick_forever(container.scheduler, settings.scheduler_tick_seconds)
            )
        yield
        if scheduling is not None:
            scheduling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scheduling
        # Stop training first (`mlproject serve` already did on the signal), give the runs a
        # bounded time to hand their attempts back, then close the adapters.
        container.leave()
        if sweeping is not None:
            sweeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeping
        if isinstance(container.jobs, InProcessJobQueue):
            await container.jobs.aclose(grace=settings.shutdown_grace_seconds)
        if health_redis is not None:
            await health_redis.aclose()
        if simulator is not None:
            await simulator.aclose()
        await container.aclose()

    middleware = [Middleware(RequestLog)]
    if container.ratelimits is not None:  # auth slice: generous limits before any work
        middleware.append(
            Middleware(
                RateLimitMiddleware, limits=container.ratelimits, accounts=container.accounts
            )
        )
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=[
                    "authorization",
                    "content-type",
                    "x-request-id",
                    "graphql-require-preflight",
                ],
            )
        )
    routes: list[BaseRoute] = [
        Route("/graphql", UploadGuard(view, container), methods=["GET", "POST"]),
        WebSocketRoute("/graphql", view),
        Route("/health/live", live),
        Route("/health/ready", ready),
    ]
    if container.marketplace is not None:
        routes += marketplace_routes(container)
    if simulator is not None:
        routes.append(Mount(SIMULATOR_PATH, app=simulator, name="simulator"))
    if page is not None:
        routes.append(Mount(ASSETS_PATH, app=graphiql_assets(), name="graphiql-assets"))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.container = container
    return app
