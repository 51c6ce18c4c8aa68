"""pipeline and parallel: LazyLLM's call semantics, with-blocks, errors, concurrency, repr."""

import contextvars
import copy
import inspect
import pickle
import sys
import threading
import types

import pytest

import lazyplug
from lazyplug import _0, bind, kwargs, package, parallel, pipeline
from lazyplug.errors import FlowError
from lazyplug.module import ModuleBase


def add_one(x):
    return x + 1


def double(x):
    return x * 2


# -- pipeline ------------------------------------------------------------------------------------

def test_each_output_feeds_the_next_item():
    assert pipeline(add_one, double, add_one)(1) == 5


def test_a_package_output_is_spread_over_the_next_items_arguments():
    assert pipeline(lambda x: package(x, x + 1), lambda a, b: a * b)(3) == 12


def test_a_kwargs_output_becomes_the_next_items_keyword_arguments():
    assert pipeline(lambda x: kwargs(a=x, b=2), lambda a, b: a - b)(10) == 8


def test_several_call_arguments_arrive_as_a_package():
    assert pipeline(lambda a, b: a + b)(1, 2) == 3


def test_a_call_with_no_arguments_calls_the_first_item_with_none():
    assert pipeline(lambda: 'ran')() == 'ran'


def test_keyword_arguments_of_the_call_reach_the_first_item_only():
    seen = []
    p = pipeline(lambda x, k=None: seen.append(k) or x, lambda x, k='unset': seen.append(k) or x)
    p(1, k='given')
    assert seen == ['given', 'unset']


def test_a_nested_flow_receives_the_value_whole():
    assert pipeline(lambda x: package(x, 1), pipeline(lambda a, b: a + b))(4) == 5


def test_an_empty_pipeline_returns_its_input():
    assert pipeline()(7) == 7


def test_items_given_by_keyword_are_named_and_readable():
    p = pipeline(first=add_one, second=double)
    assert p._item_names == ['first', 'second']
    assert p.second(5) == 10 and p.second.__name__ == 'double'
    assert p(1) == 4


def test_a_function_read_back_prints_as_lazyllms_wrapper_and_acts_as_the_function():
    p = pipeline(first=lambda x: x + 1, second=double)
    assert repr(p.first) == '<Function type=function name=lambda>'
    assert repr(p.second) == '<Function type=function name=double>'
    assert isinstance(p.second, types.FunctionType) and inspect.signature(p.second) == inspect.signature(double)
    assert p._items[1] is double  # the flow itself runs the function, unwrapped
    for copied in (copy.copy(p.second), copy.deepcopy(p.second), pickle.loads(pickle.dumps(p.second))):
        assert repr(copied) == '<Function type=function name=double>' and copied(2) == 4


def test_a_function_read_back_stands_for_the_item_in_binds_and_outputs():
    with pipeline() as p:
        p.first = double
        p.second = add_one
        p.third = bind(lambda a, b: (a, b), _0, p.first)
        p.fourth = bind(lambda a, b: (a, b), _0, p.output(p.second))
    assert p(3) == ((7, 6), 7)


def test_mixing_positional_and_named_items_is_refused():
    with pytest.raises(FlowError, match='not both'):
        pipeline(add_one, second=double)


def test_a_class_item_is_instantiated_and_a_non_callable_is_refused():
    class Inc:
        def __call__(self, x):
            return x + 1

    assert pipeline(Inc)(1) == 2
    with pytest.raises(FlowError, match='item 1 of Pipeline is not callable'):
        pipeline(add_one, 3)


def test_the_with_block_adds_items_in_assignment_order():
    with pipeline() as p:
        p.f1 = add_one
        p.f2 = double
    assert p._item_names == ['f1', 'f2']
    assert p(3) == 8


def test_a_with_block_needs_an_empty_flow_and_names_are_unique():
    with pytest.raises(FlowError, match='no items'):
        with pipeline(add_one):
            pass
    with pytest.raises(FlowError, match="already has an item named 'f'"):
        with pipeline() as p:
            p.f = add_one
            p.f = double


def test_items_cannot_be_replaced_after_the_with_block():
    with pipeline() as p:
        p.f = add_one
    with pytest.raises(FlowError, match="'f' is an item"):
        p.f = double


