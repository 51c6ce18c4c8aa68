"""The call hooks beyond module calls: ``lazyplug_flow_call`` around every flow call, and
``lazyplug_service_call`` / ``lazyplug_serve_call`` on the two ends of a call to a served module
(the headers one adds reach the other), each free while no plugin implements it."""

import contextvars
import threading

import pytest

import lazyplug
from lazyplug import hookimpl, plugins
from lazyplug.errors import InvalidArgumentError, RemoteError
from lazyplug.flow.base import FlowBase
from lazyplug.flow.pipelines import Pipeline
from lazyplug.host import host
from lazyplug.module import ModuleBase


def inc(x):
    return x + 1


def double(x):
    return x * 2


class FlowRecorder:
    """Records each flow call as it starts and ends, with its arguments and output."""

    def __init__(self):
        self.events = []

    @hookimpl(wrapper=True)
    def lazyplug_flow_call(self, flow, args, kwargs):
        self.events.append(('start', type(flow).__name__, args, kwargs))
        try:
            output = yield
        except Exception as exc:
            self.events.append(('failed', type(flow).__name__, type(exc).__name__))
            raise
        self.events.append(('end', type(flow).__name__, output))
        return output


@pytest.fixture
def recorder():
    plugin = FlowRecorder()
    plugins.register(plugin, name='flow-recorder')
    return plugin


# -- lazyplug_flow_call ----------------------------------------------------------------------------

def test_flow_calls_skip_the_hook_while_no_plugin_implements_it():
    plugins.get_plugin_manager()
    assert host.flags.flow_call is False
    assert Pipeline.__call__ is Pipeline._lazyplug_call  # the flow's own call: no hook machinery at all
    assert FlowBase.__call__ is FlowBase._lazyplug_call


def test_a_flow_call_wrapper_sees_nested_flows_inside_their_parent_in_order(recorder):
    flow = lazyplug.pipeline(inc, lazyplug.pipeline(double, inc), lazyplug.parallel.sequential(inc, double))
    assert flow(1) == (6, 10)
    assert recorder.events == [
        ('start', 'Pipeline', (1,), {}),
        ('start', 'Pipeline', (2,), {}), ('end', 'Pipeline', 5),
        ('start', 'Parallel', (5,), {}), ('end', 'Parallel', (6, 10)),
        ('end', 'Pipeline', (6, 10))]


def test_a_flow_call_wrapper_sees_keyword_arguments_and_several_values_as_passed(recorder):
    flow = lazyplug.pipeline(lambda a, b, k=0: a + b + k)
    assert flow(1, 2, k=3) == 6
    assert recorder.events[0] == ('start', 'Pipeline', (1, 2), {'k': 3})


