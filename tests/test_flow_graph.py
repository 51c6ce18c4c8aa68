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


# -- LazyLLM's graph API -------------------------------------------------------------------------

def test_graph_node_is_lazyllms_node_class():
    node = graph.Node(lambda x: x * 2, 'multiply', ['x'])
    assert (node.name, node.func(5), node.arg_names) == ('multiply', 10, ['x'])
    assert node.inputs == {} and node.outputs == [] and repr(node) == '<Flow type=Node name=multiply>'


def test_start_and_end_are_node_objects_with_names():
    g = graph(a=node1)
    assert isinstance(g.start_node, graph.Node) and g.start_node.name == g.start_node_name == '__start__'
    assert isinstance(g.end_node, graph.Node) and g.end_node.name == g.end_node_name == '__end__'
    g.add_edge(g.start_node, g._nodes['a'])  # nodes as objects, not only by name
    g.add_edge('a', '__end__')
    assert g(1) == '1 get 1;'


def test_edges_are_recorded_on_the_nodes():
    def formatter(x):
        return x

    g = graph(a=node1, b=node2)
    g.add_edge(g.start_node, 'a')
    g.add_edge('a', 'b', formatter=formatter)
    assert g._nodes['a'].outputs == [g._nodes['b']]
    assert g._nodes['b'].inputs == {'a': formatter}


def test_topological_sort_returns_the_nodes_with_edges_in_order_and_refuses_a_cycle():
    g = graph(node1=node1, node2=node2, node3=add, unused=node1)
    g.add_edge('__start__', 'node1')
    g.add_edge('node1', ['node2', 'node3'])
    g.add_edge('node2', 'node3')
    g.add_edge('node3', '__end__')
    assert [n.name for n in g.topological_sort()] == ['__start__', 'node1', 'node2', 'node3', '__end__']
    g.add_edge('node3', 'node1')
    with pytest.raises(ValueError, match='Graph has a cycle'):
        g.topological_sort()


def test_set_node_arg_name_names_the_inputs_of_the_nodes_in_item_order():
    with graph() as g:
        g.add = lambda a, b: a - b
        g.mul = lambda x, y: x * y
    g.set_node_arg_name([['b', 'a'], ['x', 'y']])
    assert g._nodes['add'].arg_names == ['b', 'a'] and g._nodes['mul'].arg_names == ['x', 'y']
    g.add_edge(g.start_node, 'add')  # one input that is a tuple is spread over the names
    g.add_edge('add', 'mul')
    g.add_const_edge(10, 'mul')
    g.add_edge('mul', g.end_node)
    assert g(1, 5) == 40  # add(b=1, a=5) = 4; mul(x=4, y=10)


def test_set_node_arg_name_may_name_fewer_nodes_but_not_more_and_not_fewer_names_than_inputs():
    g = graph(pick=lambda first=0, second=0: (first, second), other=node1)
    g.set_node_arg_name([['second']])
    assert g._nodes['other'].arg_names is None
    with pytest.raises(GraphError, match='3 entries for 2 nodes'):
        g.set_node_arg_name([None, None, None])
    g.add_edge(g.start_node, 'pick')
    g.add_edge('pick', g.end_node)
    assert g(7) == (0, 7)
    with pytest.raises(GraphError, match="node 'pick' has 2 inputs but 1 argument names"):
        g(1, 2)


def test_constant_edges_take_their_place_among_the_inputs_in_the_order_they_were_added():
    g = graph(sub=lambda a, b: a - b)
    g.add_const_edge(100, 'sub')
    g.add_edge(g.start_node, 'sub')
    g.add_edge('sub', g.end_node)
    assert g(1) == 99 and g._constants == [100]


def test_a_node_without_inputs_is_called_with_none():
    g = graph(source=lambda: 'made', use=lambda value, given: f'{value} {given}')
    g.add_edge('source', 'use')
    g.add_edge(g.start_node, 'use')
    g.add_edge('use', g.end_node)
    assert g('here') == 'made here'


def test_several_inputs_of_the_end_node_come_back_as_a_package():
    g = graph(a=node1, b=node2)
    g.add_edge(g.start_node, ['a', 'b'])
    g.add_edge(['a', 'b'], g.end_node)
    assert g(1) == ('1 get 1;', '2 get 1;')


def test_graph_nodes_need_names_that_are_not_start_or_end():
    with pytest.raises(GraphError, match='graph nodes must be named'):
        graph()._add_item(None, node1)
    with pytest.raises(GraphError, match="'__end__' is the name of a node every graph has"):
        graph(__end__=node1)
