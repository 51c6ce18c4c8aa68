"""The lazyplug-ray hook plugin: registers the ``ray`` launcher.

Loading it costs nothing: Ray is imported only when a ServerModule deploys with the ``ray``
launcher.
"""

from __future__ import annotations

from lazyplug import hookimpl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lazyplug.interfaces import Launcher, Register


def make_launcher(**options: Any) -> Launcher:
    """The ``ray`` launcher with ``options`` (see :class:`lazyplug_ray.RayLauncher`)."""
    from .launcher import RayLauncher
    return RayLauncher(**options)


@hookimpl
def lazyplug_register_launchers(register: Register) -> None:
    register('ray', make_launcher)
