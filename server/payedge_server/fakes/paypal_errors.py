"""PayPal's error catalogue: names, messages and issues as PayPal's OpenAPI documents them.

Body: ``{name, message, debug_id, details: [{field, value, location, issue, description}],
links}``; the name and message follow the HTTP status (400 INVALID_REQUEST, 401
AUTHENTICATION_FAILURE, 404 RESOURCE_NOT_FOUND, 409 RESOURCE_CONFLICT, 422
UNPROCESSABLE_ENTITY, 500 INTERNAL_SERVER_ERROR), the ``issue`` names the precise fault.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from payedge_server.fakes.base import JSON, Reject, json_response
from payedge_server.fakes.paypal_money import MoneyIssue

_ERROR_NAMES = {
    400: ("INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema."),
    401: (
        "AUTHENTICATION_FAILURE",
        "Authentication failed due to missing authorization header, or invalid authentication credentials.",
    ),
    404: ("RESOURCE_NOT_FOUND", "The specified resource does not exist."),
    405: ("METHOD_NOT_SUPPORTED", "The server does not implement the requested HTTP method."),
    409: ("RESOURCE_CONFLICT", "The server has detected a conflict while processing this request."),
    415: ("UNSUPPORTED_MEDIA_TYPE", "The server does not support the request payload's media type."),
    422: (
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed business validation.",
    ),
    500: ("INTERNAL_SERVER_ERROR", "An internal server error occurred."),
}
_ISSUES = {
    "MALFORMED_REQUEST_JSON": "The request JSON is not well formed.",
    "MISSING_REQUIRED_PARAMETER": "A required field / parameter is missing.",
    "INVALID_PARAMETER_SYNTAX": "The value of a field does not conform to the expected format.",
    "INVALID_PARAMETER_VALUE": "A parameter value is not valid.",
    "INVALID_STRING_LENGTH": "The value of a field is either too short or too long.",
    "NOT_SUPPORTED": "This field is not currently supported.",
    "INVALID_RESOURCE_ID": "Specified resource ID does not exist. Please check the resource ID and try "
    "again.",
    "INVALID_CURRENCY_CODE": "Currency code is invalid or is not currently supported.",
    "DECIMALS_NOT_SUPPORTED": "Currency does not support decimals.",
    "DECIMAL_PRECISION": "If the currency supports decimals, only two decimal place precision is supported.",
    "CANNOT_BE_ZERO_OR_NEGATIVE": "Must be greater than zero. If the currency supports decimals, only two "
    "decimal place precision is supported.",
    "MAX_VALUE_EXCEEDED": "Should be less than or equal to 999999999999999.99.",
    "ORDER_NOT_APPROVED": "Payer has not yet approved the Order for payment. Please redirect the payer to "
    "the 'rel':'approve' url returned as part of the HATEOAS links within the Create Order call or provide "
    "a valid payment_source in the request.",
    "ORDER_ALREADY_CAPTURED": "Order already captured.If 'intent=CAPTURE' only one capture per order is "
    "allowed.",
    "INSTRUMENT_DECLINED": "The instrument presented  was either declined by the processor or bank, or it "
    "can't be used for this payment.",
    "PAYEE_ACCOUNT_RESTRICTED": "The merchant account is restricted.",
    "REFUND_CAPTURE_CURRENCY_MISMATCH": "Refund must be in the same currency as the capture.",
    "REFUND_AMOUNT_EXCEEDED": "The refund amount must be less than or equal to the capture amount that has "
    "not yet been refunded.",
    "CAPTURE_FULLY_REFUNDED": "The capture has already been fully refunded.",
    "REFUND_FAILED_INSUFFICIENT_FUNDS": "Capture could not be refunded due to insufficient funds.",
    "PREVIOUS_REQUEST_IN_PROGRESS": "A previous request on this resource is currently in progress. Please "
    "wait for sometime and try again.",
}


def error(
    status: int, issue: str | None = None, *, field: str = "", value: str = "", location: str = "body"
) -> web.Response:
    """A PayPal error body; `issue` adds one `details` entry."""
    name, message = _ERROR_NAMES.get(status) or _ERROR_NAMES[400 if status < 500 else 500]
    body: JSON = {"name": name, "message": message, "debug_id": secrets.token_hex(7)}
    if issue is not None:
        detail = {"issue": issue, "description": _ISSUES.get(issue, issue), "location": location}
        detail.update({k: v for k, v in (("field", field), ("value", value)) if v})
        body["details"] = [detail]
    body["links"] = [
        {
            "href": f"https://developer.paypal.com/api/rest/reference/orders/v2/errors/#{issue or name}",
            "rel": "information_link",
            "method": "GET",
        }
    ]
    return json_response(body, status=status)


def money_error(problem: MoneyIssue) -> Reject:
    return Reject(error(problem.status, problem.issue, field=problem.field, value=problem.value))
