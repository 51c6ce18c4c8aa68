"""Contract tests for plugin authors: what every launcher, service registry and cache store must do.

Each contract checks the behaviour behind one Protocol of :mod:`lazyplug.interfaces`:

* :class:`LauncherContract`: a :class:`~lazyplug.interfaces.Launcher` (fixture ``launcher``);
* :class:`ServiceRegistryContract`: a :class:`~lazyplug.interfaces.ServiceRegistry` (fixture ``registry``);
* :class:`CacheStoreContract`: a :class:`~lazyplug.interfaces.CacheStore` (fixture ``store``).

Subclass a contract in a test module, under a name pytest collects, and give it its fixture.
pytest then runs every test of the contract on your implementation::

    from lazyplug.contract_tests import ServiceRegistryContract

    class TestMyRegistry(ServiceRegistryContract):
        @pytest.fixture
        def registry(self):
            made = MyRegistry('my://...')
            yield made
            made.close()

The built-in launchers, registries and stores pass these same tests (``tests/test_launchers.py``,
``tests/test_services.py``, ``tests/test_cache.py``). Importing this module imports pytest;
``import lazyplug`` does not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from .cache import MISS
from .errors import (
    AuthenticationError,
    InvalidArgumentError,
    RemoteError,
    ServiceConflictError,
    ServiceUnavailableError,
)
from .interfaces import CacheStore, Deployment, Launcher, RemembersRemovals, ServiceRegistry
from .services import ServiceEntry

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

    from .serve.process import ServeSpec

__all__ = ['CacheStoreContract', 'LauncherContract', 'ServiceRegistryContract', 'call_service', 'make_entry',
           'serve_spec']


def make_entry(module_id: str = 'm1', pids: list[int] | None = None, owner_pid: int | None = None,
               urls: list[str] | None = None, name: str = '', started: float | None = None) -> ServiceEntry:
    """An entry for tests: served and owned by this process unless told otherwise, started now."""
    return ServiceEntry(module_id, urls or [f'http://127.0.0.1:8000/{module_id}'],
                        [os.getpid()] if pids is None else pids, time.time() if started is None else started,
                        name, os.getpid() if owner_pid is None else owner_pid)


def serve_spec(target: Callable[..., Any] = str.upper, **options: Any) -> ServeSpec:
    """What a ServerModule hands its launcher: serve ``target``, with ``ServeSpec``'s ``options``."""
    from .serve.process import ServeSpec
    return ServeSpec(target, name=f'{getattr(target, "__qualname__", target)!s} (contract test)', **options)


def call_service(url: str, *args: Any, security_key: str | None = None) -> Any:
    """Call the service at ``url`` as a lazyplug client does."""
    from .module.server import UrlModule
    return UrlModule(url=url, security_key=security_key)(*args)


