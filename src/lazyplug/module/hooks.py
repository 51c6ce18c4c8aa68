"""Per-module call hooks: ``module.register_hook(...)``.

A hook sees each call of the module it is registered on: ``pre_hook(*args, **kwargs)`` before
``forward``, ``post_hook(output)`` after it succeeds, ``on_error(exc)`` when it fails and
``finalize()`` always. Hooks run by ascending ``__hook_priority__`` before the call and in reverse
after it. A failing hook is warned about and skipped (``__hook_error_mode__ = 'warn'``, the
default) or raises (``'raise'``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from ..errors import HookError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .base import ModuleBase

__all__ = ['HookHandle', 'LazyLLMHook', 'ModuleHook']

_CO_GENERATOR = 0x20


class ModuleHook:
    """Base class of per-module hooks. Registered as a class, one instance is made per call."""

    __hook_priority__: int = 100
    __hook_error_mode__: str = 'warn'

    def __init__(self, obj: Any = None) -> None:
        self.obj = obj

    def pre_hook(self, *args: Any, **kwargs: Any) -> None:
        """Called with the call's arguments before ``forward``."""

    def post_hook(self, output: Any) -> None:
        """Called with ``forward``'s result when it returned."""

    def on_error(self, exc: BaseException) -> None:
        """Called with the exception when ``forward`` (or an earlier hook) raised."""

    def finalize(self) -> None:
        """Called after every call, whatever happened."""


LazyLLMHook = ModuleHook  # the name LazyLLM users know


class _FunctionHook(ModuleHook):
    """A plain function as a hook: its body is the pre-hook. A generator function's code after its
    one ``yield`` is the post-hook, and ``output = yield`` receives the output."""

    def __init__(self, func: Callable[..., Any]) -> None:
        super().__init__(None)
        self._func = func
        self._gen: Any = None
        self.__hook_priority__ = getattr(func, '__hook_priority__', 100)
        self.__hook_error_mode__ = getattr(func, '__hook_error_mode__', 'warn')

    def pre_hook(self, *args: Any, **kwargs: Any) -> None:
        result = self._func(*args, **kwargs)
        if getattr(getattr(self._func, '__code__', None), 'co_flags', 0) & _CO_GENERATOR:
            self._gen = result
            next(result)

    def post_hook(self, output: Any) -> None:
        if self._gen is None:
            return
        try:
            self._gen.send(output)
        except StopIteration:
            return
        self._gen.close()
        raise HookError(f'hook {self._func.__qualname__} yielded more than once')

    def on_error(self, exc: BaseException) -> None:
        if self._gen is not None:
            self._gen.close()


class HookHandle:
    """Returned by ``register_hook``: ``remove()`` unregisters the hook; also a context manager."""

    def __init__(self, module: ModuleBase, hook: Any) -> None:
        self._module = module
        self._hook = hook

    def remove(self) -> None:
        self._module.unregister_hook(self._hook)

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def check_hook(hook: Any) -> None:
    """Refuse what cannot be a hook, at registration rather than at the first call."""
    if isinstance(hook, type):
        if not issubclass(hook, ModuleHook):
            raise TypeError(f'a hook class must subclass lazyplug.ModuleHook; {hook.__qualname__} does not')
    elif not isinstance(hook, ModuleHook) and not callable(hook):
        raise TypeError(f'a hook is a ModuleHook subclass or instance, or a callable; got {hook!r}')


def _materialise(hook: Any, module: ModuleBase) -> ModuleHook:
    if isinstance(hook, type):
        made: ModuleHook = hook(module)
        return made
    if isinstance(hook, ModuleHook):
        return hook
    return _FunctionHook(hook)


def _fail(hook: ModuleHook, stage: str, exc: Exception, module: ModuleBase) -> None:
    if hook.__hook_error_mode__ == 'raise':
        raise HookError(f'{stage} of hook {type(hook).__qualname__} on {module!r} failed: {exc}') from exc
    warnings.warn(f'{stage} of hook {type(hook).__qualname__} on {type(module).__name__} failed '
                  f'(skipped): {type(exc).__name__}: {exc}', RuntimeWarning, stacklevel=4)


def call_with_hooks(module: ModuleBase, hooks: list[Any], func: Callable[..., Any],
                    args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
    """Run ``func(*args, **kw)`` inside ``hooks`` (already sorted by priority)."""
    active = [_materialise(h, module) for h in hooks]
    entered: list[ModuleHook] = []
    try:
        for hook in active:
            try:
                hook.pre_hook(*args, **kw)
            except Exception as exc:
                _fail(hook, 'pre_hook', exc, module)
                continue
            entered.append(hook)
        output = func(*args, **kw)
    except BaseException as exc:
        for hook in reversed(entered):
            try:
                hook.on_error(exc)
            except Exception as err:  # the call's own error is what propagates
                warnings.warn(f'on_error of hook {type(hook).__qualname__} failed: {err!r}', RuntimeWarning,
                              stacklevel=3)
        raise
    else:
        for hook in reversed(entered):
            try:
                hook.post_hook(output)
            except Exception as exc:
                _fail(hook, 'post_hook', exc, module)
        return output
    finally:
        for hook in reversed(active):
            try:
                hook.finalize()
            except Exception as err:  # finalize never masks the call's outcome
                warnings.warn(f'finalize of hook {type(hook).__qualname__} failed: {err!r}', RuntimeWarning,
                              stacklevel=3)
