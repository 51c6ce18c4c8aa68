"""The wire format between a client and a served module: JSON, with tags for what JSON lacks.

Tuples, ``package``, ``kwargs``, bytes, sets, dicts with keys that are not strings, and the floats
NaN and ±Infinity (bare ``NaN`` is not JSON: strict parsers refuse it) travel as
``{"__lp__": tag, ...}`` objects. Anything else cannot travel: encoding it is a
:class:`~lazyplug.errors.CodecError` at the sender, before anything is sent. So is a string with a
lone surrogate (UTF-8 cannot encode it) and a value nested deeper than the ``max_nesting_depth``
setting; decoding refuses malformed JSON, unknown or malformed tags and the same depth. Every
CodecError names the path to the bad value (``args[0]['x'][3]``). Nothing is ever unpickled from
the network.
"""

from __future__ import annotations

import base64
import json
import re
import reprlib

from ..config import config
from ..errors import CodecError
from ..values import kwargs, package

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

__all__ = ['decode', 'dumps', 'encodable_items', 'encode', 'loads']

TAG = '__lp__'
_SEQUENCES: dict[str, Any] = {'package': package, 'tuple': tuple, 'set': set, 'frozenset': frozenset}
_SEQUENCE_TAGS: dict[type, str] = {kind: tag for tag, kind in _SEQUENCES.items()}
_TAGS = frozenset({*_SEQUENCES, 'bytes', 'dict', 'float', 'kwargs'})
_FLOATS = {'nan': float('nan'), 'inf': float('inf'), '-inf': float('-inf')}
_surrogate = re.compile('[\ud800-\udfff]').search
_TOO_DEEP = 'is nested deeper than {limit} levels (the max_nesting_depth setting)'
_CANNOT_TRAVEL = ('which cannot travel to or from a served module: send None, bool, int, float, str, bytes, or '
                  'lists, tuples, sets and dicts of them')


class _BadValueError(Exception):
    """What is wrong with one value; the path to it is recorded while the recursion unwinds."""

    def __init__(self, node: Any, problem: str) -> None:
        super().__init__(problem)
        self.node = node  # the value at the end of the path recorded so far
        self.problem = problem
        self.steps: list[str] = []  # innermost first

    def within(self, container: Any, children: Iterator[tuple[str, Any]]) -> None:
        """Record the step from ``container`` to the child that failed (found by identity: only a
        failure pays for the search)."""
        if self.node is container:
            return  # the container itself is what is wrong
        self.steps.append(next((step for step, child in children if child is self.node), '[?]'))
        self.node = container


def _message(where: str, bad: _BadValueError, limit: int) -> str:
    steps = bad.steps[::-1]
    if len(steps) > 12:
        steps = [*steps[:4], f'...({len(steps) - 8} more)...', *steps[-4:]]
    path = where + ''.join(steps)
    if not where and re.match(r"\['\w+'\]", path):  # a request or reply: args[0], not ['args'][0]
        path = path[2:].replace("']", '', 1)
    problem = _TOO_DEEP.format(limit=limit) if bad.problem is _TOO_DEEP else bad.problem
    return f'{path or "the body"} {problem}'


def _encode(value: Any, depth: int) -> Any:
    kind = type(value)
    if kind is str:
        lone = None if value.isascii() else _surrogate(value)
        if lone is None:
            return value
        raise _BadValueError(value, f'is a string with a lone surrogate ({lone[0]!r} at {lone.start()}: not '
                                    f'UTF-8), {_CANNOT_TRAVEL}')
    if kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return value if value - value == 0.0 else {TAG: 'float', 'value': repr(value)}
    if kind is bytes or kind is bytearray:
        return {TAG: 'bytes', 'b64': base64.b64encode(value).decode('ascii')}
    if not depth:
        raise _BadValueError(value, _TOO_DEEP)
    depth -= 1
    try:
        if kind is list:
            return [_encode(v, depth) for v in value]
        if kind is dict:
            if TAG not in value and all(type(k) is str and (k.isascii() or not _surrogate(k)) for k in value):
                return {k: _encode(v, depth) for k, v in value.items()}
            return {TAG: 'dict', 'items': [[_encode(k, depth), _encode(v, depth)] for k, v in value.items()]}
        if kind in _SEQUENCE_TAGS:
            return {TAG: _SEQUENCE_TAGS[kind], 'items': [_encode(v, depth) for v in value]}
        if kind is kwargs:
            return {TAG: 'kwargs', 'items': [[_encode(k, depth), _encode(v, depth)] for k, v in value.items()]}
    except _BadValueError as bad:
        bad.within(value, _value_children(value))
        raise
    raise _BadValueError(value, f'is a {kind.__module__}.{kind.__qualname__}, {_CANNOT_TRAVEL}')


def _value_children(value: Any) -> Iterator[tuple[str, Any]]:
    if type(value) is dict or type(value) is kwargs:
        for index, (key, item) in enumerate(value.items()):
            yield f'.keys()[{index}]', key
            yield f'[{reprlib.repr(key)}]', item
    else:
        yield from ((f'[{index}]', item) for index, item in enumerate(value))