class LauncherContract:
    """What every launcher does (:class:`lazyplug.interfaces.Launcher`).

    The subclass provides ``launcher``: a launcher of its kind, ready to launch on this machine.
    Each test's deployments are stopped after it.
    """

    @pytest.fixture
    def launcher(self) -> Any:
        raise NotImplementedError('a LauncherContract subclass provides the launcher fixture')

    @pytest.fixture
    def launch(self, launcher: Any) -> Iterator[Callable[..., Any]]:
        """``launch(target=str.upper, replicas=1, **spec options)``: a deployment, stopped after the test."""
        made: list[Any] = []

        def launch(target: Callable[..., Any] = str.upper, replicas: int = 1, **options: Any) -> Any:
            made.append(launcher.launch(serve_spec(target, **options), replicas))
            return made[-1]

        yield launch
        for deployment in made:
            deployment.stop()

    def test_the_launcher_is_a_launcher(self, launcher: Any) -> None:
        assert isinstance(launcher, Launcher)

    def test_a_launch_serves_at_one_url_per_replica(self, launch: Callable[..., Any]) -> None:
        deployment = launch(str.upper, replicas=2)
        assert isinstance(deployment, Deployment)
        assert len(set(deployment.urls)) == 2 and all(url.startswith('http://') for url in deployment.urls)
        assert [call_service(url, 'abc') for url in deployment.urls] == ['ABC', 'ABC']

    def test_a_deployment_names_the_processes_that_serve_it(self, launch: Callable[..., Any]) -> None:
        pids = launch().pids
        assert pids and all(isinstance(pid, int) and pid > 0 for pid in pids)

    def test_once_stopped_nothing_answers(self, launch: Callable[..., Any]) -> None:
        deployment = launch(replicas=2)
        assert not deployment.stopped
        deployment.stop()
        assert deployment.stopped
        for url in deployment.urls:
            with pytest.raises(ServiceUnavailableError):
                call_service(url, 'abc')

    def test_stopping_twice_is_harmless(self, launch: Callable[..., Any]) -> None:
        deployment = launch()
        deployment.stop()
        deployment.stop()

    def test_wait_blocks_until_the_deployment_is_stopped(self, launch: Callable[..., Any]) -> None:
        deployment = launch()
        waiter = threading.Thread(target=deployment.wait, daemon=True)
        waiter.start()
        waiter.join(0.5)
        assert waiter.is_alive(), 'wait() returned while the service was running'
        deployment.stop()
        waiter.join(30)
        assert not waiter.is_alive(), 'wait() did not return within 30 s of stop()'

    def test_a_service_with_a_security_key_refuses_callers_without_it(self, launch: Callable[..., Any]) -> None:
        url = launch(security_key='sk-contract').urls[0]
        with pytest.raises(AuthenticationError):
            call_service(url, 'abc')
        assert call_service(url, 'abc', security_key='sk-contract') == 'ABC'

    def test_an_error_of_the_served_callable_reaches_the_caller(self, launch: Callable[..., Any]) -> None:
        url = launch(int).urls[0]
        with pytest.raises(RemoteError, match='ValueError'):
            call_service(url, 'not a number')
        assert call_service(url, '7') == 7  # the server serves on

    def test_every_interface_without_a_security_key_is_refused_before_anything_starts(self, launcher: Any) -> None:
        with pytest.raises(InvalidArgumentError, match='security key'):
            launcher.launch(serve_spec(host='0.0.0.0'), 1)


