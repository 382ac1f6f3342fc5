"""Seller promotions endpoints (docs/marketplace-wire.md: Promotions, app_version=v2)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .app import Handler, json_body, own, query_int
from .errors import bad_request, not_found
from .promotions import apply_discount, item_promotions, join_invitation, remove_discount
from .render import candidate_json, invitation_json, item_candidacies, money, promotion_json
from .simulator import Simulator

INVITATION_TYPES = ("DEAL", "LIGHTNING", "DOD")


async def invitations(request: Request, sim: Simulator, user_id: int) -> Response:
    owner = request.path_params["user_id"]
    own(user_id, int(owner) if owner.isdigit() else -1)
    shop = sim.shop(user_id)
    now = sim.clock.now()
    rows = [invitation_json(invitation, now) for invitation in shop.invitations.values()]
    return JSONResponse({"results": rows, "paging": {"total": len(rows)}})


async def invitation_items(request: Request, sim: Simulator, user_id: int) -> Response:
    shop = sim.shop(user_id)
    invitation = shop.invitations.get(request.path_params["promotion_id"])
    if invitation is None:
        raise not_found("promotion not found")
    kind = request.query_params.get("promotion_type")
    if kind is not None and kind != invitation.type:
        raise bad_request("bad_request", f"promotion_type must be {invitation.type}")
    offset = query_int(request, "offset", 0, 0, 1_000_000)
    limit = query_int(request, "limit", 50, 1, 100)
    now = sim.clock.now()
    indexes = sorted(invitation.candidates)
    status = request.query_params.get("status")
    rows = [candidate_json(shop, invitation, index, now) for index in indexes]
    if status:
        rows = [row for row in rows if row["status"] == status]
    return JSONResponse(
        {
            "results": rows[offset : offset + limit],
            "paging": {"offset": offset, "limit": limit, "total": len(rows)},
        }
    )


async def item_promotion_list(request: Request, sim: Simulator, user_id: int) -> Response:
    shop, index = sim.find_item(request.path_params["item_id"])
    own(user_id, shop.user_id)
    now = sim.clock.now()
    rows = [promotion_json(promotion) for promotion in item_promotions(shop, index)]
    return JSONResponse(rows + item_candidacies(shop, index, now))


async def add_item_promotion(request: Request, sim: Simulator, user_id: int) -> Response:
    shop, index = sim.find_item(request.path_params["item_id"])
    own(user_id, shop.user_id)
    body = await json_body(request)
    kind = body.get("promotion_type")
    now = sim.clock.now()
    if kind == "PRICE_DISCOUNT":
        promotion = apply_discount(shop, index, body, now)
    elif kind in INVITATION_TYPES:
        promotion = join_invitation(shop, index, body, now)
    else:
        raise bad_request(
            "bad_request", "promotion_type must be PRICE_DISCOUNT, DEAL, LIGHTNING or DOD"
        )
    sim.item_changed(shop, index)
    return JSONResponse(
        {"price": money(promotion.deal_price), "original_price": money(promotion.original_price)},
        status_code=201,
    )


async def delete_item_promotion(request: Request, sim: Simulator, user_id: int) -> Response:
    shop, index = sim.find_item(request.path_params["item_id"])
    own(user_id, shop.user_id)
    kind = request.query_params.get("promotion_type")
    if kind != "PRICE_DISCOUNT" and kind not in INVITATION_TYPES:
        raise bad_request("bad_request", "promotion_type is required")
    remove_discount(shop, index, kind, request.query_params.get("promotion_id"))
    sim.item_changed(shop, index)
    return JSONResponse({})


def routes(api: Callable[[Handler], Callable[..., object]]) -> list[Route]:
    return [
        Route("/seller-promotions/users/{user_id}", api(invitations), methods=["GET"]),
        Route(
            "/seller-promotions/promotions/{promotion_id}/items",
            api(invitation_items),
            methods=["GET"],
        ),
        Route("/seller-promotions/items/{item_id}", api(item_promotion_list), methods=["GET"]),
        Route("/seller-promotions/items/{item_id}", api(add_item_promotion), methods=["POST"]),
        Route("/seller-promotions/items/{item_id}", api(delete_item_promotion), methods=["DELETE"]),
    ]
