"""``parallel`` and its scattering kin ``diverter`` and ``warp``."""

from __future__ import annotations

from functools import partial

from ..errors import FlowError
from ..values import package
from . import _pool
from .base import _SPREAD, FlowBase, _annotate, _describe, invoke

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ['Diverter', 'Parallel', 'Warp', 'barrier', 'diverter', 'parallel', 'warp']


def barrier(*values: Any) -> Any:
    """Wait until every item of the concurrent parallel flow (or warp, diverter) this runs in has
    reached a barrier, then return the input unchanged: a flow item that keeps items in step.

    Outside the items of a concurrent flow it waits for nothing. Each item must pass the same
    number of barriers: once one item has ended, a barrier its siblings wait at raises FlowError.
    """
    rendezvous = _pool.current_rendezvous()
    if rendezvous is not None:
        rendezvous.wait()
    return values[0] if len(values) == 1 else package(values)



class Parallel(FlowBase):
    """Call every item with the same input and return their outputs as a ``package``, in item order.

    Items run concurrently on lazyplug's shared thread pool, each in a copy of the caller's context;
    ``Parallel.sequential(...)`` runs them one by one in the caller's thread. The first failing
    item (in item order) raises, after every item has finished; the others' errors are attached to
    it as notes. The output can be reshaped once with ``.asdict``, ``.astuple``, ``.aslist``,
    ``.sum`` or ``.join(sep)``. A call may run some items only: ``p(x, _kept_items=[0, 'b'])`` or
    ``p(x, _skip_items=[...])``, by index or name.
    """

    _scatter = False  # a diverter gives each item its own part of the input

    def __init__(self, *items: Any, _concurrent: bool = True, post_action: Callable[..., Any] | None = None,
                 auto_capture: bool = False, **named_items: Any) -> None:
        super().__init__(*items, post_action=post_action, auto_capture=auto_capture, **named_items)
        self.__dict__['_concurrent'] = _concurrent

    @classmethod
    def sequential(cls, *items: Any, **named_items: Any) -> Parallel:
        """A flow whose items run one after another in the caller's thread."""
        return cls(*items, _concurrent=False, **named_items)

    # -- output shapes -------------------------------------------------------------------------
    def _set_shape(self, shape: tuple[str, Any]) -> Parallel:
        if self._shape is not None:
            raise FlowError(f'the output of this {type(self).__name__} is already set to .{self._shape[0]}; '
                            'it can be set once')
        self.__dict__['_shape'] = shape
        return self

    @property
    def asdict(self) -> Parallel:
        """Return ``{item name: output}``; every item must be named."""
        if len(self._item_names) != len(self._items):
            raise FlowError(f'.asdict needs every item of the {type(self).__name__} to have a name')
        return self._set_shape(('asdict', None))

    @property
    def astuple(self) -> Parallel:
        """Return the outputs as a plain tuple."""
        return self._set_shape(('astuple', None))

    @property
    def aslist(self) -> Parallel:
        """Return the outputs as a list."""
        return self._set_shape(('aslist', None))

    @property
    def sum(self) -> Parallel:
        """Return the outputs added up (strings concatenated; lists, tuples and packages joined)."""
        return self._set_shape(('sum', None))

    def join(self, sep: str = '') -> Parallel:
        """Return the outputs, as strings, joined with ``sep``."""
        if not isinstance(sep, str):
            raise FlowError(f'.join takes a string separator, not {sep!r}')
        return self._set_shape(('join', sep))

    # -- running -------------------------------------------------------------------------------
    def _selected(self, kw: dict[str, Any]) -> list[int]:
        kept = kw.pop('_kept_items', None)
        skipped = kw.pop('_skip_items', None)
        if kept is not None and skipped is not None:
            raise FlowError('Cannot provide `_kept_items` and `_skip_items` at the same time!')
        if kept is None and skipped is None:
            return list(range(len(self._items)))
        chosen = {self._position(i) for i in (kept if kept is not None else skipped)}
        return [i for i in range(len(self._items)) if (i in chosen) == (kept is not None)]

    def _position(self, item: int | str) -> int:
        if isinstance(item, int) and not isinstance(item, bool):
            if not -len(self._items) <= item < len(self._items):
                raise FlowError(f'item index {item} is out of range for {len(self._items)} items')
            return item % len(self._items)
        return self._index_of(item)

    def _inputs(self, value: Any, selected: list[int]) -> list[Any]:
        return [value] * len(selected)

    def _run(self, value: Any, kw: dict[str, Any]) -> Any:
        if kw and ('_kept_items' in kw or '_skip_items' in kw):
            kw = dict(kw)
            selected = self._selected(kw)
        elif not self._concurrent and not self._scatter:
            return self._run_in_turn(value, kw)
        else:
            selected = list(range(len(self._items)))
        inputs = self._inputs(value, selected)
        items = [self._items[i] for i in selected]
        if not self._concurrent or len(items) < 2:
            outputs = []
            for index, item, part in zip(selected, items, inputs, strict=True):
                try:
                    outputs.append(invoke(item, part, kw))
                except Exception as exc:
                    self._fail(exc, index)
                    raise
            return self._finish(outputs, selected)
        calls = [partial(invoke, item, part, kw) for item, part in zip(items, inputs, strict=True)]
        results, errors = _pool.run_all(calls, barrier=True)
        failed = [i for i, e in enumerate(errors) if e is not None]
        if failed:
            first = errors[failed[0]]
            assert first is not None
            self._fail(first, selected[failed[0]])
            for i in failed[1:]:
                _annotate(first, f'item {selected[i]} failed too: {type(errors[i]).__name__}: {errors[i]} '
                                 f'({_describe(items[i])})')
            raise first
        return self._finish(results, selected)

    def _run_in_turn(self, value: Any, kw: dict[str, Any]) -> Any:
        """``sequential`` with every item: the same input to each, one after another."""
        outputs: list[Any] = []
        try:
            if kw or type(value) in _SPREAD:
                for item in self._items:
                    outputs.append(invoke(item, value, kw))
            else:  # a plain value reaches flows and other items alike
                for item in self._items:
                    outputs.append(item(value))
        except Exception as exc:
            self._fail(exc, len(outputs))
            raise
        if self._shape is not None and self._shape[0] == 'asdict':
            return self._finish(outputs, list(range(len(outputs))))
        return tuple.__new__(package, outputs)

    def _finish(self, outputs: list[Any], selected: list[int]) -> Any:
        if self._shape is not None and self._shape[0] == 'asdict':  # names follow the items that ran
            return {self._item_names[i]: out for i, out in zip(selected, outputs, strict=True)}
        return package(outputs)

    def _post_process(self, output: Any) -> Any:
        return output if isinstance(output, dict) else _reshape(output, self._shape)


