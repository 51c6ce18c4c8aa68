"""Streaming figures, each beside an in-process generator measured in the same run.

Run:  python benchmarks/bench_stream.py [--quick]

Goals:

* the first delta reaches a client on this machine within 5 ms of being yielded by the served
  module (p99 over many streams; the served generator yields the time it yields, read on the
  machine's monotonic clock, which every process shares);
* 100 concurrent streams of 100 deltas each complete with none mixed: each stream gets exactly
  its own deltas, in order (and, through LazyLLM's idiom, a session's stream queue returns whole
  calls, never an interleaving);
* the overhead per delta over loopback under 100 us: the time per delta of one long stream, less
  the time per delta of the same generator iterated in this process.

Configuration: client and server on this machine over loopback HTTP/1.1 keep-alive; the server a
child process (the local launcher) unless a row says thread.
"""

from __future__ import annotations

import os

# The core's own figures: installed plugins would add the cost of their hooks to every task and call.
os.environ.setdefault('LAZYPLUG_DISABLE_PLUGIN_AUTOLOAD', '1')

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from bench_core import Row, print_goals, print_table

import lazyplug


def stamped(count: int) -> Iterator[float]:
    """``count`` deltas, each the monotonic time at which it is yielded."""
    for _ in range(count):
        yield time.monotonic()


def paced(count: int, pause: float) -> Iterator[float]:
    """``count`` deltas ``pause`` seconds apart, each the monotonic time at which it is yielded."""
    for _ in range(count):
        time.sleep(pause)
        yield time.monotonic()


def numbered(stream_id: int, count: int) -> Iterator[tuple[int, int]]:
    """``(stream_id, i)`` for i in range(count): a delta that says whose it is and where it goes."""
    for i in range(count):
        yield stream_id, i


def spelled(stream_id: int, count: int) -> Iterator[str]:
    """``count`` text deltas that name their stream: ``<id>.<i>;``."""
    for i in range(count):
        yield f'{stream_id}.{i};'


def counting(count: int) -> Iterator[int]:
    yield from range(count)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def first_delta_latencies(open_stream: Any, streams: int) -> list[float]:
    """For each of ``streams`` streams: seconds from the first delta's yield to its arrival here."""
    latencies = []
    for _ in range(streams):
        stream = open_stream()
        yielded = next(stream)
        latencies.append(time.monotonic() - yielded)
        for _ in stream:  # read to its end: the connection is kept for the next stream
            pass
    return latencies


def every_delta_latencies(stream: Any) -> list[float]:
    """Seconds from each delta's yield to its arrival here."""
    return [time.monotonic() - yielded for yielded in stream]


