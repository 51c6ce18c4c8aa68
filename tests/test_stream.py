"""``m.stream(x)`` on modules, in this process: deltas as they are produced, the output, errors, closing."""

import threading

import pytest

import lazyplug
from lazyplug import ActionModule, ModuleBase, Stream, globals
from lazyplug.streaming.stream import join


class Letters(ModuleBase):
    """Streams the letters of its input."""

    def forward(self, text):
        yield from text


class Upper(ModuleBase):
    def forward(self, text):
        return text.upper()


def test_a_generator_module_streams_its_deltas_as_they_are_produced():
    produced = []

    class Counting(ModuleBase):
        def forward(self, n):
            for i in range(n):
                produced.append(i)
                yield i

    stream = Counting().stream(3)
    assert next(stream) == 0 and produced == [0]  # nothing is produced ahead of the consumer
    assert next(stream) == 1 and produced == [0, 1]
    assert list(stream) == [2]


def test_a_plain_call_still_returns_what_forward_returns():
    out = Letters()('ab')
    assert not isinstance(out, (str, Stream)) and list(out) == ['a', 'b']


def test_a_module_whose_forward_returns_an_iterator_streams_it():
    class Words(ModuleBase):
        def forward(self, text):
            return iter(text.split())

    assert list(Words().stream('a b c')) == ['a', 'b', 'c']


def test_a_module_that_does_not_stream_yields_its_output_as_one_delta():
    stream = Upper().stream('abc')
    assert list(stream) == ['ABC'] and stream.result == 'ABC'


def test_the_result_is_the_deltas_joined_strings_concatenated():
    stream = Letters().stream('hey')
    assert list(stream) == ['h', 'e', 'y'] and stream.result == 'hey'


def test_joining_keeps_non_text_deltas_as_a_list_and_nothing_as_an_empty_string():
    assert join([b'a', b'b']) == b'ab'
    assert join([1, 2]) == [1, 2]
    assert join(['a', 1]) == ['a', 1]
    assert join([]) == ''


def test_an_empty_stream_yields_no_delta():
    stream = Letters().stream('')
    assert list(stream) == [] and stream.result == ''


def test_reading_the_result_first_runs_the_stream_to_its_end():
    assert Letters().stream('xy').result == 'xy'


def test_an_error_mid_stream_reaches_the_consumer_after_the_deltas_before_it():
    class Failing(ModuleBase):
        def forward(self, x):
            yield 'a'
            yield 'b'
            raise KeyError('no more letters')

    got = []
    with pytest.raises(KeyError, match='no more letters'):
        for delta in Failing().stream(1):
            got.append(delta)
    assert got == ['a', 'b']


def test_closing_the_stream_stops_the_generator():
    stopped = threading.Event()

    class Endless(ModuleBase):
        def forward(self, x):
            try:
                while True:
                    yield x
            finally:
                stopped.set()

    with Endless().stream('x') as stream:
        assert next(stream) == 'x'
    assert stopped.is_set()
    assert list(stream) == []


def test_hooks_run_around_a_streaming_call():
    seen = []

    def hook(*args, **kw):
        seen.append('pre')
        out = yield
        seen.append(('post', type(out).__name__))

    m = Letters()
    m.register_hook(hook)
    assert list(m.stream('ab')) == ['a', 'b']
    assert seen == ['pre', ('post', 'generator')]  # hooks see the call as it returns: a generator


def test_the_cache_keeps_no_stream_of_a_cached_module():
    m = Letters().use_cache()
    assert list(m.stream('ab')) == ['a', 'b']
    assert list(m.stream('ab')) == ['a', 'b']  # not a spent generator kept from the first call


def test_an_action_module_streams_its_pipeline():
    app = ActionModule(Letters(), str.upper)
    stream = app.stream('ok')
    assert list(stream) == ['o', 'k'] and stream.result == 'OK'
    with pytest.raises(TypeError):
        app('ok')  # a plain call passes the generator itself on, as LazyLLM does


def test_a_module_streams_in_its_callers_session():
    class Greeting(ModuleBase):
        def forward(self, name):
            yield globals['greeting']
            yield name

    with globals.session({'greeting': 'hi '}):
        assert lazyplug.Stream is Stream
        assert ''.join(Greeting().stream('bo')) == 'hi bo'
