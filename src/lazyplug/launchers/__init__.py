"""Launchers: where a ServerModule's service runs.

``local`` (child processes) and ``thread`` (in this process) are built in. Plugins add others
through ``lazyplug_register_launchers``; each is a :class:`lazyplug.interfaces.Launcher`.
"""

from .base import BasicDeployment

__all__ = ['BasicDeployment']
