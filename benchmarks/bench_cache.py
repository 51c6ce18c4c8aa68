"""The cost of keying a call of a cached module by content (``lazyplug.cachekeys``), beside baselines
measured in the same run.

Run:  python benchmarks/bench_cache.py [--quick]

For each kind of argument: ``cache_key`` beside the SHA-256 of the argument's ``repr()`` (what
keys were made of before, when ``repr()`` could hide the content) and beside the SHA-256 of its
pickle (how joblib keys calls); and a memory-cache hit of a module beside a call of its forward.
With numpy installed, a 2,000-element and a 10-million-element array too. Reported, no goal.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import pickle
import timeit
from collections.abc import Callable
from typing import Any

from bench_core import Row, print_table, us

import lazyplug
from lazyplug.cachekeys import cache_key

IDENTITY = ('bench.Module', '', '')


@dataclasses.dataclass
class Point:
    x: float
    y: float
    label: str


class Square(lazyplug.ModuleBase):
    def forward(self, x: Any) -> Any:
        return x


def best(call: Callable[[], object], number: int) -> float:
    """Seconds per call: the best of 5 runs of ``number`` calls."""
    return min(timeit.repeat(call, number=number, repeat=5)) / number


def arguments() -> list[tuple[str, Any, int]]:
    made: list[tuple[str, Any, int]] = [
        ('an int and a keyword', 2, 20000),
        ('a short string', 'hello world', 20000),
        ('a dict of 10 floats', {f'k{i}': i * 1.5 for i in range(10)}, 5000),
        ('a list of 2,000 ints', list(range(2000)), 200),
        ('a dataclass', Point(1.0, 2.0, 'a'), 5000),
    ]
    try:
        import numpy
    except ImportError:
        return made
    made.append(('numpy array, 2,000 floats', numpy.arange(2000, dtype=float), 2000))
    made.append(('numpy array, 10 million floats (80 MB)', numpy.arange(10_000_000, dtype=float), 1))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--quick', action='store_true', help='fewer calls: faster, noisier')
    quick = parser.parse_args().quick
    rows = []
    for label, value, number in arguments():
        number = max(1, number // 10) if quick else number
        keyed = best(lambda v=value: cache_key(IDENTITY, (v,), {'scale': 3}), number)
        by_repr = best(lambda v=value: hashlib.sha256(repr(((v,), {'scale': 3})).encode()).hexdigest(), number)
        by_pickle = best(lambda v=value: hashlib.sha256(pickle.dumps(((v,), {'scale': 3}), 5)).hexdigest(), number)
        rows.append(Row(f'key of {label}', us(keyed), f'repr {us(by_repr)}, pickle {us(by_pickle)}',
                        keyed / by_pickle))
    print_table('Cache keys (ratio: to the SHA-256 of a pickle)', rows)

    module, cached = Square(), Square().use_cache()
    cached(2)
    number = 2000 if quick else 20000
    hit, plain = best(lambda: cached(2), number), best(lambda: module(2), number)
    print_table('A memory-cache hit (ratio: to the call it saves, here a trivial one)',
                [Row('cached module, hit', us(hit), f'uncached {us(plain)}', hit / plain)])


if __name__ == '__main__':
    main()
