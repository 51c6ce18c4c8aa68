"""With lazyplug-otel installed (the ray tox env installs it, switched off but for this test), a call
of a module served on Ray joins its caller's trace: the replica, a Ray worker, continues the
trace context the call carries, and its spans reach the caller's local trace store."""

import os
import time

import lazyplug
import pytest
from lazyplug import config, plugins
from lazyplug.testing import isolated_plugins

from lazyplug_ray import RayLauncher

pytestmark = pytest.mark.usefixtures('nothing_left')


def square(x):
    return x * x


@pytest.fixture
def traced(lazyplug_home):
    """Tracing on in this process (a plugin manager of its own) and in the replicas it starts."""
    if os.environ.get('CI', '').lower() != 'true':
        pytest.importorskip('lazyplug_otel', reason='the ray tox env installs lazyplug-otel')
    import lazyplug_otel
    with config.temp('otel', True), isolated_plugins(fresh=True):
        plugins.get_plugin_manager()  # built now: with tracing on
        yield lazyplug_otel


def served_square(started, lazyplug_home, schedule_delay_ms):
    env = {'LAZYPLUG_OTEL': '1', 'LAZYPLUG_HOME': str(lazyplug_home), 'OTEL_BSP_SCHEDULE_DELAY': schedule_delay_ms}
    return started(lazyplug.ServerModule(square, launcher=RayLauncher(runtime_env={'env_vars': env})))


def client_span(store):
    return next(s for t in store.recent() for s in store.spans(t.trace_id) if s.name == 'POST /call')


def test_a_call_served_on_ray_continues_the_callers_trace(traced, started, lazyplug_home):
    served = served_square(started, lazyplug_home, '50')
    assert served(7) == 49
    traced.flush()
    from lazyplug_otel.store import TraceStore
    store = TraceStore(str(lazyplug_home / 'traces.sqlite3'))
    client = client_span(store)
    deadline = time.monotonic() + 60  # the replica writes its spans within 50 ms of ending them
    while not [s for s in store.spans(client.trace_id) if s.name == 'serve square'] and time.monotonic() < deadline:
        time.sleep(0.1)
    server, = [s for s in store.spans(client.trace_id) if s.name == 'serve square']
    assert server.parent_id == client.span_id and server.kind == 'SERVER'
    assert server.pid != os.getpid() and client.pid == os.getpid()


def test_a_replica_that_is_stopped_writes_the_spans_it_still_held(traced, started, lazyplug_home):
    served = served_square(started, lazyplug_home, '600000')  # the replica writes only when it ends
    assert served(3) == 9
    served.stop()
    from lazyplug_otel.store import TraceStore
    store = TraceStore(str(lazyplug_home / 'traces.sqlite3'))  # where the replica writes
    deadline = time.monotonic() + 30  # its process ends after Ray reports the replica gone
    names = []
    while 'serve square' not in names and time.monotonic() < deadline:
        time.sleep(0.1)
        names = [s.name for t in store.recent() for s in store.spans(t.trace_id)]
    assert names.count('serve square') == 1
