"""The input boundary's rules, value by value (the e2e tests send them through the server)."""

from __future__ import annotations

import math

import pytest

from graphql import parse
from server.schema.input_guard import InputRefused, check_request, check_value, field_name


@pytest.mark.parametrize(
    "value",
    [
        "a\x00b",
        "\x07",
        "\x1b[31m",
        "\x7f",
        "\ud800",
        "\udfff",
        math.inf,
        -math.inf,
        math.nan,
        2**63,
    ],
)
def test_refused_values(value: object) -> None:
    with pytest.raises(InputRefused):
        check_value({"rows": [{"price": value}]}, "input")


@pytest.mark.parametrize(
    "value", ["tab\tnew\nline\r", "😀 ação", "", 2**63 - 1, -(2**63), 1e308, True, None]
)
def test_accepted_values(value: object) -> None:
    check_value({"rows": [{"price": value}]}, "input")


def test_keys_are_checked_too_and_depth_is_bounded() -> None:
    with pytest.raises(InputRefused, match="U\\+0000"):
        check_value({"a\x00": 1}, "x")
    nested: object = 1
    for _ in range(40):
        nested = [nested]
    with pytest.raises(InputRefused, match="nested"):
        check_value(nested, "rows")


def test_the_field_is_the_input_field_and_the_path_the_whole_way() -> None:
    with pytest.raises(InputRefused) as refused:
        check_value({"rows": [{}, {"price": math.inf}]}, "input")
    assert refused.value.path == "input.rows.1.price"
    assert field_name(refused.value.path) == "rows"
    assert field_name("input.description") == "description"
    assert field_name("filter.nameContains") == "filter.nameContains"
    assert field_name("ids.3") == "ids"


def test_escaped_control_characters_in_document_literals_are_found() -> None:
    source = '{ experiments(filter: {nameContains: "a\\u0000b"}) { totalCount } }'
    with pytest.raises(InputRefused) as refused:
        check_request(None, parse(source), source)
    assert refused.value.path == "filter.nameContains"
    plain = '{ experiments(filter: {nameContains: "ab"}) { totalCount } }'
    check_request({"first": 1}, parse(plain), plain)
