"""GraphQL over HTTP: Strawberry's ASGI view with media-type negotiation and JSON errors.

Follows the GraphQL-over-HTTP spec: `application/graphql-response+json` is accepted and
answered with, and under it requests that fail before execution (parse, validation,
variables) get a 4xx status and no `data` entry; `application/json` keeps the legacy 200.
"""

from __future__ import annotations

import json
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from domain.errors import DomainError
from server.bootstrap import Container
from server.graphiql import GraphiQLPage
from server.schema import Schema
from server.schema.context import Context
from server.uploads import parsed_multipart
from server.ws_auth import guard_socket

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header, or None when nothing fits."""
    if not accept or not accept.strip():
        return JSON
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if media == GRAPHQL_RESPONSE:
            ranked.append((quality, -position, GRAPHQL_RESPONSE))
        elif media in (JSON, "application/*", "*/*"):
            ranked.append((quality, -position, JSON))
    return max(ranked)[2] if ranked else None


class GraphQLView(GraphQL[Context, None]):
    """The `/graphql` endpoint: HTTP (GET, POST, multipart uploads), WebSocket, GraphiQL."""

    def __init__(self, container: Container, schema: Schema, graphiql: GraphiQLPage | None) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            multipart_uploads_enabled=True,
        )
        self.container = container
        self._graphiql = graphiql

    async def render_graphql_ide(self, request: Request) -> Response:
        if self._graphiql is None:  # not reached: should_render_graphql_ide says no first
            raise HTTPException(404, "GraphiQL is off on this server.")
        return self._graphiql.response(request)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # Only a browser asking for HTML gets the page, and only when GraphiQL is on; otherwise
        # a GET without a query is answered as the GraphQL-over-HTTP spec says (400, or 406).
        return (
            self._graphiql is not None
            and request.method == "GET"
            and request.query_params.get("query") is None
            and "text/html" in request.headers.get("accept", "")
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        media_type = negotiate(request.headers.get("accept"))
        request.state.media_type = media_type or JSON
        try:
            if media_type is None and not self._wants_ide(request):
                raise HTTPException(
                    406, f"Accept {JSON} or {GRAPHQL_RESPONSE}; nothing else is served here."
                )
            response = await self.run(request)
        except HTTPException as exc:
            response = self._error_response(exc.reason, exc.status_code, request.state.media_type)
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        """JSON that Python's parser gives up on (nested too deep, an integer of over 4300
        digits) is a bad request like any malformed JSON, not a server error."""
        try:
            return super().decode_json(data)
        except (RecursionError, ValueError) as exc:
            raise HTTPException(400, "Unable to parse request body as JSON") from exc

    def _wants_ide(self, request: Request) -> bool:
        return self._graphiql is not None and "text/html" in request.headers.get("accept", "")

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        context = Context(
            container=self.container,
            authorization=request.headers.get("authorization"),
            request=request,
            response=response,
        )
        request_id = request.scope.get("state", {}).get("request_id")
        if request_id:
            context.request_id = request_id
        await context.authenticate()
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a WebSocket from its connection_init payload (both protocols)."""
        params = context.connection_params or {}
        if not isinstance(params, dict):
            params = {}
        given = params.get("authorization") or params.get("Authorization")
        if given:
            context.authorization = str(given)
        await context.authenticate()
        try:
            context.principal  # noqa: B018  (validates the token now)
        except DomainError as exc:
            raise ConnectionRejectionError({"message": exc.message, "code": exc.code}) from exc
        guard_socket(context)  # closes the socket when the token expires or is revoked
        return UNSET

    async def parse_multipart(self, request: Any) -> dict[str, Any]:  # type: ignore[override]
        # Read, size-checked and parsed before this view runs: see server/uploads.py.
        return parsed_multipart()  # type: ignore[return-value]

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        request.state.sub_response = sub_response
        sub_response.media_type_chosen = getattr(request.state, "media_type", JSON)  # type: ignore[attr-defined]
        return sub_response

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        data = process_result(result)
        media_type = getattr(request.state, "media_type", JSON)
        failed_before_execution = (
            result.data is None
            and bool(result.errors)
            and all(e.path is None for e in result.errors)
        )
        if media_type == GRAPHQL_RESPONSE and failed_before_execution:
            request.state.sub_response.status_code = 400
            data.pop("data", None)
        return data

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        response = super().create_response(response_data, sub_response)
        return self._with_media_type(response, sub_response)

    def _with_media_type(self, response: Response, sub_response: Response) -> Response:
        media_type = getattr(sub_response, "media_type_chosen", None)
        if media_type:
            response.headers["content-type"] = f"{media_type}; charset=utf-8"
        return response

    @staticmethod
    def _error_response(message: str, status: int, media_type: str) -> Response:
        body = {"errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}]}
        return Response(
            json.dumps(body), status_code=status, media_type=f"{media_type}; charset=utf-8"
        )
