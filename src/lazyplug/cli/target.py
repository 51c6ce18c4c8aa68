"""TARGET: what a command works on, named as ``path/to/file.py:name`` or ``package.module:name``.

* The name may be dotted (``file.py:app.chat``). It names a module, a flow, or a function (or a
  ModuleBase subclass) that returns one when called with no arguments.
* Such a function is called, even by ``lazyplug tree``. So a function named ``main`` (a
  program's entry point) or annotated ``-> None`` is refused rather than run.
* A file runs as a module of its own, not as ``__main__``: its ``if __name__ == '__main__':``
  block does not run. Its directory comes first on ``sys.path``, as with ``python file.py``. Its
  code reaches server processes by value (cloudpickle), as a script's does.
* A package module is imported with the current directory on ``sys.path``, as with ``python -m``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
import types

import click

from ..errors import LazyplugError
from ..flow.base import FlowBase
from ..module.base import ModuleBase

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['TargetError', 'TargetLoadError', 'as_module', 'load_module', 'load_target', 'target_argument']

FORMS = 'path/to/file.py:name or package.module:name'


class TargetError(LazyplugError, ValueError):
    """TARGET names nothing usable (a usage error). The message says what was looked for and what exists."""


class TargetLoadError(LazyplugError, RuntimeError):
    """The code TARGET names raised while it was imported or while its factory ran (a failure)."""


def _is_file(where: str) -> bool:
    return where.endswith('.py') or os.sep in where or '/' in where


def _user_frame(exc: BaseException, path: str | None) -> str:
    """Where in the user's code ``exc`` was raised: the innermost frame in ``path`` (or any frame)."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if path is None or os.path.abspath(f.filename) == path]
    if not (mine or frames):
        return ''
    frame = (mine or frames)[-1]
    return f' (at {frame.filename}, line {frame.lineno})'


def _load_file(where: str) -> types.ModuleType:
    path = os.path.abspath(where)
    if not os.path.isfile(path):
        hint = '' if where.endswith('.py') else '; a package module is written package.module, without slashes'
        raise TargetError(f'there is no file {path} (from TARGET {where!r}){hint}')
    stem = os.path.splitext(os.path.basename(path))[0]
    # a private name: the file must not shadow, or be shadowed by, a module of the same name
    name = f'_lazyplug_target_{"".join(c if c.isalnum() else "_" for c in stem)}'
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TargetError(f'{path} cannot be imported as Python code (TARGET {where!r})')
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(name, None)
        if isinstance(exc, Exception):
            raise TargetLoadError(f'running {where} failed: {type(exc).__name__}: {exc}{_user_frame(exc, path)}') \
                from exc
        raise
    import cloudpickle  # its classes and functions travel by value, as those of a script do
    cloudpickle.register_pickle_by_value(module)
    return module


def load_module(where: str) -> types.ModuleType:
    """The Python module of TARGET's first part: a file run afresh, or an imported package module."""
    if _is_file(where):
        return _load_file(where)
    if not all(part.isidentifier() for part in where.split('.')):
        raise TargetError(f'{where!r} is neither a file.py nor a package.module name (TARGET: {FORMS})')
    if os.getcwd() not in sys.path and '' not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (where == exc.name or where.startswith(exc.name + '.')):
            raise TargetError(f'no module named {exc.name!r} can be imported (TARGET {where!r}; looked in the '
                              f'current directory and the installed packages)') from exc
        raise TargetLoadError(f'importing {where} failed: {type(exc).__name__}: {exc}{_user_frame(exc, None)}') \
            from exc
    except Exception as exc:
        raise TargetLoadError(f'importing {where} failed: {type(exc).__name__}: {exc}{_user_frame(exc, None)}') \
            from exc


