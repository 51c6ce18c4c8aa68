"""The wire format, without a server: what travels, how it comes back, and errors that name the
path to the bad value (the serving tests send the same through real servers)."""

import json
import math

import pytest

from lazyplug import config, kwargs, package
from lazyplug.errors import CodecError
from lazyplug.serve import codec


def nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


def test_values_json_lacks_come_back_with_their_types():
    value = [(1, 2), package(3, 4), kwargs(a=5), {1: 'x', (2, 3): 'y'}, {6}, frozenset({7}), b'\x00\xff',
             {'__lp__': 'a user key'}, math.inf, -math.inf, 1.5]
    back = codec.loads(codec.dumps(value))
    assert back == value and [type(v) for v in back] == [type(v) for v in value]
    assert math.isnan(codec.loads(codec.dumps(math.nan)))


def test_nan_and_infinity_are_written_as_strict_json():
    text = codec.dumps([math.nan, math.inf, -math.inf]).decode()
    assert 'NaN' not in text and 'Infinity' not in text
    assert json.loads(text, parse_constant=pytest.fail)[0] == {'__lp__': 'float', 'value': 'nan'}


@pytest.mark.parametrize('value, where, words', [
    ({'args': [{'x': [1, 2, 3, object()]}]}, '', r"args\[0\]\['x'\]\[3\] is a builtins.object"),
    ({'args': [(1, {2: [set(), print]})]}, '', r'args\[0\]\[1\]\[2\]\[1\] is a builtins.builtin_function_or_method'),
    ([1, 'a\ud800b'], 'value', r"value\[1\] is a string with a lone surrogate \('\\ud800' at 1"),
    ({'ok': {'\udc80': 1}}, 'value', r"value\['ok'\]\.keys\(\)\[0\] is a string with a lone surrogate"),
    (nested(100_000), 'value', r'value\[0\]\[0\]\[0\]\[0\]\.\.\.\(120 more\)\.\.\.\[0\]\[0\]\[0\]\[0\] is nested '
                               r'deeper than 128 levels'),
])
def test_a_value_that_cannot_travel_is_a_codec_error_naming_its_path(value, where, words):
    with pytest.raises(CodecError, match=words):
        codec.dumps(value, where)


@pytest.mark.parametrize('body, words', [
    (b'{"args": [{"__lp__": [1]}]}', r'args\[0\] has an unknown value tag \[1\]'),
    (b'{"args": [{"__lp__": "dict", "items": [[1, {"__lp__": "bytes"}]]}]}',
     r"args\[0\]\[1\] is a malformed 'bytes' value"),
    (b'{"args": [{"__lp__": "kwargs", "items": [[1, 2, 3]]}]}', r"args\[0\] is a malformed 'kwargs' value: .*pair"),
    (b'{"args": [{"__lp__": "float", "value": "NaN"}]}', r"args\[0\] is a malformed 'float' value"),
    (b'{"__lp__": null}', r'the body has an unknown value tag None'),
    (b'[' * 100_000 + b']' * 100_000, r'the body is JSON nested too deeply to parse'),
    (b'{"a": 1', r'malformed JSON'),
])
def test_a_body_that_does_not_decode_is_a_codec_error_naming_its_path(body, words):
    with pytest.raises(CodecError, match=words):
        codec.loads(body, '')


def test_the_nesting_limit_is_the_setting_or_the_argument():
    with config.temp('max_nesting_depth', 3):
        assert codec.loads(codec.dumps([[[1]]])) == [[[1]]]
        with pytest.raises(CodecError, match='deeper than 3 levels'):
            codec.dumps([[[[1]]]])
    assert codec.loads(b'[[[[1]]]]', max_depth=4) == [[[[1]]]]
    with pytest.raises(CodecError, match=r'value\[0\]\[0\]\[0\] is nested deeper than 3 levels'):
        codec.loads(b'[[[[1]]]]', max_depth=3)
