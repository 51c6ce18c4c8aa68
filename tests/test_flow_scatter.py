"""parallel's item selection, diverter and warp."""

import sys
import threading
import time

import pytest

from lazyplug import diverter, package, parallel, pipeline, warp
from lazyplug.errors import FlowError


def plus(n):
    return lambda x: x + n


def test_kept_and_skipped_items_by_index_or_name():
    p = parallel(a=plus(1), b=plus(2), c=plus(3))
    assert p(0, _kept_items=[0, 'c']) == (1, 3)
    assert p(0, _skip_items=['a']) == (2, 3)


def test_kept_and_skipped_items_together_are_refused():
    with pytest.raises(FlowError, match='at the same time'):
        parallel(plus(1))(0, _kept_items=[0], _skip_items=[0])


def test_an_unknown_item_in_a_selection_is_named():
    with pytest.raises(FlowError, match="no item 'z'"):
        parallel(a=plus(1))(0, _kept_items=['z'])
    with pytest.raises(FlowError, match='out of range'):
        parallel(plus(1))(0, _kept_items=[5])


def test_asdict_names_the_items_that_ran():
    assert parallel(a=plus(1), b=plus(2), c=plus(3)).asdict(0, _skip_items=['b']) == {'a': 1, 'c': 3}


def test_a_diverter_gives_each_item_its_part():
    assert diverter(plus(1), plus(2), plus(3))(1, 2, 3) == (2, 4, 6)
    assert diverter(a=plus(1), b=plus(2), c=lambda x: -x).asdict(dict(c=3, b=2, a=1)) == {'a': 2, 'b': 4, 'c': -3}


def test_a_diverter_with_a_selection_takes_parts_per_item_or_per_running_item():
    p = diverter(plus(1), plus(2), plus(3), plus(4))
    assert p(0, 10, 20, 30, _skip_items=[0, 2]) == (12, 34)
    assert p(10, 30, _skip_items=[0, 2]) == (12, 34)


def test_a_diverter_refuses_inputs_that_do_not_split():
    # LazyLLM silently truncates a mismatch; a user would rather hear about it
    with pytest.raises(FlowError, match='3 input parts for 2 items'):
        diverter(plus(1), plus(2))(1, 2, 3)
    with pytest.raises(FlowError, match='one input part per item'):
        diverter(plus(1), plus(2))(5)
    with pytest.raises(FlowError, match="key\\(s\\) \\['b'\\]"):
        diverter(a=plus(1), b=plus(2))({'a': 1})


def test_warp_applies_one_body_to_every_part():
    assert warp(plus(1))(1, 2, 3) == (2, 3, 4)
    assert warp(plus(1), lambda x: x * 10).sum([1, 2]) == 50
    assert warp(pipeline(plus(1)))(package(5, 6)) == (6, 7)


def test_warp_refuses_selection_and_names():
    with pytest.raises(FlowError, match='one body'):
        warp(plus(1))(1, 2, _kept_items=[0])
    with pytest.raises(FlowError, match='asdict'):
        warp(plus(1)).asdict


def test_warp_runs_the_parts_concurrently():
    barrier = threading.Barrier(4, timeout=5)

    def meet(x):
        barrier.wait()
        return x

    assert warp(meet)(1, 2, 3, 4) == (1, 2, 3, 4)


@pytest.mark.parametrize('flow', [lambda f: parallel(*[f] * 8), lambda f: warp(f)])
def test_eight_sleeping_items_overlap(flow):
    spans = []

    def sleepy(*_):
        start = time.perf_counter()
        time.sleep(0.05)
        spans.append((start, time.perf_counter()))

    f = flow(sleepy)
    f(*range(8)) if isinstance(f, warp) else f(0)
    # every item started before the first one finished: they ran at the same time
    assert max(s for s, _ in spans) < min(e for _, e in spans)


def test_items_still_overlap_after_the_pool_was_capped_and_backlogged(monkeypatch):
    import lazyplug
    from lazyplug.flow import _pool
    monkeypatch.setattr(_pool, '_pool', None)  # a pool of its own: no thread an earlier test started
    backlogs = []
    submit = _pool._WorkerPool.submit

    def recording(pool, job):
        submit(pool, job)
        backlogs.append(pool._backlog)

    monkeypatch.setattr(_pool._WorkerPool, 'submit', recording)
    threads = set()

    def plus_one(x):
        threads.add(threading.current_thread().name)
        time.sleep(0.001)
        return x + 1

    inner = parallel(*[plus_one] * 8)
    with lazyplug.config.temp('thread_pool_workers', 2):
        assert parallel(*[inner] * 8)(0) == ((1,) * 8,) * 8
    assert max(backlogs) > 0  # jobs queued while the pool's two threads were busy
    assert {t for t in threads if t.startswith('lazyplug-')} <= {'lazyplug-1', 'lazyplug-2'}
    test_eight_sleeping_items_overlap(lambda f: parallel(*[f] * 8))  # the cap lifted, all eight at once


@pytest.mark.skipif(sys.version_info < (3, 11), reason='exception notes arrived in Python 3.11')
def test_an_exception_in_warp_names_the_part():
    def fails_on_two(x):
        if x == 2:
            raise ValueError('two')
        return x

    with pytest.raises(ValueError, match='two') as info:
        warp(fails_on_two)(1, 2, 3)
    assert any('in part 1 of the input of Warp' in note for note in info.value.__notes__)
