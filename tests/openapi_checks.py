"""The schemathesis checks both OpenAPI documents are held to: no 500, and a documented status, content
type and body for every answer. validate_response raises a FailureGroup naming each failure."""

from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def assert_documented(case, response) -> None:
    assert response.status_code < 500, response.text[:500]
    case.validate_response(response, checks=CONFORMANCE)
