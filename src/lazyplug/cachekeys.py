"""Keys of the module result cache: a digest of what a call's arguments hold, never of where they are.

Each value is encoded with its type, and containers with their length, so that no two different
values share an encoding (``1``, ``1.0``, ``True`` and ``'1'`` are four keys):

* ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``, ``bytes`` and ``bytearray`` by value;
* ``tuple``, ``list``, ``dict``, ``set`` and ``frozenset`` by their items (a dict and a set in any
  order, an ``OrderedDict`` in its own), recursively;
* enum members by their class and name; dataclass instances by their class and every attribute;
* numpy arrays by dtype, shape and data, numpy scalars by dtype and data (numpy is never imported
  here: a numpy value exists only once the caller imported it);
* Python subclasses of the types above by their class, what the base type holds and their
  attributes (``package``, ``kwargs``, named tuples, ``Counter``...).

Anything else (an object keyed by its ``repr`` could share it with a different object, and its
address is reused once it is freed) makes the call uncacheable: it runs, and a
:class:`~lazyplug.errors.CacheWarning` names the type (once per type, under Python's default
warning filter). ``SCHEME`` starts every digest: keys of an older scheme are never produced again,
so an entry written under one is never read.
"""

from __future__ import annotations

import enum
import hashlib
import struct
import sys
import warnings
from collections import OrderedDict

from .errors import CacheWarning

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ['SCHEME', 'SUPPORTED', 'cache_key']

SCHEME = b'lazyplug cache key 2\x00'
"""The first bytes hashed into every key; a new encoding gets a new one."""

SUPPORTED = ('None, bool, int, float, complex, str, bytes, bytearray, tuple, list, dict, set, frozenset, '
             'enum members, dataclasses, numpy arrays and scalars, and Python subclasses of these')
"""What an argument may be for a call to be cached (in words, for messages)."""

_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class defined by a class statement, not in C
_HEAD = struct.Struct('<cQ').pack  # a tag and the length of what follows
_DOUBLE = struct.Struct('<d')
_COMPLEX = struct.Struct('<dd')


class _UnkeyableError(Exception):
    def __init__(self, kind: type, why: str = '') -> None:
        super().__init__(kind, why)
        self.kind = kind
        self.why = why


