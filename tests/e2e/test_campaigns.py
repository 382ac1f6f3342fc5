"""Campaigns and discounts: plan, schedule, cancel, list, filter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.api import Api, Seller, operation


def at(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def campaign(api: Api, seller: Seller, **fields: object) -> dict:
    values = {
        "name": "Black Friday",
        "startsAt": at(1),
        "endsAt": at(10),
        "budget": "5000.5",
        **fields,
    }
    data = await api.op("CreateCampaign", {"input": values}, seller.token)
    return data["createCampaign"]["campaign"]


async def discount(api: Api, seller: Seller, **fields: object) -> dict:
    values = {
        "listingId": "MLB1234567",
        "percent": 15,
        "startsAt": at(2),
        "endsAt": at(3),
        **fields,
    }
    data = await api.op("ScheduleDiscount", {"input": values}, seller.token)
    return data["scheduleDiscount"]["discount"]


async def test_create_a_campaign_as_draft_with_a_decimal_budget(api: Api) -> None:
    seller = await api.sign_up()
    created = await campaign(api, seller)
    assert created["status"] == "DRAFT"
    assert created["budget"] == "5000.50"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"endsAt": at(0.5)}, "endsAt"),
        ({"budget": "-1"}, "budget"),
        ({"name": ""}, "name"),
        ({"startsAt": "2026-12-01T10:00:00"}, "startsAt"),
        ({"endsAt": at(400)}, "endsAt"),
    ],
    ids=["ends-before-start", "negative-budget", "no-name", "naive-time", "too-long"],
)
async def test_campaign_rules(api: Api, fields: dict, field: str) -> None:
    seller = await api.sign_up()
    values = {"name": "C", "startsAt": at(1), "endsAt": at(10), **fields}
    error = await api.fail(operation("CreateCampaign"), {"input": values}, seller.token)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


async def test_schedule_a_discount_in_a_campaign(api: Api) -> None:
    seller = await api.sign_up()
    plan = await campaign(api, seller)
    scheduled = await discount(api, seller, campaignId=plan["id"], listingId="mlb555666")
    assert scheduled["listingId"] == "MLB555666"
    assert scheduled["status"] == "SCHEDULED"
    assert scheduled["campaign"] == {"id": plan["id"], "name": "Black Friday"}
    listed = await api.op("Campaigns", token=seller.token)
    node = listed["campaigns"]["edges"][0]["node"]
    assert node["discounts"]["totalCount"] == 1
    assert node["discounts"]["edges"][0]["node"]["id"] == scheduled["id"]


@pytest.mark.parametrize(
    ("fields", "field", "message_part"),
    [
        ({"percent": 4.9}, "percent", "between 5% and 80%"),
        ({"percent": 80.5}, "percent", "between 5% and 80%"),
        ({"startsAt": at(3), "endsAt": at(2)}, "endsAt", "after startsAt"),
        ({"startsAt": at(-1)}, "startsAt", "in the past"),
        ({"listingId": "12345"}, "listingId", "not a Mercado Livre listing id"),
    ],
)
async def test_discount_rules(api: Api, fields: dict, field: str, message_part: str) -> None:
    seller = await api.sign_up()
    values = {
        "listingId": "MLB1234567",
        "percent": 15,
        "startsAt": at(2),
        "endsAt": at(3),
        **fields,
    }
    error = await api.fail(operation("ScheduleDiscount"), {"input": values}, seller.token)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert message_part in error["message"]
    listed = await api.op("Discounts", token=seller.token)
    assert listed["discounts"]["totalCount"] == 0


async def test_a_discount_must_fall_inside_its_campaign(api: Api) -> None:
    seller = await api.sign_up()
    plan = await campaign(api, seller)
    error = await api.fail(
        operation("ScheduleDiscount"),
        {
            "input": {
                "listingId": "MLB1234567",
                "percent": 10,
                "startsAt": at(2),
                "endsAt": at(20),
                "campaignId": plan["id"],
            }
        },
        seller.token,
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "endsAt"}


async def test_overlapping_discounts_on_one_listing_conflict(api: Api) -> None:
    seller = await api.sign_up()
    first = await discount(api, seller, startsAt=at(2), endsAt=at(4))
    error = await api.fail(
        operation("ScheduleDiscount"),
        {"input": {"listingId": "MLB1234567", "percent": 20, "startsAt": at(3), "endsAt": at(5)}},
        seller.token,
    )
    assert error["extensions"]["code"] == "CONFLICT"
    assert first["id"] in error["message"]
    # Back to back is fine, and so is another listing.
    await discount(api, seller, startsAt=at(4.01), endsAt=at(5))
    await discount(api, seller, listingId="MLB7654321", startsAt=at(3), endsAt=at(5))


async def test_cancel_frees_the_listing_and_cannot_be_repeated(api: Api) -> None:
    seller = await api.sign_up()
    scheduled = await discount(api, seller)
    canceled = await api.op("CancelDiscount", {"input": {"id": scheduled["id"]}}, seller.token)
    assert canceled["cancelDiscount"]["discount"]["status"] == "CANCELED"
    assert canceled["cancelDiscount"]["discount"]["canceledAt"] is not None
    again = await api.fail(
        operation("CancelDiscount"), {"input": {"id": scheduled["id"]}}, seller.token
    )
    assert again["extensions"]["code"] == "CONFLICT"
    await discount(api, seller)  # same period, now free


async def test_discounts_filter_by_status_as_of_now(api: Api) -> None:
    seller = await api.sign_up()
    active = await discount(api, seller, listingId="MLB1000001", startsAt=at(0), endsAt=at(1))
    later = await discount(api, seller, listingId="MLB1000002")
    canceled = await discount(api, seller, listingId="MLB1000003")
    await api.op("CancelDiscount", {"input": {"id": canceled["id"]}}, seller.token)

    async def ids(status: str) -> list[str]:
        data = await api.op("Discounts", {"filter": {"status": status}}, seller.token)
        return [e["node"]["id"] for e in data["discounts"]["edges"]]

    assert await ids("ACTIVE") == [active["id"]]
    assert await ids("SCHEDULED") == [later["id"]]
    assert await ids("CANCELED") == [canceled["id"]]
    assert await ids("ENDED") == []
    by_listing = await api.op("Discounts", {"filter": {"listingId": "mlb1000002"}}, seller.token)
    assert by_listing["discounts"]["totalCount"] == 1


async def test_unknown_campaign_is_not_found(api: Api) -> None:
    seller = await api.sign_up()
    error = await api.fail(
        operation("ScheduleDiscount"),
        {
            "input": {
                "listingId": "MLB1234567",
                "percent": 10,
                "startsAt": at(2),
                "endsAt": at(3),
                "campaignId": "nope",
            }
        },
        seller.token,
    )
    assert error["extensions"] == {"code": "NOT_FOUND", "field": "campaignId"}


async def test_viewers_cannot_schedule_or_cancel(api: Api) -> None:
    owner = await api.sign_up()
    scheduled = await discount(api, owner)
    viewer = await api.add_user(owner, "VIEWER")
    error = await api.fail(
        operation("CancelDiscount"), {"input": {"id": scheduled["id"]}}, viewer.token
    )
    assert error["extensions"]["code"] == "FORBIDDEN"
    listed = await api.op("Discounts", token=viewer.token)
    assert listed["discounts"]["edges"][0]["node"]["status"] == "SCHEDULED"
