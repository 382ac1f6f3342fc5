"""One seller can neither read nor change another seller's objects, by id or by listing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.api import Api, operation


def at(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def test_a_second_account_sees_and_changes_nothing_of_the_first(api: Api) -> None:
    first = await api.sign_up("First seller")
    dataset = await api.dataset(first)
    experiment = await api.experiment(first, dataset["id"])
    plan = (
        await api.op(
            "CreateCampaign",
            {"input": {"name": "Promo", "startsAt": at(1), "endsAt": at(5)}},
            first.token,
        )
    )["createCampaign"]["campaign"]
    discount = (
        await api.op(
            "ScheduleDiscount",
            {
                "input": {
                    "listingId": "MLB1112223",
                    "percent": 10,
                    "startsAt": at(2),
                    "endsAt": at(3),
                    "campaignId": plan["id"],
                }
            },
            first.token,
        )
    )["scheduleDiscount"]["discount"]

    second = await api.sign_up("Second seller")
    # By listing: nothing.
    for name, key in [
        ("Datasets", "datasets"),
        ("Experiments", "experiments"),
        ("Campaigns", "campaigns"),
        ("Discounts", "discounts"),
    ]:
        data = await api.op(name, token=second.token)
        assert data[key] == {
            "totalCount": 0,
            "pageInfo": {"hasNextPage": False, "endCursor": None},
            "edges": [],
        }, name
    # By id: not found (null), exactly as if it did not exist.
    by_id = await api.ok(
        """query($d: ID!, $e: ID!, $c: ID!, $x: ID!) {
             dataset(id: $d) { id } experiment(id: $e) { id } campaign(id: $c) { id }
             discount(id: $x) { id } }""",
        {"d": dataset["id"], "e": experiment["id"], "c": plan["id"], "x": discount["id"]},
        second.token,
    )
    assert by_id == {"dataset": None, "experiment": None, "campaign": None, "discount": None}
    # Changes: NOT_FOUND, and the first account's objects stay as they were.
    attempts = [
        ("UpdateExperiment", {"input": {"id": experiment["id"], "name": "hijacked"}}),
        ("DeleteExperiment", {"input": {"id": experiment["id"]}}),
        ("CancelDiscount", {"input": {"id": discount["id"]}}),
        (
            "CreateExperiment",
            {
                "input": {
                    "name": "x",
                    "datasetId": dataset["id"],
                    "problemType": "REGRESSION",
                    "target": "price",
                }
            },
        ),
        (
            "ScheduleDiscount",
            {
                "input": {
                    "listingId": "MLB9990001",
                    "percent": 10,
                    "startsAt": at(2),
                    "endsAt": at(3),
                    "campaignId": plan["id"],
                }
            },
        ),
    ]
    for name, variables in attempts:
        error = await api.fail(operation(name), variables, second.token)
        assert error["extensions"]["code"] == "NOT_FOUND", name
    deleted = await api.fail(
        "mutation($id: ID!) { deleteDataset(input: {id: $id}) { id } }",
        {"id": dataset["id"]},
        second.token,
    )
    assert deleted["extensions"]["code"] == "NOT_FOUND"

    mine = await api.op("Experiment", {"id": experiment["id"]}, first.token)
    assert mine["experiment"]["name"] == experiment["name"]
    discounts = await api.op("Discounts", token=first.token)
    assert discounts["discounts"]["edges"][0]["node"]["status"] == "SCHEDULED"
    datasets = await api.op("Datasets", token=first.token)
    assert datasets["datasets"]["totalCount"] == 1


async def test_a_cursor_from_another_account_reveals_nothing(api: Api) -> None:
    first = await api.sign_up()
    for number in range(3):
        await api.dataset(first, name=f"first-{number}")
    page = await api.op("Datasets", {"first": 1}, first.token)
    cursor = page["datasets"]["pageInfo"]["endCursor"]
    second = await api.sign_up()
    await api.dataset(second, name="second-only")
    theirs = await api.op("Datasets", {"first": 10, "after": cursor}, second.token)
    names = [e["node"]["name"] for e in theirs["datasets"]["edges"]]
    assert all(not name.startswith("first-") for name in names)
