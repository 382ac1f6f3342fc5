"""A seller with a dataset and an experiment, made through the services (integration tests)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from domain.model.accounts import Principal
from domain.model.datasets import Dataset
from domain.model.experiments import Experiment, ProblemType
from server.bootstrap import Container

PRICES = b"price,units\n10.5,3\n11.0,4\n12.0,5\n"


@dataclass(frozen=True, slots=True)
class Seller:
    """A new account's owner, its dataset and its regression experiment on `units`."""

    principal: Principal
    dataset: Dataset
    experiment: Experiment


async def seller_with_experiment(
    container: Container, csv: bytes = PRICES, metric: str | None = None
) -> Seller:
    tag = uuid.uuid4().hex[:8]
    session = await container.accounts.sign_up(f"S{tag}", f"{tag}@example.com", "a long password")
    principal = container.accounts.authenticate(session.tokens.access_token)

    async def chunks() -> AsyncIterator[bytes]:
        yield csv

    dataset = await container.datasets.upload(principal, "d", chunks())
    experiment = await container.experiments.create(
        principal,
        dataset_id=dataset.id,
        name="e",
        description=None,
        problem_type=ProblemType.REGRESSION,
        target="units",
        metric=metric,
    )
    return Seller(principal, dataset, experiment)
