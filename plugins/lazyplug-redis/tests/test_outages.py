"""When Redis is not there: clear errors naming the URL (never its password), no hang, and the
same registry and store working again once the server is back."""

import os
import time
import warnings

import pytest
from lazyplug import config
from lazyplug.contract_tests import make_entry
from lazyplug.errors import AuthenticationError, ConfigError, ServiceUnavailableError
from lazyplug.services import get_registry

from lazyplug_redis.connection import RedisUnavailableError
from lazyplug_redis.registry import RedisRegistry
from lazyplug_redis.server import RedisServer, free_port
from redis_helpers import require_redis_server, wait_until


def test_a_server_that_is_not_running_is_a_clear_error_naming_the_url():
    url = f'redis://127.0.0.1:{free_port()}/3'
    registry = get_registry(url)
    with pytest.raises(ServiceUnavailableError) as info:
        registry.lookup('m1')
    message = str(info.value)
    assert url in message and 'redis-server is running' in message and 'looking up' in message
    assert isinstance(info.value, RedisUnavailableError) and isinstance(info.value, ConnectionError)
    assert info.value.__cause__ is not None


def test_the_password_is_never_shown(tmp_path):
    registry = RedisRegistry(f'redis://admin:s3cret@127.0.0.1:{free_port()}/0')
    try:
        with pytest.raises(ServiceUnavailableError) as info:
            registry.list()
    finally:
        registry.close()
    assert 's3cret' not in str(info.value) and 'redis://admin:***@127.0.0.1' in str(info.value)
    assert 's3cret' not in registry.url and 's3cret' not in repr(registry)


@pytest.fixture
def guarded_redis(tmp_path):
    server = RedisServer(require_redis_server(), str(tmp_path), '--requirepass', 'right-one').start()
    yield server
    server.stop()


def test_wrong_credentials_are_an_authentication_error_saying_what_to_check(guarded_redis):
    registry = get_registry(f'redis://:wrong-one@127.0.0.1:{guarded_redis.port}/0')
    with pytest.raises(AuthenticationError, match='password') as info:
        registry.list()
    assert 'wrong-one' not in str(info.value) and f'127.0.0.1:{guarded_redis.port}' in str(info.value)


def test_the_right_credentials_work(guarded_redis):
    registry = get_registry(f'redis://:right-one@127.0.0.1:{guarded_redis.port}/0')
    registry.publish(make_entry('m1'))
    assert registry.lookup('m1') is not None


@pytest.mark.parametrize('url, expected', [
    ('http://127.0.0.1:6379', 'not a Redis URL'),
    ('redis://127.0.0.1:6379/0?ttl=0', "'ttl'"),
    ('redis://127.0.0.1:6379/0?ttl=soon', "'ttl'"),
    ('redis://127.0.0.1:6379/0?prefix=', "'prefix'"),
    ('redis://127.0.0.1:6379/0?tll=5', "unknown query parameter 'tll'"),
    ('redis://127.0.0.1:port/0', 'bad Redis URL'),
    ('redis://127.0.0.1:6379/0#x', 'fragment'),
])
def test_a_bad_registry_url_is_a_config_error_naming_it(url, expected):
    with pytest.raises(ConfigError, match=expected) as info:
        RedisRegistry(url)
    assert url.split('#')[0].split('?')[0] in str(info.value)


def test_a_frozen_server_fails_a_call_within_the_timeout_instead_of_hanging(own_redis):
    with config.temp('redis_timeout', 0.5):
        registry = RedisRegistry(own_redis.url)
    try:
        registry.publish(make_entry('m1'))
        own_redis.freeze()
        try:
            with pytest.raises(RedisUnavailableError, match='does not answer'):
                registry.lookup('m1')
        finally:
            own_redis.thaw()
        assert registry.lookup('m1') is not None  # the same object, working again
    finally:
        registry.close()


def test_the_registry_works_again_after_a_restart_and_its_renewer_restores_its_entries(own_redis):
    registry = get_registry(own_redis.url + '?ttl=1')
    registry.publish(make_entry('m1', name='before'))
    own_redis.stop()
    with pytest.raises(RedisUnavailableError):
        registry.lookup('m1')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)  # the renewer's "could not renew"
        time.sleep(1)  # let a renewal fail: the renewer must survive the outage
        own_redis.start()  # empty: no persistence
        # a live service keeps renewing, so its entry is back without anyone publishing it again
        wait_until(lambda: registry.lookup('m1') is not None, what='the entry to be restored')
    assert registry.lookup('m1').name == 'before'
    assert [e.module_id for e in registry.list()] == ['m1']
    registry.publish(make_entry('m2'))
    assert registry.renewing == ['m1', 'm2']


def test_a_restart_between_calls_does_not_fail_the_next_call(own_redis):
    registry = get_registry(own_redis.url)
    registry.publish(make_entry('m1'))
    own_redis.restart()  # the pooled connection is now dead; the call retries once on a new one
    registry.list()
    registry.publish(make_entry('m2'))
    assert registry.lookup('m2') is not None


@pytest.mark.filterwarnings('ignore:This process .* is multi-threaded:DeprecationWarning')
def test_a_forked_child_does_not_renew_its_parents_entries(registry_url):
    registry = get_registry(registry_url + '&ttl=1')
    registry.publish(make_entry('parent'))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what it renews, then leave at once
        code = 1
        try:
            os.write(write, ','.join(registry.renewing).encode() + b'.')
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    try:
        reported = os.read(read, 100)
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    assert reported == b'.' and registry.renewing == ['parent']
