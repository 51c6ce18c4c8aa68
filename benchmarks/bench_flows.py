"""The per-call cost of every flow beside the hand-written equivalent, measured in the same run.

Run:  python benchmarks/bench_flows.py [--quick]

Goals (the last table says PASS or MISS for each):

* ``pipeline`` of 10 trivial functions: at most 3x the hand-written chain;
* ``parallel`` of 4 trivial functions (threads): at most 40 us per call;
* ``parallel.sequential`` of 4: at most 3x the hand-written loop;
* ``parallel`` and ``warp`` over 8 items that sleep 10 ms: wall time at most 1.5x one item (10 ms).

Per-call figures are the best of several timeit repeats, each timed in turns with its baseline
(see bench_core.py); the sleeping figures are the best of several calls.
"""

from __future__ import annotations

import os

# The core's own figures: installed plugins would add the cost of their hooks to every task and call.
os.environ.setdefault('LAZYPLUG_DISABLE_PLUGIN_AUTOLOAD', '1')

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from bench_core import FULL, QUICK, Row, Settings, per_call, print_goals, print_table, us

import lazyplug

SLEEP = 0.010


def add_one(x: int) -> int:
    return x + 1


def double(x: int) -> int:
    return x * 2


def is_value(n: int) -> Callable[[int], bool]:
    return lambda x: x == n


def _hand_chain(x: int) -> int:
    return add_one(add_one(add_one(add_one(add_one(add_one(add_one(add_one(add_one(add_one(x))))))))))


FOUR = (add_one,) * 4


def _hand_four(x: int) -> tuple[int, ...]:
    return tuple([f(x) for f in FOUR])


def _hand_divert(a: int, b: int, c: int, d: int) -> tuple[int, ...]:
    return (add_one(a), add_one(b), add_one(c), add_one(d))


def _hand_switch(x: int) -> int:
    if x == 1:
        return add_one(x)
    if x == 2:
        return add_one(x)
    if x == 3:
        return add_one(x)
    return double(x)


def _hand_ifs(x: int) -> int:
    return add_one(x) if x > 0 else double(x)


def _hand_loop(x: int) -> int:
    for _ in range(10):
        x = add_one(x)
    return x


def _hand_graph(x: int) -> int:
    return add_one(add_one(x) + double(x))


def _hand_bind(x: int) -> int:
    return _three(1, x, 3)


def _three(a: int, b: int, c: int) -> int:
    return a + b + c


def _graph() -> Any:
    g = lazyplug.graph(left=add_one, right=double, join=lambda a, b: add_one(a + b))
    g.add_edge(g.start_node, ['left', 'right'])
    g.add_edge(['left', 'right'], 'join')
    g.add_edge('join', g.end_node)
    return g


def _referencing_pipeline() -> Any:
    with lazyplug.pipeline() as p:
        p.a = add_one
        p.b = lazyplug.bind(_three, lazyplug._0, p.input, 1)
    return p


def _hand_referencing(x: int) -> int:
    return _three(add_one(x), x, 1)


def per_call_rows(settings: Settings) -> list[Row]:
    """Each flow with trivial items against the plain Python that does the same."""
    cases: list[tuple[str, Any, Callable[..., Any], str, tuple[Any, ...], str | None, Callable[[float, float], bool]]]
    cases = [
        ('pipeline of 10', lazyplug.pipeline(*[add_one] * 10), _hand_chain, 'f(f(...f(x)))', (1,), '<= 3x',
         lambda a, b: a <= 3 * b),
        ('parallel of 4 (threads)', lazyplug.parallel(*[add_one] * 4), _hand_four, 'loop over 4', (1,), '<= 40 us',
         lambda a, b: a <= 40e-6),
        ('parallel.sequential of 4', lazyplug.parallel.sequential(*[add_one] * 4), _hand_four, 'loop over 4', (1,),
         '<= 3x', lambda a, b: a <= 3 * b),
        ('diverter of 4 (threads)', lazyplug.diverter(*[add_one] * 4), _hand_divert, '4 calls', (1, 2, 3, 4),
         None, lambda a, b: True),
        ('warp over 4 (threads)', lazyplug.warp(add_one), _hand_divert, '4 calls', (1, 2, 3, 4), None,
         lambda a, b: True),
        ('switch, 4th case', lazyplug.switch({is_value(1): add_one, is_value(2): add_one, is_value(3): add_one,
                                              'default': double}), _hand_switch, 'if/elif', (4,), None,
         lambda a, b: True),
        ('ifs', lazyplug.ifs(lambda x: x > 0, add_one, double), _hand_ifs, 'if/else', (1,), None,
         lambda a, b: True),
        ('loop, 10 times', lazyplug.loop(add_one, count=10), _hand_loop, 'for loop', (1,), None,
         lambda a, b: True),
        ('graph of 3 nodes (threads)', _graph(), _hand_graph, 'nested calls', (1,), None, lambda a, b: True),
        ('bind(f, 1, _0, 3)', lazyplug.bind(_three, 1, lazyplug._0, 3), _hand_bind, 'f(1, x, 3)', (1,), None,
         lambda a, b: True),
        ('pipeline binding p.input', _referencing_pipeline(), _hand_referencing, 'nested calls', (1,), None,
         lambda a, b: True),
    ]
    rows = []
    for figure, flow, hand, hand_label, args, goal, meets in cases:
        if flow(*args) != hand(*args):
            raise SystemExit(f'{figure}: the flow gives {flow(*args)!r}, the hand-written code {hand(*args)!r}')
        call = f'f({", ".join(map(repr, args))})'
        mine, base = per_call((call, {'f': flow}), (call, {'f': hand}), settings)
        rows.append(Row(figure, us(mine), f'{hand_label}: {us(base)}', mine / base, goal or 'report',
                        meets(mine, base) if goal else None))
    return rows


def _sleep(*_: Any) -> None:
    time.sleep(SLEEP)


def sleeping_rows(settings: Settings) -> list[Row]:
    """Eight items that sleep 10 ms, run at once: the wall time against one item's."""
    rows = []
    for figure, flow, args in (('parallel of 8 sleeping items', lazyplug.parallel(*[_sleep] * 8), (0,)),
                               ('warp over 8 sleeping items', lazyplug.warp(_sleep), tuple(range(8)))):
        flow(*args)  # warm up: the shared pool starts its threads on first use
        best = float('inf')
        for _ in range(settings.repeats * 2):
            start = time.perf_counter()
            flow(*args)
            best = min(best, time.perf_counter() - start)
        rows.append(Row(figure, f'{best * 1e3:.3g} ms', f'one item: {SLEEP * 1e3:.3g} ms', best / SLEEP, '<= 1.5x',
                        best <= 1.5 * SLEEP))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--quick', action='store_true', help='fewer repeats: faster, noisier')
    settings = QUICK if parser.parse_args(argv).quick else FULL
    started = time.perf_counter()
    print(f'lazyplug {lazyplug.__version__} flows on Python {sys.version.split()[0]}')
    per_call_table = per_call_rows(settings)
    print_table('Per call, each flow beside the hand-written equivalent (best of timeit repeats)', per_call_table)
    sleeping = sleeping_rows(settings)
    print_table('Concurrency (best of several calls)', sleeping)
    print_goals(per_call_table + sleeping, started)
    return 0


if __name__ == '__main__':
    sys.exit(main())