def test_a_flow_call_wrapper_sees_the_exception_of_a_failing_flow(recorder):
    flow = lazyplug.pipeline(inc, lambda x: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        flow(1)
    assert recorder.events[-1] == ('failed', 'Pipeline', 'ZeroDivisionError')


def test_unregistering_the_last_flow_call_wrapper_brings_back_the_flows_own_call(recorder):
    assert Pipeline.__call__ is not Pipeline._lazyplug_call
    plugins.unregister(recorder)
    assert host.flags.flow_call is False
    assert Pipeline.__call__ is Pipeline._lazyplug_call
    lazyplug.pipeline(inc)(1)
    assert recorder.events == []


def test_what_a_flow_wrapper_sets_in_a_context_variable_reaches_the_items_on_other_threads():
    current = contextvars.ContextVar('current', default=None)

    class Marker:
        @hookimpl(wrapper=True)
        def lazyplug_flow_call(self, flow, args, kwargs):
            token = current.set(type(flow).__name__)
            try:
                return (yield)
            finally:
                current.reset(token)

    plugins.register(Marker(), name='marker')
    seen = []

    def item(x):
        seen.append((current.get(), threading.current_thread() is threading.main_thread()))
        return x

    lazyplug.parallel(item, item, item, item)(1)
    assert {marker for marker, _ in seen} == {'Parallel'}
    assert not all(on_main for _, on_main in seen)  # some items ran on the pool's threads
    assert current.get() is None


def test_a_plugin_can_replace_a_flow_call():
    class Stub:
        @hookimpl(tryfirst=True)
        def lazyplug_flow_call(self, flow, args, kwargs):
            return 'stubbed' if len(flow) == 1 else None

    plugins.register(Stub(), name='stub')
    assert lazyplug.pipeline(inc)(1) == 'stubbed'
    assert lazyplug.pipeline(inc, inc)(1) == 3


def test_a_flow_class_with_its_own_call_is_wrapped_too(recorder):
    class Twice(FlowBase):
        def __call__(self, x):
            return self._items[0](self._items[0](x))

    assert Twice(inc)(1) == 3
    assert recorder.events == [('start', 'Twice', (1,), {}), ('end', 'Twice', 3)]


# -- lazyplug_service_call and lazyplug_serve_call -------------------------------------------------

class Counted(ModuleBase):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if x == 'fail':
            raise ValueError('fail was asked for')
        return x

    def shout(self, text):
        return text.upper()


class Headers:
    """Adds a header on the client's side; records what the server's side receives."""

    def __init__(self, **added):
        self.added = added
        self.sent = []
        self.served = []

    @hookimpl(wrapper=True)
    def lazyplug_service_call(self, service, method, headers, call):
        headers.update(self.added)
        self.sent.append((service, method))
        return (yield)

    @hookimpl(wrapper=True)
    def lazyplug_serve_call(self, service, target, method, headers, call):
        try:
            result = yield
        except Exception as exc:
            self.served.append((method, dict(headers), type(exc).__name__))
            raise
        self.served.append((method, dict(headers), result))
        return result


@pytest.fixture
def served():
    module = Counted()
    server = lazyplug.ServerModule(module, launcher='thread', security_key=True)
    yield server, module
    server.stop()


def test_the_service_hooks_are_skipped_while_no_plugin_implements_them():
    plugins.get_plugin_manager()
    assert (host.flags.service_call, host.flags.serve_call) == (False, False)


def test_the_headers_a_caller_side_wrapper_adds_reach_the_server_side_wrapper(served):
    server, _ = served
    plugin = Headers(traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')
    plugins.register(plugin, name='headers')
    server.start()
    assert server('x') == 'x'
    assert plugin.sent == [('Counted served by ServerModule', None)]
    (method, headers, result), = plugin.served
    assert (method, result) == (None, 'x')
    assert headers['traceparent'] == '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'


def test_a_method_call_names_its_method_on_both_ends(served):
    server, _ = served
    plugin = Headers()
    plugins.register(plugin, name='headers')
    server.start()
    assert server._call('shout', 'hi') == 'HI'
    assert plugin.sent == [('Counted served by ServerModule', 'shout')]
    assert [(method, result) for method, _, result in plugin.served] == [('shout', 'HI')]


def test_the_server_side_wrapper_does_not_see_the_security_key(served):
    server, _ = served
    plugin = Headers()
    plugins.register(plugin, name='headers')
    server.start()
    server('x')
    (_, headers, _), = plugin.served
    assert 'security-key' not in headers and headers['content-type'] == 'application/json'


def test_the_server_side_wrapper_sees_the_served_modules_exception(served):
    server, _ = served
    plugin = Headers()
    plugins.register(plugin, name='headers')
    server.start()
    with pytest.raises(RemoteError, match='fail was asked for'):
        server('fail')
    assert [(method, outcome) for method, _, outcome in plugin.served] == [(None, 'ValueError')]


@pytest.mark.parametrize('name, value, words', [
    ('bad name', 'v', "header 'bad name'"),
    ('Security-Key', 'forged', "header 'Security-Key'"),
    ('content-length', '0', "header 'content-length'"),
    ('x-injected', 'v\r\nSecurity-Key: forged', "header 'x-injected' the value"),
    ('x-text', 'caf\u00e9 \u2615', "header 'x-text' the value"),
])
def test_a_bad_header_from_a_plugin_is_refused_and_the_call_does_not_run(served, name, value, words):
    server, module = served
    plugins.register(Headers(**{name: value}), name='headers')
    server.start()
    with pytest.raises(InvalidArgumentError, match=words) as caught:
        server('x')
    assert 'the call did not run' in str(caught.value)
    assert module.calls == 0
