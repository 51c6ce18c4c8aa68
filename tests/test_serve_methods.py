"""POST /method reaches only the served object's own API: what its own classes define, never
lazyplug's lifecycle, hooks, evaluation or cache, nor object's; ServerModule(methods=[...]) opens more."""

import pytest

from lazyplug import ServerModule, config
from lazyplug.errors import InvalidArgumentError, RemoteError
from lazyplug.module import ModuleBase, ModuleHook
from serve_helpers import raw

pytestmark = pytest.mark.usefixtures('nothing_left_running')


class NonNegative(ModuleHook):
    """A validation hook: a negative input is refused."""

    __hook_error_mode__ = 'raise'

    def pre_hook(self, x):
        if x < 0:
            raise ValueError(f'{x} is negative')


class Counter(ModuleBase):
    def __init__(self):
        super().__init__()
        self.inner = ServerModule(lambda x: x, launcher='thread')  # a nested service it owns
        self.register_hook(NonNegative)

    def forward(self, x):
        return self.inner(x) + 1

    def describe(self, prefix='counter'):
        return f'{prefix} of {self.inner._url is not None}'

    def evaluation_items(self):
        return len(getattr(self, '_evalset', None) or [])

    def start(self, **kw):  # an override of lazyplug's own is still lazyplug's
        return super().start(**kw)


class LoudCounter(Counter):
    def shout(self, text):
        return text.upper()


LIFECYCLE = ['update', 'start', 'restart', 'stop', 'wait', 'eval', 'update_server', 'clear_hooks', 'register_hook',
             'unregister_hook', 'evalset', 'use_cache', 'forward', 'for_each', 'submodules']


@pytest.fixture
def counter(started):
    module = LoudCounter()
    with config.temp('launcher', 'thread'):
        return started(ServerModule(module, launcher='thread'))


@pytest.mark.parametrize('name', LIFECYCLE)
def test_lazyplugs_own_methods_are_refused_with_a_json_403(counter, name):
    code, reply = raw(counter._urls[0], 'POST', '/method', b'{"method": "%s", "args": []}' % name.encode())
    assert code == 403 and f"'{name}' is not a method of" in reply['error']['message']
    assert f"methods=['{name}']" in reply['error']['message']


def test_a_refused_call_changes_nothing_in_the_server(counter):
    for name, args in [('clear_hooks', []), ('stop', []), ('evalset', [['bad']]), ('use_cache', [])]:
        with pytest.raises(RemoteError, match=r'\(403\).*not a method of'):
            counter._call(name, *args)
    assert counter(1) == 2  # the nested service still runs
    assert counter._call('evaluation_items') == 0
    with pytest.raises(RemoteError, match='-1 is negative'):
        counter(-1)  # the validation hook is still there


def test_the_served_objects_own_methods_and_its_subclasses_are_callable(counter):
    assert counter._call('describe', prefix='a') == 'a of True'
    assert counter._call('shout', 'hi') == 'HI'


def test_dunders_and_objects_methods_are_not_callable(counter):
    for name in ['__init__', '__reduce__', '_on_stop']:
        assert raw(counter._urls[0], 'POST', '/method', b'{"method": "%s"}' % name.encode())[0] == 400
    assert raw(counter._urls[0], 'POST', '/method', b'{"method": "mro"}')[0] == 404


def test_methods_opens_more_of_the_served_objects_methods(started):
    sm = started(ServerModule(LoudCounter(), launcher='thread', methods=['evalset']))
    assert sm._call('evalset', [1, 2]) is None
    assert sm._call('evaluation_items') == 2
    assert raw(sm._urls[0], 'POST', '/method', b'{"method": "stop"}')[0] == 403


@pytest.mark.parametrize('methods, words', [
    (['vanish'], "has no method 'vanish'"),
    (['_on_stop'], 'public methods'),
    ([3], 'public methods'),
])
def test_methods_must_name_methods_of_the_served_object(methods, words):
    with pytest.raises(InvalidArgumentError, match=words):
        ServerModule(LoudCounter(), methods=methods)


def test_methods_belong_with_a_module_to_serve():
    with pytest.raises(InvalidArgumentError, match='serves nothing'):
        ServerModule(url='http://127.0.0.1:8000', methods=['shout'])
