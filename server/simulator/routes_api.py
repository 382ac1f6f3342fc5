"""Seller, items and orders endpoints (docs/marketplace-wire.md: Seller, Items, Orders)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .app import Handler, json_body, own, query_int
from .errors import ApiError, bad_request, not_found
from .render import item_json, order_json
from .simulator import Simulator
from .timefmt import parse_iso

MAX_OFFSET_WINDOW = 1000
MAX_ORDER_OFFSET = 10_000
BATCH = 20
STATUSES = ("active", "paused", "closed")


async def me(request: Request, sim: Simulator, user_id: int) -> Response:
    shop = sim.shop(user_id)
    return JSONResponse(
        {
            "id": shop.user_id,
            "nickname": shop.nickname,
            "site_id": "MLB",
            "seller_reputation": {
                "level_id": shop.reputation,
                "power_seller_status": "gold" if shop.reputation.endswith("green") else None,
            },
        }
    )


async def items_search(request: Request, sim: Simulator, user_id: int) -> Response:
    owner = request.path_params["user_id"]
    if not owner.isdigit():
        raise not_found("user not found")
    own(user_id, int(owner))
    shop = sim.shop(user_id)
    status = request.query_params.get("status")
    if status is not None and status not in STATUSES:
        raise bad_request("bad_request", f"status must be one of {', '.join(STATUSES)}")
    limit = query_int(request, "limit", 50, 1, 100)
    ids = [
        shop.item_id(index)
        for index in range(shop.size)
        if status is None or shop.status[index] == status
    ]
    body: dict[str, object] = {"seller_id": str(user_id), "query": None}
    if request.query_params.get("search_type") == "scan":
        scroll_id = request.query_params.get("scroll_id")
        scroll = sim.scroll(scroll_id, user_id) if scroll_id else None
        if scroll is None:
            scroll_id = sim.open_scroll(user_id, ids)
            scroll = sim.scroll(scroll_id, user_id)
        page = scroll.ids[scroll.position : scroll.position + limit]
        body |= {
            "results": page,
            "paging": {"total": len(scroll.ids), "offset": scroll.position, "limit": limit},
            "scroll_id": scroll_id,
        }
        scroll.position += len(page)
        return JSONResponse(body)
    offset = query_int(request, "offset", 0, 0, MAX_OFFSET_WINDOW)
    if offset + limit > MAX_OFFSET_WINDOW:
        raise bad_request(
            "bad_request",
            f"offset + limit must not exceed {MAX_OFFSET_WINDOW}; use search_type=scan",
        )
    body |= {
        "results": ids[offset : offset + limit],
        "paging": {"total": len(ids), "offset": offset, "limit": limit},
    }
    return JSONResponse(body)


async def items_batch(request: Request, sim: Simulator, user_id: int) -> Response:
    raw = request.query_params.get("ids", "")
    ids = [value for value in raw.split(",") if value]
    if not ids:
        raise bad_request("bad_request", "ids is required")
    if len(ids) > BATCH:
        raise bad_request("bad_request", f"at most {BATCH} ids per request")
    rows: list[dict[str, object]] = []
    for item_id in ids:
        try:
            shop, index = sim.find_item(item_id)
        except ApiError as error:
            rows.append({"code": error.status, "body": error.body()})
            continue
        rows.append({"code": 200, "body": item_json(shop, index)})
    return JSONResponse(rows)


async def item(request: Request, sim: Simulator, user_id: int) -> Response:
    shop, index = sim.find_item(request.path_params["item_id"])
    return JSONResponse(item_json(shop, index))


async def update_item(request: Request, sim: Simulator, user_id: int) -> Response:
    """`PUT /items/{id}`: price (refused under automation), status, available_quantity."""
    shop, index = sim.find_item(request.path_params["item_id"])
    own(user_id, shop.user_id)
    body = await json_body(request)
    price = body.get("price")
    status = body.get("status")
    quantity = body.get("available_quantity")
    if price is not None:
        if isinstance(price, bool) or not isinstance(price, int | float) or not price > 0:
            raise bad_request("bad_request", "price must be a positive number")
        if shop.automated(index):
            raise bad_request("item.price.automated", "the item's price is under price automation")
    if status is not None and (
        status not in ("active", "paused") or shop.status[index] == "closed"
    ):
        raise bad_request("item.status.invalid", "status must be active or paused (not closed)")
    if quantity is not None and (
        isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0
    ):
        raise bad_request("bad_request", "available_quantity must be a whole number >= 0")
    if price is not None:
        shop.list_price[index] = round(float(price), 2)
    if status is not None:
        shop.set_status(index, status)
    if quantity is not None:
        shop.stock[index] = quantity
    sim.item_changed(shop, index, promotions=False)
    return JSONResponse(item_json(shop, index))


async def automation(request: Request, sim: Simulator, user_id: int) -> Response:
    shop, index = sim.find_item(request.path_params["item_id"])
    if not shop.automated(index):
        raise not_found("the item has no price automation")
    return JSONResponse(
        {"item_id": shop.item_id(index), "status": "ACTIVE", "rule": {"rule_id": "INT"}}
    )


def _time(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return parse_iso(raw)
    except ValueError as exc:
        raise bad_request("bad_request", f"{name} is not an ISO 8601 date-time") from exc


async def orders_search(request: Request, sim: Simulator, user_id: int) -> Response:
    seller = request.query_params.get("seller", "")
    if not seller.isdigit():
        raise bad_request("bad_request", "seller is required")
    own(user_id, int(seller))
    shop = sim.shop(user_id)
    sort = request.query_params.get("sort", "date_asc")
    if sort not in ("date_asc", "date_desc"):
        raise bad_request("bad_request", "sort must be date_asc or date_desc")
    limit = query_int(request, "limit", 50, 1, 51)
    offset = query_int(request, "offset", 0, 0, 1_000_000)
    if offset > MAX_ORDER_OFFSET:
        raise bad_request(
            "bad_request", f"offset must not exceed {MAX_ORDER_OFFSET}; narrow the date range"
        )
    found = shop.orders_between(
        _time(request, "order.date_created.from"), _time(request, "order.date_created.to")
    )
    item_id = request.query_params.get("item")
    if item_id:
        wanted = shop.index_of(item_id)
        found = [order for order in found if order.listing == wanted]
    total = len(found)
    if sort == "date_desc":
        page = found[max(total - offset - limit, 0) : max(total - offset, 0)][::-1]
    else:
        page = found[offset : offset + limit]
    return JSONResponse(
        {
            "query": None,
            "results": [order_json(shop, order) for order in page],
            "paging": {"total": total, "offset": offset, "limit": limit},
        }
    )


async def order(request: Request, sim: Simulator, user_id: int) -> Response:
    raw = request.path_params["order_id"]
    shop = sim.shop(user_id)
    found = shop.order_index.get(int(raw)) if raw.isdigit() else None
    if found is None:
        raise not_found(f"order {raw} not found")
    return JSONResponse(order_json(shop, found))


def routes(api: Callable[[Handler], Callable[..., object]]) -> list[Route]:
    return [
        Route("/users/me", api(me), methods=["GET"]),
        Route("/users/{user_id}/items/search", api(items_search), methods=["GET"]),
        Route("/items", api(items_batch), methods=["GET"]),
        Route("/items/{item_id}", api(item), methods=["GET"]),
        Route("/items/{item_id}", api(update_item), methods=["PUT"]),
        Route("/marketplace/items/{item_id}/prices/automate", api(automation), methods=["GET"]),
        Route("/orders/search", api(orders_search), methods=["GET"]),
        Route("/orders/{order_id}", api(order), methods=["GET"]),
    ]
