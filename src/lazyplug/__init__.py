"""lazyplug: applications as trees of modules that can be called, trained, deployed and evaluated.

Everything beyond the core comes from plugins: module groups through the ``lazyplug.modules``
entry points, hook plugins (pluggy) through the ``lazyplug`` entry points. ``import lazyplug``
loads none of them; they load the first time they are needed.

``import lazyplug as lazyllm`` runs LazyLLM-style code; ``python -m lazyplug.compat script.py`` (the
LazyLLM compatibility mode, ``lazyplug.compat``) runs code written for LazyLLM unchanged.
"""

from __future__ import annotations

import importlib
import sys

from . import module
from ._lazy import lazy_attributes
from .config import config
from .context import globals  # noqa: A004 - LazyLLM's public name
from .flow import (
    IFS,
    Diverter,
    FlowBase,
    Graph,
    Loop,
    Parallel,
    Pipeline,
    Switch,
    Warp,
    barrier,
    bind,
    diverter,
    graph,
    ifs,
    loop,
    parallel,
    pipeline,
    save_pipeline_result,
    switch,
    warp,
)
from .flow.binding import Bind, Placeholder, _0, _1, _2, _3, _4, _5, _6, _7, _8, _9
from .module import ActionModule, ModuleBase
from .reprs import ReprRule, make_repr
from .values import arguments, kwargs, package

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .flow.conditions import IFS, Switch, ifs, switch
    from .flow.graphs import Graph, graph
    from .flow.loops import Loop, loop
    from .module.hooks import ModuleHook
    from .module.server import ServerModule, UrlModule
    from .plugins import hookimpl
    from .registry import Register, module_register

__version__ = '0.1.0'

Module = ModuleBase

__all__ = [
    'IFS', 'ActionModule', 'Bind', 'Diverter', 'FlowBase', 'Graph', 'LazyLLMHook', 'Loop', 'Module', 'ModuleBase',
    'ModuleHook', 'Parallel', 'Pipeline', 'Placeholder', 'Register', 'ReprRule', 'ServerModule', 'Switch',
    'UrlModule', 'Warp', '_0', '_1', '_2', '_3', '_4', '_5', '_6', '_7', '_8', '_9', '__version__', 'arguments',
    'barrier', 'bind', 'config', 'diverter', 'globals', 'graph', 'hookimpl', 'ifs', 'kwargs', 'loop', 'make_repr',
    'module', 'module_register', 'package', 'parallel', 'pipeline', 'save_pipeline_result', 'switch', 'warp',
]

# names resolved on first use: `import lazyplug` stays small, and free of pluggy and importlib.metadata
_LAZY = {
    **dict.fromkeys(('IFS', 'Switch', 'ifs', 'switch', 'Graph', 'graph', 'Loop', 'loop'), 'lazyplug.flow'),
    'hookimpl': 'lazyplug.plugins',
    'LazyLLMHook': 'lazyplug.module.hooks',
    'ModuleHook': 'lazyplug.module.hooks',
    'Register': 'lazyplug.registry',
    'module_register': 'lazyplug.registry',
    'ServerModule': 'lazyplug.module.server',
    'UrlModule': 'lazyplug.module.server',
}
_SUBMODULES = frozenset({'builtin', 'cache', 'cli', 'compat', 'config', 'context', 'entrypoints', 'errors',
                         'factories', 'flow', 'hookspecs', 'host', 'interfaces', 'inventory', 'launchers', 'lifecycle',
                         'module', 'plugins', 'registry', 'reprs', 'serve', 'services', 'testing', 'values'})
_RESERVED_NAMES = frozenset(__all__) | frozenset(_LAZY) | _SUBMODULES
_namespace = sys.modules[__name__].__dict__  # `globals` here is lazyplug's per-request context
_lazy_getattr = lazy_attributes(__name__, _LAZY)


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return _lazy_getattr(name)
    if name in _SUBMODULES:
        return importlib.import_module(f'{__name__}.{name}')
    from .registry import lookup_group, unknown_group_message
    group = lookup_group(name)
    if group is None:
        raise AttributeError(unknown_group_message(name))
    return group


def __dir__() -> list[str]:
    return sorted(set(_namespace) | set(_LAZY) | _SUBMODULES)
