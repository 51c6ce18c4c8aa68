"""Launchers: where a ServerModule's service runs.

* ``local`` (child processes) and ``thread`` (in this process) are built in. Plugins add others
  through ``lazyplug_register_launchers``; each is a :class:`lazyplug.interfaces.Launcher`.
* ``empty`` is LazyLLM's name for serving on this machine (``launchers.empty(sync=False)``).
* ``stop_all()`` stops every service this process started.
"""

from .base import BasicDeployment, stop_all
from .empty import EmptyLauncher

empty = EmptyLauncher

__all__ = ['BasicDeployment', 'EmptyLauncher', 'empty', 'stop_all']
