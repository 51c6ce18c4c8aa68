"""lazyplug.globals: the per-request context, carried into flows' worker threads; return_trace."""

import threading

import lazyplug
from lazyplug import globals, parallel, pipeline, warp
from lazyplug.module import ModuleBase


def test_values_set_in_a_session_are_visible_inside_parallel_items_and_shared_with_them():
    def read_and_write(x):
        seen = globals['user']
        globals[f'item{x}'] = True
        return seen

    with globals.session({'user': 'ada'}):
        assert warp(read_and_write)(1, 2, 3) == ('ada', 'ada', 'ada')
        assert {k for k in globals if k.startswith('item')} == {'item1', 'item2', 'item3'}


def test_each_session_is_separate_and_ends_with_its_block():
    with globals.session({'user': 'a'}):
        with globals.session({'user': 'b'}):
            assert globals['user'] == 'b'
        assert globals['user'] == 'a'
    assert 'user' not in globals or globals['user'] != 'a'


def test_a_plain_thread_starts_a_session_of_its_own():
    seen = []
    with globals.session({'user': 'main'}):
        t = threading.Thread(target=lambda: seen.append(globals.get('user')))
        t.start()
        t.join()
    assert seen == [None]


def test_two_requests_in_flight_on_two_threads_do_not_mix():
    results = {}
    gate = threading.Barrier(2, timeout=5)

    def request(name):
        with globals.session({'user': name}):
            gate.wait()
            results[name] = parallel(lambda _: globals['user'], lambda _: globals['user'])(0)

    threads = [threading.Thread(target=request, args=(n,)) for n in ('x', 'y')]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {'x': ('x', 'x'), 'y': ('y', 'y')}


def test_modules_with_return_trace_record_their_outputs_in_the_session():
    class Upper(ModuleBase):
        def forward(self, text):
            return text.upper()

    quiet, loud = Upper(), Upper(return_trace=True, name='loud')
    with globals.session():
        pipeline(quiet, loud)('a')
        assert globals['trace'] == [('loud', 'A')]


def test_return_trace_can_be_turned_on_after_construction():
    class Same(ModuleBase):
        def forward(self, x):
            return x

    m = Same()
    m.return_trace = True
    with globals.session():
        m(1)
        assert globals['trace'] == [('Same', 1)]
    assert lazyplug.globals.snapshot() == dict(globals)
