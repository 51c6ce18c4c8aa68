"""How the ``lazyplug`` command prints: tables, JSON, abbreviated values and module trees."""

from __future__ import annotations

import json
import reprlib

import click

from ..flow.base import FlowBase
from ..flow.binding import Bind
from ..module.base import ModuleBase

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = ['abbreviate', 'echo_json', 'mermaid', 'table', 'tree_node']


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON (values JSON cannot hold are printed as their ``str``)."""
    click.echo(json.dumps(data, indent=2, default=str))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print ``rows`` in columns under ``headers`` (plain text, so that scripts can read it too)."""
    cells = [[str(c) for c in headers], *([('' if c is None else str(c)) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo('  '.join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


_short = reprlib.Repr()
_short.maxlist = _short.maxtuple = _short.maxset = _short.maxfrozenset = _short.maxdeque = 10
_short.maxdict = 10
_short.maxstring = _short.maxother = 200
_short.maxlevel = 4


def abbreviate(value: Any) -> str:
    """``repr(value)`` with long lists, dicts and strings cut short (``...``)."""
    return _short.repr(value)


# -- module trees ---------------------------------------------------------------------------------

def _kind(obj: Any) -> str:
    if isinstance(obj, ModuleBase):
        return 'module'
    if isinstance(obj, FlowBase):
        return 'flow'
    return 'function'


def _children(obj: Any) -> list[tuple[str | None, Any]]:
    """``(name, child)`` pairs, in the order the object's repr draws them."""
    if isinstance(obj, FlowBase):
        names: dict[int, str] = {index: name for name, index in obj._name_index.items()}
        return [(names.get(i), item) for i, item in enumerate(obj._items)]
    if isinstance(obj, ModuleBase):
        from ..module.action import ActionModule
        from ..module.server import ServerModule
        if isinstance(obj, ActionModule):
            return [(None, obj.action)]
        if isinstance(obj, ServerModule):
            served = obj._impl._m
            return [] if served is None else [(None, served)]
        keys: dict[int, list[str]] = {}  # a module held by two attributes is met twice, once by each name
        for key, sub in (obj._lazyplug_submodules or {}).items():
            keys.setdefault(id(sub), []).append(key)
        # submodules, not the attributes alone: a subclass may override it
        return [(keys[id(sub)].pop(0) if keys.get(id(sub)) else None, sub) for sub in obj.submodules]
    return []


def tree_node(obj: Any, name: str | None = None) -> dict[str, Any]:
    """A nested description of ``obj``'s tree: ``{"name", "type", "kind", "children": [...]}``.

    * ``kind`` is ``module``, ``flow`` or ``function``.
    * ``name`` is the module's name, else its name in its parent (a flow item's or an
      attribute's), else null.
    * A module met twice is described once. Later it has ``"shared": true`` and no children.
    """
    root: dict[str, Any] = {}
    seen: set[int] = set()
    stack: list[tuple[Any, str | None, dict[str, Any]]] = [(obj, name, root)]
    while stack:  # iterative: trees may be deeper than the recursion limit
        item, label, node = stack.pop()
        while isinstance(item, Bind):
            item = item.func
        if isinstance(item, ModuleBase):
            label = item.name or label
            kind_type = type(item).__name__
        elif isinstance(item, FlowBase):
            kind_type = type(item).__name__
        else:
            label = label or getattr(item, '__name__', None)
            kind_type = type(item).__name__
        node.update(name=label, type=kind_type, kind=_kind(item), children=[])
        if isinstance(item, (ModuleBase, FlowBase)) and id(item) in seen:
            node['shared'] = True
            continue
        seen.add(id(item))
        kids = _children(item)
        made: list[dict[str, Any]] = [{} for _ in kids]
        node['children'] = made
        pairs = list(zip(kids, made, strict=True))
        stack.extend((child, child_name, slot) for (child_name, child), slot in reversed(pairs))
    return root


def _label(node: dict[str, Any]) -> str:
    # a function's type is "function": saying it once is enough ("function double")
    words = [node['kind']] if node['kind'] == 'function' else [node['kind'], node['type']]
    text = ' '.join(words + ([node['name']] if node['name'] else []))
    return text.replace('"', '#quot;')


def mermaid(root: dict[str, Any]) -> str:
    """A ``graph TD`` Mermaid diagram of a tree made by :func:`tree_node`."""
    lines = ['graph TD']
    counter = 0
    stack: list[tuple[dict[str, Any], str | None]] = [(root, None)]
    while stack:
        node, parent = stack.pop()
        ident = f'n{counter}'
        counter += 1
        shape = ('(["', '"])') if node['kind'] == 'function' else (('{{"', '"}}') if node['kind'] == 'flow'
                                                                     else ('["', '"]'))
        lines.append(f'    {ident}{shape[0]}{_label(node)}{shape[1]}')
        if parent is not None:
            lines.append(f'    {parent} --> {ident}')
        stack.extend((child, ident) for child in reversed(node['children']))
    return '\n'.join(lines)
