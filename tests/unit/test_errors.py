"""Unexpected errors are masked with a request id; domain errors keep their code and field."""

from __future__ import annotations

import logging

import pytest
import strawberry

from domain.errors import InvalidInput
from server.schema import Schema


@strawberry.type
class Query:
    @strawberry.field
    def broken(self) -> str:
        raise RuntimeError("password=hunter2 leaked in a stack trace")

    @strawberry.field
    def refused(self) -> str:
        raise InvalidInput("The percent must be positive.", field="percent")


class FakeContext:
    request_id = "req-42"


async def test_unexpected_errors_are_masked_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    schema = Schema(query=Query)
    with caplog.at_level(logging.ERROR, logger="mlproject.graphql"):
        result = await schema.execute("{ broken }", context_value=FakeContext())
    assert result.errors
    error = result.errors[0].formatted
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}
    assert "hunter2" not in error["message"]
    assert "req-42" in error["message"]
    assert "hunter2" in caplog.text  # the operator still sees the cause in the log


async def test_domain_errors_keep_their_code_and_field() -> None:
    result = await Schema(query=Query).execute("{ refused }", context_value=FakeContext())
    assert result.errors
    error = result.errors[0].formatted
    assert error["message"] == "The percent must be positive."
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "percent"}


@strawberry.type
class Mutation:
    @strawberry.mutation
    def start_run(self) -> str:
        raise InvalidInput("maxTrials must be from 1 to 1000.", field="max_trials")

    @strawberry.mutation
    def schedule_discount(self) -> str:
        raise InvalidInput("startsAt is in the past.", field="starts_at")


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ("mutation { startRun }", "budget.maxTrials"),
        ("mutation { again: startRun }", "budget.maxTrials"),  # an alias changes nothing
        ("mutation { scheduleDiscount }", "startsAt"),
    ],
)
async def test_domain_field_names_become_the_clients_input_paths(document: str, path: str) -> None:
    schema = Schema(query=Query, mutation=Mutation)
    result = await schema.execute(document, context_value=FakeContext())
    assert result.errors, result
    assert result.errors[0].formatted["extensions"] == {"code": "BAD_USER_INPUT", "field": path}
