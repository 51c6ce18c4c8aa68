"""``graph``: named nodes joined by edges; independent nodes run at once."""

from __future__ import annotations

import threading

from ..errors import GraphError
from ..reprs import make_repr
from ..values import arguments, kwargs, package
from . import _pool
from .base import FlowBase, invoke

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ['Graph', 'Node', 'graph']

START, END = '__start__', '__end__'
_CONSTANT = '<constant '  # how a node's inputs name a constant edge: '<constant 0>' (never a node's name)


def _identity(*values: Any) -> Any:
    """The end node's function (LazyLLM's ``Identity``): one input as it is, several as a package."""
    return values[0] if len(values) == 1 else package(values)


class Node:
    """A node of a graph: ``func`` (None for the start node), ``name``, ``arg_names`` (keyword names
    of its inputs, or None), ``inputs`` (source name -> formatter, in the order the edges were
    added) and ``outputs`` (the nodes its result goes to)."""

    __slots__ = ('arg_names', 'func', 'inputs', 'name', 'outputs')

    def __init__(self, func: Callable[..., Any] | None, name: str, arg_names: list[str] | None = None) -> None:
        self.func = func
        self.name = name
        self.arg_names = list(arg_names) if arg_names else None
        self.inputs: dict[str, Callable[[Any], Any] | None] = {}
        self.outputs: list[Node] = []

    def __repr__(self) -> str:
        return make_repr('Flow', 'Node', name=self.name)


_Node = Node  # inside Graph, `Node` is the class attribute that LazyLLM code reads as graph.Node


class _UpstreamError(Exception):
    """A node did not run because a node it depends on failed (never reaches the caller)."""