class ServiceRegistryContract:
    """What every service registry does (:class:`lazyplug.interfaces.ServiceRegistry`).

    The subclass provides ``registry``: an empty registry of its kind. The tests of the optional
    ``removed()`` are skipped for a registry without it.
    """

    @pytest.fixture
    def registry(self) -> Any:
        raise NotImplementedError('a ServiceRegistryContract subclass provides the registry fixture')

    def test_the_registry_is_a_service_registry(self, registry: Any) -> None:
        assert isinstance(registry, ServiceRegistry)

    @pytest.fixture
    def other_process(self) -> Iterator[subprocess.Popen[bytes]]:
        """A live process other than this one, to own and serve entries; killed after the test."""
        proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])
        try:
            yield proc
        finally:
            proc.kill()
            proc.wait()

    def test_a_published_entry_is_looked_up_equal(self, registry: Any) -> None:
        entry = make_entry('m1', urls=['http://127.0.0.1:8001', 'http://127.0.0.1:8002'], name='Upper')
        registry.publish(entry)
        assert registry.lookup('m1') == entry

    def test_an_unknown_id_is_looked_up_as_none(self, registry: Any) -> None:
        assert registry.lookup('nothing') is None

    def test_list_returns_the_live_entries_oldest_first(self, registry: Any) -> None:
        newer, older = make_entry('b', started=2000.0), make_entry('a', started=1000.0)
        registry.publish(newer)
        registry.publish(older)
        assert registry.list() == [older, newer]

    def test_remove_forgets_an_entry(self, registry: Any) -> None:
        registry.publish(make_entry('gone'))
        registry.publish(make_entry('kept'))
        registry.remove('gone')
        assert registry.lookup('gone') is None
        assert [e.module_id for e in registry.list()] == ['kept']

    def test_removing_an_unknown_id_is_ignored(self, registry: Any) -> None:
        registry.remove('never published')
        assert registry.list() == []

    @staticmethod
    def removed_method(registry: Any) -> Any:
        """The registry's optional ``removed`` method; a test of it is skipped for a registry without one."""
        if not isinstance(registry, RemembersRemovals):
            pytest.skip(f'{type(registry).__name__} has no removed() (optional: a missing entry then counts as '
                        'removed)')
        return registry.removed

    def test_a_removed_entry_is_known_as_removed(self, registry: Any) -> None:
        removed = self.removed_method(registry)
        registry.publish(make_entry('gone'))
        registry.publish(make_entry('kept'))
        assert not removed('gone')
        registry.remove('gone')
        assert removed('gone')
        assert not removed('kept')

    def test_an_id_never_published_is_not_removed(self, registry: Any) -> None:
        removed = self.removed_method(registry)
        registry.remove('never published')
        assert not removed('never published')

    def test_publishing_again_forgets_the_removal(self, registry: Any) -> None:
        removed = self.removed_method(registry)
        registry.publish(make_entry('m1'))
        registry.remove('m1')
        registry.publish(make_entry('m1'))
        assert not removed('m1')
        assert registry.lookup('m1') is not None

    def test_an_entry_of_ended_processes_is_not_removed(self, registry: Any) -> None:
        removed = self.removed_method(registry)
        ended = subprocess.Popen([sys.executable, '-c', 'pass'])
        ended.wait()
        registry.publish(make_entry('ended', pids=[ended.pid], owner_pid=ended.pid))
        registry.lookup('ended')  # a registry may drop it as dead here: that is no removal
        registry.list()
        assert not removed('ended')

    def test_the_registry_keeps_its_own_copy_of_an_entry(self, registry: Any) -> None:
        entry = make_entry('m1', urls=['http://127.0.0.1:8001'])
        registry.publish(entry)
        entry.urls.append('http://elsewhere')
        registry.lookup('m1').urls.append('http://elsewhere')
        assert registry.lookup('m1').urls == ['http://127.0.0.1:8001']

    def test_publishing_over_a_live_entry_of_another_owner_is_a_conflict(
            self, registry: Any, other_process: subprocess.Popen[bytes]) -> None:
        pid = other_process.pid
        theirs = make_entry('shared', pids=[pid], owner_pid=pid, urls=['http://127.0.0.1:9001'], name='Theirs')
        registry.publish(theirs)
        with pytest.raises(ServiceConflictError) as info:
            registry.publish(make_entry('shared', urls=['http://127.0.0.1:9002']))
        message = str(info.value)
        assert "'shared'" in message and 'http://127.0.0.1:9001' in message and str(pid) in message
        assert registry.url in message
        assert registry.lookup('shared') == theirs

    def test_the_same_owner_republishing_replaces_its_entry(self, registry: Any) -> None:
        registry.publish(make_entry('m1', urls=['http://127.0.0.1:9001']))
        again = make_entry('m1', urls=['http://127.0.0.1:9002'])
        registry.publish(again)
        assert registry.lookup('m1') == again
        assert registry.list() == [again]

    def test_threads_publishing_at_once_all_succeed(self, registry: Any) -> None:
        def publish_some(prefix: str) -> None:
            for i in range(25):
                registry.publish(make_entry(f'{prefix}-{i}'))

        threads = [threading.Thread(target=publish_some, args=(f't{n}',)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert {e.module_id for e in registry.list()} == {f't{n}-{i}' for n in range(8) for i in range(25)}


class CacheStoreContract:
    """What every store of the module result cache does (:class:`lazyplug.interfaces.CacheStore`).

    The subclass provides ``store``: an empty store of its kind.
    """

    @pytest.fixture
    def store(self) -> Any:
        raise NotImplementedError('a CacheStoreContract subclass provides the store fixture')

    def test_the_store_is_a_cache_store(self, store: Any) -> None:
        assert isinstance(store, CacheStore)

    def test_a_key_never_written_is_a_miss(self, store: Any) -> None:
        assert store.get('never written') is MISS

    def test_a_value_put_is_got_back_equal(self, store: Any) -> None:
        value = {'answer': [1, 2.5, 'three', None, True], 'nested': {'k': 'v'}}
        store.put('k', value)
        assert store.get('k') == value

    def test_a_put_replaces_the_value_of_its_key(self, store: Any) -> None:
        store.put('k', 'first')
        store.put('k', 'second')
        assert store.get('k') == 'second'

    def test_keys_are_independent(self, store: Any) -> None:
        store.put('a', 1)
        store.put('b', 2)
        assert (store.get('a'), store.get('b')) == (1, 2)

    def test_clear_forgets_every_value(self, store: Any) -> None:
        store.put('a', 1)
        store.put('b', 2)
        store.clear()
        assert store.get('a') is MISS and store.get('b') is MISS
