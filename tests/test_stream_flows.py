"""``flow.stream(x)``: pipelines pass on their last streaming item's deltas, parallel flows tag them."""

import threading

import pytest

from lazyplug import ModuleBase, _0, bind, diverter, ifs, parallel, pipeline, switch, warp
from stream_helpers import endless


class Letters(ModuleBase):
    def forward(self, text):
        yield from text


def letters(text):
    yield from text


def test_a_pipeline_streams_its_last_streaming_item_and_feeds_the_joined_output_on():
    p = pipeline(str.strip, Letters(), str.upper)
    stream = p.stream(' hi ')
    assert list(stream) == ['h', 'i']
    assert stream.result == 'HI'


def test_earlier_streaming_items_are_joined_unseen():
    p = pipeline(Letters(), lambda text: text + '!', letters)
    stream = p.stream('ab')
    assert list(stream) == ['a', 'b', '!'] and stream.result == 'ab!'


def test_an_item_that_turns_out_to_stream_after_the_last_known_one_is_shown_too():
    p = pipeline(letters, lambda text: iter(text.upper()))  # the lambda is not known to stream
    assert list(p.stream('ab')) == ['a', 'b', 'A', 'B']


def test_a_pipeline_without_streaming_items_yields_its_output_once():
    stream = pipeline(str.upper, lambda s: s + '!').stream('a')
    assert list(stream) == ['A!'] and stream.result == 'A!'


def test_a_pipeline_keeps_keyword_arguments_post_action_and_references_in_a_stream():
    seen = []
    with pipeline(post_action=seen.append) as p:
        p.first = lambda x, sep: x + sep
        p.second = letters
        p.third = bind(lambda text, original: f'{text}<{original}', _0, p.input)
    stream = p.stream('ab', sep='-')
    assert list(stream) == ['a', 'b', '-']
    assert stream.result == 'ab-<ab' and seen == ['ab-<ab']


def test_an_error_in_a_pipeline_stream_names_the_item():
    def broken(text):
        yield text
        raise ValueError('broken')

    stream = pipeline(str.upper, broken).stream('a')
    assert next(stream) == 'A'
    with pytest.raises(ValueError, match='broken') as info:
        next(stream)
    assert any('item 1' in note for note in info.value.__notes__)


def test_a_parallel_flow_tags_each_delta_with_its_items_name_or_index():
    named = parallel(a=letters, b=Letters())
    stream = named.stream('xy')
    assert sorted(stream) == [('a', 'x'), ('a', 'y'), ('b', 'x'), ('b', 'y')]
    assert stream.result == ('xy', 'xy')
    assert sorted(parallel(letters, str.upper).stream('q')) == [(0, 'q')]


def test_a_parallel_streams_deltas_as_they_come_from_every_branch():
    go_on = threading.Event()

    def slow(text):
        yield 'slow starts'
        assert go_on.wait(10)
        yield 'slow ends'

    def fast(text):
        yield 'fast'
        go_on.set()

    stream = parallel(slow=slow, fast=fast).stream('x')
    got = list(stream)
    assert got.index(('fast', 'fast')) < got.index(('slow', 'slow ends'))  # not item after item


def test_a_sequential_parallel_streams_its_items_one_after_another():
    stream = parallel.sequential(a=letters, b=letters).stream('xy')
    assert list(stream) == [('a', 'x'), ('a', 'y'), ('b', 'x'), ('b', 'y')]


def test_a_parallel_stream_keeps_its_shape_and_selection():
    p = parallel(a=letters, b=str.upper).asdict
    stream = p.stream('xy', _kept_items=['a'])
    assert list(stream) == [('a', 'x'), ('a', 'y')] and stream.result == {'a': 'xy'}
    assert parallel(letters, letters).sum.stream('ab').result == 'abab'


def test_a_failing_branch_stops_the_others_and_raises_with_its_item_named():
    forever, stopped = endless()

    def failing(x):
        yield 'one'
        raise KeyError('failed branch')

    with pytest.raises(KeyError, match='failed branch') as info:
        list(parallel(forever, failing).stream('x'))
    assert any('item 1' in note for note in info.value.__notes__)
    assert stopped.wait(10)


def test_closing_a_parallel_stream_stops_its_branches():
    (first, first_stopped), (second, second_stopped) = endless(), endless()
    stream = parallel(first, second).stream('x')
    next(stream)
    stream.close()
    assert first_stopped.wait(10) and second_stopped.wait(10)


def test_a_warp_tags_deltas_with_the_index_of_their_part():
    stream = warp(Letters()).stream('ab', 'cd')
    assert sorted(stream) == [(0, 'a'), (0, 'b'), (1, 'c'), (1, 'd')]
    assert stream.result == ('ab', 'cd')


def test_a_diverter_gives_each_item_its_part_and_tags_its_deltas():
    stream = diverter(left=letters, right=letters).stream('ab', 'c')
    assert sorted(stream) == [('left', 'a'), ('left', 'b'), ('right', 'c')]


def test_a_parallel_in_a_pipeline_feeds_its_outputs_on():
    p = pipeline(parallel(letters, letters), lambda a, b: a + b)
    stream = p.stream('xy')
    assert sorted(stream) == [(0, 'x'), (0, 'y'), (1, 'x'), (1, 'y')] and stream.result == 'xyxy'


def test_conditions_stream_the_branch_they_choose():
    assert list(switch(lambda x: x == 'a', letters, 'default', str.upper).stream('a')) == ['a']
    assert list(ifs(lambda x: False, str.upper, letters).stream('bc')) == ['b', 'c']


def test_a_bound_flow_streams_with_its_bound_arguments():
    p = pipeline(pipeline(lambda x, y: x + y, letters) | bind(_0, 'z'))
    assert list(p.stream('a')) == ['a', 'z']
