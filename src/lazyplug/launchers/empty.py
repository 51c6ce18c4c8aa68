"""``launchers.empty``: LazyLLM's launcher for this machine, as lazyplug's ``local`` launcher."""

from __future__ import annotations

from ..errors import InvalidArgumentError
from .local import LocalLauncher

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..serve.process import ServeSpec
    from .base import Deployment

__all__ = ['EmptyLauncher']


class EmptyLauncher:
    """LazyLLM's ``launchers.empty(subprocess=False, ngpus=None, sync=True)``: a ServerModule given
    one is served on this machine, in a child process per replica (the ``local`` launcher).

    With ``sync=False`` (as LazyLLM's examples write it) ``start()`` returns while the service
    runs. With ``sync=True``, LazyLLM's default, ``start()`` serves in the foreground, as in
    LazyLLM: it returns when the service has ended (Ctrl-C stops it). ``subprocess`` is kept for
    LazyLLM code that reads it: services always run in child processes here. lazyplug places no
    service on GPUs, so ``ngpus`` above 0 is refused.
    """

    name = 'empty'

    def __init__(self, subprocess: bool = False, ngpus: int | None = None, sync: bool = True) -> None:
        if ngpus:
            raise InvalidArgumentError(f'launchers.empty(ngpus={ngpus!r}): lazyplug does not place services on '
                                       'GPUs; the lazyplug-ray plugin does (its num_gpus option)')
        self.subprocess = bool(subprocess)
        self.ngpus = ngpus
        self.sync = bool(sync)

    def launch(self, spec: ServeSpec, replicas: int) -> Deployment:
        """Start the service's replicas as the ``local`` launcher does (its ServerModule waits for
        their end when ``sync``)."""
        return LocalLauncher().launch(spec, replicas)

    def __repr__(self) -> str:
        return f'<EmptyLauncher subprocess={self.subprocess} sync={self.sync}>'
