"""Serving figures, each beside a baseline measured in the same run.

Run:  python benchmarks/bench_serve.py [--quick]

Goals (LazyLLM 1.4.0 on this machine kind, for reference: 1.0 s from start() to the first answer;
195 calls/s from one client thread with p50 5 ms; 357 calls/s from 8 with p99 50 ms; 4 services
started one after another in 6.2 s):

* the first answer within 0.5 s of start() (local launcher: a new server process);
* from 8 client threads, at least 3x LazyLLM's throughput (1,071 calls/s) with p99 under 5 ms.
  Beside it, the same calls through the standard library's http.client (what lazyplug's own
  client must beat to be worth its code), and the client CPU time per call of each;
* 8 servers deployed with workers=8 in at most 1.5x the time of one. Beside it: the CPU time every
  process spent on the deploys, and so the least time 8 can take on this machine's cores.

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


def stdlib_client(url: str) -> Any:
    """A call of the service at ``url`` through the standard library's ``http.client`` (one
    connection per thread), with lazyplug's wire format: the baseline of lazyplug's own client."""
    import http.client
    import urllib.parse

    from lazyplug.serve import codec
    netloc = urllib.parse.urlsplit(url).netloc
    local = threading.local()

    def call(x: Any) -> Any:
        conn = getattr(local, 'conn', None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(netloc, timeout=60)
        conn.request('POST', '/call', codec.dumps({'args': [x], 'kwargs': {}}, ''),
                     {'Content-Type': 'application/json'})
        return codec.loads(conn.getresponse().read(), '')['result']

    return call


def load(call: Any, clients: int, seconds: float) -> tuple[float, float, float, float]:
    """Calls per second, p50 and p99 latency (s) of ``call`` from ``clients`` threads for ``seconds``,
    and the CPU time this process spent per call (s): with the server in another process, the client's."""
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
    began, cpu = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    merged = sorted(x for mine in latencies for x in mine)
    return len(merged) / elapsed, merged[len(merged) // 2], merged[int(len(merged) * 0.99)], cpu / len(merged)


def _cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far, all its threads (Linux's schedstat: nanoseconds)."""
    total = 0
    for task in os.listdir(f'/proc/{pid}/task'):
        with open(f'/proc/{pid}/task/{task}/schedstat') as f:
            total += int(f.read().split()[0])
    return total / 1e9


def _forked_servers(fork_server: int) -> list[int]:
    """The server processes the fork server made (their parent process)."""
    pids = []
    for entry in os.listdir('/proc'):
        try:
            with open(f'/proc/{entry}/stat') as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == fork_server:
            pids.append(int(entry))
    return pids


def deploy_many(count: int, workers: int, launcher: str = 'local') -> tuple[float, float | None]:
    """Seconds to deploy ``count`` servers of ``echo`` with ``workers`` deploying at once, and the
    CPU seconds that took in every process involved (None where /proc cannot tell)."""
    from lazyplug.launchers.local import fork_server_pid
    app = lazyplug.ActionModule(*[lazyplug.ServerModule(echo, launcher=launcher) for _ in range(count)])
    fork_server = fork_server_pid()
    if fork_server is not None and not os.path.exists(f'/proc/{fork_server}/task'):
        fork_server = None  # no /proc to read: the time alone
    before = 0.0 if fork_server is None else time.process_time() + _cpu_seconds(fork_server)
    began = time.perf_counter()
    try:
        app.start(workers=workers)
        elapsed = time.perf_counter() - began
        if fork_server is None:
            return elapsed, None
        after = time.process_time() + _cpu_seconds(fork_server)
        return elapsed, after - before + sum(_cpu_seconds(pid) for pid in _forked_servers(fork_server))
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
        stdlib = stdlib_client(sm._url)
        rows = []
        for clients in (1, 8):
            rate, p50, p99, cpu = load(sm, clients, seconds)
            std_rate, std_p50, std_p99, std_cpu = load(stdlib, clients, seconds)
            goal = clients == 8
            rows.append(Row(f'{clients} client thread(s): calls/s', f'{rate:,.0f}/s',
                            f'http.client: {std_rate:,.0f}/s', rate / std_rate, '>= 1,071/s' if goal else 'report',
                            rate >= 1071 if goal else None))
            rows.append(Row(f'{clients} client thread(s): p50 / p99', f'{p50 * 1e3:.2f} / {p99 * 1e3:.2f} ms',
                            f'http.client: {std_p50 * 1e3:.2f} / {std_p99 * 1e3:.2f} ms', p99 / std_p99,
                            'p99 < 5 ms' if goal else 'report', p99 < 0.005 if goal else None))
            rows.append(Row(f'{clients} client thread(s): client CPU per call', f'{cpu * 1e6:.0f} us',
                            f'http.client: {std_cpu * 1e6:.0f} us', cpu / std_cpu))
    finally:
        sm.stop()
    print_table(f'A trivial served function, {seconds:g} s of calls (loopback, keep-alive), beside the same calls '
                'through http.client', rows)

    deploy_many(1, 1)  # the fork server starts
    one, one_cpu = min(deploy_many(1, 1) for _ in range(repeats))
    eight_serial, _ = deploy_many(8, 1)
    eight, eight_cpu = min(deploy_many(8, 8) for _ in range(max(1, repeats // 2)))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1
    deploy_rows = [
        Row('8 servers, workers=8', f'{eight:.3f} s', f'1 server: {one:.3f} s', eight / one, '<= 1.5x',
            eight <= 1.5 * one),
        Row('8 servers, workers=1', f'{eight_serial:.3f} s', f'1 server: {one:.3f} s', eight_serial / one),
    ]
    if one_cpu is not None and eight_cpu is not None:
        # every process's CPU time for the deploys: on `cores` cores, 8 deploys last at least
        # their CPU time divided by the cores, whatever runs them at once
        floor = eight_cpu / min(cores, 8)
        deploy_rows += [
            Row('  CPU time, all processes: 1 server', f'{one_cpu * 1e3:.1f} ms', f'its wall time: {one * 1e3:.1f} ms',
                one_cpu / one),
            Row(f'  least time for 8 here: CPU / {cores} cores', f'{floor * 1e3:.1f} ms', f'1 server: {one:.3f} s',
                floor / one),
        ]
    print_table('Deploying (local launcher)', deploy_rows)

    print_goals([*first_rows, *rows, *deploy_rows], started)
    return 0


if __name__ == '__main__':
    sys.exit(main())
