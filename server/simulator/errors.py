"""Errors in Mercado Livre's JSON shape: {"message", "error", "status", "cause"}."""

from __future__ import annotations


class ApiError(Exception):
    """An HTTP error answer of the simulated API."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        cause_code: str | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message)
        self.retry_after = retry_after  # seconds, sent as Retry-After (429s)
        self.status = status
        self.error = error
        self.message = message
        self.cause_code = cause_code

    def body(self) -> dict[str, object]:
        cause = [{"code": self.cause_code, "message": self.message}] if self.cause_code else []
        return {"message": self.message, "error": self.error, "status": self.status, "cause": cause}


def bad_request(error: str, message: str) -> ApiError:
    return ApiError(400, error, message, cause_code=error if "." in error else None)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def forbidden(message: str = "the access token does not grant this resource") -> ApiError:
    return ApiError(403, "forbidden", message)
