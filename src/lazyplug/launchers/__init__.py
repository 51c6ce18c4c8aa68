"""Launchers: where a ServerModule's service runs. ``local`` (child processes) and ``thread``
(in this process) are built in; plugins add others through the ``lazyplug_launcher`` hook.
``empty`` is LazyLLM's name for serving on this machine (``launchers.empty(sync=False)``).
``stop_all()`` stops every service this process started."""

from .base import Deployment, stop_all
from .empty import EmptyLauncher

empty = EmptyLauncher

__all__ = ['Deployment', 'EmptyLauncher', 'empty', 'stop_all']
