"""FlowBase: items, names, with-blocks, the invocation rule and the repr shared by every flow."""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable, Iterator

from .. import _hookcalls
from ..errors import FlowError
from ..host import host
from ..reprs import make_repr
from ..streaming.stream import Stream, declares_stream, drain, open_call
from ..values import arguments, kwargs, package
from .binding import Bind
from .items import as_read, item_repr, plain

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..streaming.stream import Deltas

__all__ = ['FlowBase', 'invoke', 'item_repr', 'stream_item', 'unbound']

_NO_ARG: Any = object()  # "called without arguments"
_SPREAD = frozenset({package, kwargs, arguments})  # the values the invocation rule spreads
_building = threading.local()  # the flows whose with-block is open in this thread, innermost last
# LazyLLM compatibility mode (lazyplug.compat) turns this on: `with flow() as outer.name:` also
# binds `name` in the namespace of the with-statement, as LazyLLM does at module level
_names_to_caller = False


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


def stream_item(item: Any, value: Any, kw: dict[str, Any]) -> Deltas:
    """The deltas of ``invoke(item, value, kw)`` as they are produced (same rule); returns its output."""
    if isinstance(item, FlowBase) or (type(item) is Bind and isinstance(item.func, FlowBase)):
        return open_call(item, (value,), kw)
    cls = type(value)
    if cls is package:
        return open_call(item, tuple(value), kw)
    if cls is kwargs:
        return open_call(item, (), {**value, **kw})
    if cls is arguments:
        return open_call(item, tuple(value.args), {**value.kw, **kw})
    return open_call(item, (value,), kw)


