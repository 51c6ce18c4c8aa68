"""Attributes of a package that are imported the first time they are read (PEP 562)."""

from __future__ import annotations

import importlib
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def lazy_attributes(package: str, table: dict[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package``: ``table`` maps a name to the (possibly relative)
    module that defines it; the value is imported on first use and kept in the package."""

    def load(name: str) -> object:
        where = table.get(name)
        if where is None:
            raise AttributeError(f'module {package!r} has no attribute {name!r}')
        value = getattr(importlib.import_module(where, package), name)
        sys.modules[package].__dict__[name] = value
        return value

    return load
