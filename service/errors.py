"""The API's error format and the catalogue of error codes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo.errors import ConnectionFailure
from quart import Quart, Response, g, jsonify
from werkzeug.exceptions import HTTPException

from service import SERVICE_NAME, VERSION

# [decided] API.md fixes the ranges; this is how they are used.
VALIDATION = "LUCID_ERR_9005"
NETWORK_UNAVAILABLE = "LUCID_ERR_9001"
NETWORK_TIMEOUT = "LUCID_ERR_9002"
NETWORK_REJECTED = "LUCID_ERR_9003"
RATE_LIMITED = "LUCID_ERR_9004"
UNAUTHORIZED = "LUCID_ERR_0401"
FORBIDDEN = "LUCID_ERR_0403"
NOT_FOUND = "LUCID_ERR_0404"
METHOD_NOT_ALLOWED = "LUCID_ERR_0405"
IDEMPOTENCY_CONFLICT = "LUCID_ERR_0409"
IDEMPOTENCY_MISMATCH = "LUCID_ERR_0422"
UNAVAILABLE = "LUCID_ERR_0503"
INTERNAL = "LUCID_ERR_0500"
WALLET_NOT_FOUND = "LUCID_ERR_1001"
WALLET_INACTIVE = "LUCID_ERR_1002"
WALLET_INSUFFICIENT_BALANCE = "LUCID_ERR_1003"
WALLET_CURRENCY_MISMATCH = "LUCID_ERR_1004"
WALLET_SAME_ADDRESS = "LUCID_ERR_1005"
USDT_TRANSFER_NOT_FOUND = "LUCID_ERR_1101"
USDT_INSUFFICIENT_BALANCE = "LUCID_ERR_1102"
PAYOUT_NOT_FOUND = "LUCID_ERR_1201"
PAYOUT_NOT_CANCELLABLE = "LUCID_ERR_1202"
PAYOUT_INSUFFICIENT_BALANCE = "LUCID_ERR_1203"
STAKE_BELOW_MINIMUM = "LUCID_ERR_1301"
STAKE_INSUFFICIENT = "LUCID_ERR_1302"
PAYMENT_NOT_FOUND = "LUCID_ERR_1401"
PAYMENT_NOT_REFUNDABLE = "LUCID_ERR_1402"
PAYMENT_OVER_REFUND = "LUCID_ERR_1403"
WEBHOOK_SIGNATURE_INVALID = "LUCID_ERR_1404"
PAYMENT_INSUFFICIENT_BALANCE = "LUCID_ERR_1405"


class ApiError(Exception):
    """Raised anywhere in a request; rendered in the API's error format."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


def invalid(field: str, problem: str) -> ApiError:
    """A 400 naming the field and what to fix."""
    return ApiError(400, VALIDATION, f"{field}: {problem}", {"field": field})


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details or {},
            "request_id": getattr(g, "request_id", None),
            "timestamp": datetime.now(UTC).isoformat(),
            "service": SERVICE_NAME,
            "version": VERSION,
        }
    }


def error_response(err: ApiError) -> Response:
    response = jsonify(error_body(err.code, err.message, err.details))
    response.status_code = err.status
    for name, value in err.headers.items():
        response.headers[name] = value
    return response


_HTTP_CODES = {401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 405: METHOD_NOT_ALLOWED}


def register_error_handlers(app: Quart) -> None:
    @app.errorhandler(ApiError)
    async def _api_error(err: ApiError) -> Response:
        return error_response(err)

    @app.errorhandler(HTTPException)
    async def _http_error(err: HTTPException) -> Response:
        status = err.code or 500
        code = _HTTP_CODES.get(status, VALIDATION if status < 500 else INTERNAL)
        message = err.description or err.name
        if status == 400:
            message = "the request is malformed: send a JSON object body with Content-Type: application/json"
        headers = {}
        valid_methods = getattr(err, "valid_methods", None)
        if status == 405 and valid_methods:
            # RFC 9110 §15.5.6: a 405 MUST carry Allow, listing the methods the resource supports.
            headers["Allow"] = ", ".join(sorted(valid_methods))
        return error_response(ApiError(status, code, message, headers=headers))

    @app.errorhandler(ConnectionFailure)
    async def _store_unreachable(err: ConnectionFailure) -> Response:
        # An outage, not a bug: tell clients (and the mesh's retries) to come back, as for the TRON node.
        app.logger.warning("database unreachable: %s", err)
        return error_response(
            ApiError(
                503, UNAVAILABLE, "the database is unreachable; retry shortly", headers={"Retry-After": "5"}
            )
        )

    @app.errorhandler(Exception)
    async def _unexpected(err: Exception) -> Response:
        app.logger.exception("unhandled error")
        return error_response(
            ApiError(500, INTERNAL, "internal error; quote the request_id when reporting it")
        )