def test_nested_with_blocks_attach_to_the_enclosing_flow_by_name():
    with pipeline() as p:
        p.start = add_one
        with pipeline() as p.inner:
            p.inner.twice = double
        with pipeline() as tail:
            tail.plus = add_one
    assert p._item_names == ['start', 'inner', 'tail']
    assert p.inner._item_names == ['twice']
    assert p(1) == 5


def test_a_flow_knows_whether_it_is_a_root_and_its_outermost_ancestor():
    leaf = pipeline(add_one)
    assert leaf.is_root and leaf.ancestor is leaf
    middle = parallel(leaf, double)
    outer = pipeline(middle)
    assert not leaf.is_root and not middle.is_root and outer.is_root
    assert leaf.ancestor is middle.ancestor is outer.ancestor is outer
    with pipeline() as p:
        with parallel().bind(p.input, lazyplug._0) as p.bound:
            p.bound.nested = pipeline(add_one)
        with pipeline() as p.named:
            p.named.x = add_one
    assert not p.bound.is_root and p.bound.nested.ancestor is p and p.named.ancestor is p
    body = lazyplug.warp(add_one, double)._items[0]  # several warp items become one body pipeline
    assert not body.is_root and body.ancestor.__class__ is lazyplug.Warp


def test_auto_capture_adds_the_names_a_with_block_binds_as_items_in_order():
    with pipeline(auto_capture=True) as p:
        first = add_one  # noqa: F841 - captured by the block
        second = double  # noqa: F841
        _private = add_one
        third = bind(lambda mine, whole: (mine, whole), lazyplug._0, p.input)  # noqa: F841
    assert p._item_names == ['first', 'second', 'third']
    assert p(1) == (4, 1)


def test_auto_capture_is_a_keyword_of_every_flow_built_with_a_with_block_never_an_item():
    for make in (pipeline, parallel, lazyplug.diverter, lazyplug.warp, lazyplug.graph,
                 lambda **kw: lazyplug.loop(count=2, **kw)):
        flow = make(auto_capture=True)
        assert len(flow) == 0 and flow._auto_capture
    with parallel(auto_capture=True).sum as prl:
        one = add_one  # noqa: F841
        two = double  # noqa: F841
    assert prl(3) == 10


def test_auto_capture_refuses_a_new_name_that_is_not_callable():
    with pytest.raises(FlowError, match="item 'limit' of Pipeline is not callable: 3"):
        with pipeline(auto_capture=True):
            limit = 3  # noqa: F841


def test_an_unnamed_module_takes_the_name_it_is_given_in_a_with_block():
    class Noop(ModuleBase):
        def forward(self, x):
            return x

    named = Noop(name='kept')
    with pipeline() as p:
        p.step = Noop()
        p.other = named
    assert p.step.name == 'step' and named.name == 'kept'


def test_post_action_sees_the_output_and_its_result_is_ignored():
    seen = []
    assert pipeline(add_one, post_action=lambda x: seen.append(x) or 'ignored')(1) == 2
    assert seen == [2]


@pytest.mark.skipif(sys.version_info < (3, 11), reason='exception notes arrived in Python 3.11')
def test_an_items_exception_propagates_unchanged_with_a_note_naming_the_item():
    def broken(x):
        raise ValueError('bad value')

    with pytest.raises(ValueError, match='bad value') as info:
        pipeline(first=add_one, step=broken)(1)
    assert "in item 1 ('step') of Pipeline: <Function type=function name=broken>" in info.value.__notes__


# -- parallel ------------------------------------------------------------------------------------

def test_every_item_gets_the_same_input_and_outputs_come_back_as_a_package_in_order():
    out = parallel(add_one, double)(5)
    assert out == (6, 10) and type(out) is package


def test_output_shapes():
    assert parallel(a=add_one, b=double).asdict(3) == {'a': 4, 'b': 6}
    assert type(parallel(add_one, double).astuple(3)) is tuple
    assert parallel(add_one, double).aslist(3) == [4, 6]
    assert parallel(add_one, double).sum(3) == 10
    assert parallel(lambda x: str(x), lambda x: x * 'b').sum(2) == '2bb'
    assert parallel(parallel(add_one), parallel(add_one)).sum(1) == (2, 2)
    assert parallel(add_one, double).join('-')(3) == '4-6'


