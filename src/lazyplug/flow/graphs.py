"""``graph``: named nodes joined by edges; independent nodes run at once."""

from __future__ import annotations

import threading

from ..errors import GraphError
from ..values import arguments, kwargs, package
from . import _pool
from .base import FlowBase, invoke

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ['Graph', 'graph']

START, END = '__start__', '__end__'


class _UpstreamError(Exception):
    """A node did not run because a node it depends on failed (never reaches the caller)."""


class Graph(FlowBase):
    """Nodes (the named items) joined by edges from ``start_node`` to ``end_node``.

    ``g.add_edge(src, dst, formatter=None)`` (names or lists of names) sends ``src``'s output,
    through ``formatter`` if given, to ``dst``; ``g.add_const_edge(value, dst)`` sends a constant.
    A node with one input gets it as its argument; several inputs arrive as positional arguments
    in edge order (or as keyword arguments named by ``set_node_arg_name``). The start node holds
    the call's input; the graph returns what reaches the end node. Nodes run as soon as their
    inputs are ready, concurrently on the shared thread pool.
    """

    start_node = START
    end_node = END
    start_node_name = START
    end_node_name = END

    def __init__(self, post_action: Callable[..., Any] | None = None, **nodes: Any) -> None:
        super().__init__(post_action=post_action, **nodes)
        d = self.__dict__
        d['_in_edges'] = {}  # dst -> [(src, formatter)], in the order they were added
        d['_constants'] = {}  # dst -> [value]
        d['_arg_names'] = {}  # node -> keyword names of its inputs

    def _node_name(self, node: Any) -> str:
        if isinstance(node, str):
            if node in (START, END) or node in self._name_index:
                return node
            raise GraphError(f'graph has no node {node!r} (nodes: {", ".join(self._item_names) or "none"})')
        index = self._index_of(node)
        name: str | None = next((n for n, i in self._name_index.items() if i == index), None)
        if name is None:
            raise GraphError('graph nodes must be named items')
        return name

    def add_edge(self, src: Any, dst: Any, formatter: Callable[[Any], Any] | None = None) -> None:
        """Send the output of ``src`` (a node or a list of nodes) to ``dst`` (likewise)."""
        for s in src if isinstance(src, (list, tuple)) else [src]:
            for t in dst if isinstance(dst, (list, tuple)) else [dst]:
                source, target = self._node_name(s), self._node_name(t)
                if source == END or target == START:
                    raise GraphError(f'an edge cannot leave {END!r} or enter {START!r}')
                edges = self._in_edges.setdefault(target, [])
                if any(existing == source for existing, _ in edges):
                    raise GraphError(f'the edge {source!r} -> {target!r} exists already')
                edges.append((source, formatter))

    def add_const_edge(self, constant: Any, dst: Any) -> None:
        """Give ``dst`` the input ``constant`` on every call."""
        self._constants.setdefault(self._node_name(dst), []).append(constant)

    def set_node_arg_name(self, arg_names: list[list[str] | None]) -> None:
        """Name the inputs of each node (one list per node, in item order) to pass them as keywords."""
        if len(arg_names) != len(self._items):
            raise GraphError(f'set_node_arg_name needs one entry per node ({len(self._items)}), '
                             f'got {len(arg_names)}')
        for name, names in zip(self._item_names, arg_names, strict=True):
            if names:
                self._arg_names[name] = list(names)

    def topological_sort(self) -> list[str]:
        """The nodes that take part in some edge, each after all its inputs; a cycle is an error."""
        shape = (sum(map(len, self._in_edges.values())), sum(map(len, self._constants.values())))
        cached = self.__dict__.get('_order')
        if cached is not None and cached[0] == shape:
            return list(cached[1])  # edges are only ever added: their counts say whether it changed
        order = self._sort()
        self.__dict__['_order'] = (shape, order)
        return list(order)

    def _sort(self) -> list[str]:
        nodes = {START} | set(self._in_edges) | set(self._constants)
        for edges in self._in_edges.values():
            nodes.update(src for src, _ in edges)
        waiting = {n: len(self._in_edges.get(n, ())) for n in nodes}
        users: dict[str, list[str]] = {}
        for dst, edges in self._in_edges.items():
            for src, _ in edges:
                users.setdefault(src, []).append(dst)
        ready = [n for n in [START, *self._item_names, END] if n in nodes and not waiting[n]]
        order: list[str] = []
        while ready:
            node = ready.pop(0)
            order.append(node)
            for user in users.get(node, ()):
                waiting[user] -= 1
                if not waiting[user]:
                    ready.append(user)
        if len(order) != len(nodes):
            stuck = sorted(n for n in nodes if waiting[n])
            raise GraphError(f'Graph has a cycle through {", ".join(stuck)}')
        return order

    def _run(self, value: Any, kw: dict[str, Any]) -> Any:
        order = self.topological_sort()
        if END not in order:
            raise GraphError(f'nothing reaches {END!r}: add an edge to g.end_node')
        for node in order:
            if node != START and not self._in_edges.get(node) and not self._constants.get(node):
                raise GraphError(f'graph node {node!r} has no input')
        no_input = type(value) is package and not value
        start = (kwargs(kw) if no_input else arguments(value, kw)) if kw else value
        results: dict[str, Any] = {START: start}
        done = {node: threading.Event() for node in order}
        done[START].set()
        calls = [_bind_node(self, node, results, done) for node in order[1:]]
        _, errors = _pool.run_all(calls)
        for node, exc in zip(order[1:], errors, strict=True):
            if exc is not None and not isinstance(exc, _UpstreamError):
                if node != END:
                    self._fail(exc, self._name_index[node])
                raise exc
        return results[END]

    def _node_input(self, node: str, results: dict[str, Any]) -> Any:
        inputs = [fmt(results[src]) if fmt is not None else results[src] for src, fmt in self._in_edges.get(node, ())]
        inputs.extend(self._constants.get(node, ()))
        names = self._arg_names.get(node)
        if names:
            if len(names) != len(inputs):
                raise GraphError(f'node {node!r} has {len(inputs)} inputs but {len(names)} argument names')
            return kwargs(zip(names, inputs, strict=True))
        if len(inputs) == 1:
            return inputs[0]
        merged = arguments()
        for part in inputs:
            merged.append(part)
        return merged


def _bind_node(g: Graph, node: str, results: dict[str, Any], done: dict[str, threading.Event]) -> Callable[[], None]:
    def run() -> None:
        try:
            for src, _ in g._in_edges.get(node, ()):
                done[src].wait()
                if src not in results:
                    raise _UpstreamError(src)
            value = g._node_input(node, results)
            results[node] = value if node == END else invoke(g._items[g._name_index[node]], value, {})
        finally:
            done[node].set()
    return run


graph = Graph
