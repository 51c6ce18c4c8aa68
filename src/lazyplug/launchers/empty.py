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

    A service must run on after its deploy returns, so it needs ``sync=False``, as LazyLLM's own
    examples write it; ``sync=True`` (which in LazyLLM makes ``start()`` wait until the service
    ends) is refused when a service is launched. ``subprocess`` is kept for LazyLLM code that reads
    it: services always run in child processes here. lazyplug places no service on GPUs, so
    ``ngpus`` above 0 is refused.
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
        if self.sync:
            raise InvalidArgumentError(f'{spec.name or "a service"} needs a launcher that returns while it serves: '
                                       'launchers.empty(sync=False) (sync=True would wait for the service to end)')
        return LocalLauncher({}).launch(spec, replicas)

    def __repr__(self) -> str:
        return f'<EmptyLauncher subprocess={self.subprocess} sync={self.sync}>'
