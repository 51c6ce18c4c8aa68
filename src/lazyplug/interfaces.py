"""What a plugin implements, as types.

Each is a runtime-checkable :class:`~typing.Protocol`: ``isinstance(obj, Launcher)`` checks that
the methods and attributes exist, not what they do. The contract tests of
:mod:`lazyplug.contract_tests` check what they do.

* :class:`Launcher` starts a served module somewhere and returns a :class:`Deployment`.
  :class:`ReportsMoves` is its optional part, for replicas that move.
* :class:`ServiceRegistry` publishes and finds the URLs of deployed modules.
  :class:`RemembersRemovals` is its optional part.
* :class:`CacheStore` holds the results of the module result cache.

Plugins name them through the register hooks (:mod:`lazyplug.hookspecs`), each with a factory:
:data:`LauncherFactory`, :data:`RegistryFactory`, :data:`CacheStoreFactory`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .serve.process import ServeSpec
    from .services import ServiceEntry

__all__ = ['CacheStore', 'CacheStoreFactory', 'Deployment', 'Launcher', 'LauncherFactory', 'Register',
           'RegistryFactory', 'RemembersRemovals', 'ReportsMoves', 'ServiceRegistry', 'missing_members']


@runtime_checkable
class Deployment(Protocol):
    """A started service: what :meth:`Launcher.launch` returns.

    * ``urls``: one ``scheme://host:port`` per replica, where callers reach it (``spec.scheme``).
    * ``pids``: the serving processes (on the machine that runs them).
    * ``stopped``: whether :meth:`stop` has run (by its owner, or by ``launchers.stop_all()``).
    """

    urls: list[str]
    pids: list[int]
    stopped: bool

    def stop(self) -> None:
        """Stop every replica. Once it returns, nothing answers at ``urls``. A second call does nothing."""

    def wait(self) -> None:
        """Block until every replica has ended (after :meth:`stop`, or on its own)."""


@runtime_checkable
class ReportsMoves(Protocol):
    """The optional part of a :class:`Deployment` whose replicas can move (a cluster restarts one on
    another machine). The ServerModule publishes the new ``urls`` each time it is told."""

    def on_urls_changed(self, callback: Callable[[], None]) -> None:
        """Call ``callback()``, from any thread, each time ``urls`` changes.

        * A replica that stopped answering is left out.
        * One that answers again, at the same address or another, is back.
        """


@runtime_checkable
class Launcher(Protocol):
    """Where a ServerModule's service runs: child processes, threads, a cluster."""

    def launch(self, spec: ServeSpec, replicas: int) -> Deployment:
        """Start ``replicas`` servers of ``spec`` and return once each answers its health check.

        * Serve lazyplug's app (``spec.app()``, see :mod:`lazyplug.serve.process`) at each URL.
        * Refuse a non-loopback ``spec.host`` without ``spec.security_key``
          (``lazyplug.serve.process.check_host``).
        * On failure, raise and leave nothing running.
        """


@runtime_checkable
class ServiceRegistry(Protocol):
    """Where deployed modules publish their URLs, by module id. ``url`` is the registry's own URL."""

    url: str

    def publish(self, entry: ServiceEntry) -> None:
        """Record ``entry``. A live entry of another owner under the same id raises ``ServiceConflictError``."""

    def lookup(self, module_id: str) -> ServiceEntry | None:
        """The live entry of ``module_id``, or None. A dead one is removed."""

    def remove(self, module_id: str) -> None:
        """Forget ``module_id``. An unknown id is ignored."""

    def list(self) -> list[ServiceEntry]:
        """Every live entry, oldest first. Dead ones are removed."""


@runtime_checkable
class RemembersRemovals(Protocol):
    """The optional part of a :class:`ServiceRegistry`: telling a removal from a lost entry."""

    def removed(self, module_id: str) -> bool:
        """Whether ``remove()`` took ``module_id``'s entry out since it was last published.

        * Remembered for at least a minute, in any process.
        * False for an id never published.
        * False for an entry that merely vanished: dead, expired, or lost with the registry's data.

        ``lazyplug update --serve`` stops serving on a removal and publishes a lost entry again.
        Without this method, every missing entry counts as removed.
        """


@runtime_checkable
class CacheStore(Protocol):
    """The store of the module result cache: values by key (a hex digest)."""

    def get(self, key: str) -> Any:
        """The value of ``key``, or ``lazyplug.cache.MISS``. An entry that cannot be read back is a miss."""

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``, replacing any value it had."""

    def clear(self) -> None:
        """Forget every value."""


LauncherFactory = Callable[..., Launcher]
"""``factory(**options)``: a launcher with the user's options. It connects to nothing yet."""

RegistryFactory = Callable[[str], ServiceRegistry]
"""``factory(url)``: the registry at ``url``, whose scheme it was registered for."""

CacheStoreFactory = Callable[[], CacheStore]
"""``factory()``: the store of the strategy it was registered for, from the settings in force."""


class Register(Protocol):
    """The ``register`` argument of the register hooks: ``register(name, factory)``."""

    def __call__(self, name: str, factory: Callable[..., Any]) -> None:
        """Name ``factory``. A name another plugin registered first is refused with a warning."""


def missing_members(obj: object, protocol: type) -> list[str]:
    """The members of ``protocol`` that ``obj`` lacks, for error messages."""
    names = {name for name in vars(protocol) if not name.startswith('_')}
    names |= set(vars(protocol).get('__annotations__', {}))
    return sorted(name for name in names if not hasattr(obj, name))
