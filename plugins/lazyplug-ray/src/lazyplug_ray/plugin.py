"""The lazyplug-ray hook plugin: provides the ``ray`` launcher.

Loading it costs nothing: Ray is imported only when a ServerModule deploys with the ``ray``
launcher.
"""

from __future__ import annotations

from lazyplug import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@hookimpl
def lazyplug_launcher(name: str, options: dict[str, Any]) -> Any:
    """The ``ray`` launcher, made with ``options`` (see :class:`lazyplug_ray.RayLauncher`)."""
    if name != 'ray':
        return None
    from .launcher import RayLauncher
    return RayLauncher(**options)
