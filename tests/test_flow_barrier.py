"""barrier: the items of a concurrent parallel flow (or warp, diverter) wait for each other."""

import sys
import threading

import pytest

import lazyplug
from lazyplug import barrier, package, parallel, pipeline
from lazyplug.errors import FlowError


def test_items_wait_at_each_barrier_until_every_item_has_reached_it():
    steps = []
    lock = threading.Lock()

    def step(name):
        def record(x):
            with lock:
                steps.append(name)
            return x
        return record

    p = parallel(pipeline(step('a1'), barrier, step('a2'), barrier, step('a3')),
                 pipeline(step('b1'), step('b1'), barrier, step('b2'), step('b2'), barrier, step('b3')))
    for _ in range(20):
        steps.clear()
        assert p(0) == (0, 0)
        # every step before a barrier is recorded before any step after it
        assert sorted(steps[:3]) == ['a1', 'b1', 'b1'] and sorted(steps[3:6]) == ['a2', 'b2', 'b2']
        assert sorted(steps[6:]) == ['a3', 'b3']


def test_a_barrier_passes_its_input_through_unchanged():
    assert barrier(5) == 5
    assert barrier(1, 2) == package(1, 2)
    assert pipeline(lambda x: package(x, x + 1), barrier, lambda a, b: a + b)(1) == 3


def test_outside_a_concurrent_flow_a_barrier_waits_for_nothing():
    assert pipeline(barrier, lambda x: x + 1)(1) == 2
    assert parallel.sequential(barrier, barrier)(1) == (1, 1)


def test_every_item_gets_a_thread_even_beyond_the_pool_and_in_warps():
    with lazyplug.config.temp('thread_pool_workers', 2):
        items = [pipeline(barrier, lambda x: x + 1, barrier)] * 10
        assert parallel(*items)(1) == (2,) * 10
        assert lazyplug.warp(pipeline(barrier, lambda x: x * 2))(1, 2, 3, 4, 5, 6) == (2, 4, 6, 8, 10, 12)


def test_a_barrier_that_can_never_open_is_an_error_not_a_hang():
    unbalanced = parallel(lambda x: x, pipeline(barrier, lambda x: x))
    with pytest.raises(FlowError, match='an item of this parallel call ended without reaching it'):
        unbalanced(1)

    def fails(x):
        raise KeyError('item failed')

    with pytest.raises(KeyError, match='item failed') as info:  # the sibling's FlowError does not hide it
        parallel(fails, pipeline(barrier, lambda x: x))(1)
    if sys.version_info >= (3, 11):  # exception notes arrived in Python 3.11
        assert any('item 1 failed too: FlowError' in note for note in info.value.__notes__)
