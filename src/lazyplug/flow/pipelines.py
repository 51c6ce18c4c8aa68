"""``pipeline``: each item's output is the next item's input."""

from __future__ import annotations

from ..errors import InvalidArgumentError
from ..streaming.stream import declares_stream, exhaust
from .base import _NO_ARG, _SPREAD, FlowBase, invoke, stream_item
from .binding import PipelineRun, Ref, _runs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..streaming.stream import Deltas


__all__ = ['Pipeline', 'pipeline', 'save_pipeline_result']

_NO_KW: dict[str, Any] = {}


class Pipeline(FlowBase):
    """Run the items one after another, each on the previous one's output.

    Keyword arguments of the call reach the first item only. An empty pipeline returns its input.
    """

    def __call__(self, arg: Any = _NO_ARG, /, *args: Any, **kw: Any) -> Any:
        if args or kw or arg is _NO_ARG or not self._plain:
            return FlowBase._lazyplug_call(self, arg, *args, **kw)
        # The common call (one value, no references, nothing to do around the run): the loop of
        # _run, inlined, because this is the hottest path of the library.
        items = iter(self._items)
        try:
            for item in items:
                arg = invoke(item, arg, _NO_KW) if type(arg) in _SPREAD else item(arg)
        except Exception as exc:
            self._fail(exc, len(self._items) - items.__length_hint__() - 1)
            raise
        return arg

    def __init__(self, *items: Any, post_action: Any = None, auto_capture: bool = False, **named_items: Any) -> None:
        self.__dict__['_plain'] = False  # items are being added
        super().__init__(*items, post_action=post_action, auto_capture=auto_capture, **named_items)
        # whether a call may take the inlined loop: not in subclasses that run differently (loop),
        # and not once binds refer to this pipeline (_mark_referenced clears it)
        self.__dict__['_plain'] = type(self)._run is Pipeline._run and post_action is None and not self._referenced

    @property
    def input(self) -> Ref:
        """This pipeline's input, for ``bind``: ``f | bind(x=p.input)``; ``p.input[0]`` picks a part."""
        self._mark_referenced()
        return Ref(self, 'input')

    @property
    def kwargs(self) -> Ref:
        """The keyword arguments this pipeline was called with, for ``bind``."""
        self._mark_referenced()
        return Ref(self, 'kwargs')

    def output(self, item: Any, unpack: bool = False) -> Ref:
        """The output of an earlier item (by name or the item itself), for ``bind``.

        With ``unpack=True`` a package output is spread into positional arguments.
        """
        self._mark_referenced()
        return Ref(self, ('output', item), unpack=unpack)

    def _run(self, value: Any, kw: dict[str, Any]) -> Any:
        if self._referenced:
            return self._run_recorded(value, kw)
        items = iter(self._items)
        try:
            if kw:
                for item in items:  # the first item alone gets the call's keyword arguments
                    value = invoke(item, value, kw)
                    break
            for item in items:
                # a plain value is passed the same way to flows and to other items: only
                # packages, kwargs and arguments need the full invocation rule
                value = invoke(item, value, _NO_KW) if type(value) in _SPREAD else item(value)
        except Exception as exc:
            # the list iterator knows how many items remain: no per-item counter on the hot path
            self._fail(exc, len(self._items) - items.__length_hint__() - 1)
            raise
        return value

    def _stream(self, value: Any, kw: dict[str, Any]) -> Deltas:
        """The deltas of the last item that streams; those of earlier items are joined unseen.

        The last streaming item is the last one known to stream before it runs
        (``declares_stream``); an item that turns out to stream after it also has its deltas
        shown. Each item gets the previous one's output, joined, as in a call.
        """
        if type(self)._run is not Pipeline._run:  # a loop, say: items run otherwise
            return (yield from FlowBase._stream(self, value, kw))
        items = self._items
        last = next((i for i in range(len(items) - 1, -1, -1) if declares_stream(items[i])), -1)
        run = PipelineRun(value, kw) if self._referenced else None
        before = _runs.get()
        if run is not None:
            run.enter(self)
        index = 0
        try:
            for index, item in enumerate(items):
                deltas = stream_item(item, value, kw if index == 0 else _NO_KW)
                value = exhaust(deltas) if index < last else (yield from deltas)
                if run is not None:
                    run.outputs.append(value)
        except Exception as exc:
            self._fail(exc, index)
            raise
        finally:
            if run is not None:
                _runs.set(before)  # not reset(): the consumer may close the stream from another context
        return value

    def _run_recorded(self, value: Any, kw: dict[str, Any]) -> Any:
        """The run of a pipeline that binds refer to: its input and outputs stay readable meanwhile."""
        run = PipelineRun(value, kw)
        token = run.enter(self)
        index = 0
        try:
            for index, item in enumerate(self._items):
                value = invoke(item, value, kw if index == 0 else _NO_KW)
                run.outputs.append(value)
        except Exception as exc:
            self._fail(exc, index)
            raise
        finally:
            _runs.reset(token)
        return value


pipeline = Pipeline


class save_pipeline_result:  # noqa: N801 - LazyLLM's public name
    """``with save_pipeline_result():``: LazyLLM's switch that lets binds in nested flows read an
    outer pipeline's input and outputs.

    In lazyplug those references always resolve, from flows nested at any depth, so the block
    changes nothing; it is accepted so that LazyLLM code runs unchanged. ``flag=False`` does not
    turn the references off.
    """

    def __init__(self, flag: bool = True) -> None:
        if not isinstance(flag, bool):
            raise InvalidArgumentError(f'save_pipeline_result takes True or False, not {flag!r}')
        self.flag = flag

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
