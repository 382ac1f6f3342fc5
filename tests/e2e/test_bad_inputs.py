"""Bad inputs the outside probe found get a coded BAD_USER_INPUT naming the field, never a 500."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.e2e.runs.data import demand_csv
from tests.e2e.runs.helpers import regression_experiment, start_run, wait_for
from tests.e2e.test_campaigns import at, campaign
from tests.support.api import Api, Seller, operation

LISTS = ["Datasets", "Experiments", "Campaigns", "Discounts"]


def cursor_of(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


async def refused(api: Api, name: str, variables: dict, seller: Seller, field: str) -> dict:
    # Encoded here, ASCII-only: a lone surrogate travels as the escape "\ud800", as JSON allows.
    response = await api.http.post(
        "/graphql",
        content=json.dumps({"query": operation(name), "variables": variables}),
        headers={"content-type": "application/json", "authorization": f"Bearer {seller.token}"},
    )
    assert response.status_code == 200, response.text
    errors = response.json()["errors"]
    assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, errors
    return errors[0]


FORGED_CURSORS = [
    ["2026-01-01T00:00:00", "x"],  # no time zone
    ["9999-12-31T23:00:00-05:00", "x"],  # past year 9999 in UTC
    ["2026-01-01T00:00:00+00:00", 7],  # an id that is not text
    [["2026"], "x"],  # an instant that is not text
]


@pytest.mark.parametrize("name", LISTS)
async def test_a_forged_cursor_is_refused_as_after(api: Api, name: str) -> None:
    seller = await api.sign_up()
    for after in FORGED_CURSORS:
        error = await refused(api, name, {"after": cursor_of(after)}, seller, "after")
        assert "cursor" in error["message"]


@pytest.fixture
async def seller_with_rows(api: Api) -> Seller:
    """A seller with rows in every filtered list, so the queries reach their WHERE clauses
    (SQLite only complains about a long LIKE pattern when it has a row to match)."""
    seller = await api.sign_up()
    dataset = await api.dataset(seller)
    await api.experiment(seller, dataset["id"], name="Aaaa experiment")
    await campaign(api, seller, name="Aaaa campaign")
    await api.op(
        "ScheduleDiscount",
        {"input": {"listingId": "MLB1234567", "percent": 10, "startsAt": at(1), "endsAt": at(2)}},
        seller.token,
    )
    return seller


FILTERS = [
    ("Campaigns", "nameContains", "a" * 50_000),
    ("Experiments", "nameContains", "a" * 50_000),
    ("Discounts", "listingId", "MLB" + "1" * 50_000),
    ("Discounts", "campaignId", "c" * 201),
]


async def test_filter_texts_are_capped(api: Api, seller_with_rows: Seller) -> None:
    for name, field, value in FILTERS:
        error = await refused(
            api, name, {"filter": {field: value}}, seller_with_rows, f"filter.{field}"
        )
        assert "at most 200 characters" in error["message"]
        # 200 characters are still a filter.
        ok = await api.op(name, {"filter": {field: value[:200]}}, seller_with_rows.token)
        assert next(iter(ok.values()))["totalCount"] == 0


@pytest.mark.parametrize(
    ("name", "values", "field"),
    [
        ("CreateCampaign", {"name": "a\x00b"}, "name"),
        ("CreateCampaign", {"name": "tab\x07bell"}, "name"),
        ("CreateCampaign", {"name": "lone \ud800 surrogate"}, "name"),
        ("ScheduleDiscount", {"listingId": "MLB1\x00"}, "listingId"),
    ],
    ids=["nul", "bell", "surrogate", "nul-in-id"],
)
async def test_control_characters_are_refused_at_the_boundary(
    api: Api, name: str, values: dict, field: str
) -> None:
    seller = await api.sign_up()
    bases: dict[str, dict[str, Any]] = {
        "CreateCampaign": {"name": "C", "startsAt": at(1), "endsAt": at(2)},
        "ScheduleDiscount": {
            "listingId": "MLB1",
            "percent": 10,
            "startsAt": at(1),
            "endsAt": at(2),
        },
    }
    base = bases[name]
    error = await refused(api, name, {"input": {**base, **values}}, seller, field)
    assert "U+" in error["message"]


async def test_nul_in_free_text_is_refused_and_tabs_and_newlines_are_kept(api: Api) -> None:
    seller = await api.sign_up()
    dataset = await api.dataset(seller)
    experiment = await api.experiment(seller, dataset["id"])
    update = {"id": experiment["id"], "description": "a\x00b"}
    error = await refused(api, "UpdateExperiment", {"input": update}, seller, "description")
    assert "U+0000" in error["message"]
    text = "line one\n\tline two\r\n"
    updated = await api.op(
        "UpdateExperiment", {"input": {**update, "description": text}}, seller.token
    )
    assert updated["updateExperiment"]["experiment"]["description"] == text.strip()


async def test_an_escaped_nul_in_a_document_literal_is_refused(api: Api) -> None:
    seller = await api.sign_up()
    document = (
        'query { experiments(filter: {nameContains: "a\\u0000b"}) { totalCount } '
        'campaigns(filter: {nameContains: "\\b"}) { totalCount } }'
    )
    response = await api.post(document, token=seller.token)
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "filter.nameContains"}


@pytest.mark.parametrize(
    ("name", "values", "field"),
    [
        ("ScheduleDiscount", {"startsAt": "9999-12-31T20:00:00-05:00"}, "startsAt"),
        ("ScheduleDiscount", {"endsAt": "9999-12-31T23:00:00-05:00"}, "endsAt"),
        ("CreateCampaign", {"startsAt": "0001-01-01T00:00:00+05:00"}, "startsAt"),
    ],
    ids=["start-9999", "end-9999", "year-1"],
)
async def test_dates_out_of_range_in_utc_are_refused(
    api: Api, name: str, values: dict, field: str
) -> None:
    seller = await api.sign_up()
    bases: dict[str, dict[str, Any]] = {
        "CreateCampaign": {"name": "C", "startsAt": at(1), "endsAt": at(2)},
        "ScheduleDiscount": {
            "listingId": "MLB1234567",
            "percent": 10,
            "startsAt": "9999-12-31T10:00:00Z",
            "endsAt": "9999-12-31T11:00:00Z",
        },
    }
    base = bases[name]
    error = await refused(api, name, {"input": {**base, **values}}, seller, field)
    assert "out of range" in error["message"]


async def test_the_last_representable_day_is_accepted(api: Api) -> None:
    seller = await api.sign_up()
    values = {
        "listingId": "MLB9999999",
        "percent": 10,
        "startsAt": "9999-12-31T10:00:00Z",
        "endsAt": "9999-12-31T18:59:59-05:00",
    }
    data = await api.op("ScheduleDiscount", {"input": values}, seller.token)
    assert data["scheduleDiscount"]["discount"]["endsAt"].startswith("9999-12-31T23:59:59")


def predict_body(rows: str) -> bytes:
    query = json.dumps(operation("Predict"))
    variables = '{"input": {"modelId": "m", "rows": ' + rows + "}}"
    return ('{"query": ' + query + ', "variables": ' + variables + "}").encode()


@pytest.mark.parametrize(
    "rows",
    [
        '[{"price": 1e400}]',
        '[{"price": -1e400}]',
        '[{"price": NaN}]',
        '[{"price": Infinity}]',
        '[{"price": 123456789012345678901234567890}]',
        '[{"price": ' + "[" * 40 + "]" * 40 + "}]",
    ],
    ids=["1e400", "-1e400", "NaN", "Infinity", "int-beyond-64-bits", "nested-40"],
)
async def test_predict_rows_with_numbers_json_cannot_carry_are_refused(api: Api, rows: str) -> None:
    seller = await api.sign_up()
    response = await api.http.post(
        "/graphql",
        content=predict_body(rows),
        headers={"content-type": "application/json", "authorization": f"Bearer {seller.token}"},
    )
    assert response.status_code == 200, response.text
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "rows"}
    assert "rows.0.price" in error["message"]


async def test_a_body_nested_beyond_the_parser_is_a_bad_request(api: Api) -> None:
    seller = await api.sign_up()
    for rows in ("[" * 10_000 + "]" * 10_000, "1" * 5000):
        response = await api.http.post(
            "/graphql",
            content=predict_body(rows),
            headers={
                "content-type": "application/json",
                "authorization": f"Bearer {seller.token}",
            },
        )
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.slow
async def test_predict_with_a_real_model_refuses_what_it_cannot_score(api: Api) -> None:
    """The domain's own check, behind the boundary: literals in the document reach it too."""
    seller = await api.sign_up()
    experiment_id = await regression_experiment(api, seller, demand_csv(rows=120))
    run = await start_run(api, seller, experiment_id, max_trials=1, algorithms=["linear"])
    model_id = (await wait_for(api, seller, run["id"], {"SUCCEEDED"}))["model"]["id"]
    good = {"price": "20", "category": '"audio"', "promo": "true"}
    for column, literal in (
        ("price", "1e400"),  # infinity, as a literal: the boundary does not see numbers there
        ("category", "1e400"),
        ("extra", "-1e400"),
        ("price", "123456789012345678901234567890"),
        ("category", '["audio"]'),
    ):
        row = ", ".join(f"{k}: {v}" for k, v in {**good, column: literal}.items())
        document = (
            f'mutation {{ predict(input: {{modelId: "{model_id}", rows: [{{{row}}}]}}) '
            "{ predictions } }"
        )
        response = await api.post(document, token=seller.token)
        error = response.json()["errors"][0]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "rows"}, (
            column,
            literal,
            error,
        )