def test_the_output_shape_is_set_once_and_asdict_needs_names():
    p = parallel(add_one).aslist
    with pytest.raises(FlowError, match='set once'):
        p.sum
    with pytest.raises(FlowError, match='every item'):
        parallel(add_one, double).asdict


def test_items_run_concurrently():
    barrier = threading.Barrier(3, timeout=5)  # would time out if the items ran one by one

    def meet(x):
        barrier.wait()
        return x

    assert parallel(meet, meet, meet)(1) == (1, 1, 1)


def test_sequential_runs_items_one_by_one_in_the_callers_thread():
    threads = []
    p = parallel.sequential(lambda x: threads.append(threading.current_thread()) or x,
                            lambda x: threads.append(threading.current_thread()) or x)
    assert p(1) == (1, 1)
    assert threads == [threading.current_thread()] * 2


def test_context_variables_reach_the_items_and_their_changes_stay_there():
    var = contextvars.ContextVar('var', default='unset')

    def read_and_change(_):
        value = var.get()
        var.set('changed')
        return value

    var.set('request-1')
    assert parallel(read_and_change, read_and_change, read_and_change)(0) == ('request-1',) * 3
    assert var.get() == 'request-1'


def test_the_first_failing_item_raises_after_every_item_finished():
    finished = []

    def slow_ok(x):
        threading.Event().wait(0.05)
        finished.append('slow')
        return x

    def fails(x):
        raise KeyError('first')

    def fails_too(x):
        raise ValueError('second')

    with pytest.raises(KeyError, match='first') as info:
        parallel(slow_ok, fails, fails_too)(1)
    assert finished == ['slow']
    if sys.version_info >= (3, 11):
        notes = '\n'.join(info.value.__notes__)
        assert 'in item 1 of Parallel' in notes and 'item 2 failed too: ValueError' in notes


def test_nested_parallel_flows_do_not_exhaust_the_shared_pool():
    inner = parallel(*[add_one] * 8)
    outer = parallel(*[inner] * 8)
    with lazyplug.config.temp('thread_pool_workers', 2):
        assert outer(0) == tuple([(1,) * 8] * 8)


# -- repr ----------------------------------------------------------------------------------------

def test_flows_draw_their_items_as_a_tree():
    class M(ModuleBase):
        pass

    p = pipeline(f1=add_one, prl=parallel(M(), M()))
    assert repr(p) == ("<Flow type=Pipeline items=['f1', 'prl']>\n"
                       ' |- <Function type=function name=add_one>\n'
                       ' └- <Flow type=Parallel items=[]>\n'
                       '     |- <Module type=M>\n'
                       '     └- <Module type=M>\n')
    assert repr(pipeline(lambda x: x)) == '<Flow type=Pipeline items=[]>\n └- <Function type=function name=lambda>\n'


def test_every_flow_draws_its_items_in_the_same_tree_format():
    def g(x):
        return x

    leaf = '<Function type=function name=g>'
    assert repr(lazyplug.diverter(g, g)) == f'<Flow type=Diverter items=[]>\n |- {leaf}\n └- {leaf}\n'
    assert repr(lazyplug.warp(g)) == f'<Flow type=Warp items=[]>\n └- {leaf}\n'
    assert repr(lazyplug.switch({1: g})) == f'<Flow type=Switch items=[]>\n └- {leaf}\n'
    assert repr(lazyplug.loop(g, count=2)) == f'<Flow type=Loop items=[]>\n └- {leaf}\n'
    assert repr(lazyplug.ifs(True, g, g)) == f"<Flow type=IFS items=[]>\n |- True\n |- {leaf}\n └- {leaf}\n"
    bound = pipeline(lazyplug.bind(g, lazyplug._0))
    assert repr(bound) == f'<Flow type=Pipeline items=[]>\n └- {leaf}(bind args: _0)\n'


def test_a_post_action_is_drawn_as_its_own_node():
    def g(x):
        return x

    assert repr(pipeline(g, post_action=g)) == ('<Flow type=Pipeline items=[]>\n |- <Function type=function name=g>\n'
                                                ' └- <Flow type=PostAction>\n     └- <Function type=function name=g>\n')


def test_for_each_hands_function_items_over_as_they_read_back():
    def test1():
        pass

    seen = []
    pipeline(test1, pipeline(double)).for_each(callable, lambda item: seen.append(repr(item)))
    assert seen == ['<Function type=function name=test1>', '<Function type=function name=double>']
