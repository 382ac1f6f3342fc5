"""GraphQL over HTTP: Strawberry's ASGI view with media-type negotiation and JSON errors.

Follows the GraphQL-over-HTTP spec: `application/graphql-response+json` is accepted and
answered with, and under it requests that fail before execution (parse, validation,
variables) get a 4xx status and no `data` entry; `application/json` keeps the legacy 200.

Every request that is not GraphQL gets a coded JSON error, never a 500: a body or query string
over MAX_REQUEST_KB (413/414, refused while reading), a body that is not a JSON object, a
`query`/`variables`/`operationName`/`extensions` of the wrong type, an unsupported content
type (415), and a subscription over HTTP (400: subscriptions use the WebSocket).
Multipart requests (uploads) are read by Strawberry's multipart path, not here.
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
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from domain.errors import DomainError
from server.bootstrap import Container
from server.config import Settings
from server.graphiql import GraphiQLPage
from server.request_body import (
    BadContentLength,
    BodyTooLarge,
    declared_length,
    discard,
    read_limited,
    replay,
)
from server.schema import Schema
from server.schema.context import Context
from server.schema.errors import error_code
from server.uploads import parsed_multipart
from server.ws_auth import guard_socket

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
MULTIPART = "multipart/form-data"
# A refused body is read and dropped up to this size, so that the client sees the 413.
DISCARD_BYTES = 16 * 2**20
DISCARD_SECONDS = 10.0
USE_WEBSOCKET = (
    "Subscriptions are served over WebSocket only: connect to this same /graphql path with "
    "the graphql-transport-ws protocol and send the subscription there."
)


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
            request = await self._within_size_limit(request, scope, receive)
            response = await self.run(request)
        except BodyTooLarge as exc:
            if scope["method"] == "POST" and (declared_length(scope) or 0) <= DISCARD_BYTES:
                await discard(receive, DISCARD_BYTES, DISCARD_SECONDS)
            response = self._too_large_response(exc, scope, request.state.media_type)
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

    @property
    def settings(self) -> Settings:
        """The settings the schema was built with (create_app may be given its own)."""
        schema = self.schema
        return schema.settings if isinstance(schema, Schema) else self.container.settings

    @property
    def max_request_bytes(self) -> int:
        return self.settings.max_request_kb * 1024

    async def _within_size_limit(self, request: Request, scope: Scope, receive: Receive) -> Request:
        """The request with its body read within MAX_REQUEST_KB (multipart excepted)."""
        limit = self.max_request_bytes
        if scope["method"] == "GET":
            if len(scope.get("query_string") or b"") > limit:
                raise BodyTooLarge(limit)
            return request
        content_type, _ = parse_content_type(request.headers.get("content-type", ""))
        if scope["method"] != "POST" or content_type == MULTIPART:
            return request
        try:
            body = await read_limited(scope, receive, limit)
        except BadContentLength as exc:
            raise HTTPException(400, "The Content-Length header is not a number.") from exc
        new_request = Request(scope, replay(body, receive))
        new_request.state.media_type = request.state.media_type
        return new_request

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
            raise ConnectionRejectionError(
                {"message": exc.message, "code": error_code(exc)}
            ) from exc
        guard_socket(context)  # closes the socket when the token expires or is revoked
        return UNSET

    async def parse_multipart(self, request: Any) -> dict[str, Any]:
        # Read, size-checked and parsed before this view runs: see server/uploads.py.
        return parsed_multipart()  # type: ignore[return-value]

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        request.state.sub_response = sub_response
        sub_response.media_type_chosen = getattr(request.state, "media_type", JSON)  # type: ignore[attr-defined]
        return sub_response

    async def parse_http_body(self, request: Any) -> GraphQLRequestData:
        """The GraphQL request, checked for shape: one JSON object with fields of the right type."""
        if request.method == "GET":
            data: object = self.parse_query_params(request.query_params)
        else:
            content_type, _ = parse_content_type(request.content_type or "")
            if content_type == MULTIPART and self.multipart_uploads_enabled:
                data = await self.parse_multipart(request)
            elif content_type == JSON or content_type.endswith("+json"):
                data = self.parse_json(await request.get_body())
            else:
                raise HTTPException(
                    415,
                    f"Send the request as {JSON} (Content-Type header), or as {MULTIPART} "
                    "for file uploads; got "
                    f"{content_type or 'no Content-Type'}.",
                )
        return request_data(data)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return json.loads(data)
        except json.JSONDecodeError as exc:
            reason = f"The request is not valid JSON: {exc.msg} at character {exc.pos}."
        except UnicodeDecodeError:
            reason = "The request is not valid JSON: send it encoded as UTF-8."
        except (ValueError, RecursionError):
            reason = "The request is not valid JSON, or nests arrays and objects too deeply."
        raise HTTPException(400, reason)

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Strawberry's, with subscriptions refused: over HTTP they could only fail."""
        method = request_adapter.method
        allowed = OperationType.from_http(method) - {OperationType.SUBSCRIPTION}
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason()) from exc
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                raise HTTPException(400, USE_WEBSOCKET) from exc
            raise HTTPException(405, exc.as_http_error_reason(method)) from exc
        except MissingQueryError as exc:
            raise HTTPException(400, "No GraphQL query found in the request.") from exc

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        data = process_result(result)
        media_type = getattr(request.state, "media_type", JSON)
        errors = result.errors or []
        failed_before_execution = (
            result.data is None and bool(errors) and all(e.path is None for e in errors)
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

    def _error_response(
        self, message: str, status: int, media_type: str, **extensions: object
    ) -> Response:
        error = {"message": message, "extensions": {"code": "BAD_USER_INPUT", **extensions}}
        cost = {"requested": 0, "limit": self.settings.graphql_max_cost}
        body = {"errors": [error], "extensions": {"cost": cost}}
        return Response(
            json.dumps(body), status_code=status, media_type=f"{media_type}; charset=utf-8"
        )

    def _too_large_response(self, exc: BodyTooLarge, scope: Scope, media_type: str) -> Response:
        kb = exc.limit // 1024
        if scope["method"] == "GET":
            message = (
                f"The query string is larger than the {kb} KB limit (MAX_REQUEST_KB). "
                "Send large operations with POST."
            )
            status = 414
        else:
            size = f" ({exc.size} bytes)" if exc.size is not None else ""
            message = (
                f"The request body{size} is larger than the {kb} KB limit (MAX_REQUEST_KB). "
                "Send a smaller document or fewer variables; upload files as multipart."
            )
            status = 413
        response = self._error_response(message, status, media_type, limitBytes=exc.limit)
        response.headers["connection"] = "close"
        return response


def request_data(data: object) -> GraphQLRequestData:
    """One GraphQL request from a decoded body or query string; 400 unless it is one."""
    if isinstance(data, list):
        raise HTTPException(400, "Batching is not enabled: send one operation per request.")
    if not isinstance(data, dict):
        raise HTTPException(
            400,
            "The request must be a JSON object like "
            '{"query": "...", "variables": {...}, "operationName": "..."}; '
            f"got {type(data).__name__ if data is not None else 'null'}.",
        )
    expected = {
        "query": (str, "a string"),
        "operationName": (str, "a string"),
        "variables": (dict, "an object"),
        "extensions": (dict, "an object"),
    }
    for key, (kind, described) in expected.items():
        value = data.get(key)
        if value is not None and not isinstance(value, kind):
            raise HTTPException(400, f"`{key}` must be {described} or null, if provided.")
    return GraphQLRequestData(
        query=data.get("query"),
        variables=data.get("variables"),
        operation_name=data.get("operationName"),
        extensions=data.get("extensions"),
        protocol="http",
    )
