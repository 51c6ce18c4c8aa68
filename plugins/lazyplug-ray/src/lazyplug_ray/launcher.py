"""The ``ray`` launcher: each replica of a ServerModule is a Ray actor serving lazyplug's own app.

Ray places the actors (by the resources asked for), restarts one whose process died
(``max_restarts``), and ends them when the launcher stops them or this process goes away
(they are owned by it). The URLs published are the actors' own HTTP servers, one per replica,
which the client takes in turn exactly as with the local launcher.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid

from lazyplug.config import config
from lazyplug.errors import InvalidArgumentError, LaunchError
from lazyplug.launchers.base import BasicDeployment, wait_healthy
from lazyplug.serve.process import check_host

from . import cluster
from .placement import (
    GROUP_STRATEGIES,
    STRATEGIES,
    Placement,
    check_combination,
    valid_resources,
    valid_scheduling_strategy,
)
from .replica import ServiceReplica, port_file
from .watch import ReplicaWatch

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from lazyplug.serve.process import ServeSpec

__all__ = ['RayDeployment', 'RayLauncher']

_NUMBER = (int, float)
_live: set[RayDeployment] = set()
_live_lock = threading.Lock()
_actor_class: Any = None


def _check_options(options: dict[str, Any]) -> None:
    checks: dict[str, tuple[Callable[[Any], bool], str]] = {
        'address': (lambda v: v is None or (isinstance(v, str) and v != ''), 'a Ray address ("auto", "ray://host:port")'),
        'num_cpus': (lambda v: isinstance(v, _NUMBER) and not isinstance(v, bool) and v >= 0, 'a number >= 0'),
        'num_gpus': (lambda v: isinstance(v, _NUMBER) and not isinstance(v, bool) and v >= 0, 'a number >= 0'),
        'memory': (lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0, 'a whole number of bytes > 0'),
        'max_restarts': (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= -1,
                         'a whole number >= 0, or -1 for no limit'),
        'start_timeout': (lambda v: isinstance(v, _NUMBER) and not isinstance(v, bool) and v > 0, 'seconds > 0'),
        'runtime_env': (lambda v: isinstance(v, dict), "a dict of Ray's runtime environment"),
        'working_dir': (_valid_working_dir, 'an existing directory, or a remote URI (s3://..., https://....zip)'),
        'scheduling_strategy': (valid_scheduling_strategy, f'one of {", ".join(map(repr, STRATEGIES))} or an object '
                                'of ray.util.scheduling_strategies'),
        'placement_strategy': (lambda v: v in GROUP_STRATEGIES, f'one of {", ".join(map(repr, GROUP_STRATEGIES))}'),
        'resources': (valid_resources, 'a dict of custom resource names to amounts >= 0 (CPU, GPU and memory are '
                                       'asked for with num_cpus, num_gpus and memory)'),
    }
    for name, value in options.items():
        if name not in checks:
            raise InvalidArgumentError(f'the ray launcher has no option {name!r} '
                                       f'(options: {", ".join(sorted(checks))})')
        valid, what = checks[name]
        if not valid(value):
            raise InvalidArgumentError(f'the ray launcher option {name}={value!r} is not valid: expected {what}')
    check_combination(options)


def _valid_working_dir(value: Any) -> bool:
    return isinstance(value, str) and ('://' in value or os.path.isdir(value))


class RayLauncher:
    """Run each replica of a service as a Ray actor.

    Options: ``address`` (a running cluster; default: the ``ray_address`` setting,
    ``LAZYPLUG_RAY_ADDRESS``, else a local Ray instance started for the application), the
    resources of each replica ``num_cpus``, ``num_gpus``, ``memory`` (bytes), ``resources``
    (custom ones), where the replicas go (``scheduling_strategy`` or ``placement_strategy``: see
    :mod:`lazyplug_ray.placement`), ``max_restarts`` (how often Ray restarts a replica whose
    process died; -1, the default: always), ``runtime_env`` (Ray's, of each replica),
    ``working_dir`` (shipped as the job's working directory when the launcher connects; default:
    the ``ray_working_dir`` setting) and ``start_timeout`` (seconds).
    """

    name = 'ray'

    def __init__(self, **options: Any) -> None:
        _check_options(options)
        self.address: str | None = options.get('address') or config['ray_address'] or None
        working_dir = options.get('working_dir') or config['ray_working_dir'] or None
        if working_dir is not None and not _valid_working_dir(working_dir):
            raise InvalidArgumentError(f'the ray_working_dir setting {working_dir!r} (LAZYPLUG_RAY_WORKING_DIR) is '
                                       'not an existing directory, nor a remote URI')
        # absolute: the application may change its directory before it deploys
        self.working_dir = working_dir if working_dir is None or '://' in working_dir else os.path.abspath(working_dir)
        self.start_timeout = float(options.get('start_timeout', config['start_timeout']))
        self.options = options
        self.actor_options: dict[str, Any] = {key: options[key] for key in (
            'num_cpus', 'num_gpus', 'memory', 'resources', 'runtime_env', 'scheduling_strategy') if key in options}
        self.actor_options['max_restarts'] = options.get('max_restarts', -1)
        # a threaded actor: ready(), serving() and shutdown() must not wait for each other
        self.actor_options['max_concurrency'] = 4

    def __repr__(self) -> str:
        return f'<RayLauncher address={self.address or "local"} {self.actor_options}>'

    def launch(self, spec: ServeSpec, replicas: int) -> RayDeployment:
        """Start ``replicas`` actors serving ``spec`` and wait until each answers its health check."""
        import cloudpickle
        check_host(spec.host, spec.security_key)
        pythonpath = [*spec.pythonpath, *(entry or os.getcwd() for entry in sys.path)]
        first_port = spec.port
        cluster.acquire(self.address, self.working_dir)
        actors: list[Any] = []
        keys: list[str] = []
        ready: list[Any] = []
        placement: Placement | None = None
        try:
            import ray
            actor_class = _get_actor_class()
            # one copy in the object store for every replica, kept by the deployment for as long as
            # it runs: Ray reads it again whenever it restarts a replica
            payload = ray.put(cloudpickle.dumps(spec))
            placement = Placement(self.options, replicas)
            for index in range(replicas):
                keys.append(uuid.uuid4().hex)
                port = first_port + index if first_port else None  # replicas take the next ports
                options = {**self.actor_options, **placement.options(index)}
                actors.append(actor_class.options(**options).remote(payload, pythonpath, port, keys[-1]))
            ready = [actor.ready.remote(self.start_timeout) for actor in actors]
            urls = self._wait_ready(ready, spec.name, placement, spec.scheme)
        except BaseException:
            try:
                _remove(actors, keys, _started(actors, ready))
                if placement is not None:
                    placement.remove()
            finally:
                cluster.release()
            raise
        return RayDeployment(urls, actors, keys, self.start_timeout, payload, placement, spec)

    def _wait_ready(self, ready: list[Any], name: str, placement: Placement, scheme: str) -> list[str]:
        import ray
        from ray.exceptions import GetTimeoutError, RayError
        deadline = time.monotonic() + self.start_timeout
        try:
            addresses = ray.get(ready, timeout=self.start_timeout)
        except GetTimeoutError:
            asked = {k: v for k, v in self.actor_options.items()
                     if k in ('num_cpus', 'num_gpus', 'memory', 'resources')}
            available = ray.available_resources()  # type: ignore[no-untyped-call]
            nodes = sum(1 for node in ray.nodes() if node['Alive'])  # type: ignore[no-untyped-call]
            where = placement.describe()
            raise LaunchError(f'{name}: the Ray actors did not start within {self.start_timeout:g} s (the '
                              f'start_timeout option or setting); each asks for {asked or "Ray default resources"}'
                              f'{" " + where if where else ""}, and the cluster has {nodes} node(s) alive with '
                              f'{available} available') from None
        except RayError as exc:
            raise LaunchError(f'{name}: a Ray actor failed to start serving: {exc}') from exc
        urls = [f'{scheme}://{host}:{port}' for host, port, _ in addresses]
        for url in urls:
            wait_healthy(url, deadline, lambda: None, self.start_timeout,
                         lambda: '(the replica\'s output is in the Ray logs of its node)')
        return urls


def _get_actor_class() -> Any:
    global _actor_class
    with _live_lock:  # deploys run in several threads with workers > 1
        if _actor_class is None:
            import ray
            _actor_class = ray.remote(ServiceReplica)
        return _actor_class


_GRACE = 10.0  # seconds a replica shut down has to end itself, running its atexit handlers


def _started(actors: list[Any], ready: list[Any]) -> list[Any]:
    """The actors whose ready() call has ended (with an answer or an error): the others never ran."""
    if not ready:
        return actors  # not asked yet: any of them may be running
    import ray
    done = set(ray.wait(ready, num_returns=len(ready), timeout=0)[0])
    return [actor for actor, ref in zip(actors, ready, strict=True) if ref in done]


def _remove(actors: list[Any], keys: list[str], started: list[Any] | None = None) -> None:
    """End ``actors`` for good, waiting until Ray reports them dead; forget their ports.

    ``started``: those that may be serving (default: all), which are shut down gracefully first
    and then end as a program does, running their ``atexit`` handlers (where plugins flush what
    they buffered: a served module's spans). ``ray.kill`` would skip those handlers; it ends what
    has not ended that way within ``_GRACE`` seconds, and what never started.
    """
    import ray
    if actors and ray.is_initialized():
        started = actors if started is None else started
        ended: list[Any] = []
        if started:
            ray.wait([actor.shutdown.remote() for actor in started], num_returns=len(started), timeout=10)
            # Ray does not restart an actor that ends itself; the call fails once it has ended
            ending = [actor.__ray_terminate__.remote() for actor in started]
            done = set(ray.wait(ending, num_returns=len(ending), timeout=_GRACE)[0])
            ended = [actor for actor, ref in zip(started, ending, strict=True) if ref in done]
        rest = [actor for actor in actors if actor not in ended]  # ray.kill would cut an ending one's atexit short
        for actor in rest:
            ray.kill(actor, no_restart=True)
        _wait_dead(rest, 30)
    for key in keys:  # a replica that never started or died hard leaves its port file on this node
        try:
            os.remove(port_file(key))
        except OSError:
            pass


def _wait_dead(actors: list[Any], seconds: float) -> None:
    """Wait at most ``seconds`` until Ray reports every one of ``actors`` dead."""
    import ray
    from ray.exceptions import RayError
    deadline = time.monotonic() + seconds
    for actor in actors:
        while time.monotonic() < deadline:  # ray.kill only asks: wait until Ray says it is done
            try:
                ray.get(actor.serving.remote(), timeout=max(deadline - time.monotonic(), 0.1))
            except RayError:
                break
            time.sleep(0.02)


class RayDeployment(BasicDeployment):
    """A service whose replicas are Ray actors (``actors``).

    ``pids`` holds this process's id: the actors are owned by it and end with it, while the
    processes serving each replica change when Ray restarts one (see :meth:`replica_pids`).
    """

    def __init__(self, urls: list[str], actors: list[Any], keys: list[str], start_timeout: float,
                 payload: Any, placement: Placement, spec: ServeSpec) -> None:
        self.actors = actors
        self.placement = placement
        self._payload = payload  # the ObjectRef of what the replicas serve: restarts read it
        self._keys = keys
        self._start_timeout = start_timeout
        super().__init__(urls, [os.getpid()], self._remove, self._wait_ended)
        # a replica that Ray restarts (elsewhere, perhaps) is withdrawn from urls, and back once it serves
        self._watch = ReplicaWatch(actors, urls, spec.scheme, start_timeout, self.urls_changed, spec.name)
        with _live_lock:
            _live.add(self)

    def replica_pids(self) -> list[int]:
        """The process id of each replica now (it changes when Ray restarts a replica)."""
        import ray
        ready = [actor.ready.remote(self._start_timeout) for actor in self.actors]
        return [pid for _, _, pid in ray.get(ready, timeout=self._start_timeout)]

    def _remove(self) -> None:
        with _live_lock:
            _live.discard(self)
        self._watch.stop()
        try:
            _remove(self.actors, self._keys)
            self.placement.remove()
        finally:
            cluster.release()

    def _wait_ended(self) -> None:
        import ray
        from ray.exceptions import ActorDiedError, RayError
        for actor in self.actors:
            while ray.is_initialized():
                try:
                    ray.get(actor.serving.remote())
                    break
                except ActorDiedError:
                    break
                except RayError:
                    time.sleep(0.1)  # being restarted by Ray: it serves again soon


def _stop_live() -> None:
    with _live_lock:
        running = list(_live)
    for deployment in running:
        deployment.stop()


cluster.at_disconnect(_stop_live)
