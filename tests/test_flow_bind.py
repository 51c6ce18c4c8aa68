"""bind, placeholders and references to a pipeline's input and outputs."""

import pytest

import lazyplug
from lazyplug import ActionModule, _0, _1, bind, package, pipeline
from lazyplug.errors import FlowError
from lazyplug.module import ModuleBase


def exam(a, b, c):
    return (a, b, c)


def xy2z(x, y, z):
    return f'{x}-{y}-{z}'


def test_bound_positional_arguments_are_the_only_ones_and_placeholders_pick_the_calls():
    assert bind(exam, 'a', _0, 'c')('b') == ('a', 'b', 'c')
    assert bind(exam, _1, _0, 'c')('first', 'second', 'dropped') == ('second', 'first', 'c')


def test_without_bound_positional_arguments_the_calls_pass_through():
    assert bind(exam, c=3)(1, 2) == (1, 2, 3)


def test_placeholders_work_in_bound_keywords_too():
    assert bind(exam, 1, b=_0, c=_1)(2, 3) == (1, 2, 3)


def test_the_pipe_form_binds_the_function_on_its_left():
    assert (exam | bind(1, 2, _0))(3) == (1, 2, 3)
    assert (exam | bind(c=9))(1, 2) == (1, 2, 9)


def test_a_missing_placeholder_input_and_a_keyword_given_twice_are_clear_errors():
    with pytest.raises(FlowError, match='placeholder _1 needs at least 2'):
        bind(exam, _0, _1, 3)(1)
    with pytest.raises(FlowError, match="'c' is bound already"):
        bind(exam, c=1)(1, 2, c=3)


def test_a_bind_without_a_function_says_how_to_give_one():
    with pytest.raises(FlowError, match='no function'):
        bind()(1)


def test_a_bound_value_can_be_the_pipelines_input_or_an_earlier_items_output():
    with pipeline() as p:
        p.f1 = lambda x: x * 2
        p.f2 = lambda x: x + 1
        p.f3 = xy2z | bind(y=p.input, z=p.f1)
    assert p(2) == '5-2-4'


def test_output_references_pick_parts_and_can_be_unpacked():
    with pipeline() as p:
        p.pair = lambda x: package(x, x + 1, x + 2)
        p.mid = lambda *a: 'ignored'
        p.use = bind(exam, p.output('pair', unpack=True)[2:0:-1], 'c')
    assert p(1) == (3, 2, 'c')
    with pipeline() as q:
        q.first = lambda x: {'k': [10, 20]}
        q.pick = bind(lambda v: v, q.output('first')['k'][1])
    assert q(0) == 20


def test_the_pipelines_input_can_be_referred_to_from_nested_flows():
    with pipeline() as p:
        p.a = lambda x: x + 1
        p.inner = pipeline(lambda x: x, bind(lambda v, original: v + original, _0, p.input))
        p.fan = lazyplug.parallel(bind(lambda v, original: v * original, _0, p.input), lambda v: v)
    assert p(10) == (210, 21)


def test_a_reference_outside_a_call_of_its_pipeline_is_a_clear_error():
    p = pipeline(lambda x: x)
    with pytest.raises(FlowError, match='outside a call of its pipeline'):
        bind(lambda v: v, p.input)(1)


def test_keyword_arguments_bound_to_a_flow_reach_its_first_item():
    inner = pipeline(lambda x, extra=None: (x, extra), lambda pair: pair)
    with pipeline() as p:
        p.start = lambda a, b: a
        p.inner = inner | bind(extra=p.input[1])
    assert p(1, 2) == (1, 2)


def test_bind_reads_the_attributes_of_its_function():
    def documented(x):
        return x

    documented.marker = 'yes'
    assert bind(documented, 1).marker == 'yes'


def test_a_module_wrapped_in_bind_is_still_a_submodule():
    class M(ModuleBase):
        def forward(self, x, y=0):
            return x + y

    m = M()
    am = ActionModule(pipeline(m | bind(y=1)))
    assert am.submodules == [m]
    assert am(1) == 2


def test_bind_draws_its_arguments_in_the_repr():
    assert repr(bind(exam, 1, _0)) == '<Function type=function name=exam>(bind args: 1, _0)'
