"""The OpenAPI document and the route table say the same thing: every route is documented with
who may call it, and every documented operation is served."""

from __future__ import annotations

from connectors.api.app import openapi_document
from connectors.api.http import Access
from connectors.api.routes import ROUTES

_METHODS = {"get", "post", "put", "patch", "delete"}


def _operations() -> dict[str, tuple[str, str, dict[str, object]]]:
    found = {}
    for path, item in openapi_document()["paths"].items():
        for method, op in item.items():
            if method in _METHODS:
                found[op["operationId"]] = (method.upper(), path, op)
    return found


def test_every_route_is_documented_with_its_access_and_every_operation_is_served() -> None:
    documented = _operations()
    served = {route.operation: route for route in ROUTES}
    assert set(documented) == set(served)
    for name, route in served.items():
        method, path, op = documented[name]
        assert (method, path) == (route.method, route.path), name
        assert op["x-access"] == route.access, name
        permission = route.permission.value if route.permission else None
        assert op.get("x-permission") == permission, name
        assert (op.get("security") == []) == (route.access == Access.PUBLIC), name


def test_every_operation_documents_its_refusals_in_the_one_error_shape() -> None:
    error = "#/components/responses/Error"
    for name, (_, _, op) in _operations().items():
        responses = op["responses"]
        assert isinstance(responses, dict)
        if op["x-access"] != Access.PUBLIC:
            assert responses.get("401") == {"$ref": error}, name
        if op.get("requestBody") is not None and "415" not in responses:
            assert name == "createImport" or "415" in responses, name
        for status, answer in responses.items():
            if int(status) >= 400:
                assert answer == {"$ref": error}, (name, status)


def test_the_document_is_a_valid_openapi_3_1_document() -> None:
    import schemathesis

    schema = schemathesis.openapi.from_dict(openapi_document())
    assert {op.ok().definition.raw["operationId"] for op in schema.get_all_operations()} == set(
        _operations()
    )


def test_the_documented_analytics_views_are_the_ones_served() -> None:
    from connectors.clickhouse.reports import ANALYTICS

    item = openapi_document()["paths"]["/v1/tenants/{tenant}/analytics/{view}"]
    [view] = [p for p in item["parameters"] if p.get("name") == "view"]
    assert view["schema"]["enum"] == list(ANALYTICS)
