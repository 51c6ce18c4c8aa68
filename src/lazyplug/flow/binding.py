"""``bind`` and the placeholders ``_0`` ... ``_9``: fix some arguments of a callable in a flow.

``bind(f, a, _0, k=b)(x)`` calls ``f(a, x, k=b)``. When positional arguments are bound, they are
the only positional arguments (``_i`` picks the call's i-th one); without them the call's own
arguments pass through. ``f | bind(...)`` is ``bind(f, ...)``.

A bound value may refer to a pipeline's input or to an earlier item's output: ``p.input``,
``p.kwargs``, ``p.output('name', unpack=False)``, with ``[key]`` and ``.attr`` to pick a part.
An earlier item of the pipeline given as a bound value stands for its output. References work
from flows nested at any depth inside that pipeline, during its call.
"""

from __future__ import annotations

import contextvars
import sys

from ..errors import FlowError
from .items import item_repr, plain

TYPE_CHECKING = False
if TYPE_CHECKING:
    import types
    from typing import Any

    from .base import FlowBase

__all__ = ['Bind', 'Placeholder', 'Ref', 'bind']


class Placeholder:
    """``_i`` in a bind: the i-th positional argument of the call."""

    __slots__ = ('index',)
    index: int
    _made: dict[int, Placeholder] = {}

    def __new__(cls, index: int) -> Placeholder:
        made = cls._made.get(index)
        if made is None:
            made = cls._made[index] = super().__new__(cls)
            made.index = index
        return made

    def __repr__(self) -> str:
        return f'_{self.index}'


_0, _1, _2, _3, _4, _5, _6, _7, _8, _9 = (Placeholder(i) for i in range(10))

# what each running pipeline that is referred to has seen so far, by id(pipeline); the dict is
# never mutated, only replaced (PipelineRun.enter), so the shared default is safe
_NO_RUNS: dict[int, PipelineRun] = {}
_runs: contextvars.ContextVar[dict[int, PipelineRun]] = contextvars.ContextVar('lazyplug_pipeline_runs',
                                                                               default=_NO_RUNS)


class PipelineRun:
    """One call of a pipeline that binds refer to: its input, keyword arguments and outputs."""

    __slots__ = ('input', 'kwargs', 'outputs')

    def __init__(self, value: Any, kw: dict[str, Any]) -> None:
        self.input = value
        self.kwargs = kw
        self.outputs: list[Any] = []

    def enter(self, flow: FlowBase) -> contextvars.Token[dict[int, PipelineRun]]:
        return _runs.set({**_runs.get(), id(flow): self})


class Ref:
    """A reference to a pipeline's input, keyword arguments or an item's output, resolved per call."""

    __slots__ = ('_flow', '_path', '_unpack', '_what')

    def __init__(self, flow: FlowBase, what: Any, path: tuple[tuple[str, Any], ...] = (),
                 unpack: bool = False) -> None:
        self._flow = flow
        self._what = what  # 'input', 'kwargs', or ('output', item name or item)
        self._path = path
        self._unpack = unpack

    def __getitem__(self, key: Any) -> Ref:
        return Ref(self._flow, self._what, (*self._path, ('item', key)), self._unpack)

    def __getattr__(self, name: str) -> Ref:
        if name.startswith('_'):
            raise AttributeError(name)
        return Ref(self._flow, self._what, (*self._path, ('attr', name)), self._unpack)

    def _label(self) -> str:
        what = self._what if isinstance(self._what, str) else f'output({self._what[1]!r})'
        return f'{type(self._flow).__name__}.{what}' + ''.join(
            f'[{k!r}]' if kind == 'item' else f'.{k}' for kind, k in self._path)

    def resolve(self) -> Any:
        run = _runs.get().get(id(self._flow))
        if run is None:
            raise FlowError(f'{self._label()} is used outside a call of its pipeline: bind it in that '
                            'pipeline or in a flow nested inside it')
        if self._what == 'input':
            value = run.input
        elif self._what == 'kwargs':
            value = run.kwargs
        else:
            index = self._flow._index_of(self._what[1])
            if index >= len(run.outputs):
                raise FlowError(f'{self._label()} is used before that item ran')
            value = run.outputs[index]
        for kind, key in self._path:
            value = value[key] if kind == 'item' else getattr(value, key)
        return value

    def __repr__(self) -> str:
        return f'<{self._label()}>'


_UNSET: Any = object()
_OWN = frozenset({'_func', '_args', '_bound_args', '_plain_args', '_kw'})


