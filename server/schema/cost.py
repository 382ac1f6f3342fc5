"""Query cost: how many objects an operation may return, computed before execution.

In the spirit of GitHub's node limit and Shopify's calculated cost:
- a scalar or enum field costs nothing (it is read from an object already loaded);
- an object field costs 1 plus the cost of its selection;
- a field with a `first` argument (a connection, or a list like `Run.events`) multiplies what
  it holds by `first`: the literal, the variable's value, the variable's default, the
  argument's default, or the default page size (20) when none is given. Inside a connection,
  `edges` and `nodes` are lists of `first` items;
- any other list counts as a page of the default size (20);
- nested lists multiply; aliases and fragment spreads add up (an upper bound: execution may
  merge duplicate fields, the cost never does).

Each fragment is costed once per (fragment, enclosing page size), so the walk is linear in
the document even when fragments spread each other many times. No library computes this for
graphql-core (graphql-query-complexity is JavaScript), hence this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.pagination import DEFAULT_PAGE_SIZE
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    ValueNode,
    VariableNode,
    is_leaf_type,
    value_from_ast_untyped,
)
from server.schema.limits import SATURATED, fragments, limit_error, operations

PAGE_ARGUMENT = "first"


@dataclass(slots=True)
class _Walk:
    """One costing of one operation with one set of variables."""

    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    variable_defaults: dict[str, Any]
    used_variables: set[str] = field(default_factory=set)
    memo: dict[tuple[str, int | None], int] = field(default_factory=dict)
    visiting: set[str] = field(default_factory=set)

    def selections(
        self, parent: GraphQLNamedType | None, selection_set: SelectionSetNode, page: int | None
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(parent, selection, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selections(inner, selection.selection_set, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value, page)
        return min(total, SATURATED)

    def fragment(self, name: str, page: int | None) -> int:
        key = (name, page)
        known = self.memo.get(key)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:
            return 0  # undefined or cyclic: validation refuses the document anyway
        self.visiting.add(name)
        parent = self.schema.get_type(definition.type_condition.name.value)
        cost = self.selections(parent, definition.selection_set, page)
        self.visiting.discard(name)
        self.memo[key] = cost
        return cost

    def field(self, parent: GraphQLNamedType | None, node: FieldNode, page: int | None) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0 if name == "__typename" else 1
        if not isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0  # unknown field: validation refuses it
        output = definition.type
        if isinstance(output, GraphQLNonNull):
            output = output.of_type
        is_list = isinstance(output, GraphQLList)
        while isinstance(output, (GraphQLList, GraphQLNonNull)):
            output = output.of_type
        if is_leaf_type(output) or node.selection_set is None:
            return 0
        size = self.page_size(node, definition.args) if PAGE_ARGUMENT in definition.args else None
        if is_list:
            items = size if size is not None else page if page is not None else DEFAULT_PAGE_SIZE
            return min(items * (1 + self.selections(output, node.selection_set, None)), SATURATED)
        # An object; a connection passes its page size to its edges and nodes.
        return 1 + self.selections(output, node.selection_set, size)

    def page_size(self, node: FieldNode, arguments: Mapping[str, Any]) -> int:
        given: Any = Undefined
        for argument in node.arguments or ():
            if argument.name.value == PAGE_ARGUMENT:
                given = self.value(argument.value)
        if given is Undefined or given is None:
            default = arguments[PAGE_ARGUMENT].default_value
            given = default if isinstance(default, int) else DEFAULT_PAGE_SIZE
        if not isinstance(given, int) or isinstance(given, bool):
            return DEFAULT_PAGE_SIZE  # execution refuses the value with its own message
        return max(given, 0)

    def value(self, node: ValueNode) -> Any:
        if isinstance(node, VariableNode):
            name = node.name.value
            self.used_variables.add(name)
            if name in self.variables:
                return self.variables[name]
            return self.variable_defaults.get(name, Undefined)
        if isinstance(node, IntValueNode):
            return int(node.value)
        return Undefined


def _select(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    for operation in operations(document):
        if operation_name is None or (operation.name and operation.name.value == operation_name):
            return operation
    return None


def _root(schema: GraphQLSchema, operation: OperationDefinitionNode) -> GraphQLObjectType | None:
    kind = operation.operation.value
    return {
        "query": schema.query_type,
        "mutation": schema.mutation_type,
        "subscription": schema.subscription_type,
    }[kind]


@dataclass(slots=True)
class CostCache:
    """The cost of one document per operation and per value of the variables it depends on."""

    used_variables: dict[str | None, tuple[str, ...]] = field(default_factory=dict)
    costs: dict[tuple[Any, ...], int] = field(default_factory=dict)
    max_entries: int = 16

    def cost(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> int:
        variables = variables or {}
        names = self.used_variables.get(operation_name)
        key: tuple[Any, ...] | None = None
        if names is not None:
            key = (operation_name, *(_hashable(variables.get(n, Undefined)) for n in names))
            known = self.costs.get(key)
            if known is not None:
                return known
        cost, used = operation_cost(schema, document, operation_name, variables)
        self.used_variables[operation_name] = used
        if key is None:
            key = (operation_name, *(_hashable(variables.get(n, Undefined)) for n in used))
        if len(self.costs) < self.max_entries:
            self.costs[key] = cost
        return cost


def _hashable(value: Any) -> Any:
    return value if isinstance(value, (int, str, type(None))) else repr(value)


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None = None,
) -> tuple[int, tuple[str, ...]]:
    """The cost of the operation that would run, and the variables that cost depends on."""
    operation = _select(document, operation_name)
    if operation is None:
        return 0, ()
    root = _root(schema, operation)
    if root is None:
        return 0, ()
    defaults = {
        d.variable.name.value: value_from_ast_untyped(d.default_value)
        for d in operation.variable_definitions or ()
        if d.default_value is not None
    }
    walk = _Walk(schema, fragments(document), variables or {}, defaults)
    try:
        cost = walk.selections(root, operation.selection_set, None)
    except RecursionError:
        cost = SATURATED
    return cost, tuple(sorted(walk.used_variables))


def cost_error(requested: int, limit: int) -> GraphQLError:
    return limit_error(
        f"This query may return about {requested} objects; the limit is {limit} "
        "(GRAPHQL_MAX_COST). Lower `first` on nested connections (each multiplies what it "
        "holds), select fewer nested lists or aliases, or split the query and page through "
        "the results.",
        cost={"requested": requested, "limit": limit},
    )
