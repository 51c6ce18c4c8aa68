"""FlowBase: items, names, with-blocks, the invocation rule and the repr shared by every flow."""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable, Iterator

from ..errors import FlowError
from ..reprs import make_repr
from ..values import arguments, kwargs, package
from .binding import Bind

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['FlowBase', 'invoke', 'item_repr']

_FUNCTION_TYPES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                   types.BuiltinMethodType)
_NO_ARG: Any = object()  # "called without arguments"
_SPREAD = frozenset({package, kwargs, arguments})  # the values the invocation rule spreads
_building = threading.local()  # the flows whose with-block is open in this thread, innermost last


def _open_flows() -> list[FlowBase]:
    try:
        return _building.stack  # type: ignore[no-any-return]
    except AttributeError:
        _building.stack = []
        return _building.stack  # type: ignore[no-any-return]


def invoke(item: Callable[..., Any], value: Any, kw: dict[str, Any]) -> Any:
    """Call one flow item with ``value`` by LazyLLM's rule.

    A flow (or a bind of a flow) receives the value whole. Any other item gets a ``package``
    spread into positional arguments and a ``kwargs`` spread into keyword arguments; other values
    arrive as one argument.
    """
    if isinstance(item, FlowBase) or (type(item) is Bind and isinstance(item.func, FlowBase)):
        return item(value, **kw)
    cls = type(value)
    if cls is package:
        return item(*value, **kw)
    if cls is kwargs:
        return item(**value, **kw)
    if cls is arguments:
        return item(*value.args, **value.kw, **kw)
    return item(value, **kw)


def item_repr(item: Any) -> str:
    """How a flow draws one of its items: modules and flows by their own repr, functions by name."""
    if isinstance(item, _FUNCTION_TYPES):
        name = getattr(item, '__name__', '?')
        return make_repr('Function', type(item).__name__, name='lambda' if name == '<lambda>' else name)
    return repr(item)


def _describe(item: Any) -> str:
    return item_repr(item).split('\n', 1)[0]


def _annotate(exc: BaseException, text: str) -> None:
    add_note = getattr(exc, 'add_note', None)  # Python >= 3.11
    if add_note is not None:
        add_note(text)


