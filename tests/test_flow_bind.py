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


# -- binding a flow in the with form -------------------------------------------------------------
# `with flow().bind(...) as outer.name:` must bind exactly as `outer.name = flow(...).bind(...)`:
# each case builds the same outer pipeline both ways; the bound flow gets (the outer input, the
# previous output), so an unbound flow would see the previous output only and answer otherwise.

def pair(a, b):
    return a * 10 + b


def _outer(build_inner):
    with pipeline() as p:
        p.first = lambda x: x + 1
        build_inner(p)
        p.last = lambda *outputs: outputs if len(outputs) > 1 else outputs[0]
    return p


def _parallel_in_with(p):
    with lazyplug.parallel().bind(p.input, _0) as p.inner:
        p.inner.left = pair
        p.inner.right = lambda a, b: a - b


def _parallel_assigned(p):
    p.inner = lazyplug.parallel(left=pair, right=lambda a, b: a - b).bind(p.input, _0)


def _pipeline_in_with(p):
    with pipeline().bind(p.input, _0) as p.inner:
        p.inner.combine = pair
        p.inner.double = lambda v: v * 2


def _pipeline_assigned(p):
    p.inner = pipeline(combine=pair, double=lambda v: v * 2).bind(p.input, _0)


def _diverter_in_with(p):
    with lazyplug.diverter().bind(p.input, _0) as p.inner:
        p.inner.from_input = lambda v: -v
        p.inner.from_first = lambda v: v * 100


def _diverter_assigned(p):
    p.inner = lazyplug.diverter(from_input=lambda v: -v, from_first=lambda v: v * 100).bind(p.input, _0)


def _warp_in_with(p):
    with lazyplug.warp().bind(p.input, _0) as p.inner:
        p.inner.square = lambda v: v * v


def _warp_assigned(p):
    p.inner = lazyplug.warp(square=lambda v: v * v).bind(p.input, _0)


def _switch_in_with(p):
    with lazyplug.switch().bind(p.input, _0) as p.inner:
        p.inner.case[lambda a, b: a > b, lambda a, b: 'input']
        p.inner.case['default', pair]


def _switch_assigned(p):
    p.inner = lazyplug.switch(lambda a, b: a > b, lambda a, b: 'input', 'default', pair).bind(p.input, _0)


def _loop_in_with(p):
    with lazyplug.loop(count=2).bind(p.input, _0) as p.inner:
        p.inner.add = lambda *values: sum(values) * 2


def _loop_assigned(p):
    p.inner = lazyplug.loop(add=lambda *values: sum(values) * 2, count=2).bind(p.input, _0)


def _graph_in_with(p):
    with lazyplug.graph().bind(p.input, _0) as p.inner:
        p.inner.combine = pair
    p.inner.add_edge(p.inner.start_node, 'combine')
    p.inner.add_edge('combine', p.inner.end_node)


def _graph_assigned(p):
    g = lazyplug.graph(combine=pair)
    g.add_edge(g.start_node, 'combine')
    g.add_edge('combine', g.end_node)
    p.inner = g.bind(p.input, _0)


# input 3: first -> 4; the bound flow gets (3, 4)
BOTH_FORMS = {
    'pipeline': (_pipeline_in_with, _pipeline_assigned, 68),
    'parallel': (_parallel_in_with, _parallel_assigned, (34, -1)),
    'diverter': (_diverter_in_with, _diverter_assigned, (-3, 400)),
    'warp': (_warp_in_with, _warp_assigned, (9, 16)),
    'switch': (_switch_in_with, _switch_assigned, 34),
    'loop': (_loop_in_with, _loop_assigned, 28),
    'graph': (_graph_in_with, _graph_assigned, 34),
}


@pytest.mark.parametrize('kind', sorted(BOTH_FORMS))
def test_a_flow_bound_in_the_with_form_binds_as_the_assignment_form_does(kind):
    in_with, assigned, expected = BOTH_FORMS[kind]
    by_with, by_assignment = _outer(in_with), _outer(assigned)
    assert by_with(3) == by_assignment(3) == expected
    for p in (by_with, by_assignment):
        assert type(p._items[1]) is lazyplug.Bind and type(p._items[1].func).__name__.lower() == kind
    assert repr(by_with) == repr(by_assignment)


def test_ifs_binds_in_the_assignment_form_and_its_with_form_is_refused_as_without_bind():
    with pipeline() as p:
        p.first = lambda x: x + 1
        p.inner = lazyplug.ifs(lambda a, b: a < b, pair, lambda a, b: 0).bind(p.input, _0)
    assert p(3) == 34
    for candidate in (lazyplug.ifs(True, pair, pair), lazyplug.ifs(True, pair, pair).bind(1, _0)):
        with pytest.raises(FlowError, match='a with-block needs a IFS built with no items'):
            with candidate:
                pass


def test_a_bound_flow_named_by_a_nested_with_keeps_its_bind():
    with pipeline() as p:
        p.first = lambda x: x + 1
        with pipeline().bind(p.input, _0) as inner:
            inner.combine = pair
    assert p._item_names == ['first', 'inner'] and type(p._items[1]) is lazyplug.Bind
    assert p(3) == 34


def test_only_a_bound_flow_opens_a_with_block():
    with pytest.raises(FlowError, match='a with-block needs a bound flow'):
        with bind(pair, 1):
            pass


def test_attributes_set_on_a_bind_reach_its_function():
    def documented(x):
        return x

    b = bind(documented, 1)
    b.marker = 'set through the bind'
    assert documented.marker == 'set through the bind'


# -- references from nested flows ----------------------------------------------------------------

def test_references_resolve_in_each_concurrent_part_of_a_warp_and_in_nested_warps():
    rows = [{'n': n} for n in range(4)]
    with pipeline() as p:
        p.rows = lambda rows: rows
        with lazyplug.warp() as p.each:
            with pipeline() as p.each.row:
                p.each.row.parts = lambda row: [{'k': k} for k in range(3)]
                # each part of the inner warp reads the input of its row's own run of the body, and
                # the input of the outermost pipeline
                p.each.row.inner = lazyplug.warp(bind(lambda part, row, everything: 100 * len(everything)
                                                      + row['n'] * 10 + part['k'], _0, p.each.row.input, p.input))
    assert p(rows) == tuple(tuple(400 + n * 10 + k for k in range(3)) for n in range(4))


def test_save_pipeline_result_is_accepted_and_references_from_nested_flows_work_with_or_without_it():
    with pipeline() as p:
        p.f1 = lambda x: x + 1
        with pipeline() as p.sub:
            p.sub.f2 = (lambda x, y, z: x + y + 2 * z) | bind(y=p.input, z=p.output('f1'))
    assert p(3) == 15
    with lazyplug.save_pipeline_result():
        assert p(3) == 15
    with lazyplug.save_pipeline_result(False):
        assert p(3) == 15
    with pytest.raises(ValueError, match='True or False'):
        lazyplug.save_pipeline_result('yes')