def _not_a_factory(name: str, fn: Any) -> str | None:
    """Why the function ``fn`` (called ``name``) is no factory of modules, or None if it may be one.

    A TARGET function is called. One that is plainly a program (``main``) or that returns nothing
    (``-> None``) is refused, never run: ``lazyplug tree file.py:main`` must not do main's work.
    """
    if name == 'main':
        return 'main is the entry point of a program, not a function returning a module'
    annotation = getattr(fn, '__annotations__', {}).get('return', ...)
    if annotation is None or annotation == 'None':
        return f'{name}() is annotated to return None, not a module or a flow'
    return None


def _candidates(module: types.ModuleType) -> list[str]:
    """The names in ``module`` that could be a TARGET: modules, flows, and the factories defined there."""
    found = []
    for key, value in vars(module).items():
        if key.startswith('_'):
            continue
        here = getattr(value, '__module__', None) == module.__name__
        made_here = here and ((isinstance(value, type) and issubclass(value, ModuleBase))
                              or (isinstance(value, types.FunctionType) and _not_a_factory(key, value) is None))
        if isinstance(value, (ModuleBase, FlowBase)) or made_here:
            found.append(key)
    return found


def _usable(obj: Any) -> bool:
    return isinstance(obj, (ModuleBase, FlowBase))


def load_target(target: str) -> ModuleBase | FlowBase:
    """The module or flow TARGET names, or its factory's result.

    * A TARGET that names nothing usable raises :class:`TargetError`.
    * Code that raises while it loads raises :class:`TargetLoadError`.
    """
    where, sep, attr = target.rpartition(':')
    if not sep or not where or not attr:
        raise TargetError(f'TARGET {target!r} names no object: write {FORMS} (e.g. app.py:app)')
    module = load_module(where)
    obj: Any = module
    for depth, part in enumerate(attr.split('.')):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            if depth == 0:
                names = _candidates(module)
                listing = ', '.join(names) if names else 'no modules, flows or functions'
                import difflib
                near = difflib.get_close_matches(part, names, n=1)
                hint = f'; did you mean {near[0]!r}?' if near else ''
                raise TargetError(f'{where} has no name {part!r}{hint} (it defines: {listing})') from None
            raise TargetError(f'{attr.rsplit(".", 1)[0]} in {where} has no attribute {part!r}') from None
    if _usable(obj):
        return obj  # type: ignore[no-any-return]
    if isinstance(obj, types.FunctionType) or (isinstance(obj, type) and issubclass(obj, ModuleBase)):
        refused = _not_a_factory(attr.rsplit('.', 1)[-1], obj) if isinstance(obj, types.FunctionType) else None
        if refused is not None:
            names = [n for n in _candidates(module) if n != attr]
            raise TargetError(f'{target} is not run: {refused} (TARGET names a module, a flow, or a function '
                              f'that returns one; {where} defines: {", ".join(names) or "none of them"})')
        import inspect
        try:
            inspect.signature(obj).bind()
        except TypeError as exc:
            raise TargetError(f'{target} needs arguments ({exc}); TARGET must name a module, a flow, or a '
                              'function that returns one when called with none') from None
        except ValueError:
            pass  # no signature to check: calling it will tell
        try:
            made = obj()
        except Exception as exc:
            raise TargetLoadError(f'calling {target}() failed: {type(exc).__name__}: {exc}'
                                  f'{_user_frame(exc, None)}') from exc
        if _usable(made):
            return made
        raise TargetError(f'{target}() returned {type(made).__name__}, not a module or a flow')
    raise TargetError(f'{target} is a {type(obj).__name__} object, not a module, a flow, or a function '
                      'returning one')


def target_argument(target: str) -> ModuleBase | FlowBase:
    """The module or flow TARGET names. A TARGET that names nothing usable is a usage error."""
    try:
        return load_target(target)
    except TargetError as exc:
        raise click.BadParameter(str(exc), param_hint="'TARGET'") from None


def as_module(obj: ModuleBase | FlowBase) -> ModuleBase:
    """``obj`` itself, or a flow wrapped in an ActionModule so that it can be updated."""
    if isinstance(obj, ModuleBase):
        return obj
    from ..module.action import ActionModule
    return ActionModule(obj)
