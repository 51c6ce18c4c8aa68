"""Flows: compose modules and plain callables into applications.

``pipeline`` (each output feeds the next item), ``parallel`` (the same input to every item),
``diverter`` (a part of the input to each item), ``warp`` (one body over every part), ``switch``
and ``ifs`` (conditions), ``loop`` (repeat until a condition), ``graph`` (nodes and edges), and
``bind`` to fix some arguments of an item. ``barrier`` keeps the items of a parallel flow in step.
"""

from __future__ import annotations

from .._lazy import lazy_attributes
from .base import FlowBase, invoke
from .binding import Bind, Placeholder, bind
from .parallels import Diverter, Parallel, Warp, barrier, diverter, parallel, warp
from .pipelines import Pipeline, pipeline, save_pipeline_result

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .conditions import IFS, Switch, ifs, switch
    from .graphs import Graph, graph
    from .loops import Loop, loop

__all__ = ['IFS', 'Bind', 'Diverter', 'FlowBase', 'Graph', 'Loop', 'Parallel', 'Pipeline', 'Placeholder', 'Switch',
           'Warp', 'barrier', 'bind', 'diverter', 'graph', 'ifs', 'invoke', 'loop', 'parallel', 'pipeline',
           'save_pipeline_result', 'switch', 'warp']

# the rarer flows load on first use
__getattr__ = lazy_attributes(__name__, {
    'IFS': '.conditions', 'Switch': '.conditions', 'ifs': '.conditions', 'switch': '.conditions',
    'Graph': '.graphs', 'graph': '.graphs', 'Loop': '.loops', 'loop': '.loops'})
