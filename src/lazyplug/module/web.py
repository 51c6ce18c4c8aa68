"""``lazyplug.WebModule``: a web page for any module, provided by the lazyplug-web plugin.

The page (and the browser tests it needs) live in their own distribution, so that the core
stays small; this module hands its class over, or says what to install.
"""

from __future__ import annotations

from ..errors import PluginNotInstalledError

__all__ = ['WebModule']

try:
    from lazyplug_web import WebModule
except ModuleNotFoundError as exc:
    if exc.name != 'lazyplug_web':
        raise
    raise PluginNotInstalledError(
        'lazyplug.WebModule comes from the lazyplug-web plugin, which is not installed: pip install lazyplug-web '
        '(in a checkout of lazyplug: pip install ./plugins/lazyplug-web)') from None
