"""Campaigns and discounts in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select

from domain.model.campaigns import Campaign, CampaignStatus, Discount, DiscountStatus
from domain.pagination import Page, PageRequest
from domain.ports import CampaignFilter, DiscountFilter
from server.adapters.db.base import SqlRepository
from server.adapters.db.tables import CampaignRow, DiscountRow


class SqlCampaignRepository(SqlRepository[Campaign, CampaignRow]):
    row = CampaignRow

    def to_entity(self, row: CampaignRow) -> Campaign:
        return Campaign(
            account_id=row.account_id,
            name=row.name,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            budget=row.budget,
            status=CampaignStatus(row.status),
            created_at=row.created_at,
            id=row.id,
        )

    def to_values(self, entity: Campaign) -> dict[str, Any]:
        return {
            "id": entity.id,
            "account_id": entity.account_id,
            "name": entity.name,
            "starts_at": entity.starts_at,
            "ends_at": entity.ends_at,
            "budget": entity.budget,
            "status": entity.status.value,
            "created_at": entity.created_at,
        }

    async def page(
        self, account_id: str, request: PageRequest, where: CampaignFilter
    ) -> Page[Campaign]:
        conditions = []
        if where.status is not None:
            conditions.append(CampaignRow.status == where.status.value)
        if where.name_contains:
            conditions.append(
                func.lower(CampaignRow.name).contains(where.name_contains.lower(), autoescape=True)
            )
        return await self._page(account_id, request, *conditions)


def _status_condition(status: DiscountStatus, now: datetime) -> ColumnElement[bool]:
    """SQL for Discount.status_at(now) == status."""
    stored = DiscountRow.status
    live = stored.in_([DiscountStatus.SCHEDULED.value, DiscountStatus.ACTIVE.value])
    if status is DiscountStatus.CANCELED:
        return stored == DiscountStatus.CANCELED.value
    if status is DiscountStatus.ENDED:
        return or_(stored == DiscountStatus.ENDED.value, and_(live, DiscountRow.ends_at <= now))
    if status is DiscountStatus.ACTIVE:
        return and_(live, DiscountRow.starts_at <= now, DiscountRow.ends_at > now)
    return and_(live, DiscountRow.starts_at > now)


class SqlDiscountRepository(SqlRepository[Discount, DiscountRow]):
    row = DiscountRow

    def to_entity(self, row: DiscountRow) -> Discount:
        return Discount(
            account_id=row.account_id,
            listing_id=row.listing_id,
            percent=row.percent,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            status=DiscountStatus(row.status),
            created_at=row.created_at,
            campaign_id=row.campaign_id,
            canceled_at=row.canceled_at,
            id=row.id,
        )

    def to_values(self, entity: Discount) -> dict[str, Any]:
        return {
            "id": entity.id,
            "account_id": entity.account_id,
            "campaign_id": entity.campaign_id,
            "listing_id": entity.listing_id,
            "percent": entity.percent,
            "starts_at": entity.starts_at,
            "ends_at": entity.ends_at,
            "status": entity.status.value,
            "created_at": entity.created_at,
            "canceled_at": entity.canceled_at,
        }

    async def page(
        self, account_id: str, request: PageRequest, where: DiscountFilter
    ) -> Page[Discount]:
        conditions = []
        if where.campaign_id is not None:
            conditions.append(DiscountRow.campaign_id == where.campaign_id)
        if where.listing_id is not None:
            conditions.append(DiscountRow.listing_id == where.listing_id.strip().upper())
        if where.status is not None:
            if where.as_of is None:
                raise ValueError("a status filter needs the instant it is judged at")
            conditions.append(_status_condition(where.status, where.as_of))
        return await self._page(account_id, request, *conditions)

    async def pages_by_campaign(
        self, account_id: str, campaign_ids: Sequence[str], request: PageRequest
    ) -> dict[str, Page[Discount]]:
        return await self._pages_by(DiscountRow.campaign_id, account_id, campaign_ids, request)

    async def live_on_listing(self, account_id: str, listing_id: str) -> list[Discount]:
        rows = await self.session.scalars(
            select(DiscountRow).where(
                DiscountRow.account_id == account_id,
                DiscountRow.listing_id == listing_id,
                DiscountRow.status != DiscountStatus.CANCELED.value,
            )
        )
        return [self.to_entity(row) for row in rows]
