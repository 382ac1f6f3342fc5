"""Campaigns and discounts in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, func, or_, select, update

from domain.model.campaigns import (
    Campaign,
    CampaignRules,
    CampaignStatus,
    Discount,
    DiscountAction,
    DiscountMarketplaceState,
    DiscountStatus,
    DueDiscount,
    due_action,
)
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
            rules=CampaignRules(
                max_discount_percent=row.max_discount_percent,
                min_margin_percent=row.min_margin_percent,
                stock_floor=row.stock_floor,
            ),
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
            "max_discount_percent": entity.rules.max_discount_percent,
            "min_margin_percent": entity.rules.min_margin_percent,
            "stock_floor": entity.rules.stock_floor,
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
            marketplace_state=DiscountMarketplaceState(row.marketplace_state),
            state_reason=row.state_reason,
            deal_price=row.deal_price,
            applied_at=row.applied_at,
            withdrawn_at=row.withdrawn_at,
            promotion_id=row.promotion_id,
            segment_ends_at=row.segment_ends_at,
            spend_estimate=row.spend_estimate,
            attempts=row.attempts,
            retry_at=row.retry_at,
        )

    @staticmethod
    def marketplace_values(entity: Discount) -> dict[str, Any]:
        """The columns only the scheduler writes (`record`), never a user's `save`."""
        return {
            "marketplace_state": entity.marketplace_state.value,
            "state_reason": entity.state_reason,
            "deal_price": entity.deal_price,
            "applied_at": entity.applied_at,
            "withdrawn_at": entity.withdrawn_at,
            "promotion_id": entity.promotion_id,
            "segment_ends_at": entity.segment_ends_at,
            "spend_estimate": entity.spend_estimate,
            "attempts": entity.attempts,
            "retry_at": entity.retry_at,
        }

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

    async def add(self, entity: Discount) -> None:
        self.session.add(DiscountRow(**self.to_values(entity), **self.marketplace_values(entity)))

    # -- the scheduler -------------------------------------------------------------------------
    async def due(
        self, now: datetime, limit: int, lookahead: timedelta = timedelta(0)
    ) -> list[DueDiscount]:
        stopped = or_(
            DiscountRow.status == DiscountStatus.CANCELED.value,
            DiscountRow.ends_at <= now,
            and_(
                DiscountRow.campaign_id.is_not(None),
                CampaignRow.status != CampaignStatus.ACTIVE.value,
            ),
        )
        claim_free = or_(DiscountRow.claimed_until.is_(None), DiscountRow.claimed_until <= now)
        applied = DiscountRow.marketplace_state == DiscountMarketplaceState.APPLIED.value
        owed_withdrawal = and_(stopped, or_(applied, DiscountRow.claim_id.is_not(None)))
        owed_apply = and_(
            ~stopped,
            DiscountRow.starts_at <= now + lookahead,
            or_(
                DiscountRow.marketplace_state.in_(_APPLICABLE),
                and_(applied, DiscountRow.segment_ends_at <= now),
            ),
        )
        query = (
            select(*self.columns(), CampaignRow.status.label("campaign_status"))
            .outerjoin(CampaignRow, CampaignRow.id == DiscountRow.campaign_id)
            .where(
                claim_free,
                or_(DiscountRow.retry_at.is_(None), DiscountRow.retry_at <= now),
                or_(owed_withdrawal, owed_apply),
            )
            .order_by(DiscountRow.starts_at, DiscountRow.id)
            .limit(limit)
        )
        found = []
        for row in await self.session.execute(query):
            discount = self.to_entity(cast(Any, row))
            status = CampaignStatus(row.campaign_status) if row.campaign_status else None
            action = due_action(
                discount, status, now, interrupted=row.claim_id is not None, lookahead=lookahead
            )
            if action is not None:
                found.append(DueDiscount(discount, status, row.claim_id, action))
        return sorted(found, key=lambda d: d.action is not DiscountAction.WITHDRAW)

    async def claim(
        self, discount_id: str, *, seen: str | None, claim: str, until: datetime, now: datetime
    ) -> bool:
        held = DiscountRow.claim_id.is_(None) if seen is None else DiscountRow.claim_id == seen
        result = await self.session.execute(
            update(DiscountRow)
            .where(
                DiscountRow.id == discount_id,
                held,
                or_(DiscountRow.claimed_until.is_(None), DiscountRow.claimed_until <= now),
            )
            .values(claim_id=claim, claimed_until=until)
            .execution_options(synchronize_session=False)
        )
        return cast(CursorResult[Any], result).rowcount == 1

    async def claim_many(
        self, discount_ids: Sequence[str], *, claim: str, until: datetime, now: datetime
    ) -> list[str]:
        if not discount_ids:
            return []
        result = await self.session.execute(
            update(DiscountRow)
            .where(
                DiscountRow.id.in_(set(discount_ids)),
                DiscountRow.claim_id.is_(None),
                or_(DiscountRow.claimed_until.is_(None), DiscountRow.claimed_until <= now),
            )
            .values(claim_id=claim, claimed_until=until)
            .returning(DiscountRow.id)
            .execution_options(synchronize_session=False)
        )
        return [row[0] for row in result]

    async def record(self, discount: Discount, claim: str) -> bool:
        result = await self.session.execute(
            update(DiscountRow)
            .where(DiscountRow.id == discount.id, DiscountRow.claim_id == claim)
            .values(**self.marketplace_values(discount), claim_id=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        return cast(CursorResult[Any], result).rowcount == 1

    async def committed_spend(self, account_id: str, campaign_id: str) -> Decimal:
        total = await self.session.scalar(
            select(func.coalesce(func.sum(DiscountRow.spend_estimate), 0)).where(
                DiscountRow.account_id == account_id,
                DiscountRow.campaign_id == campaign_id,
                DiscountRow.marketplace_state == DiscountMarketplaceState.APPLIED.value,
            )
        )
        return Decimal(str(total or 0))


_APPLICABLE = [
    DiscountMarketplaceState.PENDING.value,
    DiscountMarketplaceState.FAILED.value,
    DiscountMarketplaceState.WITHDRAWN.value,
]
