"""A session's stream queues (LazyLLM's ``FileSystemQueue``) and ``lazyplug.ThreadPoolExecutor``, in this process."""

import threading

import pytest

from lazyplug import FileSystemQueue, ThreadPoolExecutor, globals
from lazyplug.errors import InvalidArgumentError
from lazyplug.streaming.queues import queue_of, relay


def test_one_queue_object_per_name_serves_every_session():
    assert FileSystemQueue() is FileSystemQueue()
    assert FileSystemQueue.get_instance('lazy_trace') is FileSystemQueue(klass='lazy_trace')
    assert FileSystemQueue(klass='lazy_trace') is not FileSystemQueue()


def test_enqueue_dequeue_peek_size_and_clear_work_as_in_lazyllm():
    queue = FileSystemQueue(klass='test')
    for i in range(3):
        queue.enqueue(f'message {i}')
    assert queue.size() == 3 and queue.peek() == 'message 0'
    assert queue.dequeue(limit=2) == ['message 0', 'message 1']
    assert queue.dequeue() == ['message 2'] and queue.dequeue() == [] and queue.peek() is None
    queue.enqueue('x')
    queue.clear()
    assert queue.size() == 0


@pytest.mark.parametrize('limit', [0, -1, 1.5, True, 'all'])
def test_a_bad_limit_is_refused_naming_it(limit):
    with pytest.raises(InvalidArgumentError, match='limit'):
        FileSystemQueue().dequeue(limit=limit)


def test_each_session_has_its_own_queue():
    FileSystemQueue().enqueue('mine')
    with globals.session():
        assert FileSystemQueue().dequeue() == []
        FileSystemQueue().enqueue('inner')
    assert FileSystemQueue().dequeue() == ['mine']


def test_a_running_calls_deltas_come_out_whole_before_a_later_calls():
    queue = queue_of()
    first, second = queue.open(), queue.open()
    queue.put(first, 'a1')
    queue.put(second, 'b1')
    queue.put(first, 'a2')
    assert FileSystemQueue().dequeue() == ['a1', 'a2']
    assert FileSystemQueue().dequeue() == []  # the first call still runs: the second waits its turn
    queue.end(first)
    assert FileSystemQueue().dequeue() == ['b1']
    queue.put(second, 'b2')
    queue.end(second)
    assert FileSystemQueue().dequeue() == ['b2'] and queue.size() == 0


def test_a_relay_receives_the_deltas_in_the_order_dequeue_would_give():
    sent = []
    queue = queue_of()
    first = queue.open()
    relay(lambda name, delta: sent.append((name, delta)))
    try:
        second = queue.open()
        queue.put(second, 'b')
        queue.put(first, 'a')
        queue.end(first)
        FileSystemQueue(klass='other').enqueue('o')
    finally:
        relay(None)
    assert sent == [('__default__', 'a'), ('__default__', 'b'), ('other', 'o')]
    assert FileSystemQueue().dequeue() == []


def test_the_thread_pool_carries_the_callers_session_into_its_threads():
    globals['user'] = 'ada'
    with ThreadPoolExecutor(2) as pool:
        assert pool.submit(lambda: globals['user']).result() == 'ada'
        pool.submit(FileSystemQueue().enqueue, 'from a thread').result()
        assert list(pool.map(lambda k: globals[k], ['user'])) == ['ada']
    assert FileSystemQueue().dequeue() == ['from a thread']


def test_a_plain_thread_starts_a_session_of_its_own():
    globals['user'] = 'ada'
    seen = []
    thread = threading.Thread(target=lambda: seen.append(globals.get('user')))
    thread.start()
    thread.join()
    assert seen == [None]
