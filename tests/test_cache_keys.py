"""Cache keys are content, never identity: what an argument holds decides its key, not its repr()
or its address; an argument that cannot be keyed by its content makes the call uncached."""

import collections
import dataclasses
import enum
import hashlib
import warnings

import pytest

from lazyplug import cache, config, kwargs, package
from lazyplug.errors import CacheWarning
from lazyplug.module import ModuleBase


class Summed(ModuleBase):
    """Sums what it is given; counts its calls."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.calls = 0

    def forward(self, data):
        self.calls += 1
        return sum(data.values) if isinstance(data, Samples) else sum(data)


@dataclasses.dataclass(repr=False)
class Samples:
    """Many numbers whose repr() shows only how many there are, as numpy's does for a long array."""

    values: list

    def __repr__(self):
        return f'Samples({len(self.values)} values)'


class Opaque:
    """An object with the default repr(), which holds its address."""

    def __init__(self, n):
        self.n = n


@pytest.fixture(params=['memory', 'sqlite', 'file'])
def strategy(request, tmp_path):
    with config.temp('cache_strategy', request.param), config.temp('cache_dir', str(tmp_path)):
        yield request.param


def key(*args, **kw):
    return cache.cache_key(Summed(), True, args, kw)


def test_two_values_with_equal_reprs_and_different_content_get_their_own_results(strategy):
    m = Summed().use_cache()
    first, second = Samples([0] * 2000), Samples([0] * 1999 + [1])
    assert repr(first) == repr(second)
    assert m(first) == 0
    assert m(second) == 1
    assert m.calls == 2


def test_an_object_keyed_by_its_address_would_answer_for_the_next_one_there_so_it_is_not_cached():
    class Reads(ModuleBase):
        def forward(self, obj):
            return obj.n

    m = Reads().use_cache()
    with pytest.warns(CacheWarning, match=r'test_cache_keys\.Opaque argument are not cached'):
        assert m(Opaque(1)) == 1
        assert m(Opaque(2)) == 2  # freed, the first one's address is most likely the second one's


def test_an_uncacheable_call_runs_each_time_and_the_warning_is_given_once_per_type():
    class Counts(ModuleBase):
        calls = 0

        def forward(self, obj):
            Counts.calls += 1

    m = Counts().use_cache()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter('default')  # Python's own: the first of each message from one place
        m(Opaque(1))
        m(Opaque(1))
        m([Opaque(1)])  # nested: still the type of the argument that cannot be keyed
    assert Counts.calls == 3
    assert [str(w.message).split(':')[0] for w in seen if w.category is CacheWarning] == [
        'calls of cached modules with a test_cache_keys.Opaque argument are not cached']


def test_the_warning_names_what_can_be_keyed():
    class Other:
        pass

    with pytest.warns(CacheWarning, match='cached are calls whose arguments are None, bool, int, .* numpy arrays'):
        assert key(Other()) is None


def test_entries_of_the_old_key_scheme_are_never_read(strategy):
    """The old scheme keyed values it did not know by their repr(): an entry it wrote may be
    another input's result, so the new keys never coincide with its keys."""
    m = Summed().use_cache()
    old_key = hashlib.sha256(f'{Summed.__module__}.Summed|||tuple[1:test_cache_keys.Samples:Samples(3 values);]'
                             'dict{0:}'.encode()).hexdigest()
    store = cache.get_store()
    store.put(old_key, 'the result of another input')
    assert m(Samples([1, 2, 3])) == 6 and m.calls == 1


