"""The names LazyLLM code imports from ``lazyllm.common``, ``lazyllm.flow.flow``,
``lazyllm.module.module`` and ``lazyllm.launcher`` (the compatibility mode maps those modules
here). Any other name is looked up on ``lazyplug``.

``FlowException`` and ``ModuleExecutionError`` are ``Exception``: LazyLLM wraps every error
raised in a flow or a module in them, while lazyplug raises the original error, so catching
them catches what lazyplug raises.
"""

from __future__ import annotations

import lazyplug

from ..context import globals  # noqa: A004 - LazyLLM's public name
from ..flow import Bind, Placeholder, barrier, bind, save_pipeline_result
from ..flow.binding import _0, _1, _2, _3, _4, _5, _6, _7, _8, _9
from ..launchers.base import stop_all
from ..reprs import ReprRule, make_repr
from ..values import arguments, kwargs, package

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['Bind', 'FlowException', 'HandledException', 'ModuleExecutionError', 'Placeholder', 'ReprRule', '_0',
           '_1', '_2', '_3', '_4', '_5', '_6', '_7', '_8', '_9', 'arguments', 'barrier', 'bind', 'cleanup', 'globals',
           'init_session', 'kwargs', 'make_repr', 'new_session', 'package', 'save_pipeline_result',
           'teardown_session']

FlowException = HandledException = ModuleExecutionError = Exception
cleanup = stop_all  # LazyLLM's launcher.cleanup(): stop every service this process started


def new_session(sid: str | None = None) -> Any:
    """``with new_session():`` runs a block in a fresh session of ``lazyplug.globals``."""
    return globals.session()


def init_session(sid: str | None = None) -> None:
    """Start a fresh session of ``lazyplug.globals`` in the current context."""
    globals.session().__enter__()


def teardown_session() -> None:
    """Forget the values of the current session."""
    globals.clear()


def __getattr__(name: str) -> Any:
    return getattr(lazyplug, name)
