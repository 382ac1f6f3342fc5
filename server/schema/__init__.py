"""The GraphQL schema: area modules merged into one Query and one Mutation, with limits."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import DisableIntrospection
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from graphql import GraphQLError
from server.config import Settings
from server.schema.accounts import AccountMutation, AccountQuery
from server.schema.campaigns import CampaignMutation, CampaignQuery
from server.schema.datasets import DatasetMutation, DatasetQuery
from server.schema.documents import DocumentCache, DocumentGuard
from server.schema.errors import shape_error
from server.schema.execution import PlainFieldsExecutionContext
from server.schema.experiments import ExperimentMutation, ExperimentQuery
from server.schema.input_guard import InputGuard
from server.schema.limits import DocumentLimits
from server.schema.marketplace import (
    MarketplaceMutation,
    MarketplaceQuery,
    MarketplaceSubscription,
)
from server.schema.models import ModelMutation, ModelQuery
from server.schema.promotions import PromotionMutation, PromotionQuery
from server.schema.runs import RunMutation, RunQuery, RunSubscription

Query = merge_types(
    "Query",
    (
        AccountQuery,
        DatasetQuery,
        ExperimentQuery,
        RunQuery,
        ModelQuery,
        CampaignQuery,
        PromotionQuery,
        MarketplaceQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        AccountMutation,
        DatasetMutation,
        ExperimentMutation,
        RunMutation,
        ModelMutation,
        CampaignMutation,
        PromotionMutation,
        MarketplaceMutation,
    ),
)
Subscription = merge_types("Subscription", (RunSubscription, MarketplaceSubscription))


SUGGESTION = " Did you mean "


class Schema(strawberry.Schema):
    # With introspection off, "Did you mean 'x'?" would leak the schema one field at a time.
    hide_suggestions = False
    # The settings it was built with (the HTTP view reads its request limits from them).
    settings: Settings = Settings()

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Shape every error once, in place, wherever it arose (parse, validation, resolvers)."""
        context = execution_context.context if execution_context else None
        request_id = getattr(context, "request_id", "-")
        for error in errors:
            if self.hide_suggestions and SUGGESTION in error.message:
                error.message = error.message.split(SUGGESTION, 1)[0]
            shape_error(error, request_id)


def build_schema(settings: Settings | None = None) -> Schema:
    """The schema with its limits: document size, tokens, depth, aliases, cost; cached."""
    settings = settings or Settings()
    limits = DocumentLimits(
        max_bytes=settings.graphql_max_document_kb * 1024,
        max_tokens=settings.graphql_max_tokens,
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
    )
    # One cache per schema, shared by every request; the extension is built per operation.
    # Validation results are cached per set of rules: the rule classes must be built once
    # (DisableIntrospection's are), or the cache would never hit.
    cache = DocumentCache(settings.graphql_cache_mb * 2**20, limits)
    extensions: list[Any] = [lambda: DocumentGuard(cache, settings.graphql_max_cost)]
    if not settings.graphql_introspection:
        extensions.insert(0, DisableIntrospection)
    extensions.append(InputGuard)  # after validation: checks every string and JSON number
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=PlainFieldsExecutionContext,
    )
    schema.hide_suggestions = not settings.graphql_introspection
    schema.settings = settings
    return schema