def unbound(item: Any) -> Any:
    """What ``item`` is once its binds are taken off: ``unbound(bind(f, 1)) is f``."""
    while type(item) is Bind:
        item = item.func
    return item


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
    Subclasses implement ``_run(value, kw)``. A subclass that defines ``__call__`` has it
    called through ``lazyplug_flow_call`` as this class's is.
    """

    # The class's own __call__, hooks aside: __call__ is this, or _hooked_call while some plugin
    # implements lazyplug_flow_call (see _follow_flow_call)
    _lazyplug_call: Callable[..., Any]

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        own = cls.__dict__.get('__call__')
        if own is not None and own is not _hooked_call:
            cls._lazyplug_call = own
            _route_call(cls, own)

    def __init__(self, *items: Any, post_action: Callable[..., Any] | None = None, auto_capture: bool = False,
                 **named_items: Any) -> None:
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
        d['_father'] = None  # the flow this one is an item of (the latest, if several)
        d['_auto_capture'] = bool(auto_capture)
        # the with-statement's frame and the names it had, kept during the block only and only when
        # auto_capture or the compatibility mode's name binding needs them
        d['_with_frame'] = None
        d['_frame_names'] = None
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
        item = plain(item)
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
        inner = unbound(item)
        if isinstance(inner, FlowBase):
            inner.__dict__['_father'] = self
            if name is not None and _names_to_caller and self._with_frame is not None:
                # LazyLLM compatibility: `with pipeline() as p1.p2:` makes `p2` a name of the
                # with-statement's namespace (at module level, where that namespace can be written)
                self._with_frame.f_locals.setdefault(name, item)
        self._items.append(item)

    def _mark_referenced(self) -> None:
        """Binds refer to this flow's input or outputs: its runs must record them."""
        self.__dict__['_referenced'] = True
        self.__dict__['_plain'] = False

    def _index_of(self, item: Any) -> int:
        """The position of an item given by name or as the item itself."""
        item = plain(item)
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

    @property
    def is_root(self) -> bool:
        """Whether this flow is not an item of another flow."""
        return self._father is None

    @property
    def ancestor(self) -> FlowBase:
        """The outermost flow this one is nested in (itself when it is a root)."""
        flow = self
        while flow._father is not None:
            flow = flow._father
        return flow

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
        return as_read(self._items[index])

    # -- with-blocks ---------------------------------------------------------------------------
    def __enter__(self, _frame: types.FrameType | None = None) -> FlowBase:
        if self._items:
            raise FlowError(f'a with-block needs a {type(self).__name__} built with no items; '
                            f'this one has {len(self._items)}')
        stack = _open_flows()
        d = self.__dict__
        d['_enclosing'] = stack[-1] if stack else None
        stack.append(self)
        d['_capturing'] = True
        if self._auto_capture or _names_to_caller:
            frame = d['_with_frame'] = _frame or sys._getframe(1)
            if self._auto_capture:
                d['_frame_names'] = set(frame.f_locals)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any, _frame: types.FrameType | None = None) -> None:
        stack = _open_flows()
        if stack and stack[-1] is self:
            stack.pop()
        d = self.__dict__
        frame, names = d['_with_frame'], d['_frame_names']
        d['_with_frame'] = d['_frame_names'] = None  # the frame is not kept past the block
        try:
            if exc_type is None and names is not None:
                self._capture_new_names(frame, names)
        finally:
            d['_capturing'] = False
        outer = d.pop('_enclosing', None)
        d['_enclosing'] = None
        if exc_type is None:
            if outer is not None and not any(unbound(item) is self for item in outer._items):
                named = _variable_naming(self, _frame or sys._getframe(1))
                if named is not None:
                    outer._add_item(*named)  # `with pipeline() as inner:` inside an outer block
            self._post_init()

    def _capture_new_names(self, frame: types.FrameType, before: set[str]) -> None:
        """``auto_capture``: the names the with-block bound, in the order it bound them, become items."""
        for name, value in list(frame.f_locals.items()):
            if name not in before and not name.startswith('_') and name not in self._name_index \
                    and unbound(value) is not self:
                self._add_item(name, value)

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

    def stream(self, *args: Any, **kw: Any) -> Stream:
        """Call the flow and iterate its deltas as they are produced (see ``lazyplug.streaming``).

        ``pipeline`` yields the deltas of its last streaming item, ``parallel``, ``diverter`` and
        ``warp`` those of every item, as ``(branch, delta)`` (the item's name, else its index; a
        warp's part index). Other flows stream the iterator their call returns.
        """
        return Stream(self._lp_stream(args, kw))

    def _lp_stream(self, args: tuple[Any, ...], kw: dict[str, Any]) -> Deltas:
        value = args[0] if len(args) == 1 else package(args)
        output = yield from self._stream(value, kw)
        if self._post_action is not None:
            invoke(self._post_action, output, {})
        return output if self._shape is None else self._post_process(output)

    def _lp_streams(self) -> bool:
        return any(declares_stream(item) for item in self._items)

    def _stream(self, value: Any, kw: dict[str, Any]) -> Deltas:
        """The deltas of ``_run``; flows whose items stream on their own override it."""
        return (yield from drain(self._run(value, kw)))

    def _post_process(self, output: Any) -> Any:
        return output

    def _fail(self, exc: BaseException, index: int) -> None:
        name = next((n for n, i in self._name_index.items() if i == index), None)
        label = f'item {index}' + (f' ({name!r})' if name else '')
        _annotate(exc, f'in {label} of {type(self).__name__}: {_describe(self._items[index])}')

    # -- traversal -----------------------------------------------------------------------------
    def for_each(self, filter: Callable[[Any], bool], action: Callable[[Any], Any]) -> None:  # noqa: A002
        """Call ``action`` on every non-flow item, in nested flows too, for which ``filter`` is true.

        Function items are handed over as they read back from the flow (``FunctionItem``).
        """
        for item in self._walk():
            item = as_read(item)
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
        subs = [item_repr(i) for i in self._items]
        if self._post_action is not None:
            subs.append(make_repr('Flow', 'PostAction', subs=[item_repr(self._post_action)]))
        return make_repr('Flow', type(self).__name__, subs=subs, items=self._item_names)


_END: Any = object()
_flags = host.flags
FlowBase._lazyplug_call = FlowBase.__call__


def _hooked_call(self: FlowBase, *args: Any, **kw: Any) -> Any:
    return _hookcalls.flow_call(self, args, kw)


def _follow_flow_call() -> None:
    # one check when the plugins change instead of one in every call (as ModuleBase's __call__):
    # every flow class that defines its own call (they are found through __subclasses__, which
    # forgets classes that are gone) calls it directly, or through the hook
    classes: list[type[FlowBase]] = [FlowBase]
    while classes:
        cls = classes.pop()
        own = cls.__dict__.get('_lazyplug_call')
        if own is not None:
            _route_call(cls, own)
        classes.extend(cls.__subclasses__())


def _route_call(cls: type[FlowBase], own: Callable[..., Any]) -> None:
    """Have ``cls``'s calls go to its ``own`` __call__, or through the hook while plugins implement it."""
    cls.__call__ = _hooked_call if _flags.flow_call else own  # type: ignore[method-assign]


host.watch(_follow_flow_call)


def _variable_naming(flow: FlowBase, frame: types.FrameType | None) -> tuple[str, Any] | None:
    """The name the with-statement gave ``flow`` and what it holds (the flow, or a bind of it)."""
    if frame is None:
        return None
    for name, value in frame.f_locals.items():
        if not name.startswith('_') and unbound(value) is flow:
            return name, value
    return None