class FlowBase:
    """The base of every flow: an ordered list of callable items, some of them named.

    Items come positionally (``pipeline(f, g)``), as one list, or by keyword
    (``pipeline(f1=f, f2=g)``), or by assignment inside a with-block
    (``with pipeline() as p: p.f1 = f``). A class given as an item is instantiated with no
    arguments. ``post_action`` is called with the flow's output, and its result is ignored.
    Subclasses implement ``_run(value, kw)``.
    """

    def __init__(self, *items: Any, post_action: Callable[..., Any] | None = None, **named_items: Any) -> None:
        if items and named_items:
            raise FlowError(f'{type(self).__name__} takes items either positionally or by name, not both '
                            f'(got {len(items)} positional and names {sorted(named_items)})')
        if len(items) == 1 and isinstance(items[0], list):
            items = tuple(items[0])
        d = self.__dict__
        d['_items'] = []
        d['_item_names'] = []
        d['_name_index'] = {}
        d['_capturing'] = False
        d['_enclosing'] = None
        d['_post_action'] = post_action() if isinstance(post_action, type) else post_action
        d['_shape'] = None  # how _post_process reshapes the output (parallel's .sum, .asdict...)
        d['_referenced'] = False  # whether binds refer to this flow's input or outputs
        for item in items:
            self._add_item(None, item)
        for name, item in named_items.items():
            self._add_item(name, item)

    # -- items ---------------------------------------------------------------------------------
    def _add_item(self, name: str | None, item: Any) -> None:
        if isinstance(item, type):
            item = item()
        if not callable(item):
            where = f'item {name!r}' if name else f'item {len(self._items)}'
            raise FlowError(f'{where} of {type(self).__name__} is not callable: {item!r}')
        if name is not None:
            if hasattr(type(self), name):
                raise FlowError(f'{name!r} is the name of an attribute of {type(self).__name__}; '
                                'name the item otherwise')
            if name in self._name_index:
                raise FlowError(f'{type(self).__name__} already has an item named {name!r}')
            self._name_index[name] = len(self._items)
            self._item_names.append(name)
            if getattr(item, '_module_id', None) is not None and getattr(item, 'name', '') is None:
                item.name = name  # an unnamed module takes the name it is given in the flow
        if type(item) is Bind and item._replace_items(self, self._items):
            self._mark_referenced()  # an earlier item's output is bound: record outputs
        self._items.append(item)

    def _mark_referenced(self) -> None:
        """Binds refer to this flow's input or outputs: its runs must record them."""
        self.__dict__['_referenced'] = True
        self.__dict__['_plain'] = False

    def _index_of(self, item: Any) -> int:
        """The position of an item given by name or as the item itself."""
        if isinstance(item, str):
            found: int | None = self._name_index.get(item)
            if found is not None:
                return found
        else:
            for position, candidate in enumerate(self._items):
                if candidate is item:
                    return position
        raise FlowError(f'{type(self).__name__} has no item {item!r}'
                        + (f' (items: {", ".join(self._item_names)})' if self._item_names else ''))

    def bind(self, *args: Any, **kw: Any) -> Bind:
        """This flow with arguments bound: ``bind(self, *args, **kw)``."""
        return Bind(self, *args, **kw)

    @property
    def items(self) -> list[Any]:
        """The items, in order (a copy)."""
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if d.get('_capturing') and not name.startswith('_'):
            self._add_item(name, value)
        elif name in d.get('_name_index', ()):
            raise FlowError(f'{name!r} is an item of this {type(self).__name__}; '
                            'items can only be added inside its with-block')
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        index = self.__dict__.get('_name_index', {}).get(name)
        if index is None:
            names = self.__dict__.get('_item_names', [])
            raise AttributeError(f'{type(self).__name__} has no attribute or item {name!r}'
                                 + (f' (items: {", ".join(names)})' if names else ''))
        return self._items[index]

    # -- with-blocks ---------------------------------------------------------------------------
    def __enter__(self) -> FlowBase:
        if self._items:
            raise FlowError(f'a with-block needs a {type(self).__name__} built with no items; '
                            f'this one has {len(self._items)}')
        stack = _open_flows()
        self.__dict__['_enclosing'] = stack[-1] if stack else None
        stack.append(self)
        self.__dict__['_capturing'] = True
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        stack = _open_flows()
        if stack and stack[-1] is self:
            stack.pop()
        self.__dict__['_capturing'] = False
        outer = self.__dict__.pop('_enclosing', None)
        self.__dict__['_enclosing'] = None
        if exc_type is None:
            if outer is not None and not any(item is self for item in outer._items):
                name = _variable_naming(self, sys._getframe(1))
                if name is not None:
                    outer._add_item(name, self)  # `with pipeline() as inner:` inside an outer block
            self._post_init()

    def _post_init(self) -> None:
        """Called when the flow's with-block closes; subclasses finish their set-up here."""

    # -- calling -------------------------------------------------------------------------------
    def __call__(self, arg: Any = _NO_ARG, /, *args: Any, **kw: Any) -> Any:
        # one argument is the value itself; none or several travel as a package
        if args or arg is _NO_ARG:
            arg = package(args) if arg is _NO_ARG else package((arg, *args))
        output = self._run(arg, kw)
        if self._post_action is not None:
            invoke(self._post_action, output, {})
        return output if self._shape is None else self._post_process(output)

    def _run(self, value: Any, kw: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _post_process(self, output: Any) -> Any:
        return output

    def _fail(self, exc: BaseException, index: int) -> None:
        name = next((n for n, i in self._name_index.items() if i == index), None)
        label = f'item {index}' + (f' ({name!r})' if name else '')
        _annotate(exc, f'in {label} of {type(self).__name__}: {_describe(self._items[index])}')

    # -- traversal -----------------------------------------------------------------------------
    def for_each(self, filter: Callable[[Any], bool], action: Callable[[Any], Any]) -> None:  # noqa: A002
        """Call ``action`` on every non-flow item, in nested flows too, for which ``filter`` is true."""
        for item in self._walk():
            if filter(item):
                action(item)

    def _walk(self) -> Iterator[Any]:
        """Every non-flow item of this flow and of the flows nested in it, depth first, in order."""
        stack: list[Iterator[Any]] = [iter(self._items)]
        seen = {id(self)}
        while stack:
            item = next(stack[-1], _END)
            while type(item) is Bind:
                item = item.func
            if item is _END:
                stack.pop()
            elif isinstance(item, FlowBase):
                if id(item) not in seen:
                    seen.add(id(item))
                    stack.append(iter(item._items))
            else:
                yield item

    def __repr__(self) -> str:
        return make_repr('Flow', type(self).__name__, subs=[item_repr(i) for i in self._items],
                         items=self._item_names)



_END: Any = object()


def _variable_naming(obj: object, frame: types.FrameType | None) -> str | None:
    if frame is None:
        return None
    for name, value in frame.f_locals.items():
        if value is obj and not name.startswith('_'):
            return name
    return None
