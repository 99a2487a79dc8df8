from __future__ import annotations

import importlib
import inspect
from types import ModuleType

import pytest

import connectors.waha
from connectors.waha import errors
from streams.base.errors import CobrancaError

MODULES = [
    "connectors.waha",
    "connectors.waha.client",
    "connectors.waha.dispatch",
    "connectors.waha.dispatcher",
    "connectors.waha.simulator",
    "connectors.waha.normalize",
    "connectors.waha.receiver",
    "connectors.waha.signatures",
    "connectors.waha.wire",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_every_exported_name_exists(module_name: str) -> None:
    module = importlib.import_module(module_name)
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.{name}"


def test_the_normalize_module_is_not_shadowed_by_its_function() -> None:
    assert isinstance(connectors.waha.normalize, ModuleType)


def test_every_error_is_exported_and_documented_in_one_line() -> None:
    classes = [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if obj.__module__ == errors.__name__
    ]
    assert classes
    for cls in classes:
        assert issubclass(cls, errors.WahaError), cls
        assert issubclass(cls, CobrancaError), cls
        assert cls.__name__ in connectors.waha.__all__, cls
        doc = cls.__doc__ or ""
        assert doc.strip() and "\n" not in doc.strip(), cls
