"""Marketplace promotions the seller is invited to (DEAL, LIGHTNING, DOD): list, join, leave.

Joining checks the invitation's bounds and the campaign's rules before calling; every attempt
(joined, refused by our rules or by the marketplace, failed) appends a PriceChange, which is
what the mutation returns. Errors in what the caller asked (no such promotion, a listing that is
not a candidate) are raised instead and change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.errors import Conflict, InvalidInput, NotFound
from domain.marketplace import (
    MarketplaceClient,
    MarketplaceError,
    MarketplaceRefused,
    PromotionCandidate,
    PromotionInvitation,
)
from domain.model.accounts import Principal
from domain.model.campaigns import Campaign, CampaignStatus
from domain.model.marketplace import PriceChange, PriceChangeOutcome, PriceChangeReason
from domain.model.promotions import CENT, ItemFacts, campaign_refusal, invitation_refusal
from domain.pagination import Page, PageRequest, offset_cursor
from domain.ports import Clock, UnitOfWorkFactory
from domain.services.shops import Shop, Shops

INVITATION_TYPES = ("DEAL", "LIGHTNING", "DOD")
MAX_DEAL_PRICE = Decimal("100000000")  # R$ 100 million: more than any listing costs


@dataclass(frozen=True, slots=True)
class PromotionOffer:
    """An invitation with its candidate listings and their bounds."""

    invitation: PromotionInvitation
    candidates: list[PromotionCandidate]


@dataclass(frozen=True, slots=True)
class JoinRequest:
    promotion_id: str
    listing_id: str
    deal_price: Decimal
    stock: int | None = None
    campaign_id: str | None = None


class PromotionService:
    """Invitations to marketplace promotions, and joining or leaving them."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, shops: Shops) -> None:
        self._uow = uow
        self._clock = clock
        self._shops = shops

    async def offers(
        self, principal: Principal, request: PageRequest, promotion_type: str | None = None
    ) -> Page[PromotionOffer]:
        """The account's invitations (every connected shop), each with its candidates."""
        found: list[PromotionOffer] = []
        for client in await self._shops.of_account(principal.account_id):
            for invitation in await client.invitations():
                if promotion_type and invitation.type != promotion_type:
                    continue
                candidates = await client.candidates(invitation.id, invitation.type)
                found.append(PromotionOffer(invitation, candidates))
        start = request.after_offset or 0
        chosen = found[start : start + request.first]
        return Page(
            items=chosen,
            cursors=[offset_cursor(start + i + 1) for i in range(len(chosen))],
            has_next_page=start + request.first < len(found),
            total_count=len(found),
        )

    async def join(self, principal: Principal, ask: JoinRequest) -> PriceChange:
        principal.require_write()
        listing = ask.listing_id.strip().upper()
        if not ask.deal_price.is_finite() or not 0 < ask.deal_price < MAX_DEAL_PRICE:
            raise InvalidInput(
                f"dealPrice must be a positive amount below {MAX_DEAL_PRICE}.", field="deal_price"
            )
        deal = ask.deal_price.quantize(CENT)
        campaign = await self._campaign(principal, ask.campaign_id)
        shop = await self._shop(principal, listing)
        invitation = await self._invitation(shop.client, ask.promotion_id)
        candidate = next(
            (
                c
                for c in await shop.client.candidates(invitation.id, invitation.type)
                if c.item_id == listing
            ),
            None,
        )
        if candidate is None:
            raise InvalidInput(
                f"Listing {listing} is not a candidate of promotion {invitation.id}.",
                field="listing_id",
            )
        change = _Change(principal, listing, invitation.id, ask.campaign_id, self._clock)
        refusal = invitation_refusal(
            deal=deal,
            min_price=candidate.min_deal_price,
            max_price=candidate.max_deal_price,
            stock=ask.stock,
            min_stock=candidate.min_stock,
            max_stock=candidate.max_stock,
        )
        if refusal is None and campaign is not None:
            facts = await self._facts(shop, listing, candidate)
            refusal = campaign_refusal(
                campaign.rules,
                facts,
                deal,
                budget=campaign.budget,
                committed=await self._committed(campaign),
            )
        if refusal is not None:
            entry = change.made(PriceChangeOutcome.REJECTED, candidate.price, deal, str(refusal))
        else:
            try:
                applied = await shop.client.join_promotion(
                    listing,
                    promotion_id=invitation.id,
                    promotion_type=invitation.type,
                    deal_price=deal,
                    stock=ask.stock,
                )
                entry = change.made(
                    PriceChangeOutcome.APPLIED,
                    applied.original_price or candidate.price,
                    applied.price,
                )
            except MarketplaceRefused as refused:
                message = f"{refused.code}: {refused.message}"
                entry = change.made(PriceChangeOutcome.REJECTED, candidate.price, deal, message)
            except MarketplaceError as error:
                entry = change.made(PriceChangeOutcome.FAILED, candidate.price, deal, error.message)
        await self._append(entry)
        return entry

    async def leave(self, principal: Principal, promotion_id: str, listing_id: str) -> PriceChange:
        principal.require_write()
        listing = listing_id.strip().upper()
        shop = await self._shop(principal, listing)
        current = next(
            (p for p in await shop.client.item_promotions(listing) if p.id == promotion_id), None
        )
        if current is None or current.type not in INVITATION_TYPES:
            raise NotFound(
                f"Listing {listing} is not in promotion {promotion_id!r}.", field="promotion_id"
            )
        change = _Change(principal, listing, promotion_id, None, self._clock)
        change.reason = PriceChangeReason.PROMOTION_LEFT
        try:
            await shop.client.leave_promotion(
                listing, promotion_id=promotion_id, promotion_type=current.type
            )
            entry = change.made(PriceChangeOutcome.APPLIED, current.price, current.original_price)
        except MarketplaceRefused as refused:
            message = f"{refused.code}: {refused.message}"
            entry = change.made(PriceChangeOutcome.REJECTED, current.price, None, message)
        except MarketplaceError as error:
            entry = change.made(PriceChangeOutcome.FAILED, current.price, None, error.message)
        await self._append(entry)
        return entry

    # -- steps ---------------------------------------------------------------------------------
    async def _campaign(self, principal: Principal, campaign_id: str | None) -> Campaign | None:
        if campaign_id is None:
            return None
        async with self._uow() as uow:
            campaign = await uow.campaigns.get(principal.account_id, campaign_id)
        if campaign is None:
            raise NotFound.of("Campaign", campaign_id)
        if campaign.status is not CampaignStatus.ACTIVE:
            raise Conflict(
                f"Campaign {campaign.name!r} is {campaign.status.value}; activate it first."
            )
        return campaign

    async def _committed(self, campaign: Campaign) -> Decimal:
        if campaign.budget is None:
            return Decimal(0)
        async with self._uow() as uow:
            return await uow.discounts.committed_spend(campaign.account_id, campaign.id)

    async def _shop(self, principal: Principal, listing: str) -> Shop:
        shop = await self._shops.of_listing(principal.account_id, listing)
        if shop is None:
            raise Conflict(
                f"No connected marketplace sells listing {listing}; connect it and sync first."
            )
        return shop

    @staticmethod
    async def _invitation(client: MarketplaceClient, promotion_id: str) -> PromotionInvitation:
        for invitation in await client.invitations():
            if invitation.id == promotion_id:
                return invitation
        raise NotFound(f"No invitation {promotion_id!r} for this seller.", field="promotion_id")

    @staticmethod
    async def _facts(shop: Shop, listing: str, candidate: PromotionCandidate) -> ItemFacts:
        items = await shop.client.items([listing])
        quantity = items[0].available_quantity if items else 0
        return ItemFacts(
            item_id=listing,
            price=candidate.price,
            status=items[0].status if items else "unknown",
            condition=items[0].condition if items else "unknown",
            listing_type=items[0].listing_type if items else "unknown",
            available_quantity=quantity,
            price_automated=False,
            seller_green=True,
            unit_cost=shop.unit_cost,
        )

    async def _append(self, entry: PriceChange) -> None:
        async with self._uow() as uow:
            await uow.price_changes.add(entry)
            await uow.commit()


@dataclass(slots=True)
class _Change:
    principal: Principal
    listing: str
    promotion_id: str
    campaign_id: str | None
    clock: Clock
    reason: PriceChangeReason = PriceChangeReason.PROMOTION_JOINED

    def made(
        self,
        outcome: PriceChangeOutcome,
        old: Decimal | None,
        new: Decimal | None,
        message: str | None = None,
    ) -> PriceChange:
        return PriceChange(
            account_id=self.principal.account_id,
            listing_id=self.listing,
            old_price=old,
            new_price=new,
            reason=self.reason,
            actor=f"user:{self.principal.user_id}",
            at=self.clock.now(),
            outcome=outcome,
            promotion_id=self.promotion_id,
            message=message,
            campaign_id=self.campaign_id,
        )
