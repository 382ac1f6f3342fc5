"""Multipart uploads (the GraphQL multipart request spec), checked before the file is read.

`UploadGuard` wraps the `/graphql` HTTP endpoint. For a POST it does, in this order:

1. CSRF: a request a browser can send cross-site without a preflight (no Content-Type, or
   multipart/form-data, text/plain, application/x-www-form-urlencoded) must carry
   `Authorization` or `GraphQL-Require-Preflight` (Apollo's rule, renamed); else 400.
2. For multipart only, before one body byte is read: the bearer token must be valid
   (401 UNAUTHENTICATED) and allowed to write (403 FORBIDDEN); a declared Content-Length over
   the upload limit (plus a small allowance for the other parts) is 413.
3. The body is parsed as it streams in, with Starlette's multipart parser (python-multipart
   underneath) fed through a byte cap, so a chunked body without Content-Length stops at the
   limit too. `operations` and `map` are checked (coded 400s, never a 500) and the files are
   put in place of their placeholders.
4. The GraphQL view runs with the parsed request (`parsed_multipart`), and every temporary
   file is closed, and so removed, whatever happens: success, error or a client that went away.

Only the streaming cap and the spec's `map` handling are written here; parsing is Starlette's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator
from contextvars import ContextVar
from typing import Any

from cross_web import HTTPException
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import DomainError
from server.bootstrap import Container
from server.schema.context import bearer_token
from server.schema.errors import error_code

log = logging.getLogger("mlproject.uploads")

PREFLIGHT_HEADER = "graphql-require-preflight"
SIMPLE_CONTENT_TYPES = frozenset(
    {"", "multipart/form-data", "text/plain", "application/x-www-form-urlencoded"}
)
FORM_ALLOWANCE_BYTES = 256 * 1024  # `operations`, `map` and part headers, beside the files
MAX_FIELD_BYTES = 128 * 1024  # one non-file part (`operations` or `map`)
MAX_FILES = 10
MAX_FIELDS = 10
GRAPHQL_RESPONSE = "application/graphql-response+json"

Operations = dict[str, Any] | list[Any]
_parsed: ContextVar[Operations | None] = ContextVar("graphql_multipart", default=None)


class UploadRefused(Exception):
    """A multipart request answered before (or while) its body is read."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class UploadGuard:
    """ASGI wrapper of the GraphQL endpoint: CSRF, size and sign-in checks, streamed parsing."""

    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container
        self.max_file_bytes = container.settings.max_upload_bytes
        self.max_body_bytes = self.max_file_bytes + FORM_ALLOWANCE_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            check_preflight(headers, content_type)
            if content_type != "multipart/form-data":
                await self.app(scope, receive, send)
                return
            await self._multipart(scope, receive, send, headers)
        except UploadRefused as refused:
            log.info(
                "upload.refused",
                extra={"status": refused.status, "code": refused.code, "reason": refused.message},
            )
            await _refusal(refused, headers)(scope, receive, send)
        except ClientDisconnect:
            log.info("upload.disconnected", extra={"path": scope.get("path")})

    async def _multipart(
        self, scope: Scope, receive: Receive, send: Send, headers: Headers
    ) -> None:
        await self._authenticate(headers)
        self._check_declared_length(headers)
        form: FormData | None = None
        try:
            try:
                form = await MultiPartParser(
                    headers,
                    self._capped(receive),
                    max_files=MAX_FILES,
                    max_fields=MAX_FIELDS,
                    max_part_size=MAX_FIELD_BYTES,
                ).parse()
            except MultiPartException as exc:
                raise UploadRefused(
                    400, "BAD_USER_INPUT", f"Malformed multipart body: {exc}"
                ) from exc
            parsed = graphql_request_of(form)
            token = _parsed.set(parsed)
            try:
                await self.app(scope, _drained, send)
            finally:
                _parsed.reset(token)
        finally:
            if form is not None:
                await form.close()  # closes (and so deletes) every spooled temporary file

    def _check_declared_length(self, headers: Headers) -> None:
        declared = headers.get("content-length")
        if declared is None:
            return
        try:
            length = int(declared)
        except ValueError:
            raise UploadRefused(400, "BAD_USER_INPUT", "Content-Length must be a number.") from None
        if length > self.max_body_bytes:
            raise self._too_large()

    def _too_large(self) -> UploadRefused:
        return UploadRefused(
            413,
            "BAD_USER_INPUT",
            f"The upload is larger than the {self.max_file_bytes / 2**20:g} MiB limit.",
        )

    async def _authenticate(self, headers: Headers) -> None:
        try:
            # The full check (user, session and token version), as for any other request.
            principal, _ = await self.container.accounts.authenticate_user(
                bearer_token(headers.get("authorization"))
            )
            principal.require_write()
        except DomainError as exc:
            code = error_code(exc)
            status = 401 if code == "UNAUTHENTICATED" else 403
            raise UploadRefused(status, code, exc.message) from exc

    async def _capped(self, receive: Receive) -> AsyncGenerator[bytes, None]:
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_body_bytes:
                raise self._too_large()
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return


