"""The price log (priceChanges) and marketplace promotions: invitations, join, leave."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from domain.errors import Conflict
from domain.marketplace import PromotionCandidate
from domain.model.common import require_aware
from domain.model.marketplace import PriceChange, PriceChangeReason
from domain.pagination import PageRequest
from domain.ports import PriceChangeFilter
from domain.services.promotions import JoinRequest, PromotionOffer, PromotionService
from server.schema.context import Info
from server.schema.pagination import Connection, connection

PriceChangeReasonEnum = strawberry.enum(PriceChangeReason, name="PriceChangeReason")


@strawberry.type(
    name="PriceChange",
    description="One attempt to change a listing's price: an entry of the append-only log.",
)
class PriceChangeType:
    id: strawberry.ID
    listing_id: strawberry.ID
    old_price: Decimal | None
    new_price: Decimal | None
    reason: PriceChangeReasonEnum  # type: ignore[valid-type]
    actor: str = strawberry.field(description='"scheduler" or "user:<id>".')
    at: datetime
    promotion_id: str | None
    outcome: str = strawberry.field(description="APPLIED, REJECTED or FAILED.")
    message: str | None = strawberry.field(
        description="Why it was refused or failed (the marketplace's code first)."
    )
    discount_id: strawberry.ID | None
    campaign_id: strawberry.ID | None

    @classmethod
    def of(cls, change: PriceChange) -> PriceChangeType:
        return cls(
            id=strawberry.ID(change.id),
            listing_id=strawberry.ID(change.listing_id),
            old_price=change.old_price,
            new_price=change.new_price,
            reason=change.reason,
            actor=change.actor,
            at=change.at,
            promotion_id=change.promotion_id,
            outcome=change.outcome.value,
            message=change.message,
            discount_id=strawberry.ID(change.discount_id) if change.discount_id else None,
            campaign_id=strawberry.ID(change.campaign_id) if change.campaign_id else None,
        )


@strawberry.input(name="PriceChangeFilter")
class PriceChangeFilterInput:
    listing_id: strawberry.ID | None = None
    reason: PriceChangeReasonEnum | None = None  # type: ignore[valid-type]
    from_: datetime | None = strawberry.field(default=None, name="from")
    to: datetime | None = None


@strawberry.type(name="PromotionCandidate", description="A listing invited to a promotion.")
class PromotionCandidateType:
    listing_id: strawberry.ID
    status: str
    price: Decimal
    min_deal_price: Decimal | None
    max_deal_price: Decimal | None
    suggested_deal_price: Decimal | None
    min_stock: int | None = strawberry.field(description="LIGHTNING only.")
    max_stock: int | None = strawberry.field(description="LIGHTNING only.")

    @classmethod
    def of(cls, candidate: PromotionCandidate) -> PromotionCandidateType:
        return cls(
            listing_id=strawberry.ID(candidate.item_id),
            status=candidate.status,
            price=candidate.price,
            min_deal_price=candidate.min_deal_price,
            max_deal_price=candidate.max_deal_price,
            suggested_deal_price=candidate.suggested_deal_price,
            min_stock=candidate.min_stock,
            max_stock=candidate.max_stock,
        )


@strawberry.type(
    name="MarketplacePromotion",
    description="A promotion the seller is invited to (DEAL, LIGHTNING, DOD), with candidates.",
)
class MarketplacePromotionType:
    id: strawberry.ID
    type: str
    status: str
    name: str
    starts_at: datetime | None
    ends_at: datetime | None
    deadline: datetime | None
    meli_percent: float | None = strawberry.field(description="The marketplace's share.")
    seller_percent: float | None
    candidates: list[PromotionCandidateType]

    @classmethod
    def of(cls, offer: PromotionOffer) -> MarketplacePromotionType:
        invitation = offer.invitation
        return cls(
            id=strawberry.ID(invitation.id),
            type=invitation.type,
            status=invitation.status,
            name=invitation.name,
            starts_at=invitation.starts_at,
            ends_at=invitation.ends_at,
            deadline=invitation.deadline,
            meli_percent=invitation.meli_percent,
            seller_percent=invitation.seller_percent,
            candidates=[PromotionCandidateType.of(c) for c in offer.candidates],
        )


@strawberry.input(name="MarketplacePromotionFilter")
class MarketplacePromotionFilterInput:
    type: str | None = strawberry.field(default=None, description="DEAL, LIGHTNING or DOD.")


@strawberry.input
class JoinPromotionInput:
    promotion_id: strawberry.ID
    listing_id: strawberry.ID
    deal_price: Decimal
    stock: int | None = strawberry.field(default=None, description="LIGHTNING: units offered.")
    campaign_id: strawberry.ID | None = strawberry.field(
        default=None, description="Check the deal against this ACTIVE campaign's rules."
    )


@strawberry.type
class JoinPromotionPayload:
    price_change: PriceChangeType = strawberry.field(
        description="The attempt as logged: outcome APPLIED, or REJECTED/FAILED with why."
    )


@strawberry.input
class LeavePromotionInput:
    promotion_id: strawberry.ID
    listing_id: strawberry.ID


@strawberry.type
class LeavePromotionPayload:
    price_change: PriceChangeType


def _promotions(info: Info) -> PromotionService:
    service = info.context.container.promotions
    if service is None:
        raise Conflict("No marketplace is configured on this server; promotions are unavailable.")
    return service


@strawberry.type
class PromotionQuery:
    @strawberry.field(description="The append-only price log, newest first.")
    async def price_changes(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: PriceChangeFilterInput | None = None,
    ) -> Connection[PriceChangeType]:
        where = PriceChangeFilter(
            listing_id=str(filter.listing_id) if filter and filter.listing_id else None,
            reason=filter.reason if filter else None,
            since=require_aware(filter.from_, "from") if filter and filter.from_ else None,
            until=require_aware(filter.to, "to") if filter and filter.to else None,
        )
        page = await info.context.views.price_change_page(PageRequest.of(first, after), where)
        return connection(page, PriceChangeType.of)

    @strawberry.field(description="Invitations with their candidate listings and price bounds.")
    async def marketplace_promotions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: MarketplacePromotionFilterInput | None = None,
    ) -> Connection[MarketplacePromotionType]:
        page = await _promotions(info).offers(
            info.context.principal,
            PageRequest.ranked(first, after),
            filter.type if filter else None,
        )
        return connection(page, MarketplacePromotionType.of)


@strawberry.type
class PromotionMutation:
    @strawberry.mutation(
        description="Join an invitation at a deal price inside its bounds and the campaign's "
        "rules; a refusal is logged and returned, not raised."
    )
    async def join_promotion(self, info: Info, input: JoinPromotionInput) -> JoinPromotionPayload:
        change = await _promotions(info).join(
            info.context.principal,
            JoinRequest(
                promotion_id=str(input.promotion_id),
                listing_id=str(input.listing_id),
                deal_price=input.deal_price,
                stock=input.stock,
                campaign_id=str(input.campaign_id) if input.campaign_id else None,
            ),
        )
        return JoinPromotionPayload(price_change=PriceChangeType.of(change))

    @strawberry.mutation(description="Leave a promotion the listing is in.")
    async def leave_promotion(
        self, info: Info, input: LeavePromotionInput
    ) -> LeavePromotionPayload:
        change = await _promotions(info).leave(
            info.context.principal, str(input.promotion_id), str(input.listing_id)
        )
        return LeavePromotionPayload(price_change=PriceChangeType.of(change))
