from __future__ import annotations

import inspect

import connectors.clickhouse
from connectors.clickhouse import errors
from streams.base.errors import CobrancaError


def test_every_exported_name_exists() -> None:
    for name in connectors.clickhouse.__all__:
        assert hasattr(connectors.clickhouse, name), name


def test_every_error_is_exported_and_documented_in_one_line() -> None:
    classes = [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if obj.__module__ == errors.__name__
    ]
    assert classes
    for cls in classes:
        assert issubclass(cls, errors.ClickHouseError), cls
        assert issubclass(cls, CobrancaError), cls
        assert cls.__name__ in connectors.clickhouse.__all__, cls
        doc = cls.__doc__ or ""
        assert doc.strip() and "\n" not in doc.strip(), cls
