"""The value types flows pass between their items: ``package`` and ``kwargs``."""

from __future__ import annotations

import types

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


__all__ = ['arguments', 'kwargs', 'package']


class package(tuple):  # type: ignore[type-arg]  # noqa: N801 - LazyLLM's public name
    """Several values travelling as one: a flow item called with a package gets them spread out.

    ``package(1, 2) == (1, 2)``; a single list, tuple or generator is unpacked
    (``package([1, 2]) == (1, 2)``), any other single value is wrapped (``package(5) == (5,)``).
    Slices and ``+`` give packages again.
    """

    def __new__(cls, *args: Any) -> package:
        if len(args) == 1 and isinstance(args[0], (tuple, list, types.GeneratorType)):
            return super().__new__(cls, args[0])
        return super().__new__(cls, args)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return package(tuple.__getitem__(self, key))
        return tuple.__getitem__(self, key)

    def __add__(self, other: tuple[Any, ...]) -> package:
        return package(tuple(self) + tuple(other))


class kwargs(dict):  # type: ignore[type-arg]  # noqa: N801 - LazyLLM's public name
    """A dict that a flow item receives as keyword arguments rather than as one value."""


class arguments:  # noqa: N801 - LazyLLM's public name
    """Positional and keyword arguments travelling together (a graph node with several inputs).

    ``append(x)``: a ``package`` extends the positional ones, a ``kwargs`` adds keyword ones (a key
    given twice is an error), anything else is one more positional value.
    """

    __slots__ = ('args', 'kw')

    def __init__(self, args: Any = (), kw: dict[str, Any] | None = None) -> None:
        self.args = package(args) if not isinstance(args, package) else args
        self.kw = kwargs(kw or {})

    def append(self, value: Any) -> None:
        if type(value) is package:
            self.args = package((*self.args, *value))
        elif type(value) is kwargs:
            clash = self.kw.keys() & value.keys()
            if clash:
                raise ValueError(f'keyword argument {sorted(clash)[0]!r} is given twice')
            self.kw.update(value)
        else:
            self.args = package((*self.args, value))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, arguments) and (self.args, self.kw) == (other.args, other.kw)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f'arguments(args={tuple(self.args)!r}, kw={dict(self.kw)!r})'
