"""Conditional flows: ``switch`` (the first matching case runs) and ``ifs`` (one of two branches)."""

from __future__ import annotations

import sys
import types

from ..errors import FlowError
from ..values import package
from .base import FlowBase, _annotate, invoke

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ['IFS', 'Switch', 'ifs', 'switch']


class _CaseAdder:
    """``sw.case[cond::branch]``, ``sw.case[cond:branch]``, ``sw.case[cond, branch]`` or ``sw.case(cond, branch)``."""

    def __init__(self, owner: Switch) -> None:
        self._owner = owner

    def __getitem__(self, key: Any) -> None:
        if isinstance(key, slice):
            cond, branch = key.start, key.step if key.stop is None else key.stop
        elif isinstance(key, tuple) and len(key) == 2:
            cond, branch = key
        else:
            raise FlowError('write a case as sw.case[cond::branch], sw.case[cond, branch] or sw.case(cond, branch)')
        self(cond, branch)

    def __call__(self, cond: Any, branch: Any) -> None:
        self._owner._add_case(cond, branch)


class Switch(FlowBase):
    """Run the branch of the first condition that matches the input; no match returns None.

    ``switch({cond: branch, ..., 'default': branch})``, ``switch(cond1, branch1, cond2, branch2)``,
    or cases added in a with-block (``sw.case[cond::branch]``). A condition matches when it is
    callable and returns ``True`` for the input, when it equals the input, or when it is
    ``'default'``. With ``judge_on_full_input=False`` the input is ``(value, *rest)``: conditions
    see ``value`` and the branch gets ``rest``. ``conversion`` transforms what conditions see.
    """

    def __init__(self, *args: Any, conversion: Callable[[Any], Any] | None = None,
                 post_action: Callable[..., Any] | None = None, judge_on_full_input: bool = True) -> None:
        super().__init__(post_action=post_action)
        d = self.__dict__
        d['conds'] = []
        d['_conversion'] = conversion
        d['_judge_on_full_input'] = judge_on_full_input
        d['case'] = _CaseAdder(self)
        if len(args) == 1 and isinstance(args[0], dict):
            pairs = list(args[0].items())
        elif len(args) % 2:
            raise FlowError(f'switch takes conditions and branches in pairs; got {len(args)} arguments')
        else:
            pairs = list(zip(args[::2], args[1::2], strict=True))
        for cond, branch in pairs:
            self._add_case(cond, branch)

    def _add_case(self, cond: Any, branch: Any) -> None:
        self._add_item(None, branch)
        self.conds.append(cond)

    def __enter__(self, _frame: types.FrameType | None = None) -> Switch:
        super().__enter__(_frame or sys._getframe(1))
        self.__dict__['_capturing'] = False  # cases are added with sw.case, not by assignment
        return self

    def _run(self, value: Any, kw: dict[str, Any]) -> Any:
        if self._judge_on_full_input:
            exp, branch_input = value, value
        else:
            if not isinstance(value, tuple) or len(value) < 2:
                raise FlowError('switch(judge_on_full_input=False) needs an input of at least two values: '
                                '(what conditions see, what the branch gets...)')
            exp, rest = value[0], value[1:]
            branch_input = rest[0] if len(rest) == 1 else package(rest)
        if self._conversion is not None:
            exp = self._conversion(*exp) if type(exp) is package else self._conversion(exp)
        for index, cond in enumerate(self.conds):
            try:
                matched = _matches(cond, exp)
            except Exception as exc:
                _annotate(exc, f'in condition {index} of Switch: {cond!r}')
                raise
            if matched:
                try:
                    return invoke(self._items[index], branch_input, kw)
                except Exception as exc:
                    self._fail(exc, index)
                    raise
        return None


def _matches(cond: Any, exp: Any) -> bool:
    if isinstance(cond, str) and cond == 'default':
        return True
    if callable(cond) and invoke(cond, exp, {}) is True:
        return True
    try:
        # a one-value package matches its value, as in LazyLLM
        return bool(exp == cond or (type(exp) is package and len(exp) == 1 and exp[0] == cond))
    except Exception:  # values whose == cannot give a truth value (arrays) simply do not match
        return False


class IFS(FlowBase):
    """``ifs(cond, tpath, fpath)``: run ``tpath`` when ``cond`` holds for the input, else ``fpath``.

    ``cond`` is a bool, a callable taking the input, or a callable taking nothing.
    """

    def __init__(self, cond: Any, tpath: Any, fpath: Any, post_action: Callable[..., Any] | None = None) -> None:
        super().__init__(post_action=post_action)
        if not isinstance(cond, bool) and not callable(cond):
            raise FlowError(f'the condition of ifs must be a bool or callable, not {cond!r}')
        # the condition is the first item, as in LazyLLM (a module condition is a submodule too);
        # the items have no names
        if callable(cond):
            self._add_item(None, cond)
        else:
            self._items.append(cond)
        self.__dict__['_cond'] = self._items[0]
        self.__dict__['_cond_takes_input'] = callable(cond) and _takes_arguments(cond)
        self._add_item(None, tpath)
        self._add_item(None, fpath)

    def _run(self, value: Any, kw: dict[str, Any]) -> Any:
        cond = self._cond
        if isinstance(cond, bool):
            holds = cond
        else:
            try:
                holds = bool(invoke(cond, value, kw) if self._cond_takes_input else cond())
            except Exception as exc:
                _annotate(exc, f'in the condition of ifs: {cond!r}')
                raise
        return invoke(self._items[1] if holds else self._items[2], value, kw)


def _takes_arguments(func: Callable[..., Any]) -> bool:
    import inspect
    try:
        return bool(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return True  # a callable we cannot inspect gets the input


switch = Switch
ifs = IFS
