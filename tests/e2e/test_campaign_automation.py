"""Campaign automation over GraphQL: rules, DRAFT -> ACTIVE <-> PAUSED -> ENDED, the price log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.api import Api, operation


def at(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


RULES = {"maxDiscountPercent": 30, "minMarginPercent": 15.5, "stockFloor": 3}


async def test_a_campaign_moves_through_its_states_and_refuses_wrong_moves(api: Api) -> None:
    seller = await api.sign_up()
    created = await api.op(
        "CreateCampaign",
        {"input": {"name": "Natal", "startsAt": at(1), "endsAt": at(9), "rules": RULES}},
        seller.token,
    )
    campaign = created["createCampaign"]["campaign"]
    assert (campaign["status"], campaign["rules"]) == ("DRAFT", RULES)
    ref = {"input": {"id": campaign["id"]}}

    async def move(name: str) -> str:
        data = await api.op(name, ref, seller.token)
        return str(next(iter(data.values()))["campaign"]["status"])

    async def refused(name: str) -> dict:
        return await api.fail(operation(name), ref, seller.token)

    assert (await refused("PauseCampaign"))["extensions"]["code"] == "CONFLICT"
    assert await move("ActivateCampaign") == "ACTIVE"
    assert (await refused("ActivateCampaign"))["extensions"]["code"] == "CONFLICT"
    assert await move("PauseCampaign") == "PAUSED"
    assert await move("ActivateCampaign") == "ACTIVE"
    assert await move("EndCampaign") == "ENDED"
    error = await refused("ActivateCampaign")
    assert error["extensions"]["code"] == "CONFLICT" and "ENDED" in error["message"]
    listed = await api.op("Campaigns", token=seller.token)
    assert listed["campaigns"]["edges"][0]["node"]["status"] == "ENDED"


async def test_another_accounts_campaign_is_not_found_and_viewers_cannot_move_one(
    api: Api,
) -> None:
    owner = await api.sign_up()
    other = await api.sign_up()
    created = await api.op(
        "CreateCampaign",
        {"input": {"name": "C", "startsAt": at(1), "endsAt": at(9)}},
        owner.token,
    )
    ref = {"input": {"id": created["createCampaign"]["campaign"]["id"]}}
    error = await api.fail(operation("ActivateCampaign"), ref, other.token)
    assert error["extensions"]["code"] == "NOT_FOUND"
    viewer = await api.add_user(owner, "VIEWER")
    error = await api.fail(operation("ActivateCampaign"), ref, viewer.token)
    assert error["extensions"]["code"] == "FORBIDDEN"


async def test_campaign_rules_out_of_range_are_bad_input(api: Api) -> None:
    seller = await api.sign_up()
    values = {
        "name": "C",
        "startsAt": at(1),
        "endsAt": at(9),
        "rules": {"maxDiscountPercent": 95},
    }
    error = await api.fail(operation("CreateCampaign"), {"input": values}, seller.token)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "rules.maxDiscountPercent"}


async def test_a_new_discount_is_pending_on_the_marketplace_and_the_log_starts_empty(
    api: Api,
) -> None:
    seller = await api.sign_up()
    await api.op(
        "ScheduleDiscount",
        {"input": {"listingId": "MLB1234567", "percent": 15, "startsAt": at(2), "endsAt": at(3)}},
        seller.token,
    )
    listed = await api.op("Discounts", token=seller.token)
    node = listed["discounts"]["edges"][0]["node"]
    assert (node["marketplaceState"], node["dealPrice"], node["appliedAt"]) == (
        "PENDING",
        None,
        None,
    )
    log = await api.op("PriceChanges", {"filter": {"listingId": "MLB1234567"}}, seller.token)
    assert log["priceChanges"]["totalCount"] == 0
