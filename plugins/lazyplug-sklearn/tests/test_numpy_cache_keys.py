"""use_cache() with numpy arguments (numpy comes with scikit-learn): arrays are keyed by dtype, shape
and data, never by their repr(), which numpy shortens for long arrays."""

from __future__ import annotations

import numpy as np
import pytest

import lazyplug
from lazyplug import cache, config
from lazyplug.errors import CacheWarning

pytestmark = pytest.mark.usefixtures('lazyplug_isolated')


class Sum(lazyplug.ModuleBase):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, values):
        self.calls += 1
        return float(np.sum(values))


@pytest.fixture(params=['memory', 'sqlite', 'file'])
def strategy(request, tmp_path):
    with config.temp('cache_strategy', request.param), config.temp('cache_dir', str(tmp_path)):
        yield request.param


def key(value):
    return cache.cache_key(Sum(), True, (value,), {})


def test_two_long_arrays_with_equal_reprs_get_their_own_sums(strategy):
    first = np.zeros(2000)
    second = np.zeros(2000)
    second[1000] = 1.0
    assert repr(first) == repr(second)
    m = Sum().use_cache()
    assert m(first) == 0.0
    assert m(second) == 1.0
    assert m(first.copy()) == 0.0 and m.calls == 2  # equal data: a hit


@pytest.mark.parametrize('a, b', [
    (np.zeros(4), np.zeros(4, dtype=np.float32)),
    (np.zeros(4), np.zeros((2, 2))),
    (np.zeros(4), np.zeros(4).astype('>f8')),
    (np.arange(4), np.arange(4)[::-1]),
    (np.float64(1.5), 1.5),
    (np.float64(1.5), np.array(1.5)),
    (np.array(['a', 'bc']), np.array(['ab', 'c'])),
    (np.array([{'a': 1}], dtype=object), np.array([{'a': 2}], dtype=object)),
    (np.zeros(2, dtype=[('x', 'i4'), ('y', 'i4')]), np.zeros(2, dtype=[('y', 'i4'), ('x', 'i4')])),
], ids=['dtype', 'shape', 'byte order', 'data', 'scalar vs float', 'scalar vs 0-d array', 'strings', 'objects',
        'field names'])
def test_arrays_that_differ_get_different_keys(a, b):
    assert key(a) != key(b)


def test_a_view_and_a_copy_of_equal_data_get_equal_keys():
    data = np.arange(12).reshape(3, 4)
    assert key(data[:, 1]) == key(data[:, 1].copy())
    assert key(np.asfortranarray(data)) == key(data)


def test_a_masked_array_is_not_cached():
    with pytest.warns(CacheWarning, match='numpy.ma.*MaskedArray'):
        assert key(np.ma.masked_array([1, 2], mask=[0, 1])) is None


def test_an_array_inside_a_container_is_keyed_by_its_data():
    assert key({'x': np.zeros(3)}) != key({'x': np.ones(3)})
    assert key([np.zeros(3)]) == key([np.zeros(3)])
