"""Campaigns and discounts: create, schedule, cancel, list (filtered), get."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from domain.model.campaigns import (
    Campaign,
    CampaignRules,
    CampaignStatus,
    Discount,
    DiscountMarketplaceState,
    DiscountStatus,
)
from domain.pagination import PageRequest
from domain.ports import CampaignFilter, DiscountFilter
from server.schema.context import Info
from server.schema.pagination import Connection, connection

CampaignStatusEnum = strawberry.enum(CampaignStatus, name="CampaignStatus")
DiscountStatusEnum = strawberry.enum(DiscountStatus, name="DiscountStatus")
DiscountMarketplaceStateEnum = strawberry.enum(
    DiscountMarketplaceState,
    name="DiscountMarketplaceState",
    description="Where the discount stands on the marketplace (the scheduler moves it).",
)


@strawberry.type(
    name="CampaignRules",
    description="What a campaign allows its discounts and promotions. minMarginPercent is the "
    "markup over the listing's unit cost a deal price must keep.",
)
class CampaignRulesType:
    max_discount_percent: float | None
    min_margin_percent: float | None
    stock_floor: int | None

    @classmethod
    def of(cls, rules: CampaignRules) -> CampaignRulesType:
        return cls(
            max_discount_percent=rules.max_discount_percent,
            min_margin_percent=rules.min_margin_percent,
            stock_floor=rules.stock_floor,
        )


@strawberry.input(name="CampaignRulesInput")
class CampaignRulesInput:
    max_discount_percent: float | None = strawberry.field(default=None, description="5 to 80.")
    min_margin_percent: float | None = strawberry.field(
        default=None, description="Markup over unit cost, in percent (0 to 1000)."
    )
    stock_floor: int | None = strawberry.field(
        default=None, description="No discount on a listing with less stock than this."
    )

    def to_rules(self) -> CampaignRules:
        return CampaignRules.of(
            max_discount_percent=self.max_discount_percent,
            min_margin_percent=self.min_margin_percent,
            stock_floor=self.stock_floor,
        )


@strawberry.type(name="Campaign", description="A sales push over a period, grouping discounts.")
class CampaignType:
    id: strawberry.ID
    name: str
    status: CampaignStatusEnum  # type: ignore[valid-type]
    starts_at: datetime
    ends_at: datetime
    budget: Decimal | None
    created_at: datetime
    rules: CampaignRulesType

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignType:
        return cls(
            id=strawberry.ID(campaign.id),
            name=campaign.name,
            status=campaign.status,
            starts_at=campaign.starts_at,
            ends_at=campaign.ends_at,
            budget=campaign.budget,
            created_at=campaign.created_at,
            rules=CampaignRulesType.of(campaign.rules),
        )

    @strawberry.field(description="The campaign's discounts, newest first.")
    async def discounts(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[DiscountType]:
        loader = info.context.loaders.discounts_of_campaigns(PageRequest.of(first, after))
        now = info.context.container.clock.now()
        return connection(await loader.load(str(self.id)), lambda d: DiscountType.of(d, now))


@strawberry.type(name="Discount", description="A percentage off a listing between two instants.")
class DiscountType:
    id: strawberry.ID
    listing_id: str
    percent: float
    starts_at: datetime
    ends_at: datetime
    status: DiscountStatusEnum = strawberry.field(  # type: ignore[valid-type]
        description="As of now: SCHEDULED before startsAt, ACTIVE in the period, then ENDED."
    )
    created_at: datetime
    canceled_at: datetime | None
    marketplace_state: DiscountMarketplaceStateEnum  # type: ignore[valid-type]
    deal_price: Decimal | None = strawberry.field(
        description="The price sent to the marketplace (the percent off, in cents)."
    )
    state_reason: str | None = strawberry.field(
        description="Why it was rejected, failed or withdrawn (the marketplace's code first)."
    )
    applied_at: datetime | None
    withdrawn_at: datetime | None
    campaign_id: strawberry.Private[str | None]

    @classmethod
    def of(cls, discount: Discount, now: datetime) -> DiscountType:
        return cls(
            id=strawberry.ID(discount.id),
            listing_id=discount.listing_id,
            percent=discount.percent,
            starts_at=discount.starts_at,
            ends_at=discount.ends_at,
            status=discount.status_at(now),
            created_at=discount.created_at,
            canceled_at=discount.canceled_at,
            marketplace_state=discount.marketplace_state,
            deal_price=discount.deal_price,
            state_reason=discount.state_reason,
            applied_at=discount.applied_at,
            withdrawn_at=discount.withdrawn_at,
            campaign_id=discount.campaign_id,
        )

    @strawberry.field
    async def campaign(self, info: Info) -> CampaignType | None:
        if self.campaign_id is None:
            return None
        campaign = await info.context.loaders.campaigns.load(self.campaign_id)
        return CampaignType.of(campaign) if campaign else None


@strawberry.input(name="CampaignFilter")
class CampaignFilterInput:
    status: CampaignStatusEnum | None = None  # type: ignore[valid-type]
    name_contains: str | None = None


@strawberry.input(name="DiscountFilter")
class DiscountFilterInput:
    campaign_id: strawberry.ID | None = None
    listing_id: str | None = None
    status: DiscountStatusEnum | None = None  # type: ignore[valid-type]


@strawberry.input
class CreateCampaignInput:
    name: str
    starts_at: datetime
    ends_at: datetime
    budget: Decimal | None = None
    rules: CampaignRulesInput | None = None


@strawberry.type
class CreateCampaignPayload:
    campaign: CampaignType


@strawberry.input
class CampaignIdInput:
    id: strawberry.ID


@strawberry.type
class CampaignPayload:
    campaign: CampaignType


@strawberry.input
class ScheduleDiscountInput:
    listing_id: str
    percent: float = strawberry.field(description="From 5 to 80.")
    starts_at: datetime
    ends_at: datetime
    campaign_id: strawberry.ID | None = None


@strawberry.type
class ScheduleDiscountPayload:
    discount: DiscountType


@strawberry.input
class CancelDiscountInput:
    id: strawberry.ID


@strawberry.type
class CancelDiscountPayload:
    discount: DiscountType


@strawberry.type
class CampaignQuery:
    @strawberry.field(description="The account's campaigns, newest first.")
    async def campaigns(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: CampaignFilterInput | None = None,
    ) -> Connection[CampaignType]:
        where = CampaignFilter(
            status=filter.status if filter else None,
            name_contains=filter.name_contains if filter else None,
        )
        page = await info.context.views.campaign_page(PageRequest.of(first, after), where)
        return connection(page, CampaignType.of)

    @strawberry.field
    async def campaign(self, info: Info, id: strawberry.ID) -> CampaignType | None:
        campaign = await info.context.loaders.campaigns.load(str(id))
        return CampaignType.of(campaign) if campaign else None

    @strawberry.field(description="The account's discounts, newest first.")
    async def discounts(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: DiscountFilterInput | None = None,
    ) -> Connection[DiscountType]:
        now = info.context.container.clock.now()
        where = DiscountFilter(
            campaign_id=str(filter.campaign_id) if filter and filter.campaign_id else None,
            listing_id=filter.listing_id if filter else None,
            status=filter.status if filter else None,
            as_of=now,
        )
        page = await info.context.views.discount_page(PageRequest.of(first, after), where)
        return connection(page, lambda d: DiscountType.of(d, now))

    @strawberry.field
    async def discount(self, info: Info, id: strawberry.ID) -> DiscountType | None:
        discount = await info.context.loaders.discounts.load(str(id))
        return DiscountType.of(discount, info.context.container.clock.now()) if discount else None


@strawberry.type
class CampaignMutation:
    @strawberry.mutation
    async def create_campaign(
        self, info: Info, input: CreateCampaignInput
    ) -> CreateCampaignPayload:
        campaign = await info.context.container.campaigns.create(
            info.context.principal,
            name=input.name,
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            budget=input.budget,
            rules=input.rules.to_rules() if input.rules else None,
        )
        return CreateCampaignPayload(campaign=CampaignType.of(campaign))

    @strawberry.mutation(
        description="DRAFT or PAUSED -> ACTIVE: the scheduler applies its discounts in their "
        "periods."
    )
    async def activate_campaign(self, info: Info, input: CampaignIdInput) -> CampaignPayload:
        service = info.context.container.campaigns
        campaign = await service.activate(info.context.principal, str(input.id))
        return CampaignPayload(campaign=CampaignType.of(campaign))

    @strawberry.mutation(
        description="ACTIVE -> PAUSED: the scheduler withdraws its applied discounts."
    )
    async def pause_campaign(self, info: Info, input: CampaignIdInput) -> CampaignPayload:
        service = info.context.container.campaigns
        campaign = await service.pause(info.context.principal, str(input.id))
        return CampaignPayload(campaign=CampaignType.of(campaign))

    @strawberry.mutation(
        description="-> ENDED for good: the scheduler withdraws its applied discounts."
    )
    async def end_campaign(self, info: Info, input: CampaignIdInput) -> CampaignPayload:
        service = info.context.container.campaigns
        campaign = await service.end(info.context.principal, str(input.id))
        return CampaignPayload(campaign=CampaignType.of(campaign))

    @strawberry.mutation(description="Schedule a discount; a listing has one at a time.")
    async def schedule_discount(
        self, info: Info, input: ScheduleDiscountInput
    ) -> ScheduleDiscountPayload:
        service = info.context.container.campaigns
        discount = await service.schedule_discount(
            info.context.principal,
            listing_id=input.listing_id,
            percent=input.percent,
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            campaign_id=str(input.campaign_id) if input.campaign_id else None,
        )
        return ScheduleDiscountPayload(
            discount=DiscountType.of(discount, info.context.container.clock.now())
        )

    @strawberry.mutation(description="Cancel a scheduled or active discount.")
    async def cancel_discount(
        self, info: Info, input: CancelDiscountInput
    ) -> CancelDiscountPayload:
        service = info.context.container.campaigns
        discount = await service.cancel_discount(info.context.principal, str(input.id))
        return CancelDiscountPayload(
            discount=DiscountType.of(discount, info.context.container.clock.now())
        )