class Graph(FlowBase):
    """Nodes (the named items) joined by edges from ``start_node`` to ``end_node``.

    ``g.add_edge(src, dst, formatter=None)`` (names, ``Node`` objects, or lists of them) sends
    ``src``'s output, through ``formatter`` if given, to ``dst``; ``g.add_const_edge(value, dst)``
    gives ``dst`` a constant input. A node with one input gets it as its argument; several inputs
    arrive as positional arguments in the order their edges were added, or as keyword arguments
    named by ``set_node_arg_name``. A node without inputs is called with none. The start node holds
    the call's input; the graph returns what reaches the end node. Nodes run as soon as their
    inputs are ready, concurrently on the shared thread pool. ``g._nodes`` maps names to ``Node``s.
    """

    Node = Node
    start_node_name = START
    end_node_name = END
    _nodes: dict[str, _Node]
    _constants: list[Any]

    def __init__(self, post_action: Callable[..., Any] | None = None, auto_capture: bool = False,
                 **nodes: Any) -> None:
        d = self.__dict__
        d['_nodes'] = {START: _Node(None, START), END: _Node(_identity, END)}
        d['_constants'] = []
        super().__init__(post_action=post_action, auto_capture=auto_capture, **nodes)

    def _add_item(self, name: str | None, item: Any) -> None:
        if name is None:
            raise GraphError('graph nodes must be named: graph(name=f), or g.name = f in a with-block')
        if name in (START, END):
            raise GraphError(f'{name!r} is the name of a node every graph has; name the node otherwise')
        super()._add_item(name, item)
        self._nodes[name] = _Node(self._items[-1], name)

    @property
    def start_node(self) -> _Node:
        """The node that holds the graph's input."""
        return self._nodes[START]

    @property
    def end_node(self) -> _Node:
        """The node whose input is the graph's output."""
        return self._nodes[END]

    def _node(self, node: Any) -> _Node:
        if isinstance(node, _Node):
            if self._nodes.get(node.name) is not node:
                raise GraphError(f'{node!r} is not a node of this graph')
            return node
        found = self._nodes.get(node) if isinstance(node, str) else None
        if found is None:
            names = [n for n in self._nodes if n not in (START, END)]
            raise GraphError(f'graph has no node {node!r} (nodes: {", ".join(names) or "none"}; '
                             f'and {START!r}, {END!r})')
        return found

    def add_edge(self, from_node: Any, to_node: Any, formatter: Callable[[Any], Any] | None = None) -> None:
        """Send the output of ``from_node`` (a node or a list of nodes) to ``to_node`` (likewise)."""
        for s in from_node if isinstance(from_node, (list, tuple)) else [from_node]:
            for t in to_node if isinstance(to_node, (list, tuple)) else [to_node]:
                source, target = self._node(s), self._node(t)
                if source.name == END or target.name == START:
                    raise GraphError(f'an edge cannot leave {END!r} or enter {START!r}')
                if source.name in target.inputs:
                    raise GraphError(f'the edge {source.name!r} -> {target.name!r} exists already')
                if formatter is not None and not callable(formatter):
                    raise GraphError(f'the formatter of an edge must be callable, not {formatter!r}')
                target.inputs[source.name] = formatter
                source.outputs.append(target)

    def add_const_edge(self, constant: Any, to_node: Any) -> None:
        """Give ``to_node`` (a node or a list of nodes) the input ``constant`` on every call."""
        for t in to_node if isinstance(to_node, (list, tuple)) else [to_node]:
            target = self._node(t)
            if target.name == START:
                raise GraphError(f'a constant edge cannot enter {START!r}')
            target.inputs[f'{_CONSTANT}{len(self._constants)}>'] = None
            self._constants.append(constant)

    def set_node_arg_name(self, arg_names: list[list[str] | None]) -> None:
        """Name the inputs of the nodes (one entry per node, in item order; None keeps positions):
        a node with names gets its inputs as keyword arguments. One input that is a list or tuple
        is spread over the names."""
        if len(arg_names) > len(self._items):
            raise GraphError(f'set_node_arg_name got {len(arg_names)} entries for {len(self._items)} nodes '
                             f'({", ".join(self._item_names)})')
        for name, names in zip(self._item_names, arg_names, strict=False):
            self._nodes[name].arg_names = list(names) if names else None

    def topological_sort(self) -> list[_Node]:
        """The nodes that take part in some edge, each after all its inputs; a cycle is an error."""
        shape = (sum(len(n.outputs) for n in self._nodes.values()), len(self._constants))
        cached = self.__dict__.get('_order')
        if cached is not None and cached[0] == shape:
            return list(cached[1])  # edges are only ever added: their counts say whether it changed
        order = self._sort()
        self.__dict__['_order'] = (shape, order)
        return list(order)

    def _sort(self) -> list[_Node]:
        nodes = [self._nodes[n] for n in (*self._item_names, START, END)]
        waiting = {n.name: sum(1 for key in n.inputs if not key.startswith(_CONSTANT)) for n in nodes}
        ready = [n for n in nodes if not waiting[n.name]]
        order: list[_Node] = []
        for node in ready:  # the list grows as nodes become ready (Kahn's algorithm)
            order.append(node)
            for user in node.outputs:
                waiting[user.name] -= 1
                if not waiting[user.name]:
                    ready.append(user)
        if len(order) != len(nodes):
            stuck = sorted(name for name, count in waiting.items() if count)
            raise GraphError(f'Graph has a cycle through {", ".join(stuck)}')
        return [n for n in order if n.inputs or n.outputs]

    def _run(self, value: Any, kw: dict[str, Any]) -> Any:
        order = self.topological_sort()
        if self.end_node not in order:
            raise GraphError(f'nothing reaches {END!r}: add an edge to g.end_node')
        no_input = type(value) is package and not value
        start = (kwargs(kw) if no_input else arguments(value, kw)) if kw else value
        results: dict[str, Any] = {START: start}
        done = {node.name: threading.Event() for node in order}
        done[START].set()
        running = [node for node in order if node.name != START]
        calls = [_bind_node(self, node, results, done) for node in running]
        _, errors = _pool.run_all(calls)
        for node, exc in zip(running, errors, strict=True):
            if exc is not None and not isinstance(exc, _UpstreamError):
                if node.name != END:
                    self._fail(exc, self._name_index[node.name])
                raise exc
        return results[END]

    def _node_input(self, node: _Node, results: dict[str, Any]) -> Any:
        """What ``node`` is called with: its inputs merged, then named by its argument names."""
        values = [self._input(key, formatter, results) for key, formatter in node.inputs.items()]
        if len(values) == 1:
            value = values[0]
        else:
            value = arguments()
            for part in values:
                value.append(part)
        if not node.arg_names:
            return value
        kw = dict(value.kw) if type(value) is arguments else {}
        if type(value) is arguments:
            value = value.args
        parts = value if isinstance(value, (list, tuple)) else [value]
        if len(parts) > len(node.arg_names):
            raise GraphError(f'node {node.name!r} has {len(parts)} inputs but {len(node.arg_names)} argument names '
                             f'({", ".join(node.arg_names)})')
        for name, part in zip(node.arg_names, parts, strict=False):
            if name in kw:
                raise GraphError(f'node {node.name!r} gets keyword argument {name!r} twice')
            kw[name] = part
        return kwargs(kw)

    def _input(self, key: str, formatter: Callable[[Any], Any] | None, results: dict[str, Any]) -> Any:
        if key.startswith(_CONSTANT):
            return self._constants[int(key[len(_CONSTANT):-1])]
        value = results[key]
        if formatter is None:
            return value
        if type(value) is arguments:
            if bool(value.args) == bool(value.kw):
                raise GraphError(f'the formatter of the edge from {key!r} takes positional or keyword '
                                 'arguments, not both')
            value = value.args or value.kw
        return formatter(value)


def _bind_node(g: Graph, node: _Node, results: dict[str, Any], done: dict[str, threading.Event]) -> Callable[[], None]:
    def run() -> None:
        try:
            for source in node.inputs:
                if not source.startswith(_CONSTANT):
                    done[source].wait()
                    if source not in results:
                        raise _UpstreamError(source)
            value = g._node_input(node, results)
            if node.name == END:  # the graph's output: one input as it is, several as a package
                results[END] = value.args if type(value) is arguments and not value.kw else value
            else:
                assert node.func is not None
                results[node.name] = invoke(node.func, value, {})
        finally:
            done[node.name].set()
    return run


graph = Graph