def concurrent_streams(open_stream: Any, streams: int, deltas: int) -> tuple[float, int]:
    """Wall time of ``streams`` streams of ``deltas`` deltas at once (a thread each), and how many
    of them did not get exactly their own deltas in order."""
    mixed = 0
    lock = threading.Lock()
    start = threading.Barrier(streams + 1)

    def consume(stream_id: int) -> None:
        nonlocal mixed
        start.wait()
        got = list(open_stream(stream_id, deltas))
        if got != [(stream_id, i) for i in range(deltas)]:
            with lock:
                mixed += 1

    threads = [threading.Thread(target=consume, args=(k,)) for k in range(streams)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, mixed


def queued_calls(sm: Any, calls: int, deltas: int) -> tuple[float, int]:
    """LazyLLM's idiom: ``calls`` plain calls of a stream=True ServerModule at once in one session
    (lazyplug.ThreadPoolExecutor) while this thread dequeues; the wall time, and how many calls'
    deltas did not come out whole and in order."""
    queue = lazyplug.FileSystemQueue()
    taken: list[str] = []
    began = time.perf_counter()
    with lazyplug.ThreadPoolExecutor(calls) as pool:
        futures = [pool.submit(sm, k, deltas) for k in range(calls)]
        while True:
            batch = queue.dequeue()
            if batch:
                taken.extend(batch)
            elif all(f.done() for f in futures):
                batch = queue.dequeue()
                if not batch:
                    break
                taken.extend(batch)
            else:
                time.sleep(0.0005)
    elapsed = time.perf_counter() - began
    # unmixed: the deltas form one run per call, each run exactly that call's deltas in order
    runs: list[list[str]] = []
    for delta in taken:
        if runs and _owner(runs[-1][0]) == _owner(delta):
            runs[-1].append(delta)
        else:
            runs.append([delta])
    whole = {_owner(run[0]) for run in runs if run == [f'{_owner(run[0])}.{i};' for i in range(deltas)]}
    return elapsed, calls if len(runs) != calls else calls - len(whole)


def _owner(delta: str) -> str:
    return delta.split('.', 1)[0]


def per_delta(open_stream: Any, count: int, repeats: int) -> float:
    """Best seconds per delta of one stream of ``count`` deltas."""
    best = float('inf')
    for _ in range(repeats):
        began = time.perf_counter()
        for _ in open_stream(count):
            pass
        best = min(best, (time.perf_counter() - began) / count)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--quick', action='store_true', help='fewer streams: faster, noisier')
    quick = parser.parse_args(argv).quick
    streams, repeats, long = (100, 2, 5_000) if quick else (500, 5, 20_000)
    started = time.perf_counter()
    print(f'lazyplug {lazyplug.__version__} streaming on Python {sys.version.split()[0]}')

    local = {name: lazyplug.ServerModule(f, launcher='local') for name, f in
             (('stamped', stamped), ('paced', paced), ('numbered', numbered), ('counting', counting))}
    queued = lazyplug.ServerModule(spelled, stream=True, launcher='local')
    thread = lazyplug.ServerModule(stamped, launcher='thread')
    every = [*local.values(), queued, thread]
    try:
        for sm in every:
            sm.start()
        for sm, args in zip(local.values(), ((1,), (1, 0), (0, 1), (1,)), strict=True):
            list(sm.stream(*args))  # a connection is open

        in_process = first_delta_latencies(lambda: lazyplug.Stream(iter(stamped(1))), streams)
        served = first_delta_latencies(lambda: local['stamped'].stream(1), streams)
        threaded = first_delta_latencies(lambda: thread.stream(1), streams)
        base = statistics.median(in_process)
        first_rows = [
            Row('first delta, yield to arrival: p50', f'{statistics.median(served) * 1e3:.3f} ms',
                f'in process: {base * 1e6:.1f} us', statistics.median(served) / base),
            Row('first delta, yield to arrival: p99', f'{percentile(served, 0.99) * 1e3:.3f} ms',
                f'in process: {percentile(in_process, 0.99) * 1e6:.1f} us',
                percentile(served, 0.99) / percentile(in_process, 0.99), '<= 5 ms', percentile(served, 0.99) <= 0.005),
            Row('  thread launcher: p50 / p99', f'{statistics.median(threaded) * 1e3:.3f} / '
                f'{percentile(threaded, 0.99) * 1e3:.3f} ms', f'in process: {base * 1e6:.1f} us',
                statistics.median(threaded) / base),
        ]
        each_in = every_delta_latencies(lazyplug.Stream(paced(streams, 0.001)))
        each = every_delta_latencies(local['paced'].stream(streams, 0.001))
        first_rows.append(Row('every delta of a stream, 1 ms apart: p50 / p99',
                              f'{statistics.median(each) * 1e3:.3f} / {percentile(each, 0.99) * 1e3:.3f} ms',
                              f'in process: {statistics.median(each_in) * 1e6:.1f} us',
                              statistics.median(each) / statistics.median(each_in)))
        print_table(f'First delta: {streams} streams one after another, from the served generator\'s yield to the '
                    'client (local launcher unless said)', first_rows)

        wall_in, mixed_in = concurrent_streams(lambda k, n: lazyplug.Stream(numbered(k, n)), 100, 100)
        wall, mixed = concurrent_streams(local['numbered'].stream, 100, 100)
        wall_q, mixed_q = queued_calls(queued, 100, 100)
        concurrent_rows = [
            Row('100 streams x 100 deltas: wall time', f'{wall:.3f} s', f'in process: {wall_in * 1e3:.1f} ms',
                wall / wall_in),
            Row('100 streams x 100 deltas: streams mixed', f'{mixed} of 100', f'in process: {mixed_in}', None,
                'none', mixed == 0),
            Row('100 stream=True calls, one session queue: mixed', f'{mixed_q} of 100 ({wall_q:.3f} s)',
                'LazyLLM: interleaved (#454)', None, 'none', mixed_q == 0),
        ]
        print_table('Concurrent streams (a client thread each; deltas name their stream)', concurrent_rows)

        inside = per_delta(lambda n: lazyplug.Stream(counting(n)), long, repeats)
        over_http = per_delta(local['counting'].stream, long, repeats)
        overhead = over_http - inside
        delta_rows = [
            Row(f'time per delta, one stream of {long:,}', f'{over_http * 1e6:.1f} us',
                f'in process: {inside * 1e6:.3f} us', over_http / inside),
            Row('overhead per delta over loopback', f'{overhead * 1e6:.1f} us', f'in process: {inside * 1e6:.3f} us',
                None, '< 100 us', overhead < 100e-6),
        ]
        print_table('Per delta (best of repeats)', delta_rows)
    finally:
        for sm in every:
            sm.stop()

    print_goals([*first_rows, *concurrent_rows, *delta_rows], started)
    return 0


if __name__ == '__main__':
    sys.exit(main())
