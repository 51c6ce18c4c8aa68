"""Service registries: where deployed modules publish their URLs, and where others find them.

* A registry is a :class:`~lazyplug.interfaces.ServiceRegistry`, made from a URL by the factory
  plugins register for its scheme (``lazyplug_register_service_registries``).
* Built in: ``memory://`` (this process only) and ``sqlite:///path`` (a file shared by the
  processes of one machine).
* The ``registry`` setting (``LAZYPLUG_REGISTRY``) names the default: a SQLite file in
  lazyplug's state directory.
* An entry records the module's id, its URLs, and its serving processes with their start times.
  An entry whose processes are gone is ignored and removed.
* A removal is remembered for a while (``removed``): a service's owner tells a ``lazyplug stop``
  from a lost entry.
"""

from __future__ import annotations

import os

from ..config import config
from ..errors import ServiceConflictError
from . import liveness

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..interfaces import ServiceRegistry

__all__ = ['REMOVALS_KEPT', 'ServiceEntry', 'default_url', 'get_registry']

REMOVALS_KEPT = 3600.0
"""Seconds the memory and SQLite registries remember that an entry was removed (``removed``)."""


class ServiceEntry:
    """One deployed service.

    * ``module_id``; ``urls``, one per replica; ``pids``, the serving processes.
    * ``started``: a ``time.time()``. ``name``: the module's name or type.
    * ``owner_pid``: the process that deployed it.
    * ``node``: where ``pids`` and ``owner_pid`` are process ids (``liveness.node_id()`` of the
      deploying process, by default this process's). An entry of an older registry has ``node``
      '': unknown, so its processes are never signalled.
    * ``log``: the file its servers write its module's errors to ('' for none).
    """

    __slots__ = ('log', 'module_id', 'name', 'node', 'owner_pid', 'pids', 'started', 'urls')

    def __init__(self, module_id: str, urls: list[str], pids: list[int], started: float, name: str = '',
                 owner_pid: int = 0, node: str | None = None, log: str = '') -> None:
        self.module_id = module_id
        self.urls = list(urls)
        self.pids = list(pids)
        self.started = started
        self.name = name
        self.owner_pid = owner_pid
        self.node = liveness.node_id() if node is None else node
        self.log = log

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServiceEntry:
        return cls(data['module_id'], data['urls'], data['pids'], data['started'], data.get('name', ''),
                   data.get('owner_pid', 0), data.get('node') or '', data.get('log') or '')

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ServiceEntry) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f'<ServiceEntry {self.name or self.module_id} at {", ".join(self.urls)} (pids {self.pids})>'


def conflict_error(registry_url: str, existing: ServiceEntry, new: ServiceEntry) -> ServiceConflictError:
    """The error of publishing ``new`` while ``existing``, live and of another owner, holds its id."""
    what = f'{existing.name} ({existing.module_id!r})' if existing.name else repr(existing.module_id)
    return ServiceConflictError(
        f'{what} is already served at {", ".join(existing.urls) or "(no URL)"} by process {existing.owner_pid} '
        f'(serving pids {existing.pids}), registered in {registry_url}; process {new.owner_pid} cannot publish '
        f'it at {", ".join(new.urls) or "(no URL)"}: stop the running service first')


def default_url() -> str:
    """The registry URL in force: the ``registry`` setting, or a SQLite file in ``home``."""
    url: str = config['registry']
    if url:
        return url
    from urllib.parse import quote
    path = os.path.abspath(os.path.join(config['home'], 'services.sqlite'))
    return 'sqlite:///' + quote(path.replace(os.sep, '/').lstrip('/'), safe='/:')


def get_registry(url: str | None = None) -> ServiceRegistry:
    """The registry for ``url`` (default: the ``registry`` setting), made once per URL."""
    from ..factories import make_service_registry
    from ..host import host
    where = url or default_url()
    return host.instance('service registry', where, lambda: make_service_registry(where))
