"""``loop``: run a pipeline again and again on its own output."""

from __future__ import annotations

import sys

from ..context import globals as _globals
from ..errors import FlowError
from ..values import package
from .base import invoke
from .pipelines import Pipeline

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ['Loop', 'loop']


class Loop(Pipeline):
    """Repeat the items (a pipeline) on their own output until ``stop_condition(output)`` holds or
    ``count`` iterations have run.

    With ``judge_on_full_input=False`` each iteration must return ``(flag, *rest)``: the condition
    sees ``flag`` and ``rest`` goes on. When ``count`` is reached, ``on_limit(output, used, limit)``
    is called, and an int above the limit it returns extends this call. The number of iterations
    of the latest call is in ``lazyplug.globals['loop_iterations'][loop]``.
    """

    def __init__(self, *items: Any, stop_condition: Callable[..., Any] | None = None, count: int = sys.maxsize,
                 judge_on_full_input: bool = True, on_limit: Callable[[Any, int, int], Any] | None = None,
                 post_action: Callable[..., Any] | None = None, auto_capture: bool = False,
                 **named_items: Any) -> None:
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise FlowError(f'loop count must be a whole number of at least 1, not {count!r}')
        if stop_condition is None and count == sys.maxsize:
            raise FlowError('this loop would never end: give it a stop_condition or a count')
        super().__init__(*items, post_action=post_action, auto_capture=auto_capture, **named_items)
        d = self.__dict__
        d['_stop'] = stop_condition
        d['_count'] = count
        d['_judge_on_full_input'] = judge_on_full_input
        d['_on_limit'] = on_limit

    def _run(self, value: Any, kw: dict[str, Any]) -> Any:
        limit, used = self._count, 0
        while True:
            value = super()._run(value, kw if used == 0 else {})
            used += 1
            exp = value
            if not self._judge_on_full_input:
                if not isinstance(value, tuple) or len(value) < 2:
                    raise FlowError('loop(judge_on_full_input=False) needs each iteration to return '
                                    f'(flag, value...); got {value!r}')
                exp, rest = value[0], value[1:]
                value = rest[0] if len(rest) == 1 else package(rest)
            if self._stop is not None and invoke(self._stop, exp, {}):
                break
            if used >= limit:
                extended = self._on_limit(value, used, limit) if self._on_limit is not None else None
                if isinstance(extended, int) and not isinstance(extended, bool) and extended > limit:
                    limit = extended
                    continue
                break
        _globals.setdefault('loop_iterations', {})[self] = used
        return value


loop = Loop
