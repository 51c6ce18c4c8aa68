"""The ray launcher on two machines: calls across machines, a machine failing, Redis restarting,
and deploying in parallel. Figures of issue 17, each beside a baseline measured in the same run.

Run as root:  python benchmarks/bench_cluster.py [--quick]
(needs plugins/lazyplug-ray[test] and plugins/lazyplug-redis installed, redis-server, iproute2)

The two machines are the test bed of the plugin's two-machine tests
(``plugins/lazyplug-ray/tests/cluster_helpers.py``: Linux network namespaces on this host, sharing
its cores): machine a runs redis-server (the service registry) and the Ray head, with Ray's health
checks tightened (a node silent for 3 s is dead), machine b a Ray worker node; each offers Ray 1
CPU. The applications are the tests' (``cluster_app.py``, ``tree_app.py``); ``where`` has two
replicas, one per machine (SPREAD), and writes down every call it runs.

Figures:

* calls/s and p50 / p99 from b, one client thread: to the replica on a (another machine), beside
  the replica on b (the same machine), and through the service (both in turn);
* b dies (every process killed) while a caller on a calls in a loop: calls failed, how long until
  every call succeeds, until the registry lists no address of b, until both replicas serve on a;
  the same when b drops off the network (its link down: silent, not refusing);
* Redis killed and restarted empty: how long until every service is listed again, and the calls
  that failed meanwhile (a caller on b calling ``where``, one on a calling a service served on b);
* deploying 8 services with ``--workers 8`` beside ``--workers 1``, each service's own deploy
  waiting 0.3 s: eight independent services and the eight of a tree of depth 3 (goal >= 5x for
  the independent ones), on Ray and, beside, with the local launcher on a; and the floor: the
  same eight services loading nothing, deployed with ``--workers 8`` (starting Ray workers, about
  1 s of CPU each), which bounds the gain ``--workers 8`` can show on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'plugins', 'lazyplug-ray', 'tests'))

from bench_core import Row, print_goals, print_table  # noqa: E402
from cluster_helpers import (  # noqa: E402
    HEALTH_CHECKS,
    KEY,
    Cluster,
    answered,
    calls_of,
    end,
    host_of,
    times_run,
    wait_for,
    wait_for_calls,
)

# calls one target from the machine it runs on for argv[2] seconds; prints calls/s, p50, p99
LOAD = '''
import json, sys
sys.path.insert(0, sys.argv[1])
from bench_serve import load
import lazyplug
target = sys.argv[3]
if target.startswith('http'):
    call = lazyplug.UrlModule(url=target, security_key=sys.argv[4])
else:
    import cluster_app
    call = getattr(cluster_app, target)
call(0)
print(json.dumps(load(call, 1, float(sys.argv[2]))[:3]))
'''


def calls_from(cluster: Cluster, machine: Any, target: str, seconds: float) -> tuple[float, float, float]:
    """Calls/s, p50 and p99 (s) of one client thread on ``machine`` calling ``target``."""
    # bench_serve turns plugin autoloading off unless told: the registry is lazyplug-redis's
    result = machine.run([sys.executable, '-c', LOAD, HERE, str(seconds), target, KEY], cwd='/tmp/app',
                         env={**cluster.env, 'LAZYPLUG_DISABLE_PLUGIN_AUTOLOAD': '0'}, timeout=seconds + 120)
    rate, p50, p99 = json.loads(result.stdout.strip().splitlines()[-1])
    return rate, p50, p99


def call_rows(cluster: Cluster, urls: list[str], seconds: float) -> list[Row]:
    on = {host_of(url): url for url in urls}
    figures = {name: calls_from(cluster, cluster.b, target, seconds) for name, target in (
        ('a', on[cluster.a.address]), ('b', on[cluster.b.address]), ('service', 'app'))}
    rows = []
    for name, what in (('a', 'to the replica on a (another machine)'), ('service', 'through the service (both)')):
        rate, p50, p99 = figures[name]
        base_rate, base_p50, base_p99 = figures['b']
        rows.append(Row(f'from b {what}: calls/s', f'{rate:,.0f}/s', f'replica on b: {base_rate:,.0f}/s',
                        rate / base_rate))
        rows.append(Row(f'from b {what}: p50 / p99', f'{p50 * 1e3:.2f} / {p99 * 1e3:.2f} ms',
                        f'replica on b: {base_p50 * 1e3:.2f} / {base_p99 * 1e3:.2f} ms', p99 / base_p99))
    return rows


def replicas_on(cluster: Cluster, machine: Any) -> int:
    return sum(host_of(url) == machine.address for url in cluster.urls(cluster.a) or ())


def fault(cluster: Cluster, kind: str) -> list[Row]:
    """Deploy ``where``, call it from a in a loop, and break b (``crash`` or ``link_down``)."""
    app = cluster.serve(cluster.a, 'cluster_app.py:app')
    try:
        wait_for(lambda: cluster.urls(cluster.b) or not app.running(), 180, 'the service listed')
        caller = cluster.caller(cluster.a, 40)
        wait_for_calls(caller, 200)
        broke = time.monotonic()
        getattr(cluster.b, kind)()
        withdrawn = wait_for(lambda: replicas_on(cluster, cluster.b) == 0 and time.monotonic(), 120,
                             'b withdrawn') - broke
        moved = wait_for(lambda: replicas_on(cluster, cluster.a) == 2 and time.monotonic(), 120,
                         'both replicas on a') - broke
        calls = calls_of(caller)
        counts = times_run(calls, cluster.a, cluster.b)
    finally:
        end(app)
        cluster.rebuild_b()
    during = [call for call in calls if call[2] >= broke and call[2] < broke + 10]
    failed = [call for call in calls if not answered(call) and call[2] >= broke - 1]
    last_failure = max((call[2] + call[3] - broke for call in failed), default=0.0)
    slowest = max(call[3] for call in calls if call[2] >= broke - 1)
    twice = sum(count > 1 for count in counts.values())
    what = 'b dies' if kind == 'crash' else 'b drops off the network'
    share = len(failed) / max(len(during), 1)
    rows = [
        Row(f'{what}: calls failed (of the calls of the 10 s after)', f'{len(failed)} of {len(during)}',
            f'{share:.3%}', None, '<= 1%', share <= 0.01),
        Row(f'{what}: calls that ran twice', f'{twice}', f'of {len(counts)} run', None, '0', twice == 0),
        Row(f'{what}: every call succeeds again after', f'{last_failure:.2f} s', f'slowest call {slowest:.2f} s',
            None, '<= 10 s', last_failure <= 10),
        Row(f"{what}: b's address withdrawn after", f'{withdrawn:.1f} s', f'both replicas on a after {moved:.1f} s',
            None, '<= 10 s (ps)' if kind == 'crash' else 'report', withdrawn <= 10 if kind == 'crash' else None),
    ]
    return rows


def redis_restart(cluster: Cluster) -> list[Row]:
    apps = [cluster.serve(cluster.a, 'cluster_app.py:app'), cluster.serve(cluster.b, 'cluster_app.py:on_b')]
    try:
        wait_for(lambda: len(cluster.services(cluster.a)) == 2, 180, 'both services listed')
        listed = {entry['module_id']: entry['urls'] for entry in cluster.services(cluster.a)}
        callers = [cluster.caller(cluster.b, 15, 'app'), cluster.caller(cluster.a, 15, 'on_b')]
        for caller in callers:
            wait_for_calls(caller, 50)
        cluster.redis.kill()
        time.sleep(1)
        cluster.redis = cluster.start_redis()
        back = time.monotonic()
        again = wait_for(lambda: ({e['module_id']: e['urls'] for e in cluster.services(cluster.a)} == listed
                                  and time.monotonic()), 60, 'both services listed again') - back
        calls = [call for caller in callers for call in calls_of(caller)]
    finally:
        for app in apps:
            end(app)
    failed = sum(not answered(call) for call in calls)
    renewal = 10 / 3
    return [Row('Redis restarted empty: every service listed again after', f'{again:.2f} s',
                f'renewal period {renewal:.2f} s', again / renewal, '<= renewal (+ ps ~0.5 s)',
                again <= renewal + 0.7),
            Row('Redis restarted empty: calls failed meanwhile', f'{failed} of {len(calls)}', '', None, '0',
                failed == 0)]


DEPLOY_LOAD = 0.3  # seconds each service's own deploy waits (tree_app.py's TREE_LOAD)


def deploy_seconds(cluster: Cluster, target: str, workers: int, launcher: str | None = None,
                   load: float = DEPLOY_LOAD) -> float:
    """The deploy phase's own figure ('deploy: N tasks done in S s') of `lazyplug update TARGET`."""
    app = cluster.serve(cluster.a, target, '--workers', str(workers),
                        env={'TREE_LAUNCHER': launcher or '', 'TREE_LOAD': str(load)})
    try:
        wait_for(lambda: 'tasks done' in app.output() or not app.running(), 600, f'deploying {target}')
        found = re.search(r'deploy: \d+ tasks done in ([\d.]+) s', app.output())
        assert found, app.output()[-3000:]
        return float(found[1])
    finally:
        end(app)
        wait_for(lambda: cluster.cpus_in_use() == '0.0/2.0', 60, 'the replicas ending')


