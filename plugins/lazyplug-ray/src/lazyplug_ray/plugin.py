"""The lazyplug-ray hook plugin: provides the ``ray`` launcher.

Loading it costs nothing: Ray is imported only when a ServerModule deploys with the ``ray``
launcher.
"""

from __future__ import annotations

from lazyplug import config, hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

config.add('ray_address', str, '', 'the Ray cluster the ray launcher deploys to ("auto", "ray://host:port"); '
           'empty: a local Ray instance started for the application')


@hookimpl
def lazyplug_launcher(name: str, options: dict[str, Any]) -> Any:
    """The ``ray`` launcher, made with ``options`` (see :class:`lazyplug_ray.RayLauncher`)."""
    if name != 'ray':
        return None
    from .launcher import RayLauncher
    return RayLauncher(**options)
