"""The wire format between a client and a served module: JSON, with tags for what JSON lacks.

Tuples, ``package``, ``kwargs``, bytes, sets and dicts with keys that are not strings travel as
``{"__lp__": tag, ...}`` objects. Anything else cannot travel: encoding it is a
:class:`~lazyplug.errors.CodecError` at the sender, before anything is sent. Nothing is ever
unpickled from the network.
"""

from __future__ import annotations

import base64
import json

from ..errors import CodecError
from ..values import kwargs, package

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['decode', 'dumps', 'encodable_items', 'encode', 'loads']

TAG = '__lp__'
_PLAIN = (str, int, float, bool, type(None))
_TAGS = frozenset({'bytes', 'package', 'tuple', 'set', 'frozenset', 'kwargs', 'dict'})


def encode(value: Any, where: str = 'value') -> Any:
    """``value`` as JSON-ready data; ``where`` names it in the error if it cannot travel."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is list:
        return [encode(v, where) for v in value]
    if kind is dict and all(type(k) is str for k in value) and TAG not in value:
        return {k: encode(v, where) for k, v in value.items()}
    if kind is package:
        return {TAG: 'package', 'items': [encode(v, where) for v in value]}
    if kind is tuple:
        return {TAG: 'tuple', 'items': [encode(v, where) for v in value]}
    if kind is kwargs:
        return {TAG: 'kwargs', 'items': [[encode(k, where), encode(v, where)] for k, v in value.items()]}
    if kind is dict:
        return {TAG: 'dict', 'items': [[encode(k, where), encode(v, where)] for k, v in value.items()]}
    if kind in (bytes, bytearray):
        return {TAG: 'bytes', 'b64': base64.b64encode(value).decode('ascii')}
    if kind in (set, frozenset):
        return {TAG: kind.__name__, 'items': [encode(v, where) for v in value]}
    raise CodecError(f'{where} of type {kind.__module__}.{kind.__qualname__} cannot be sent to a served module: '
                     'send None, bool, int, float, str, bytes, or lists, tuples, sets and dicts of them')


def decode(data: Any) -> Any:
    """The value encoded as ``data``; an unknown tag or a malformed tagged object is a CodecError."""
    kind = type(data)
    if kind in _PLAIN:
        return data
    if kind is list:
        return [decode(v) for v in data]
    if kind is not dict:
        raise CodecError(f'unexpected JSON value {data!r}')
    tag = data.get(TAG)
    if tag is None:
        return {k: decode(v) for k, v in data.items()}
    if tag not in _TAGS:
        raise CodecError(f'unknown value tag {tag!r}')
    try:
        if tag == 'bytes':
            return base64.b64decode(data['b64'], validate=True)
        items = data['items']
        if tag in ('package', 'tuple', 'set', 'frozenset'):
            made = [decode(v) for v in items]
            return {'package': package, 'tuple': tuple, 'set': set, 'frozenset': frozenset}[tag](made)
        if tag in ('kwargs', 'dict'):
            pairs = {decode(k): decode(v) for k, v in items}
            return kwargs(pairs) if tag == 'kwargs' else pairs
    except CodecError:
        raise
    except Exception as exc:
        raise CodecError(f'malformed {tag!r} value: {type(exc).__name__}: {exc}') from exc
    raise AssertionError(f'tag {tag!r} is known but not decoded')


def dumps(value: Any, where: str = 'value') -> bytes:
    """Encode and serialise ``value`` to UTF-8 JSON."""
    return json.dumps(encode(value, where), ensure_ascii=False, separators=(',', ':')).encode('utf-8')


def loads(body: bytes) -> Any:
    """Parse and decode UTF-8 JSON; malformed input is a CodecError."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CodecError(f'malformed JSON: {exc}') from exc
    return decode(data)


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
