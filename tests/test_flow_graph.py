"""graph: nodes, edges, formatters, concurrency, errors."""

import threading

import pytest

from lazyplug import graph, kwargs
from lazyplug.errors import GraphError


def node1(x):
    return f'1 get {x};'


def node2(x):
    return f'2 get {x};'


def node3(x):
    return f'3 get {x};'


def add(x, y):
    return x + y


def concat(x, y):
    return [x, y]


def build():
    with graph() as g:
        g.node1 = node1
        g.node2 = node2
        g.node3 = node3
        g.add = add
        g.concat = concat
    g.add_edge(g.start_node_name, ['node1', 'node2', 'node3'])
    g.add_edge(['node1', 'node2'], 'add')
    g.add_edge(['add', 'node3'], 'concat')
    g.add_edge('concat', g.end_node_name)
    return g


def test_outputs_flow_along_edges_and_several_inputs_become_arguments():
    assert build()(1) == ['1 get 1;2 get 1;', '3 get 1;']


def test_a_formatter_transforms_what_an_edge_carries():
    g = graph(double=lambda x: x * 2)
    g.add_edge(g.start_node, 'double', formatter=lambda x: x + 1)
    g.add_edge('double', g.end_node)
    assert g(1) == 4


def test_constant_edges_and_argument_names():
    g = graph(power=lambda base, exp: base ** exp)
    g.add_edge(g.start_node, 'power')
    g.add_const_edge(3, 'power')
    g.set_node_arg_name([['base', 'exp']])
    g.add_edge('power', g.end_node)
    assert g(2) == 8


def test_keyword_arguments_of_the_call_reach_the_start():
    g = graph(pick=lambda a, b: b)
    g.add_edge(g.start_node, 'pick')
    g.add_edge('pick', g.end_node)
    assert g(kwargs(a=1, b=2)) == 2
    assert g(a=1, b=3) == 3


def test_independent_nodes_run_at_once():
    barrier = threading.Barrier(2, timeout=5)

    def meet(x):
        barrier.wait()
        return x

    g = graph(left=meet, right=meet, join=lambda a, b: a + b)
    g.add_edge(g.start_node, ['left', 'right'])
    g.add_edge(['left', 'right'], 'join')
    g.add_edge('join', g.end_node)
    assert g(1) == 2


def test_edge_errors_are_clear():
    g = graph(a=node1, b=node2)
    with pytest.raises(GraphError, match="no node 'c'"):
        g.add_edge('a', 'c')
    g.add_edge('a', 'b')
    with pytest.raises(GraphError, match='exists already'):
        g.add_edge('a', 'b')
    g.add_edge('b', 'a')
    g.add_edge(g.start_node, 'a')
    g.add_edge('b', g.end_node)
    with pytest.raises(GraphError, match='cycle') as info:
        g(1)
    assert isinstance(info.value, ValueError)


def test_a_graph_must_reach_its_end():
    g = graph(a=node1)
    g.add_edge(g.start_node, 'a')
    with pytest.raises(GraphError, match='nothing reaches'):
        g(1)


def test_a_failing_node_raises_and_the_nodes_after_it_do_not_run():
    ran = []

    def boom(x):
        raise KeyError('node failed')

    g = graph(bad=boom, after=lambda x: ran.append(x))
    g.add_edge(g.start_node, 'bad')
    g.add_edge('bad', 'after')
    g.add_edge('after', g.end_node)
    with pytest.raises(KeyError, match='node failed'):
        g(1)
    assert ran == []


def test_graphs_draw_their_nodes():
    assert repr(build()).startswith("<Flow type=Graph items=['node1', 'node2', 'node3', 'add', 'concat']>\n |- ")
