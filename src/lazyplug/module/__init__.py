"""Modules: ``ModuleBase`` and the modules built on it."""

from __future__ import annotations

from .._lazy import lazy_attributes
from .action import ActionModule
from .base import ModuleBase

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .hooks import HookHandle, ModuleHook
    from .server import ServerModule, UrlModule

__all__ = ['ActionModule', 'HookHandle', 'ModuleBase', 'ModuleHook', 'ServerModule', 'UrlModule']

__getattr__ = lazy_attributes(__name__, {'HookHandle': '.hooks', 'ModuleHook': '.hooks', 'ServerModule': '.server',
                                               'UrlModule': '.server'})
