"""What every package exports: its `__all__` names exist, and its errors are the project's.

One test for the whole tree (the habit of httpx's tests/test_exported_members.py): every module
that declares `__all__` has each name, every `errors` module's classes derive from the one root
with a one-line docstring, an adapter package (schemas, connectors, models, infra) has one error
a caller can catch, and a package that declares `__all__` exports its own errors.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

from streams.base.errors import CobrancaError

ROOTS = ("streams", "schemas", "connectors", "models", "infra")


def _modules() -> list[str]:
    names: list[str] = []
    for root in ROOTS:
        package = importlib.import_module(root)
        names.append(root)
        for info in pkgutil.walk_packages(package.__path__, f"{root}."):
            names.append(info.name)
    return sorted(names)


MODULES = _modules()
ERROR_MODULES = [name for name in MODULES if name.rsplit(".", 1)[-1] == "errors"]


def _own_classes(module: ModuleType) -> list[type]:
    return [
        obj
        for _, obj in inspect.getmembers(module, inspect.isclass)
        if obj.__module__ == module.__name__
    ]


@pytest.mark.parametrize("name", MODULES)
def test_every_exported_name_exists(name: str) -> None:
    module = importlib.import_module(name)
    for exported in getattr(module, "__all__", ()):
        assert hasattr(module, exported), f"{name}.__all__ names {exported!r}, which it lacks"


@pytest.mark.parametrize("name", ERROR_MODULES)
def test_every_error_derives_from_the_root_and_says_what_it_is_in_one_line(name: str) -> None:
    module = importlib.import_module(name)
    errors = [cls for cls in _own_classes(module) if issubclass(cls, BaseException)]
    assert errors, f"{name} declares no error"
    for cls in errors:
        assert issubclass(cls, CobrancaError), f"{cls.__qualname__} is not a CobrancaError"
        doc = (cls.__doc__ or "").strip()
        assert doc and "\n" not in doc, f"{cls.__qualname__}: a one-line docstring"


@pytest.mark.parametrize("name", [m for m in ERROR_MODULES if not m.startswith("streams.")])
def test_an_adapter_package_has_one_error_to_catch(name: str) -> None:
    module = importlib.import_module(name)
    errors = [cls for cls in _own_classes(module) if issubclass(cls, BaseException)]
    roots = [cls for cls in errors if CobrancaError in cls.__bases__]
    assert len(roots) == 1, f"{name}: one package error under CobrancaError, not {roots}"
    assert all(issubclass(cls, roots[0]) for cls in errors), f"{name}: outside {roots[0]}"


@pytest.mark.parametrize("name", [m for m in ERROR_MODULES if m.count(".") > 1])
def test_a_package_that_declares_its_exports_exports_its_errors(name: str) -> None:
    package = importlib.import_module(name.rsplit(".", 1)[0])
    if not hasattr(package, "__all__"):
        pytest.skip(f"{package.__name__} re-exports nothing")
    module = importlib.import_module(name)
    for cls in _own_classes(module):
        if issubclass(cls, BaseException):
            assert cls.__name__ in package.__all__, f"{package.__name__} does not export {cls}"