async def _drained() -> Message:
    """What the GraphQL view gets as `receive`: the body was consumed by the parser."""
    return {"type": "http.request", "body": b"", "more_body": False}


def check_preflight(headers: Headers, content_type: str) -> None:
    """Refuse a request a browser could send from another site without asking first."""
    if content_type not in SIMPLE_CONTENT_TYPES:
        return
    if headers.get("authorization") or headers.get(PREFLIGHT_HEADER, "").strip():
        return
    shown = content_type or "no Content-Type"
    raise UploadRefused(
        400,
        "BAD_USER_INPUT",
        f"This request ({shown}) could come from any web page, so it needs a header a browser "
        "only sends after asking the server: add 'Authorization: Bearer <accessToken>' "
        "or 'GraphQL-Require-Preflight: 1'.",
    )


def graphql_request_of(form: FormData) -> Operations:
    """`operations` with each file put where `map` says (GraphQL multipart request spec)."""
    operations = _json_field(form, "operations", (dict, list))
    files_map = _json_field(form, "map", (dict,))
    for part, paths in files_map.items():
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise _bad(f"`map` entry {part!r} must be a list of paths like 'variables.file'.")
        upload = form.get(part)
        if upload is None:
            raise _bad(f"`map` names the part {part!r}, but the request has no such part.")
        if not isinstance(upload, UploadFile):
            raise _bad(f"The part {part!r} must be a file (with a filename), not a text field.")
        for path in paths:
            _put(operations, path, upload)
    return operations


def parsed_multipart() -> Operations:
    """The request `UploadGuard` parsed, for the GraphQL view's `parse_multipart`."""
    parsed = _parsed.get()
    if parsed is None:
        raise HTTPException(400, "Multipart requests are only accepted on /graphql.")
    return parsed


def _json_field(form: FormData, name: str, kinds: tuple[type, ...]) -> Any:
    raw = form.get(name)
    if raw is None:
        raise _bad(f"The multipart request has no `{name}` part (GraphQL multipart request spec).")
    if not isinstance(raw, str):
        raise _bad(f"The `{name}` part must be a JSON text field, not a file.")
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise _bad(f"The `{name}` part is not valid JSON: {exc}.") from exc
    if not isinstance(value, kinds):
        wanted = " or ".join("an object" if k is dict else "a list" for k in kinds)
        raise _bad(f"The `{name}` part must be {wanted}.")
    return value


def _put(operations: Operations, path: str, upload: UploadFile) -> None:
    *parents, last = path.split(".")
    target: Any = operations
    try:
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = upload
        elif isinstance(target, dict) and last in target:
            target[last] = upload
        else:
            raise KeyError(last)
    except (KeyError, IndexError, ValueError, TypeError):
        raise _bad(
            f"`map` path {path!r} does not name a null placeholder in `operations`."
        ) from None


def _bad(message: str) -> UploadRefused:
    return UploadRefused(400, "BAD_USER_INPUT", message)


def _refusal(refused: UploadRefused, headers: Headers) -> Response:
    media = (
        GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in headers.get("accept", "") else "application/json"
    )
    body = {"errors": [{"message": refused.message, "extensions": {"code": refused.code}}]}
    response = Response(
        json.dumps(body), status_code=refused.status, media_type=f"{media}; charset=utf-8"
    )
    if refused.status == 401:
        response.headers["www-authenticate"] = "Bearer"
    # No `Connection: close`: closing with unread body bytes makes the kernel reset the
    # connection, and the client may lose this answer. The server discards the rest unread.
    return response
