"""Planning campaigns and scheduling or canceling discounts on listings (reads: domain/views)."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from domain.errors import Conflict, NotFound
from domain.model.accounts import Principal
from domain.model.campaigns import Campaign, CampaignRules, Discount
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory


class CampaignMove(enum.Enum):
    ACTIVATE = "activate"
    PAUSE = "pause"
    END = "end"


class CampaignService:
    """Campaigns and their discounts."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def create(
        self,
        principal: Principal,
        *,
        name: str,
        starts_at: datetime,
        ends_at: datetime,
        budget: Decimal | None,
        rules: CampaignRules | None = None,
    ) -> Campaign:
        principal.require_write()
        campaign = Campaign.plan(
            account_id=principal.account_id,
            name=name,
            starts_at=starts_at,
            ends_at=ends_at,
            budget=budget,
            now=self._clock.now(),
            rules=rules,
        )
        async with self._uow() as uow:
            await uow.campaigns.add(campaign)
            await uow.commit()
        return campaign

    async def activate(self, principal: Principal, campaign_id: str) -> Campaign:
        """DRAFT/PAUSED -> ACTIVE: the scheduler applies its discounts as they come due."""
        return await self._move(principal, campaign_id, CampaignMove.ACTIVATE)

    async def pause(self, principal: Principal, campaign_id: str) -> Campaign:
        """ACTIVE -> PAUSED: the scheduler withdraws what it applied at its next tick."""
        return await self._move(principal, campaign_id, CampaignMove.PAUSE)

    async def end(self, principal: Principal, campaign_id: str) -> Campaign:
        """-> ENDED for good: the scheduler withdraws what it applied at its next tick."""
        return await self._move(principal, campaign_id, CampaignMove.END)

    async def _move(self, principal: Principal, campaign_id: str, move: CampaignMove) -> Campaign:
        principal.require_write()
        async with self._uow() as uow:
            campaign = await uow.campaigns.get(principal.account_id, campaign_id)
            if campaign is None:
                raise NotFound.of("Campaign", campaign_id)
            if move is CampaignMove.ACTIVATE:
                campaign.activate(self._clock.now())
            elif move is CampaignMove.PAUSE:
                campaign.pause()
            else:
                campaign.end()
            await uow.campaigns.save(campaign)
            await uow.commit()
        return campaign

    async def schedule_discount(
        self,
        principal: Principal,
        *,
        listing_id: str,
        percent: float,
        starts_at: datetime,
        ends_at: datetime,
        campaign_id: str | None,
    ) -> Discount:
        """Schedule a discount; a listing carries at most one discount at any instant."""
        principal.require_write()
        now = self._clock.now()
        async with self._uow() as uow:
            campaign = None
            if campaign_id is not None:
                campaign = await uow.campaigns.get(principal.account_id, campaign_id)
                if campaign is None:
                    raise NotFound(f"Campaign {campaign_id!r} was not found.", field="campaign_id")
            discount = Discount.schedule(
                account_id=principal.account_id,
                listing_id=listing_id,
                percent=percent,
                starts_at=starts_at,
                ends_at=ends_at,
                campaign=campaign,
                now=now,
            )
            clash = await self._clash(uow, discount)
            if clash is not None:
                raise clash
            await uow.discounts.add(discount)
            try:
                await uow.commit()
            except Conflict:
                # A concurrent request took the period between our check and our insert; the
                # database refused this one. Say which discount won, as the check above would.
                async with self._uow() as fresh:
                    clash = await self._clash(fresh, discount)
                raise clash or Conflict(
                    f"Listing {discount.listing_id} got another discount at the same time; "
                    "list its discounts and try again.",
                    field="starts_at",
                ) from None
        return discount

    @staticmethod
    async def _clash(uow: UnitOfWork, discount: Discount) -> Conflict | None:
        """The error for a live discount overlapping `discount` on its listing, if any.

        The same rule as the database's exclusion constraint: every discount not canceled
        counts, so the friendly check and the constraint never disagree.
        """
        for other in await uow.discounts.live_on_listing(discount.account_id, discount.listing_id):
            if other.id != discount.id and other.overlaps(discount.starts_at, discount.ends_at):
                return Conflict(
                    f"Listing {discount.listing_id} already has discount {other.id} from "
                    f"{other.starts_at.isoformat()} to {other.ends_at.isoformat()}; "
                    "cancel it or pick another period.",
                    field="starts_at",
                )
        return None

    async def cancel_discount(self, principal: Principal, discount_id: str) -> Discount:
        principal.require_write()
        async with self._uow() as uow:
            discount = await uow.discounts.get(principal.account_id, discount_id)
            if discount is None:
                raise NotFound.of("Discount", discount_id)
            discount.cancel(self._clock.now())
            await uow.discounts.save(discount)
            await uow.commit()
        return discount
