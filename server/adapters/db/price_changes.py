"""The price log in SQL: append-only (the repository adds and reads; triggers refuse the rest)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

from domain.model.marketplace import PriceChange, PriceChangeOutcome, PriceChangeReason
from domain.pagination import Page, PageRequest
from domain.ports import PriceChangeFilter
from server.adapters.db.base import SqlRepository
from server.adapters.db.tables import PriceChangeRow


class SqlPriceChangeRepository(SqlRepository[PriceChange, PriceChangeRow]):
    row = PriceChangeRow
    sort_field = "at"

    def to_entity(self, row: PriceChangeRow) -> PriceChange:
        return PriceChange(
            account_id=row.account_id,
            listing_id=row.listing_id,
            old_price=row.old_price,
            new_price=row.new_price,
            reason=PriceChangeReason(row.reason),
            actor=row.actor,
            at=row.at,
            outcome=PriceChangeOutcome(row.outcome),
            promotion_id=row.promotion_id,
            message=row.message,
            discount_id=row.discount_id,
            campaign_id=row.campaign_id,
            id=row.id,
        )

    def to_values(self, entity: PriceChange) -> dict[str, Any]:
        return {
            "id": entity.id,
            "account_id": entity.account_id,
            "listing_id": entity.listing_id,
            "old_price": entity.old_price,
            "new_price": entity.new_price,
            "reason": entity.reason.value,
            "actor": entity.actor,
            "at": entity.at,
            "outcome": entity.outcome.value,
            "promotion_id": entity.promotion_id,
            "message": entity.message,
            "discount_id": entity.discount_id,
            "campaign_id": entity.campaign_id,
        }

    async def save(self, entity: PriceChange) -> NoReturn:
        raise TypeError("the price log is append-only")

    async def delete(self, account_id: str, entity_id: str) -> NoReturn:
        raise TypeError("the price log is append-only")

    async def pages_by_listing(
        self, account_id: str, listing_ids: Sequence[str], request: PageRequest
    ) -> dict[str, Page[PriceChange]]:
        """Each listing's entries, newest first, in two statements whatever the listings."""
        return await self._pages_by(PriceChangeRow.listing_id, account_id, listing_ids, request)

    async def page(
        self, account_id: str, request: PageRequest, where: PriceChangeFilter
    ) -> Page[PriceChange]:
        """Newest first."""
        conditions = []
        if where.listing_id is not None:
            conditions.append(PriceChangeRow.listing_id == where.listing_id.strip().upper())
        if where.reason is not None:
            conditions.append(PriceChangeRow.reason == where.reason.value)
        if where.since is not None:
            conditions.append(PriceChangeRow.at >= where.since)
        if where.until is not None:
            conditions.append(PriceChangeRow.at < where.until)
        return await self._page(account_id, request, *conditions)
