"""The Starlette app: the API subset of docs/marketplace-wire.md plus the `/_sim/` endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .config import SimulatorConfig
from .errors import ApiError, bad_request, forbidden
from .simulator import Simulator

Handler = Callable[[Request, Simulator, int], Awaitable[Response]]
SimHandler = Callable[[Request, Simulator], Awaitable[Response]]
UNAUTHORIZED = ApiError(401, "unauthorized", "invalid access token")


def error_response(error: ApiError) -> JSONResponse:
    headers = {}
    if error.status == 429:
        headers["Retry-After"] = str(1 if error.retry_after is None else error.retry_after)
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise bad_request("bad_request", f"{name} must be a whole number") from exc
    if not low <= value <= high:
        raise bad_request("bad_request", f"{name} must be between {low} and {high}")
    return value


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise bad_request("bad_request", "the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise bad_request("bad_request", "the body must be a JSON object")
    return body


def own(user_id: int, owner: int) -> None:
    if user_id != owner:
        raise forbidden()


class Endpoints:
    """Wraps handlers with what every request of that kind goes through."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    async def _enter(self, faulty: bool) -> ApiError | None:
        sim = self.simulator
        sim.ensure_ticker()
        if faulty:
            if sim.faults.latency_ms:
                await asyncio.sleep(sim.faults.latency_ms / 1000)
            failure = sim.faults.failure()
            if failure is not None:
                return failure
        sim.catch_up()
        return None

    def api(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """A marketplace endpoint: faults, then the bearer token, then the handler."""

        async def endpoint(request: Request) -> Response:
            try:
                failure = await self._enter(faulty=True)
                if failure is not None:
                    return error_response(failure)
                user_id = self.simulator.oauth.user_for(request.headers.get("authorization"))
                if user_id is None:
                    return error_response(UNAUTHORIZED)
                return await handler(request, self.simulator, user_id)
            except ApiError as error:
                return error_response(error)

        return endpoint

    def public(
        self, handler: SimHandler, faulty: bool = True
    ) -> Callable[[Request], Awaitable[Response]]:
        """OAuth endpoints (faults apply) and `/_sim/` endpoints (never faulty)."""

        async def endpoint(request: Request) -> Response:
            try:
                failure = await self._enter(faulty=faulty)
                if failure is not None:
                    return error_response(failure)
                return await handler(request, self.simulator)
            except ApiError as error:
                return error_response(error)

        return endpoint


# ---- OAuth


async def authorization(request: Request, sim: Simulator) -> Response:
    params = dict(request.query_params)
    seller = params.get("seller")
    user_id = sim.default_shop.user_id
    if seller:
        if not seller.isdigit() or int(seller) not in sim.shops:
            raise bad_request("bad_request", f"unknown seller {seller}")
        user_id = int(seller)
    return RedirectResponse(sim.oauth.authorize(params, user_id), status_code=302)


async def token(request: Request, sim: Simulator) -> Response:
    """Form-encoded as OAuth says; a JSON body is accepted too (some clients send one)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await json_body(request)
        fields = {key: str(value) for key, value in body.items()}
    else:
        form = await request.form()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
    return JSONResponse(sim.oauth.token(fields))


async def http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and methods answer in the marketplace's JSON error shape."""
    status = getattr(exc, "status_code", 500)
    error = {404: "not_found", 405: "method_not_allowed"}.get(status, "internal_error")
    message = {404: "resource not found", 405: "method not allowed"}.get(status, "error")
    return error_response(ApiError(status, error, message))


def routes(endpoints: Endpoints) -> list[Route]:
    from . import routes_api, routes_promotions, routes_sim

    api, public = endpoints.api, endpoints.public
    return [
        Route("/authorization", public(authorization), methods=["GET"]),
        Route("/oauth/token", public(token), methods=["POST"]),
        *routes_api.routes(api),
        *routes_promotions.routes(api),
        *routes_sim.routes(lambda handler: public(handler, faulty=False)),
    ]


def create_simulator_app(config: SimulatorConfig | None = None) -> Starlette:
    """The simulator as an ASGI app; `app.state.simulator` holds its state.

    Mounted inside another app (`Mount("/simulator", app=...)`) it still works: time moves on
    each request and a background ticker starts with the first one. Call
    `await app.state.simulator.aclose()` at shutdown to stop the ticker and webhook deliveries.
    """
    simulator = Simulator(config or SimulatorConfig())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        simulator.ensure_ticker()
        try:
            yield
        finally:
            await simulator.aclose()

    app = Starlette(
        routes=routes(Endpoints(simulator)),
        lifespan=lifespan,
        exception_handlers={404: http_error, 405: http_error},
    )
    app.state.simulator = simulator
    return app
