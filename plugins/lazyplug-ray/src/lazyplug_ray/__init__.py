"""lazyplug-ray: run a lazyplug application's ServerModules on a Ray cluster.

Choose it with ``ServerModule(m, launcher='ray')``, the ``launcher`` setting
(``LAZYPLUG_LAUNCHER=ray``), or ``launcher=RayLauncher(num_cpus=1, ...)`` for options.
Importing this package does not import Ray.
"""

from __future__ import annotations

from lazyplug.config import config

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .launcher import RayDeployment, RayLauncher

# declared here, not in the hook plugin: RayLauncher is usable with plugin autoload off
config.add('ray_address', str, '', 'the Ray cluster the ray launcher deploys to ("auto", "ray://host:port"); '
           'empty: a local Ray instance started for the application')
config.add('ray_working_dir', str, '', 'a directory (or a remote URI) the ray launcher ships to the cluster as the '
           "job's working directory when it connects: the replicas import the application's code from it")

__version__ = '0.1.0'
__all__ = ['RayDeployment', 'RayLauncher']


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import launcher
        return getattr(launcher, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