def deploy_rows(cluster: Cluster, repeats: int) -> list[Row]:
    rows = []
    flat_one = 0.0  # workers=1, the 8 independent services
    for target, what, goal in (('tree_app.py:flat', '8 independent services', True),
                               ('tree_app.py:root', '8 services in a tree of depth 3', False)):
        eight = min(deploy_seconds(cluster, target, 8) for _ in range(repeats))
        one = min(deploy_seconds(cluster, target, 1) for _ in range(repeats))
        rows.append(Row(f'{what} on Ray, workers=8', f'{eight:.2f} s', f'workers=1: {one:.2f} s', one / eight,
                        '>= 5x' if goal else 'report', one / eight >= 5 if goal else None))
        if goal:
            flat_one = one
    floor = min(deploy_seconds(cluster, 'tree_app.py:flat', 8, load=0) for _ in range(repeats))
    rows.append(Row('floor: the 8 independent services loading nothing, on Ray, workers=8', f'{floor:.2f} s',
                    "Ray starting 8 workers on this machine's cores"))
    rows.append(Row('the most workers=8 can gain over workers=1 here', f'{flat_one / (floor + DEPLOY_LOAD):.2f}x',
                    f'workers=1 / (floor + {DEPLOY_LOAD} s)'))
    eight = min(deploy_seconds(cluster, 'tree_app.py:flat', 8, 'local') for _ in range(repeats))
    one = min(deploy_seconds(cluster, 'tree_app.py:flat', 1, 'local') for _ in range(repeats))
    rows.append(Row('8 independent services, local launcher on a, workers=8', f'{eight:.2f} s',
                    f'workers=1: {one:.2f} s', one / eight))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--quick', action='store_true', help='shorter runs: faster, noisier')
    parser.add_argument('--ray-defaults', action='store_true',
                        help="Ray's default health checks (a dead node is noticed after about 12 s, a silent one 60 s)")
    args = parser.parse_args(argv)
    seconds, repeats = (2.0, 1) if args.quick else (5.0, 2)
    import ray
    from lazyplug_redis.server import find_redis_server

    import lazyplug
    from lazyplug.testbed import Network, unavailable_reason
    reason = unavailable_reason()
    redis_server = find_redis_server()
    if reason or not redis_server:
        print(f'bench_cluster cannot run here: {reason or "redis-server is not installed"}')
        return 2
    print(f'lazyplug {lazyplug.__version__}, Ray {ray.__version__}, Python {sys.version.split()[0]}, '
          f'{os.cpu_count()} cores')
    began = time.perf_counter()
    with Network() as network:
        cluster = Cluster(network, redis_server, {} if args.ray_defaults else HEALTH_CHECKS)
        app = cluster.serve(cluster.a, 'cluster_app.py:app')
        try:
            urls = wait_for(lambda: cluster.urls(cluster.b) or not app.running(), 180, 'the service listed')
            calls = call_rows(cluster, urls, seconds)
        finally:
            end(app)
        print_table(f'Calls from b, one client thread, {seconds:g} s each', calls)
        faults = fault(cluster, 'crash') + fault(cluster, 'link_down')
        checks = "Ray's default" if args.ray_defaults else '1 s period and timeout, 3 failures'
        print_table(f'A caller on a while b fails (Ray health checks: {checks})', faults)
        redis = redis_restart(cluster)
        print_table('Redis (the registry) killed and restarted empty, services on both machines', redis)
        deploys = deploy_rows(cluster, repeats)
        print_table("Deploying 8 services, each one's own deploy waiting 0.3 s (time of the deploy phase)", deploys)
    print_goals([*calls, *faults, *redis, *deploys], began)
    return 0


if __name__ == '__main__':
    sys.exit(main())
