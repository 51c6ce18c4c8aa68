"""The module group ``template``: importing this registers ``lazyplug.template.shout`` and
``lazyplug.template.Glossary``."""

from __future__ import annotations

from typing import Any

import lazyplug


@lazyplug.module_register('template')
def shout(text: str) -> str:
    """A function registered as a module: ``lazyplug.template.shout()('hi') == 'HI!'``."""
    return text.upper() + '!'


@lazyplug.module_register('template')
class Glossary(lazyplug.ModuleBase):
    """A trainable module: its train task learns the terms; a call explains one of them."""

    def __init__(self, terms: dict[str, str], *, name: str | None = None) -> None:
        super().__init__(name=name)
        self._terms = dict(terms)
        self._learned: dict[str, str] | None = None

    def _get_train_tasks(self) -> Any:
        return self._learn  # update() runs it in the train phase

    def _learn(self) -> None:
        self._learned = {term.lower(): meaning for term, meaning in self._terms.items()}

    def forward(self, term: str) -> str:
        if self._learned is None:
            raise RuntimeError('Glossary is not trained: update() it first')
        return self._learned.get(term.lower(), f'{term}: unknown term')
