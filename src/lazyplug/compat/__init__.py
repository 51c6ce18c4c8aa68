"""LazyLLM compatibility mode: code written for LazyLLM runs unchanged on lazyplug.

Plain ``import lazyplug`` changes nothing outside lazyplug. The compatibility mode does, for
the whole interpreter, what ``import lazyllm`` does and what LazyLLM code relies on:

* ``import lazyllm``, ``from lazyllm.common import package``, ``lazyllm.flow``,
  ``lazyllm.module``, ``lazyllm.launchers``, ``lazyllm.launcher``, ``lazyllm.flow.flow`` and
  ``lazyllm.module.module`` resolve to lazyplug (no distribution called ``lazyllm`` is
  installed, so the real LazyLLM, if present, is not shadowed on disk);
* ``bind`` and ``package`` are builtins, as LazyLLM makes them;
* ``with pipeline() as p1.p2:`` also makes ``p2`` a name of the with-statement's namespace where
  it can be written (module level), as LazyLLM's Best Practice pages rely on;
* LazyLLM's settings that its code reads exist (``parallel_multiprocessing``: always False).

Turn it on with ``python -m lazyplug.compat script.py [args]`` (also ``-m module`` and
``-c code``, as ``python`` takes them), or ``lazyplug.compat.install()`` before importing code
written for LazyLLM; ``uninstall()`` undoes it.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.abc
import importlib.machinery
import sys
import threading

from ..errors import InvalidArgumentError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import types
    from collections.abc import Sequence
    from typing import Any

__all__ = ['ALIASES', 'install', 'installed', 'uninstall']

# LazyLLM's module -> the lazyplug module that stands for it
ALIASES = {
    'lazyllm': 'lazyplug',
    'lazyllm.flow': 'lazyplug.flow',
    'lazyllm.module': 'lazyplug.module',
    'lazyllm.launchers': 'lazyplug.launchers',
    'lazyllm.common': 'lazyplug.compat.names',
    'lazyllm.flow.flow': 'lazyplug.compat.names',
    'lazyllm.module.module': 'lazyplug.compat.names',
    'lazyllm.launcher': 'lazyplug.compat.names',
}
# attributes LazyLLM code reads without importing the module first (lazyllm.flow.flow.FlowException)
_ATTRIBUTES = {'lazyplug': ('common', 'launcher'), 'lazyplug.flow': ('flow',), 'lazyplug.module': ('module',)}
_BUILTINS = ('bind', 'package')
_MISSING: Any = object()
_lock = threading.Lock()
_saved: dict[str, Any] | None = None  # what install() replaced, for uninstall()


class _AliasLoader(importlib.abc.Loader):
    """Puts the lazyplug module in place of the ``lazyllm`` one being imported (the import system
    reads the module back from sys.modules after exec_module, so no copy is ever made)."""

    def __init__(self, target: str) -> None:
        self.target = target

    def exec_module(self, module: types.ModuleType) -> None:
        sys.modules[module.__name__] = importlib.import_module(self.target)


class _LazyllmFinder(importlib.abc.MetaPathFinder):
    """Finds ``lazyllm`` and the sub-modules in ALIASES; any other ``lazyllm.x`` is not there."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != 'lazyllm' and not fullname.startswith('lazyllm.'):
            return None
        where = ALIASES.get(fullname)
        if where is None:
            raise ModuleNotFoundError(f"No module named {fullname!r}: lazyplug's LazyLLM compatibility mode provides "
                                      f'{", ".join(sorted(ALIASES))}', name=fullname)
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(where))


def installed() -> bool:
    """Whether the compatibility mode is on."""
    return _saved is not None


def install() -> None:
    """Turn the compatibility mode on for this interpreter (see the module's documentation);
    calling it again does nothing. The real LazyLLM must not have been imported already."""
    global _saved
    with _lock:
        if _saved is not None:
            return
        real = sys.modules.get('lazyllm')
        if real is not None and real is not sys.modules['lazyplug']:
            raise InvalidArgumentError(f'lazyllm is imported already (from {getattr(real, "__file__", "?")}): turn '
                                       'the compatibility mode on before anything imports lazyllm')
        from ..config import config
        from ..flow import base
        from . import names
        saved: dict[str, Any] = {'builtins': {n: builtins.__dict__.get(n, _MISSING) for n in _BUILTINS}}
        for name in _BUILTINS:
            setattr(builtins, name, getattr(names, name))
        for owner, attributes in _ATTRIBUTES.items():
            module = importlib.import_module(owner)
            for attribute in attributes:
                setattr(module, attribute, names)
        finder = _LazyllmFinder()
        sys.meta_path.insert(0, finder)  # before the path finder, which would load lazyplug's files a second time
        saved['finder'] = finder
        sys.modules['lazyllm'] = importlib.import_module('lazyplug')
        config.add('parallel_multiprocessing', bool, False, 'LazyLLM compatibility: lazyplug runs the items of '
                   'parallel flows in threads, never in processes', parse=_refuse_true)
        base._names_to_caller = True
        _saved = saved


def uninstall() -> None:
    """Turn the compatibility mode off again: builtins, imports and flows as plain lazyplug has them."""
    global _saved
    with _lock:
        saved, _saved = _saved, None
        if saved is None:
            return
        from ..flow import base
        base._names_to_caller = False
        sys.meta_path[:] = [f for f in sys.meta_path if f is not saved['finder']]
        for name in [n for n in sys.modules if n == 'lazyllm' or n.startswith('lazyllm.')]:
            del sys.modules[name]
        for owner, attributes in _ATTRIBUTES.items():
            module = sys.modules[owner]
            for attribute in attributes:
                module.__dict__.pop(attribute, None)
        for name, value in saved['builtins'].items():
            if value is _MISSING:
                builtins.__dict__.pop(name, None)
            else:
                setattr(builtins, name, value)


def _refuse_true(text: str) -> bool:
    from ..config import _parse_bool
    if _parse_bool(text):
        raise ValueError('lazyplug runs parallel items in threads only: multiprocessing is not available')
    return False
