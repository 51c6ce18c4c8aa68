"""Serving figures, each beside a baseline measured in the same run.

Run:  python benchmarks/bench_serve.py [--quick]

Goals (LazyLLM 1.4.0 on this machine kind, for reference: 1.0 s from start() to the first answer;
195 calls/s from one client thread with p50 5 ms; 357 calls/s from 8 with p99 50 ms; 4 services
started one after another in 6.2 s):

* the first answer within 0.5 s of start() (local launcher: a new server process);
* from 8 client threads, at least 3x LazyLLM's throughput (1,071 calls/s) with p99 under 5 ms;
* 8 servers deployed with workers=8 in at most 1.5x the time of one.

Configuration: client and servers on this machine over loopback HTTP/1.1 keep-alive; one uvicorn
worker per server process (its event loop hands each call to a thread); the served function
returns its input.
"""

from __future__ import annotations

import os

# The core's own figures: installed plugins would add the cost of their hooks to every task and call.
os.environ.setdefault('LAZYPLUG_DISABLE_PLUGIN_AUTOLOAD', '1')

import argparse
import sys
import threading
import time
from typing import Any

from bench_core import Row, print_goals, print_table

import lazyplug


def echo(x: Any) -> Any:
    return x


def first_answer(launcher: str, repeats: int) -> float:
    """Best time from start() (a new server) to its first answer."""
    best = float('inf')
    for _ in range(repeats):
        sm = lazyplug.ServerModule(echo, launcher=launcher)
        began = time.perf_counter()
        try:
            sm.start()
            sm(1)
            best = min(best, time.perf_counter() - began)
        finally:
            sm.stop()
    return best


def load(call: Any, clients: int, seconds: float) -> tuple[float, float, float]:
    """Calls per second, p50 and p99 latency (s) of ``call`` from ``clients`` threads for ``seconds``."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    stop_at = time.perf_counter() + seconds
    barrier = threading.Barrier(clients)

    def client(mine: list[float]) -> None:
        barrier.wait()
        while True:
            began = time.perf_counter()
            if began > stop_at:
                return
            call(1)
            mine.append(time.perf_counter() - began)

    threads = [threading.Thread(target=client, args=(mine,)) for mine in latencies]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    merged = sorted(x for mine in latencies for x in mine)
    return len(merged) / elapsed, merged[len(merged) // 2], merged[int(len(merged) * 0.99)]


def deploy_many(count: int, workers: int, launcher: str = 'local') -> float:
    """Seconds to deploy ``count`` servers of ``echo`` with ``workers`` deploying at once."""
    app = lazyplug.ActionModule(*[lazyplug.ServerModule(echo, launcher=launcher) for _ in range(count)])
    began = time.perf_counter()
    try:
        app.start(workers=workers)
        return time.perf_counter() - began
    finally:
        app.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--quick', action='store_true', help='shorter runs: faster, noisier')
    quick = parser.parse_args(argv).quick
    repeats, seconds = (2, 1.0) if quick else (5, 3.0)
    started = time.perf_counter()
    print(f'lazyplug {lazyplug.__version__} serving on Python {sys.version.split()[0]}')

    local, thread = first_answer('local', repeats), first_answer('thread', repeats)
    first_rows = [
        Row('local launcher (new process)', f'{local:.3f} s', 'LazyLLM 1.4.0: 1.0 s', local / 1.0, '<= 0.5 s',
            local <= 0.5),
        Row('thread launcher (in process)', f'{thread:.3f} s', 'LazyLLM 1.4.0: 1.0 s', thread / 1.0),
    ]
    print_table('From start() to the first answer (best of runs)', first_rows)

    sm = lazyplug.ServerModule(echo, launcher='local').start()
    try:
        sm(1)
        rows = []
        for clients in (1, 8):
            rate, p50, p99 = load(sm, clients, seconds)
            local_rate, _, local_p99 = load(echo, clients, seconds / 3)
            goal = clients == 8
            rows.append(Row(f'{clients} client thread(s): calls/s', f'{rate:,.0f}/s',
                            f'in-process: {local_rate:,.0f}/s', rate / local_rate, '>= 1,071/s' if goal else 'report',
                            rate >= 1071 if goal else None))
            rows.append(Row(f'{clients} client thread(s): p50 / p99', f'{p50 * 1e3:.2f} / {p99 * 1e3:.2f} ms',
                            f'in-process p99: {local_p99 * 1e6:.1f} us', None, 'p99 < 5 ms' if goal else 'report',
                            p99 < 0.005 if goal else None))
    finally:
        sm.stop()
    print_table(f'A trivial served function, {seconds:g} s of calls (loopback, keep-alive)', rows)

    one = min(deploy_many(1, 1) for _ in range(repeats))
    eight_serial = deploy_many(8, 1)
    eight = min(deploy_many(8, 8) for _ in range(max(1, repeats // 2)))
    deploy_rows = [
        Row('8 servers, workers=8', f'{eight:.2f} s', f'1 server: {one:.2f} s', eight / one, '<= 1.5x',
            eight <= 1.5 * one),
        Row('8 servers, workers=1', f'{eight_serial:.2f} s', f'1 server: {one:.2f} s', eight_serial / one),
    ]
    print_table('Deploying (local launcher)', deploy_rows)

    print_goals([*first_rows, *rows, *deploy_rows], started)
    return 0


if __name__ == '__main__':
    sys.exit(main())
