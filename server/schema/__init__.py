"""The GraphQL schema: area modules merged into one Query and one Mutation, with limits."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from graphql import GraphQLError
from server.config import Settings
from server.schema.accounts import AccountMutation, AccountQuery
from server.schema.campaigns import CampaignMutation, CampaignQuery
from server.schema.datasets import DatasetMutation, DatasetQuery
from server.schema.errors import shape_error
from server.schema.experiments import ExperimentMutation, ExperimentQuery  # before runs
from server.schema.input_guard import InputGuard
from server.schema.runs import RunMutation, RunQuery, RunSubscription

Query = merge_types("Query", (AccountQuery, DatasetQuery, ExperimentQuery, RunQuery, CampaignQuery))
Mutation = merge_types(
    "Mutation",
    (AccountMutation, DatasetMutation, ExperimentMutation, RunMutation, CampaignMutation),
)
Subscription = merge_types("Subscription", (RunSubscription,))


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Shape every error once, in place, wherever it arose (parse, validation, resolvers)."""
        context = execution_context.context if execution_context else None
        request_id = getattr(context, "request_id", "-")
        for error in errors:
            shape_error(error, request_id)


def build_schema(settings: Settings | None = None) -> Schema:
    """The schema with parse/validation caches and depth, alias and token limits."""
    settings = settings or Settings()
    # The limit rules are built once: ValidationCache keys on the rule classes, and the
    # limiters make a new class per instance, which would defeat the cache.
    limits = [
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
    ]
    # Factories, so that each operation gets fresh extension instances; Strawberry keeps the
    # parse and validation caches at module level, shared by every request.
    extensions: list[Any] = [
        lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
        lambda: ParserCache(maxsize=512),
        lambda: AddValidationRules(limits),
        lambda: ValidationCache(maxsize=512),
    ]
    if not settings.graphql_introspection:
        extensions.append(DisableIntrospection)
    extensions.append(InputGuard)  # after validation: checks every string and JSON number
    return Schema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions)
