"""How flows show their items: ``item_repr``, and ``FunctionItem`` for a function read back."""

from __future__ import annotations

import types

from ..reprs import make_repr

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ['FunctionItem', 'as_read', 'item_repr', 'plain']

_FUNCTION_TYPES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.BuiltinMethodType)


def item_repr(item: Any) -> str:
    """How a flow draws one of its items: modules and flows by their own repr, functions by name."""
    if isinstance(item, _FUNCTION_TYPES):
        name = getattr(item, '__name__', '?')
        return make_repr('Function', type(item).__name__, name='lambda' if name == '<lambda>' else name)
    return repr(item)


class FunctionItem:
    """A function item read back from a flow (``p.f1``): it prints as ``<Function ...>``, as in
    LazyLLM, and otherwise behaves as the function (calls, attributes, ``isinstance``).

    Flows keep the functions themselves and run them directly: only reading an item back wraps it.
    """

    __slots__ = ('_f',)

    def __init__(self, f: Callable[..., Any]) -> None:
        object.__setattr__(self, '_f', f)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance() sees the wrapped function's type
        return type(self._f)

    def __call__(self, *args: Any, **kw: Any) -> Any:
        return self._f(*args, **kw)

    def __getattr__(self, name: str) -> Any:
        if name == '_f':  # not set yet (an object being copied): no recursion through __getattr__
            raise AttributeError(name)
        return getattr(self._f, name)

    def __reduce__(self) -> tuple[Any, ...]:
        return FunctionItem, (self._f,)

    def __repr__(self) -> str:
        return item_repr(self._f)


def as_read(item: Any) -> Any:
    """How an item is handed out by name or to ``for_each``: functions wrapped, the rest as they are."""
    return FunctionItem(item) if isinstance(item, _FUNCTION_TYPES) else item


def plain(item: Any) -> Any:
    """The item a value handed out by a flow stands for (a ``FunctionItem`` stands for its function)."""
    return item._f if type(item) is FunctionItem else item