@pytest.mark.parametrize('a, b', [
    (1, 1.0), (1, True), (1, '1'), (0.0, -0.0), (b'x', bytearray(b'x')), (b'x', 'x'), ((1, 2), [1, 2]),
    ((1, 2), package(1, 2)), ({'a': 1}, kwargs(a=1)), ({1, 2}, frozenset({1, 2})), (None, 'None'),
    (collections.OrderedDict(a=1, b=2), collections.OrderedDict(b=2, a=1)),
    (collections.OrderedDict(a=1), {'a': 1}), ([[1], 2], [1, [2]]), (['ab', 'c'], ['a', 'bc']),
    ({'a': 'b'}, {'ab': ''}), ([1, 2], [1.0, 2.0]), ([True, 1], [1, 1]), ([2 ** 70], [2 ** 70 + 1]),
    (('a, b',), ('a', 'b')), ({'a': 1}, {b'a': 1}), ([0.0], [-0.0]), ([2 ** 63], [-(2 ** 63)]),
    (['x', None], ['x', 'None']), ([[1, 2]], [[1], 2]),
])
def test_values_that_differ_get_different_keys(a, b):
    assert key(a) != key(b)


@pytest.mark.parametrize('make', [
    lambda: {'x': 1, 'y': [2, {3}]}, lambda: {3, 1, 2}, lambda: Samples([1, 2]), lambda: (b'\x00', 1.5, 2j),
    lambda: collections.Counter('abracadabra'), lambda: [1, 2 ** 70, 'a', 1.5, None, b'x'], lambda: list(range(3000)),
    lambda: {'b': 1, 'a': [2.5] * 10, 3: 'int key'},
])
def test_values_of_equal_content_get_equal_keys(make):
    assert key(make()) == key(make())


def test_a_dataclass_is_keyed_by_its_class_and_every_attribute():
    @dataclasses.dataclass
    class Point:
        x: int
        y: int = 0

    @dataclasses.dataclass
    class Other:
        x: int
        y: int = 0

    assert key(Point(1, 2)) == key(Point(1, 2))
    assert key(Point(1, 2)) != key(Point(1, 3))
    assert key(Point(1, 2)) != key(Other(1, 2))
    later = Point(1, 2)
    later.extra = 'set after construction'
    assert key(later) != key(Point(1, 2))


def test_a_dataclass_with_slots_is_keyed_by_its_slots():
    @dataclasses.dataclass(frozen=True)
    class Slotted:
        __slots__ = ('a', 'b')
        a: int
        b: list

    assert key(Slotted(1, [2])) == key(Slotted(1, [2])) != key(Slotted(1, [3]))


def test_an_enum_member_is_keyed_by_its_class_and_name():
    class Color(enum.Enum):
        RED = 1
        ALSO_RED = 1
        BLUE = 2

    assert key(Color.RED) == key(Color.ALSO_RED) != key(Color.BLUE)
    assert key(Color.RED) != key(1)


def test_a_python_subclass_of_a_builtin_is_keyed_by_its_value_and_attributes():
    class Tagged(str):
        pass

    plain, tagged, other = Tagged('x'), Tagged('x'), Tagged('x')
    other.tag = 'different'
    assert key(plain) == key(tagged) != key(other)
    assert key(plain) != key('x')
    Pair = collections.namedtuple('Pair', 'a b')
    assert key(Pair(1, 2)) == key(Pair(1, 2)) != key((1, 2))


def test_a_subclass_holding_state_in_c_is_not_cached():
    with pytest.warns(CacheWarning, match='collections.defaultdict'):
        assert key(collections.defaultdict(list)) is None


def test_a_value_that_contains_itself_is_not_cached():
    loop = [1]
    loop.append(loop)
    with pytest.warns(CacheWarning, match='contains itself'):
        assert key(loop) is None


def test_a_value_nested_too_deeply_is_not_cached():
    deep = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.warns(CacheWarning, match='nested too deeply'):
        assert key(deep) is None


def test_functions_and_classes_are_not_keyed_by_their_names():
    with pytest.warns(CacheWarning, match='builtins.function'):
        assert key(lambda: 1) is None


def test_an_int_too_long_for_str_is_keyed():
    assert key(10 ** 5000) != key(10 ** 5000 + 1)


def test_the_tag_and_the_name_of_the_module_are_parts_of_the_key_each_on_its_own():
    assert cache.cache_key(Summed(name='b|'), 'a', (1,), {}) != cache.cache_key(Summed(name=''), 'a|b', (1,), {})


def test_keyword_arguments_are_part_of_the_key():
    assert key(1, scale=2) != key(1, scale=3) != key(1)
