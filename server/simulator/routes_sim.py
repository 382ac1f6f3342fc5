"""`/_sim/` endpoints: ground truth, clock, state, faults, webhooks, sellers (tests and demos)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .app import SimHandler, json_body
from .errors import bad_request
from .promotions import item_promotions
from .render import item_json, promotion_json
from .shop import Shop
from .simulator import Simulator
from .timefmt import to_iso


async def truth(request: Request, sim: Simulator) -> Response:
    params = request.query_params
    item_id = params.get("item_id")
    if not item_id:
        raise bad_request("bad_request", "item_id is required")
    raw_price = params.get("price")
    try:
        price = float(raw_price) if raw_price else None
        return JSONResponse(
            sim.truth(item_id, price, params.get("date"), params.get("promotion_type"))
        )
    except ValueError as exc:
        raise bad_request("bad_request", "price must be a number and date ISO 8601") from exc


def _clock_json(sim: Simulator) -> dict[str, object]:
    now = sim.clock.now()
    return {"now": to_iso(now), "epoch": now, "speed": sim.clock.speed}


async def clock(request: Request, sim: Simulator) -> Response:
    if request.method == "POST":
        body = await json_body(request)
        advance, speed = body.get("advance_seconds"), body.get("speed")
        for name, value in (("advance_seconds", advance), ("speed", speed)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or value < 0
            ):
                raise bad_request("bad_request", f"{name} must be a number >= 0")
        if speed is not None:
            sim.clock.set_speed(float(speed))
        if advance:
            sim.clock.advance(float(advance))
        sim.catch_up()
    return JSONResponse(_clock_json(sim))


def _state(shop: Shop, index: int) -> dict[str, Any]:
    body = item_json(shop, index)
    body["promotions"] = [promotion_json(p) for p in item_promotions(shop, index)]
    body["unit_cost"] = float(shop.catalog.cost[index])
    body["list_price"] = round(float(shop.list_price[index]), 2)
    body["price_automated"] = shop.automated(index)
    return body


async def item_state(request: Request, sim: Simulator) -> Response:
    shop, index = sim.find_item(request.path_params["item_id"])
    return JSONResponse(_state(shop, index))


async def seller_state(request: Request, sim: Simulator) -> Response:
    """Every listing of a seller with what the API hides (cost, automation, promotions)."""
    raw = request.path_params["user_id"]
    shop = sim.shop(int(raw) if raw.isdigit() else -1)
    return JSONResponse([_state(shop, index) for index in range(shop.size)])


async def faults(request: Request, sim: Simulator) -> Response:
    if request.method == "POST":
        body = await json_body(request)
        sim.faults.update(body)
        if body.get("expire_tokens"):
            sim.oauth.expire_access_tokens()
    return JSONResponse(sim.faults.as_json())


async def webhooks(request: Request, sim: Simulator) -> Response:
    body = await json_body(request)
    url = body.get("url")
    if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise bad_request("bad_request", "url must be an http(s) URL or null")
    sim.notifier.url = url
    return JSONResponse({"url": url})


async def replay(request: Request, sim: Simulator) -> Response:
    body = await json_body(request)
    last = body.get("last")
    if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 1):
        raise bad_request("bad_request", "last must be a whole number >= 1")
    return JSONResponse({"replayed": sim.notifier.replay(last)})


async def webhook_stats(request: Request, sim: Simulator) -> Response:
    notifier = sim.notifier
    return JSONResponse(
        {
            "url": notifier.url,
            "sent": len(notifier.sent),
            "delivered": notifier.delivered,
            "failed": notifier.failed,
        }
    )


async def sellers(request: Request, sim: Simulator) -> Response:
    if request.method == "GET":
        rows = [
            {"user_id": s.user_id, "nickname": s.nickname, "seed": s.seed, "items": s.size}
            for s in sim.shops.values()
        ]
        return JSONResponse(rows)
    created = await sim.create_seller(await json_body(request))
    return JSONResponse(created, status_code=201)


def routes(public: Callable[[SimHandler], Callable[..., object]]) -> list[Route]:
    return [
        Route("/_sim/truth/demand", public(truth), methods=["GET"]),
        Route("/_sim/clock", public(clock), methods=["GET", "POST"]),
        Route("/_sim/state/items/{item_id}", public(item_state), methods=["GET"]),
        Route("/_sim/state/sellers/{user_id}/items", public(seller_state), methods=["GET"]),
        Route("/_sim/faults", public(faults), methods=["GET", "POST"]),
        Route("/_sim/webhooks", public(webhooks), methods=["POST"]),
        Route("/_sim/webhooks", public(webhook_stats), methods=["GET"]),
        Route("/_sim/webhooks/replay", public(replay), methods=["POST"]),
        Route("/_sim/sellers", public(sellers), methods=["GET", "POST"]),
    ]