def _int(value: int) -> bytes:
    # the base type's methods, not the value's: a subclass may override them; and not str(), which
    # refuses ints of more than 4300 digits
    return int.to_bytes(value, (int.bit_length(value) + 8) // 8, 'little', signed=True)


# Each scalar type's tag and encoding, reading the value as its base type holds it
_SCALARS: dict[type, tuple[bytes, Callable[[Any], bytes | memoryview]]] = {
    type(None): (b'N', lambda v: b''),
    bool: (b'B', lambda v: b'\x01' if v else b'\x00'),
    int: (b'I', _int),
    float: (b'F', _DOUBLE.pack),
    complex: (b'C', lambda v: _COMPLEX.pack(complex.real.__get__(v), complex.imag.__get__(v))),
    str: (b'S', lambda v: str.encode(v, 'utf-8', 'surrogatepass')),
    bytes: (b'Y', memoryview),
    bytearray: (b'A', memoryview),
}
_CONTAINERS = {tuple, list, dict, set, frozenset, OrderedDict}  # a subclass of OrderedDict meets it first
# Scalars whose repr() is exact and tells their type: a list or tuple of them is encoded as its repr()
_REPR_EXACT = frozenset({type(None), bool, int, float, complex, str, bytes})
_STR_ONLY, _INT_ONLY, _FLOAT_ONLY = frozenset({str}), {int}, {float}


class _Encoder:
    """Writes a value's encoding to a buffer; with a hash, big buffers go to it directly."""

    def __init__(self, hasher: Any = None, open_: set[int] | None = None) -> None:
        self.hash = hasher
        self.buf = bytearray()
        self.open = set() if open_ is None else open_  # ids of the containers being encoded: a cycle

    def add(self, tag: bytes, data: bytes | memoryview) -> None:
        self.buf += _HEAD(tag, len(data))
        if len(data) < 65536 or self.hash is None:
            self.buf += data
        else:
            self.hash.update(self.buf)
            self.buf.clear()
            self.hash.update(data)

    def value(self, value: Any) -> None:
        kind = type(value)
        scalar = _SCALARS.get(kind)
        if scalar is not None:
            data = scalar[1](value)
            if len(data) < 65536:  # add(), inlined: most values are small scalars
                self.buf += _HEAD(scalar[0], len(data))
                self.buf += data
            else:
                self.add(scalar[0], data)
        elif kind in _CONTAINERS:
            self.container(value, kind)
        else:
            self.other(value, kind)

    def container(self, value: Any, base: Any) -> None:
        """Encode ``value`` as its container type ``base`` holds it (through ``base``'s own methods)."""
        if base is tuple or base is frozenset:  # immutable: a cycle through one passes a list or a dict too
            ident = 0
        else:
            ident = id(value)
            if ident in self.open:
                raise _UnkeyableError(type(value), 'it contains itself')
            self.open.add(ident)
        if base is OrderedDict:  # its order is part of its value (== compares it)
            self.add(b'O', _int(OrderedDict.__len__(value)))
            for key, item in OrderedDict.items(value):
                self.value(key)
                self.value(item)
        elif base is dict and _STR_ONLY.issuperset(map(type, dict.keys(value))):  # the common case, sorted as is
            self.add(b'T', _int(dict.__len__(value)))
            for key in sorted(dict.keys(value)):
                self.value(key)
                self.value(dict.__getitem__(value, key))
        elif base is dict:  # any keys, in any order: sorted by their encodings
            pairs = sorted(((self.part(key), item) for key, item in dict.items(value)), key=lambda pair: pair[0])
            self.add(b'D', _int(len(pairs)))
            for key, item in pairs:
                self.add(b'k', key)
                self.value(item)
        elif base is set or base is frozenset:
            items = sorted(self.part(item) for item in base.__iter__(value))
            self.add(b'E' if base is set else b'Z', _int(len(items)))
            for item in items:
                self.add(b'k', item)
        else:
            packed = _packed(value, base)
            if packed is not None:
                self.add(b'l' if base is list else b'u', packed)
            else:
                self.add(b'L' if base is list else b'U', _int(base.__len__(value)))
                for item in base.__iter__(value):
                    self.value(item)
        self.open.discard(ident)

    def part(self, value: Any) -> bytes:
        """The encoding of ``value`` alone: dict keys and set items are sorted by it."""
        encoder = _Encoder(None, self.open)
        encoder.value(value)
        return bytes(encoder.buf)

    def other(self, value: Any, kind: type) -> None:
        numpy = sys.modules.get('numpy')
        if numpy is not None and isinstance(value, (numpy.ndarray, numpy.generic)):
            self.numpy(value, kind, numpy)
        elif isinstance(value, enum.Enum):
            self.add(b'e', _name(kind).encode())
            self.value(value.name)
        elif hasattr(kind, '__dataclass_fields__') and _python_defined(kind, object):
            self.add(b'c', _name(kind).encode())
            self.state(value, kind)
        else:
            base = next((b for b in kind.__mro__ if b in _CONTAINERS or b in _SCALARS), None)
            if base is None or not _python_defined(kind, base):
                raise _UnkeyableError(kind)
            self.add(b'x', _name(kind).encode())
            if base in _CONTAINERS:
                self.container(value, base)
            else:
                tag, encode = _SCALARS[base]
                self.add(tag, encode(value))
            self.state(value, kind)

    def numpy(self, value: Any, kind: type, numpy: Any) -> None:
        if kind is not numpy.ndarray and not isinstance(value, numpy.generic):
            raise _UnkeyableError(kind, 'a subclass of numpy.ndarray may hold more than its data (a mask...)')
        dtype = value.dtype
        self.add(b'n' if kind is numpy.ndarray else b'g', f'{dtype.descr!r}{value.shape!r}'.encode())
        if dtype.kind == 'O':  # the data are pointers: key the objects themselves
            self.add(b'o', b'')
            for item in value.ravel().tolist() if kind is numpy.ndarray else [value.item()]:
                self.value(item)
        elif dtype.hasobject:
            raise _UnkeyableError(kind, 'a structured dtype with object fields')
        else:
            self.add(b'd', value.tobytes())

    def state(self, value: Any, kind: type) -> None:
        """What an instance holds besides its base type's value: its ``__dict__`` and slots, by name."""
        ident = id(value)
        if ident in self.open:
            raise _UnkeyableError(kind, 'it contains itself')
        self.open.add(ident)
        attributes = dict(getattr(value, '__dict__', {}))
        for cls in kind.__mro__:
            slots = cls.__dict__.get('__slots__', ())
            for name in (slots,) if isinstance(slots, str) else slots:
                if name not in ('__dict__', '__weakref__') and name not in attributes:
                    try:
                        attributes[_mangled(cls, name)] = getattr(value, _mangled(cls, name))
                    except AttributeError:  # an empty slot
                        pass
        self.add(b'a', _int(len(attributes)))
        for name in sorted(attributes):
            self.value(name)
            self.value(attributes[name])
        self.open.discard(ident)


def _packed(value: Any, base: Any) -> bytes | None:
    """The items of the list or tuple ``value`` in one piece when they are all scalars of types whose
    ``repr()`` is exact (ints and floats as 8-byte numbers when they all are one of them), else None."""
    items = value if type(value) is base else list(base.__iter__(value))
    kinds = set(map(type, items))
    if not _REPR_EXACT.issuperset(kinds):
        return None
    if kinds in (_INT_ONLY, _FLOAT_ONLY):
        code = 'q' if kinds == _INT_ONLY else 'd'
        try:
            return code.encode() + struct.pack(f'<{len(items)}{code}', *items)
        except struct.error:  # an int of more than 64 bits
            pass
    try:
        text: str = base.__repr__(value)
    except ValueError:  # an int of more than 4300 digits
        return None
    return b'r' + text.encode('utf-8', 'surrogatepass')


def _mangled(cls: type, name: str) -> str:
    return f'_{cls.__name__.lstrip("_")}{name}' if name.startswith('__') and not name.endswith('__') else name


def _name(kind: type) -> str:
    return f'{kind.__module__}.{kind.__qualname__}'


def _python_defined(kind: type, base: type) -> bool:
    """Whether every class of ``kind`` above ``base`` is defined in Python: then nothing but
    ``base``'s value and the instance's attributes (``__dict__``, slots) can hold state."""
    for cls in kind.__mro__:
        if cls is base:
            return True
        if not cls.__flags__ & _HEAPTYPE and cls is not object:
            return False
    return False


def cache_key(identity: tuple[str, ...], args: tuple[Any, ...], kw: dict[str, Any]) -> str | None:
    """The key of calling what ``identity`` names (strings: a module's class, tag and name) with
    ``args`` and ``kw``: equal identities and arguments give the same key in every process; None
    when an argument cannot be keyed by its content (the call is not cached; a CacheWarning names
    the type, once per type)."""
    hasher = hashlib.sha256(SCHEME)
    encoder = _Encoder(hasher)
    encoder.value(identity)  # each part framed: ('a|b', '') and ('a', 'b|') are two identities
    try:
        encoder.value(args)
        encoder.value(kw)
    except _UnkeyableError as exc:
        _warn(exc.kind, exc.why)
        return None
    except RecursionError:
        _warn(type(args[0]) if len(args) == 1 else tuple, 'it is nested too deeply')
        return None
    hasher.update(encoder.buf)
    return hasher.hexdigest()


def _warn(kind: type, why: str) -> None:
    # one message per type and reason, from one place: under Python's default warning filter it is
    # shown once per process
    reason = why or f'it cannot be keyed by its content (cached are calls whose arguments are {SUPPORTED})'
    warnings.warn(f'calls of cached modules with a {_name(kind)} argument are not cached: {reason}',
                  CacheWarning, stacklevel=1)