def _reshape(outputs: package, shape: tuple[str, Any] | None) -> Any:
    if shape is None:
        return outputs
    kind, sep = shape
    if kind == 'astuple':
        return tuple(outputs)
    if kind == 'aslist':
        return list(outputs)
    if kind == 'join':
        return sep.join(str(o) for o in outputs)
    if not outputs:
        return outputs
    if isinstance(outputs[0], str):
        return ''.join(str(o) for o in outputs)
    return sum(outputs, type(outputs[0])())


class Diverter(Parallel):
    """A parallel flow whose items each get their own part of the input.

    A tuple, list or package input gives part *i* to item *i* (with ``_kept_items`` or
    ``_skip_items``, either one part per running item or one per item); a dict input gives each
    item the value under its name. ``diverter(f, g)(1, 2)`` is ``(f(1), g(2))``.
    """

    _scatter = True

    def _inputs(self, value: Any, selected: list[int]) -> list[Any]:
        if isinstance(value, dict):
            missing = [self._name_of(i) for i in selected if self._name_of(i) not in value]
            if missing:
                raise FlowError(f'{type(self).__name__} got a dict without the key(s) {missing} of its items')
            return [value[self._name_of(i)] for i in selected]
        if not isinstance(value, (tuple, list)):
            raise FlowError(f'{type(self).__name__} needs one input part per item (a tuple, list or dict); '
                            f'got {type(value).__name__}')
        if len(value) == len(selected):
            return list(value)
        if len(value) == len(self._items):
            return [value[i] for i in selected]
        raise FlowError(f'{type(self).__name__} got {len(value)} input parts for {len(selected)} items')

    def _name_of(self, index: int) -> str | None:
        return next((n for n, i in self._name_index.items() if i == index), None)


class Warp(Parallel):
    """One flow applied to each part of the input, concurrently: ``warp(f)(1, 2, 3) == (f(1), f(2), f(3))``.

    Several items make one pipeline: ``warp(f, g)`` applies ``pipeline(f, g)`` to each part.
    """

    def __init__(self, *items: Any, _concurrent: bool = True, post_action: Callable[..., Any] | None = None,
                 auto_capture: bool = False, **named_items: Any) -> None:
        super().__init__(*items, _concurrent=_concurrent, post_action=post_action, auto_capture=auto_capture,
                         **named_items)
        self._wrap_body()

    def _post_init(self) -> None:
        self._wrap_body()

    def _wrap_body(self) -> None:
        if len(self._items) > 1:
            from .pipelines import Pipeline
            body = Pipeline(*self._items) if not self._item_names else Pipeline(**dict(zip(
                self._item_names, self._items, strict=True)))
            d = self.__dict__
            d['_items'], d['_item_names'], d['_name_index'] = [body], [], {}
            body.__dict__['_father'] = self

    @property
    def asdict(self) -> Parallel:
        raise FlowError('warp has one body; its outputs have no names (.asdict is not available)')

    def _run(self, value: Any, kw: dict[str, Any]) -> Any:
        if '_kept_items' in kw or '_skip_items' in kw:
            raise FlowError('warp has one body: `_kept_items` and `_skip_items` do not apply')
        if not self._items:
            raise FlowError('warp needs a body')
        parts = list(value) if isinstance(value, (tuple, list)) else [value]
        body = self._items[0]
        calls = [partial(invoke, body, part, kw) for part in parts]
        if self._concurrent and len(calls) > 1:
            results, errors = _pool.run_all(calls, barrier=True)
        else:
            results, errors = _pool.run_each(calls)
        for index, exc in enumerate(errors):
            if exc is not None:
                _annotate(exc, f'in part {index} of the input of Warp: {_describe(body)}')
                raise exc
        return package(results)


parallel = Parallel
diverter = Diverter
warp = Warp
