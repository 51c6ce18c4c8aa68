"""ActionModule: a module made of a flow of modules and callables."""

from __future__ import annotations

from ..flow.pipelines import Pipeline
from ..reprs import ReprRule, make_repr
from ..streaming.stream import Stream, wants_stream
from .base import ModuleBase

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['ActionModule']

ReprRule.add_rule('Module', 'Action', 'Flow')


class ActionModule(ModuleBase):
    """Wrap modules, callables or flows into one module: ``ActionModule(m1, m2)`` calls them in a pipeline.

    Its submodules are the modules found anywhere inside its flow (in nested flows too), after
    those held by its attributes.
    """

    def __init__(self, *action: Any, return_trace: bool = False) -> None:
        super().__init__(return_trace=return_trace)
        self.action = Pipeline(*action)

    @property
    def submodules(self) -> list[ModuleBase]:
        found = super().submodules
        found.extend(item for item in self.action._walk() if isinstance(item, ModuleBase))
        return found

    def forward(self, *args: Any, **kw: Any) -> Any:
        if wants_stream(self):  # self.stream(...), or a streaming flow holding this module
            return Stream(self.action._lp_stream(args, kw))
        return self.action(*args, **kw)

    def _lp_streams(self) -> bool:
        return self.action._lp_streams()

    def __repr__(self) -> str:
        return make_repr('Module', 'Action', name=self.name, subs=[repr(self.action)],
                         return_trace=self.return_trace)