def _decode(data: Any, depth: int) -> Any:
    kind = type(data)
    if kind is str or kind is int or kind is float or kind is bool or data is None:
        return data
    if kind is dict and TAG in data and data[TAG] in ('bytes', 'float'):
        return _untag_scalar(data, data[TAG])
    if not depth:
        raise _BadValueError(data, _TOO_DEEP)
    depth -= 1
    try:
        if kind is list:
            return [_decode(v, depth) for v in data]
        if kind is dict:
            return {k: _decode(v, depth) for k, v in data.items()} if TAG not in data else _untag(data, depth)
    except _BadValueError as bad:
        bad.within(data, _json_children(data))
        raise
    raise _BadValueError(data, f'is a {kind.__name__}, not a JSON value')


def _untag_scalar(data: dict[str, Any], tag: str) -> Any:
    if tag == 'float':
        value = data.get('value')
        if type(value) is str and value in _FLOATS:
            return _FLOATS[value]
        raise _BadValueError(data, f"is a malformed 'float' value: its \"value\" is {reprlib.repr(value)}, not "
                                   "'nan', 'inf' or '-inf'")
    try:
        return base64.b64decode(data['b64'], validate=True)
    except Exception as exc:
        raise _BadValueError(data, f'is a malformed {tag!r} value: {type(exc).__name__}: {exc}') from None


def _untag(data: dict[str, Any], depth: int) -> Any:
    tag = data[TAG]
    if type(tag) is not str or tag not in _TAGS:
        raise _BadValueError(data, f'has an unknown value tag {reprlib.repr(tag)} (known: {", ".join(sorted(_TAGS))})')
    try:
        items = data['items']
        if type(items) is not list:
            raise TypeError(f'"items" is {reprlib.repr(items)}, not a list')
        if tag in _SEQUENCES:
            return _SEQUENCES[tag]([_decode(v, depth) for v in items])
        pairs = {}
        for pair in items:
            if type(pair) is not list or len(pair) != 2:
                raise TypeError(f'an item is {reprlib.repr(pair)}, not a [key, value] pair')
            pairs[_decode(pair[0], depth)] = _decode(pair[1], depth)
        return kwargs(pairs) if tag == 'kwargs' else pairs
    except _BadValueError:
        raise
    except Exception as exc:
        raise _BadValueError(data, f'is a malformed {tag!r} value: {type(exc).__name__}: {exc}') from None


def _json_children(data: Any) -> Iterator[tuple[str, Any]]:
    if type(data) is list:
        yield from ((f'[{index}]', item) for index, item in enumerate(data))
    elif TAG not in data:
        yield from ((f'[{reprlib.repr(key)}]', item) for key, item in data.items())
    elif data[TAG] in ('dict', 'kwargs'):
        for index, (key, item) in enumerate(data['items']):
            yield f'.keys()[{index}]', key
            yield f'[{reprlib.repr(_decode(key, 1 << 30))}]', item  # this key decoded before its value failed
    else:
        yield from ((f'[{index}]', item) for index, item in enumerate(data['items']))


def _checked(walk: Any, data: Any, where: str, max_depth: int | None, doing: str) -> Any:
    limit = int(config['max_nesting_depth']) if max_depth is None else max_depth
    try:
        return walk(data, limit)
    except _BadValueError as bad:
        raise CodecError(_message(where, bad, limit)) from None
    except RecursionError as exc:
        raise CodecError(f'{where or "the body"} is nested too deeply to {doing} in this thread: {exc}') from exc


def encode(value: Any, where: str = 'value', max_depth: int | None = None) -> Any:
    """``value`` as JSON-ready data; ``where`` names it in the error if it cannot travel.

    ``max_depth`` is the deepest nesting allowed (default: the ``max_nesting_depth`` setting).
    """
    return _checked(_encode, value, where, max_depth, 'encode')


def decode(data: Any, where: str = 'value', max_depth: int | None = None) -> Any:
    """The value encoded as ``data``; an unknown tag, a malformed tagged object or nesting deeper
    than ``max_depth`` (default: the ``max_nesting_depth`` setting) is a CodecError naming its path."""
    return _checked(_decode, data, where, max_depth, 'decode')


def dumps(value: Any, where: str = 'value', max_depth: int | None = None) -> bytes:
    """Encode and serialise ``value`` to UTF-8 JSON (``where=''``: a request or reply, whose keys
    start the paths in errors)."""
    data = encode(value, where, max_depth)
    try:
        return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(',', ':')).encode('utf-8')
    except RecursionError as exc:
        raise CodecError(f'{where or "the body"} is nested too deeply to serialise in this thread: {exc}') from exc


def loads(body: bytes, where: str = 'value', max_depth: int | None = None) -> Any:
    """Parse and decode UTF-8 JSON; malformed input is a CodecError."""
    try:
        data = json.loads(body)
    except RecursionError as exc:
        raise CodecError(f'{where or "the body"} is JSON nested too deeply to parse: {exc}') from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise CodecError(f'malformed JSON: {exc}') from exc
    return decode(data, where, max_depth)


def encodable_items(values: dict[str, Any]) -> dict[str, Any]:
    """The items of ``values`` that can travel; the others stay behind (a session's private values)."""
    kept = {}
    for key, value in values.items():
        try:
            encode(value)
        except CodecError:
            continue
        kept[key] = value
    return kept