class Bind:
    """A callable with some arguments fixed; see the module's documentation.

    Other attributes are read from and written to the bound callable, and a bound flow opens a
    with-block as the flow does (``with parallel().bind(p.input, _0) as p.sub:`` adds the bind to
    ``p`` and items to the parallel).
    """

    def __init__(self, func: Any = _UNSET, /, *args: Any, **kw: Any) -> None:
        # a class is instantiated, as in flows; a function read back from a flow stands for itself
        self._func = func() if isinstance(func, type) else plain(func)
        self._args = args
        self._kw = kw

    @property
    def _args(self) -> tuple[Any, ...]:
        return self._bound_args

    @_args.setter
    def _args(self, args: tuple[Any, ...]) -> None:
        self._bound_args = args
        # only placeholders and references need work per call; everything else is passed as is
        self._plain_args = not any(isinstance(a, (Placeholder, Ref)) for a in args)

    def __ror__(self, other: Any) -> Bind:
        if self._func is not _UNSET:
            self._args = (self._func, *self._args)
        self._func = other
        return self

    @property
    def func(self) -> Any:
        """The callable the arguments are bound to."""
        return self._func

    def _replace_items(self, flow: FlowBase, items: list[Any]) -> bool:
        """Turn bound values that are items of ``flow`` into references to their outputs."""
        changed = False

        def swap(value: Any) -> Any:
            nonlocal changed
            value = plain(value)
            if any(value is item for item in items):
                changed = True
                return Ref(flow, ('output', value))
            return value

        self._args = tuple(swap(a) for a in self._args)
        self._kw = {k: swap(v) for k, v in self._kw.items()}
        return changed

    def __call__(self, *call_args: Any, **call_kw: Any) -> Any:
        if self._func is _UNSET:
            raise FlowError('this bind has no function: write `f | bind(...)` or `bind(f, ...)`')
        bound = self._bound_args
        if not bound:
            args: Any = call_args
        elif self._plain_args:
            args = bound
        else:
            args = []
            for value in bound:
                _expand(value, call_args, args)
        if not self._kw:
            return self._func(*args, **call_kw)
        kw = {k: _value(v, call_args) for k, v in self._kw.items()}
        if call_kw:
            clash = kw.keys() & call_kw.keys()
            if clash:
                raise FlowError(f'keyword argument {sorted(clash)[0]!r} is bound already and given again by the call')
            kw.update(call_kw)
        return self._func(*args, **kw)

    def __getattr__(self, name: str) -> Any:
        if name.startswith('__') or name in _OWN:
            raise AttributeError(name)
        return getattr(self._func, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OWN:
            object.__setattr__(self, name, value)
        else:
            setattr(self._func, name, value)

    def __enter__(self, _frame: types.FrameType | None = None) -> Bind:
        enter = getattr(self._func, '__enter__', None)
        if enter is None:
            raise FlowError(f'a with-block needs a bound flow; this bind holds {self._func!r}')
        enter(_frame=_frame or sys._getframe(1))
        return self  # what `as` names is the bind: the flow is added with its arguments

    def __exit__(self, exc_type: Any, exc: Any, tb: Any, _frame: types.FrameType | None = None) -> Any:
        return self._func.__exit__(exc_type, exc, tb, _frame=_frame or sys._getframe(1))

    def __repr__(self) -> str:
        bound = [repr(a) for a in self._args] + [f'{k}={v!r}' for k, v in self._kw.items()]
        head = item_repr(self._func) if self._func is not _UNSET else '<unbound>'
        first, sep, rest = head.partition('\n')
        return f'{first}(bind args: {", ".join(bound)}){sep}{rest}'


def _value(value: Any, call_args: tuple[Any, ...]) -> Any:
    kind = type(value)
    if kind is not Placeholder and kind is not Ref:
        return value
    if kind is Placeholder:
        if value.index >= len(call_args):
            raise FlowError(f'placeholder _{value.index} needs at least {value.index + 1} positional '
                            f'inputs; the call gave {len(call_args)}')
        return call_args[value.index]
    return value.resolve()


def _expand(value: Any, call_args: tuple[Any, ...], out: list[Any]) -> None:
    resolved = _value(value, call_args)
    if type(value) is Ref and value._unpack:
        out.extend(resolved)
    else:
        out.append(resolved)


def bind(func: Any = _UNSET, /, *args: Any, **kw: Any) -> Bind:
    """``bind(f, *args, **kw)``: ``f`` with these arguments fixed (see the module's documentation)."""
    return Bind(func, *args, **kw)
