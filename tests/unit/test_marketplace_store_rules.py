"""The store slice's pure rules: sync claims and fencing, buyer pseudonyms, unit costs, the
cost CSV, which resource a notification names, and PKCE."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.errors import Conflict, InvalidInput
from domain.model.marketplace import MarketplaceProvider, SyncStatus
from domain.model.shop_sync import SyncCounts, SyncJob, SyncKind, SyncPhase
from domain.services.marketplace import (
    Notification,
    _cost_rows,
    _target,
    parse_unit_cost,
    pkce_pair,
)
from domain.services.sync import BuyerPseudonyms

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def _job() -> SyncJob:
    return SyncJob(
        account_id="a",
        connection_id="c",
        kind=SyncKind.FULL,
        status=SyncStatus.QUEUED,
        created_at=NOW,
        attempt=1,
    )


def test_a_sync_is_claimed_once_per_attempt_while_its_worker_beats() -> None:
    job = _job()
    job.claim(1, NOW, LEASE)
    assert job.status is SyncStatus.RUNNING and job.heartbeat_at == NOW
    with pytest.raises(Conflict):
        job.claim(1, NOW + timedelta(seconds=5), LEASE)  # a duplicate delivery
    job.claim(1, NOW + timedelta(minutes=2), LEASE)  # its worker went quiet: taken over
    with pytest.raises(Conflict):
        job.claim(0, NOW + timedelta(minutes=3), LEASE)  # a stale attempt


def test_a_newer_attempt_takes_a_sync_over_and_a_finished_one_is_never_claimed() -> None:
    job = _job()
    job.claim(1, NOW, LEASE)
    job.claim(2, NOW + timedelta(seconds=1), LEASE)
    assert job.attempt == 2
    job.advance(SyncPhase.ORDERS, None, 0.7, NOW)
    job.succeed(NOW)
    assert job.progress == 1.0 and job.phase is SyncPhase.DONE and job.cursor is None
    with pytest.raises(Conflict):
        job.claim(3, NOW, LEASE)


def test_sync_counts_survive_their_json_form() -> None:
    counts = SyncCounts(listings_created=3, orders_unchanged=7)
    assert SyncCounts.of(counts.as_dict()) == counts
    assert SyncCounts.of({"unknown": 1, "orders_created": "2"}).orders_created == 2
    assert counts.changed == 3


def test_buyer_pseudonyms_are_stable_keyed_and_hide_the_id() -> None:
    one, other = BuyerPseudonyms(b"k" * 32), BuyerPseudonyms(b"x" * 32)
    first = one.of(MarketplaceProvider.MERCADO_LIVRE, "987654321")
    assert first == one.of(MarketplaceProvider.MERCADO_LIVRE, "987654321")
    assert "987654321" not in first
    assert first != other.of(MarketplaceProvider.MERCADO_LIVRE, "987654321")
    assert first != one.of(MarketplaceProvider.MERCADO_LIVRE, "987654322")
    assert first != one.of(MarketplaceProvider.SIMULATOR, "987654321")


@pytest.mark.parametrize("raw", ["-1", "abc", "1.001", "NaN", "Infinity", "10000000"])
def test_a_unit_cost_is_a_non_negative_amount_in_centavos(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_unit_cost(raw)
    assert refused.value.field == "unit_cost"


def test_a_unit_cost_keeps_two_decimals() -> None:
    assert parse_unit_cost("12.5") == Decimal("12.50")
    assert parse_unit_cost(Decimal("0")) == Decimal("0.00")


async def _chunks(text: str) -> AsyncIterator[bytes]:
    yield text.encode()


async def test_the_cost_csv_reports_each_bad_row_with_its_number() -> None:
    rows, errors = await _cost_rows(
        _chunks("listing_id,unit_cost\nmlb1234,10\nMLB1234,11\n,5\nMLB99,-2\n\nMLB77,3.5\n")
    )
    assert rows == {"MLB1234": (2, Decimal("10.00")), "MLB77": (7, Decimal("3.50"))}
    assert [(e.row, e.listing_id) for e in errors] == [(3, "MLB1234"), (4, None), (5, "MLB99")]


@pytest.mark.parametrize("text", ["id,cost\nMLB1,2\n", "listing_id,unit_cost\n", ""])
async def test_a_cost_csv_needs_its_header_and_a_row(text: str) -> None:
    with pytest.raises(InvalidInput):
        await _cost_rows(_chunks(text))


@pytest.mark.parametrize(
    ("topic", "resource", "kind", "target"),
    [
        ("items", "/items/MLB3912345678", SyncKind.ITEM, "MLB3912345678"),
        ("orders_v2", "/orders/2000003508419013", SyncKind.ORDER, "2000003508419013"),
        ("promotions", "/seller-promotions/items/MLB3912345678", SyncKind.ITEM, "MLB3912345678"),
        ("questions", "/questions/123", None, None),
        ("items", "/orders/1", None, None),
    ],
)
def test_a_notification_names_the_resource_to_read_again(
    topic: str, resource: str, kind: SyncKind | None, target: str | None
) -> None:
    assert _target(Notification("n", topic, resource, "1")) == (kind, target)


def test_the_pkce_challenge_is_the_verifiers_s256() -> None:
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert pkce_pair()[0] != verifier
