"""ModuleBase: the unit an application tree is made of.

A module can be called (``forward``), trained (``_get_train_tasks``), deployed
(``_get_deploy_tasks``) and evaluated (``evalset`` + ``eval``). Modules assigned to attributes become
submodules; ``update()`` walks the tree and runs every module's tasks phase by phase (see
``lazyplug.lifecycle``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from functools import partial

from .. import _hookcalls
from ..errors import EvalsetError, EvalsetNotFoundError
from ..flow.base import _annotate
from ..host import host
from ..reprs import make_repr
from ..values import kwargs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .hooks import HookHandle

__all__ = ['ModuleBase']

_flags = host.flags  # which hooks must be called, read per call


# "called without arguments": an empty kwargs, so that the hot path's one type check also sends
# `m()` to the slow path, where it spreads to no arguments; never seen outside this module
_NO_ARG: Any = kwargs()


def _identity(x: Any) -> Any:
    return x


class ModuleBase:
    """Base class of every module.

    Subclasses implement ``forward`` (what a call does) and any of ``_get_train_tasks``,
    ``_get_deploy_tasks`` and ``_get_post_process_tasks`` (each returns a flow, a callable, a list
    of them, or None). They must not override ``__call__``. Call ``super().__init__()`` in
    ``__init__``; submodules may be assigned before or after it.
    """

    # Defaults live on the class and the instance is written with object.__setattr__, never
    # through self.__dict__: reading an instance's __dict__ turns CPython's compact attribute
    # layout into a plain dict, after which every attribute read in a call is slower (a module
    # call costs a sixth more; benchmarks/bench_core.py).
    name: str | None = None
    group_id: str | None = None
    return_trace: bool = False
    eval_result: Any = None
    _module_id: str
    _hooks: list[Any]
    _use_cache: bool | str = False
    # lazyplug's own bookkeeping, prefixed so that no subclass's attribute shadows it:
    _lazyplug_fast_call: bool = True  # a call may skip hooks, tracing and caching
    _lazyplug_submodules: dict[str, ModuleBase] | None = None  # attribute name -> submodule
    _evalset: list[Any] | None = None
    _eval_collect: Callable[[list[Any]], Any]

    def __init__(self, *, return_trace: bool = False, id: str | None = None,  # noqa: A002
                 name: str | None = None, group_id: str | None = None) -> None:
        put = object.__setattr__
        put(self, '_module_id', id or os.urandom(16).hex())
        if name is not None:  # else keep what a subclass set before calling this
            put(self, 'name', name)
        if group_id is not None:
            put(self, 'group_id', group_id)
        put(self, 'return_trace', return_trace)
        put(self, '_hooks', [])
        put(self, '_use_cache', False)
        put(self, '_lazyplug_fast_call', not return_trace)
        put(self, '_eval_collect', _identity)

    # -- submodules ----------------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        subs = self._lazyplug_submodules
        if isinstance(value, ModuleBase):
            if subs is None:
                subs = {}
                object.__setattr__(self, '_lazyplug_submodules', subs)
            subs[name] = value  # re-assigning an attribute replaces its submodule in place
        elif subs and name in subs:
            del subs[name]
        object.__setattr__(self, name, value)
        if name == 'return_trace':
            self._refresh_fast_call()

    def _refresh_fast_call(self) -> None:
        """Whether a call may skip hooks, tracing and caching (the fast path of ``__call__``)."""
        plain = not (getattr(self, '_hooks', None) or self.return_trace or self._use_cache)
        object.__setattr__(self, '_lazyplug_fast_call', plain)

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        if self._lazyplug_submodules:
            self._lazyplug_submodules.pop(name, None)

    @property
    def submodules(self) -> list[ModuleBase]:
        """The modules held by this module's attributes, in assignment order."""
        return list(self._lazyplug_submodules.values()) if self._lazyplug_submodules else []

    def for_each(self, filter: Callable[[ModuleBase], bool], action: Callable[[ModuleBase], Any]) -> None:  # noqa: A002
        """Call ``action(m)`` for every module below this one (pre-order, each once) where ``filter(m)``."""
        seen = {id(self)}
        stack: list[Iterator[ModuleBase]] = [iter(self.submodules)]
        while stack:
            module = next(stack[-1], None)
            if module is None:
                stack.pop()
                continue
            if id(module) in seen:
                continue
            seen.add(id(module))
            if filter(module):
                action(module)
            stack.append(iter(module.submodules))

    # -- calling -------------------------------------------------------------------------------
    def __call__(self, arg: Any = _NO_ARG, /, *args: Any, **kw: Any) -> Any:
        """Call ``forward``: a ``kwargs`` first argument is spread into keyword arguments; this
        module's hooks, cache and trace, and plugins wrapping ``lazyplug_module_call``, take part."""
        # The hot path (one argument, nothing to do but forward) is four checks: they are what a
        # call adds to forward's cost (benchmarks/bench_core.py). `arg` is split from `args`
        # because that shape costs a third less than `*args` alone. While some plugin implements
        # lazyplug_module_call, _hooked_call stands in for this method (see _follow_module_call).
        if args or kw or type(arg) is kwargs or not self._lazyplug_fast_call:
            return self._call_spread(arg, args, kw)
        return self.forward(arg)

    def _hooked_call(self, arg: Any = _NO_ARG, /, *args: Any, **kw: Any) -> Any:
        return self._call_spread(arg, args, kw)

    def _call_spread(self, arg: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        """Every call but the hot path's: ``m()`` passes ``_NO_ARG``, an empty ``kwargs``."""
        if type(arg) is kwargs:
            kw = {**arg, **kw}
        else:
            args = (arg, *args)
        if _flags.module_call:
            return _hookcalls.module_call(self, args, kw)
        if self._lazyplug_fast_call:
            return self.forward(*args, **kw)
        return self._call_impl(args, kw)

    def _call_impl(self, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        """Run ``forward`` inside this module's hooks, with its cache and trace; what the core's
        ``lazyplug_module_call`` does."""
        forward = self._cached_forward if self._use_cache else self.forward
        if self._hooks:
            from .hooks import call_with_hooks
            result = call_with_hooks(self, self._hooks, forward, args, kw)
        else:
            result = forward(*args, **kw)
        if self.return_trace:
            from ..context import record_trace
            record_trace(self.name or type(self).__name__, result)
        return result

    def _cached_forward(self, *args: Any, **kw: Any) -> Any:
        from ..cache import MISS, cache_key, get_store
        from ..config import config
        mode = config['cache_mode']
        if mode == 'NONE':
            return self.forward(*args, **kw)
        key = cache_key(self, self._use_cache, args, kw)
        if key is None:  # an argument that cannot be keyed by its content (a CacheWarning said so)
            return self.forward(*args, **kw)
        store = get_store()
        if 'R' in mode:
            hit = store.get(key)
            if hit is not MISS:
                return hit
        result = self.forward(*args, **kw)
        if 'W' in mode:
            store.put(key, result)
        return result

    def use_cache(self, flag: bool | str = True) -> ModuleBase:
        """Cache this module's results by its identity and the call's arguments (see ``lazyplug.cache``).

        A string ``flag`` is a tag that separates this module's entries from those of other
        instances of its class; ``False`` turns caching off. Hooks still run on cache hits.
        """
        object.__setattr__(self, '_use_cache', flag or False)
        self._refresh_fast_call()
        return self

    def forward(self, *args: Any, **kw: Any) -> Any:
        """What calling the module does. Subclasses implement it."""
        raise NotImplementedError(f'{type(self).__name__} does not implement forward()')

    # -- per-module hooks ----------------------------------------------------------------------
    def register_hook(self, hook: Any) -> HookHandle:
        """Add a call hook: a ``ModuleHook`` subclass or instance, or a (generator) function.

        Registering the same hook twice keeps one. The handle's ``remove()`` unregisters it.
        """
        from .hooks import HookHandle, check_hook
        check_hook(hook)
        if not any(h is hook for h in self._hooks):
            self._hooks.append(hook)
            self._hooks.sort(key=lambda h: getattr(h, '__hook_priority__', 100))
            self._refresh_fast_call()
        return HookHandle(self, hook)

    def unregister_hook(self, hook: Any) -> None:
        """Remove a hook added with ``register_hook``; an unknown hook is ignored."""
        self._hooks[:] = [h for h in self._hooks if h is not hook]
        self._refresh_fast_call()

    def clear_hooks(self) -> None:
        """Remove every hook of this module."""
        self._hooks.clear()
        self._refresh_fast_call()

    # -- tasks ---------------------------------------------------------------------------------
    def _get_train_tasks(self) -> Any:
        """Training tasks: a flow, a callable, a list of them, or None."""
        return None

    def _get_deploy_tasks(self) -> Any:
        """Deployment tasks, run after every descendant's deployment: a flow, a callable, a list, or None."""
        return None

    def _get_eval_tasks(self) -> Any:
        """The evaluation task when an evalset is set: it fills ``eval_result``."""
        return None if self._evalset is None else _Evaluation(self)

    def _get_post_process_tasks(self) -> Any:
        """Tasks run at the end of every update, whatever its modes."""
        return None

    # -- lifecycle -----------------------------------------------------------------------------
    def update(self, *, recursive: bool = True, mode: str | Iterable[str] | None = None,
               workers: int | None = None, keep_on_failure: bool = False) -> ModuleBase:
        """Train, deploy and evaluate this module and (unless ``recursive=False``) its submodules.

        ``mode`` picks the phases (``'train'``, ``'deploy'``, ``'eval'``; default all three). LazyLLM's
        ``'server'`` is ``'deploy'``.
        ``workers`` tasks of a phase run at once (default: the ``workers`` setting, 1). When a task
        fails, what this update deployed is stopped again unless ``keep_on_failure`` is true.
        """
        from ..lifecycle import run_update
        run_update(self, mode, recursive=recursive, workers=workers, keep_on_failure=keep_on_failure)
        return self

    def update_server(self, *, recursive: bool = True, workers: int | None = None) -> ModuleBase:
        """Deploy only (the ``deploy`` phase)."""
        return self.update(recursive=recursive, mode='deploy', workers=workers)

    def start(self, *, workers: int | None = None) -> ModuleBase:
        """Deploy this module and its submodules."""
        return self.update(mode='deploy', workers=workers)

    def restart(self, *, workers: int | None = None) -> ModuleBase:
        """Stop, then deploy again."""
        return self.stop().start(workers=workers)

    def eval(self, *, recursive: bool = True, workers: int | None = None) -> ModuleBase:
        """Evaluate every module with an evalset; results land in ``eval_result``."""
        return self.update(recursive=recursive, mode='eval', workers=workers)

    def stop(self) -> ModuleBase:
        """Release what this module and its submodules deployed (parents before children)."""
        from ..lifecycle import plan_modules
        for module in reversed(plan_modules(self)):
            module._on_stop()
        return self

    def wait(self) -> ModuleBase:
        """Block until what this module and its submodules deployed has ended."""
        from ..lifecycle import plan_modules
        for module in plan_modules(self):
            module._on_wait()
        return self

    def _on_stop(self) -> None:
        """Release this module's own deployment (not its submodules'); subclasses override."""

    def _on_wait(self) -> None:
        """Wait for this module's own deployment to end; subclasses override."""

    # -- evaluation ----------------------------------------------------------------------------
    def evalset(self, evalset: Any, load_f: Callable[[Any], Any] | None = None,
                collect_f: Callable[[list[Any]], Any] = _identity) -> None:

        """Set the evaluation data: a sequence, or a path read with ``load_f(open file)``.

        ``collect_f`` turns the list of outputs into ``eval_result``. Dict items are passed as
        keyword arguments.
        """
        if not callable(collect_f):
            raise EvalsetError(f'collect_f must be callable, got {collect_f!r}')
        if isinstance(evalset, (str, os.PathLike)):
            path = os.fspath(evalset)
            if load_f is None:
                raise EvalsetError(f'evalset {path!r} is a path: pass load_f= to read the file (e.g. json.load)')
            if not callable(load_f):
                raise EvalsetError(f'load_f must be callable, got {load_f!r}')
            if not os.path.isfile(path):
                raise EvalsetNotFoundError(f'evalset file {path!r} does not exist')
            with open(path) as f:
                data = load_f(f)
        elif isinstance(evalset, Iterable):
            data = evalset
        else:
            raise EvalsetError(f'evalset takes a sequence or a file path, not {type(evalset).__name__}')
        object.__setattr__(self, '_evalset', list(data))
        object.__setattr__(self, '_eval_collect', collect_f)

    # -- presentation --------------------------------------------------------------------------
    def __repr__(self) -> str:
        return make_repr('Module', type(self), name=self.name)

    def _title(self) -> str:
        """A short name for messages and progress rows: ``Type(name)``, or the type's name (the repr
        is a tree, too long for one line)."""
        return f'{type(self).__name__}({self.name})' if self.name else type(self).__name__


_plain_call = ModuleBase.__call__


def _follow_module_call() -> None:
    # one check when the plugins change instead of one in every call
    call = ModuleBase._hooked_call if _flags.module_call else _plain_call
    ModuleBase.__call__ = call  # type: ignore[method-assign]


host.watch(_follow_module_call)


class _Evaluation:
    """The eval task of one module: call it on every evalset item (concurrently, order kept)."""

    def __init__(self, module: ModuleBase) -> None:
        self.module = module

    def __call__(self) -> None:
        module = self.module
        calls: list[Callable[[], Any]] = [partial(module, **item) if isinstance(item, dict) else partial(module, item)
                                          for item in module._evalset or ()]
        if _flags.task_progress:  # some plugin follows the items (the progress display)
            calls = _reporting(module, calls)
        from ..flow._pool import run_all, run_each
        results, errors = run_all(calls) if len(calls) > 1 else run_each(calls)
        for index, exc in enumerate(errors):
            if exc is not None:
                _annotate(exc, f'while evaluating evalset item {index} of {type(module).__name__}')
                raise exc
        module.eval_result = module._eval_collect(results)

    def __repr__(self) -> str:
        return f'<evaluation of {type(self.module).__name__} on {len(self.module._evalset or ())} items>'


def _reporting(module: ModuleBase, calls: list[Callable[[], Any]]) -> list[Callable[[], Any]]:
    """``calls``, each reporting through ``lazyplug_task_progress`` when it has finished."""
    import itertools
    total = len(calls)
    finished = itertools.count(1).__next__  # atomic under the GIL: items finish on several threads
    _hookcalls.task_progress(module, 'eval', 0, total)

    def reported(call: Callable[[], Any]) -> Any:
        try:
            return call()
        finally:
            _hookcalls.task_progress(module, 'eval', finished(), total)

    return [partial(reported, call) for call in calls]
