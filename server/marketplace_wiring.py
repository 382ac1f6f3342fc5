"""Wiring of the marketplace store slice (called by the composition root, server/bootstrap.py):
the encrypted credential store, the marketplaces (Mercado Livre and the simulator through the
one HTTP adapter), the activity feed, the sync queue and the two services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.ports import ActivityFeed, Clock, SyncQueue, UnitOfWorkFactory
from domain.services.marketplace import MarketplacePolicy, MarketplaceService
from domain.services.sync import BuyerPseudonyms, ShopSync
from domain.shop_views import ShopViewsFactory
from server.adapters.db.credentials import SqlCredentialStore, TokenCipher, derive_key
from server.adapters.db.marketplace_views import SqlShopViewsFactory
from server.adapters.events.activity import MemoryActivityFeed, RedisActivityFeed
from server.adapters.jobs.arq import ArqJobQueue
from server.adapters.jobs.syncs import InProcessSyncQueue
from server.adapters.marketplace.providers import MarketplaceDirectory
from server.config import Settings


@dataclass
class MarketplaceParts:
    service: MarketplaceService
    sync: ShopSync
    activity: ActivityFeed
    providers: MarketplaceDirectory
    queue: SyncQueue
    views: ShopViewsFactory
    closers: list[Callable[[], Awaitable[None]]]


def build_marketplace(
    settings: Settings,
    engine: AsyncEngine,
    uow: UnitOfWorkFactory,
    clock: Clock,
    jobs: object,
    redis: Redis | None,
) -> MarketplaceParts:
    """The slice's adapters and services; syncs go on ARQ when `jobs` is ARQ's queue, else
    they run as tasks in this process."""
    secret = settings.signing_key()
    credentials = SqlCredentialStore(engine, TokenCipher(secret))
    providers = MarketplaceDirectory(settings, credentials, clock)
    activity: ActivityFeed = RedisActivityFeed(redis) if redis is not None else MemoryActivityFeed()
    pseudonyms = BuyerPseudonyms(derive_key(secret, "buyer-pseudonyms"))
    lease = timedelta(seconds=settings.sync_lease_seconds)
    sync = ShopSync(uow, clock, providers, pseudonyms, activity, lease)
    closers: list[Callable[[], Awaitable[None]]] = [providers.aclose]
    queue: SyncQueue
    if isinstance(jobs, ArqJobQueue):
        queue = jobs
    else:
        in_process = InProcessSyncQueue(settings.sync_concurrency)
        in_process.bind(sync.execute)
        closers.append(in_process.aclose)
        queue = in_process
    policy = MarketplacePolicy(redirect_uri=settings.ml_redirect_uri, sync_lease=lease)
    service = MarketplaceService(uow, clock, providers, credentials, queue, activity, policy)
    views = SqlShopViewsFactory(engine)
    return MarketplaceParts(service, sync, activity, providers, queue, views, closers)
