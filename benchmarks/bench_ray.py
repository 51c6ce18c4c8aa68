"""The ray launcher's figures, each beside the local launcher measured in the same run.

Run:  python benchmarks/bench_ray.py [--quick] [--serve]   (needs plugins/lazyplug-ray installed)

Figures: Ray's own start-up; from start() to the first answer of a trivial service (a running
cluster) on Ray and on the local launcher; calls per second and p50 / p99 latency from 1 and 8
client threads; deploying 8 services on Ray with workers=8 and workers=1.

Configuration: a local Ray instance of 2 CPUs started by this script (no dashboard); every
replica is a Ray actor serving lazyplug's app with uvicorn on loopback, which the client calls
directly (the same client, wire and server as the local launcher: only the process that hosts
the server differs). The served function returns its input.

``--serve`` (needs ``ray[serve]``) also measures the alternative the launcher did not take: the
same function as a Ray Serve deployment behind Serve's HTTP proxy, called the same way.

Deploying: every replica is a new Ray worker process (about 1 s of CPU here: Python, Ray's worker,
lazyplug and uvicorn), and a raylet starts at most min(cores, num_cpus) of them at once, so on 2
cores workers=8 overlaps little more than the health checks; it is reported, not held to a goal.
"""

from __future__ import annotations

import os

# only the ray plugin: the figures are the launcher's, not those of whatever else is installed
os.environ['LAZYPLUG_DISABLE_PLUGIN_AUTOLOAD'] = '0'
os.environ['LAZYPLUG_PLUGINS'] = 'lazyplug-ray'

import argparse
import logging
import sys
import tempfile
import time
from typing import Any

from bench_core import Row, print_goals, print_table
from bench_serve import deploy_many, echo, first_answer, load

import lazyplug


def serve_rows(seconds: float, ray_first: float, ray_rate: float) -> list[Row]:
    """First answer and sequential calls/s of ``echo`` as a Ray Serve deployment, beside the launcher's."""
    import http.client
    import json
    import socket

    from ray import serve
    from starlette.requests import Request

    @serve.deployment
    class Echo:
        async def __call__(self, request: Request) -> Any:
            return echo(await request.json())

    with socket.socket() as probe:  # a free port for Serve's proxy (its default, 8000, may be taken)
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    began = time.perf_counter()
    serve.start(http_options={'host': '127.0.0.1', 'port': port})
    serve.run(Echo.bind(), route_prefix='/')
    conn = http.client.HTTPConnection('127.0.0.1', port)

    def call(x: Any) -> Any:
        conn.request('POST', '/', body=json.dumps(x), headers={'Content-Type': 'application/json'})
        return json.loads(conn.getresponse().read())

    try:
        assert call(1) == 1
        first = time.perf_counter() - began
        rate = load(call, 1, seconds)[0]
    finally:
        conn.close()
        serve.shutdown()
    return [Row('Ray Serve: from serve.start to the first answer', f'{first:.2f} s',
                f'ray launcher: {ray_first:.3f} s', first / ray_first),
            Row('Ray Serve: 1 client thread, calls/s', f'{rate:,.0f}/s', f'ray launcher: {ray_rate:,.0f}/s',
                rate / ray_rate)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--quick', action='store_true', help='shorter runs: faster, noisier')
    parser.add_argument('--serve', action='store_true', help='also measure Ray Serve (needs ray[serve])')
    args = parser.parse_args(argv)
    quick = args.quick
    repeats, seconds = (2, 1.0) if quick else (5, 3.0)
    began = time.perf_counter()
    import ray
    print(f'lazyplug {lazyplug.__version__}, Ray {ray.__version__}, Python {sys.version.split()[0]}')

    ray_began = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING,
             _temp_dir=tempfile.mkdtemp(prefix='lpray-bench-'))
    ray_start = time.perf_counter() - ray_began
    try:
        on_ray, on_local = first_answer('ray', repeats), first_answer('local', repeats)
        first_rows = [
            Row('Ray start-up (ray.init, once per application)', f'{ray_start:.2f} s', '', None),
            Row('ray launcher, running cluster (a new actor)', f'{on_ray:.3f} s', f'local: {on_local:.3f} s',
                on_ray / on_local, '<= 1 s', on_ray <= 1.0),
        ]
        print_table('From start() to the first answer (best of runs)', first_rows)

        call_rows = []
        figures_by_clients = {}
        for clients in (1, 8):
            figures = {}
            for launcher in ('ray', 'local'):
                sm = lazyplug.ServerModule(echo, launcher=launcher).start()
                try:
                    sm(1)
                    figures[launcher] = load(sm, clients, seconds)
                finally:
                    sm.stop()
            (rate, p50, p99), (local_rate, local_p50, local_p99) = figures['ray'], figures['local']
            figures_by_clients[clients] = figures['ray']
            call_rows.append(Row(f'{clients} client thread(s): calls/s', f'{rate:,.0f}/s',
                                 f'local: {local_rate:,.0f}/s', rate / local_rate, '>= 0.8x local',
                                 rate >= 0.8 * local_rate))
            call_rows.append(Row(f'{clients} client thread(s): p50 / p99', f'{p50 * 1e3:.2f} / {p99 * 1e3:.2f} ms',
                                 f'local: {local_p50 * 1e3:.2f} / {local_p99 * 1e3:.2f} ms', p99 / local_p99))
        print_table(f'A trivial served function, {seconds:g} s of calls (loopback, keep-alive)', call_rows)

        one = min(deploy_many(1, 1, 'ray') for _ in range(repeats))
        serial = deploy_many(8, 1, 'ray')
        eight = min(deploy_many(8, 8, 'ray') for _ in range(max(1, repeats // 2)))
        local_eight = deploy_many(8, 8, 'local')
        deploy_rows = [
            Row('8 services on Ray, workers=8', f'{eight:.2f} s', f'workers=1: {serial:.2f} s', eight / serial),
            Row('8 services on Ray, workers=1', f'{serial:.2f} s', f'1 service: {one:.2f} s', serial / one),
            Row('8 services on Ray, workers=8 vs local', f'{eight:.2f} s', f'local, workers=8: {local_eight:.2f} s',
                eight / local_eight),
        ]
        print_table('Deploying (Ray running)', deploy_rows)
        if args.serve:
            one_client = figures_by_clients[1][0]
            print_table('Ray Serve, the road not taken (same function, same client loop)',
                        serve_rows(seconds, on_ray, one_client))
    finally:
        ray.shutdown()
    print_goals([*first_rows, *call_rows, *deploy_rows], began)
    return 0


if __name__ == '__main__':
    sys.exit(main())
