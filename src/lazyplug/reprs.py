"""``make_repr`` and ``ReprRule``: the tree drawing used by the repr of every module and flow.

A header reads ``<Category type=Type name=... key=value ...>``; children follow, one per line,
drawn with `` |- `` / `` └- `` and indented below their parent, and the whole ends with a newline.
The ``repr_show_child`` setting (on by default) turns the children off.
"""

from __future__ import annotations

import builtins

from .config import config

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


__all__ = ['ReprRule', 'make_repr']


class ReprRule:
    """Rules that fold a single child into its parent's header (``sub-category=...``).

    ``ReprRule.add_rule('Module', 'Action', 'Flow')`` makes an Action module with one Flow child
    print as ``<Module type=Action ... sub-category=Flow type=Pipeline ...>``, followed by the
    flow's own children.
    """

    rules: dict[str, str] = {}

    @classmethod
    def add_rule(cls, cate: str, type: str, subcate: str, subtype: str | None = None) -> None:  # noqa: A002
        cls.rules[f'{cate}:{type}'] = f'<{subcate}' if subtype is None else f'<{subcate} type={subtype}'

    @classmethod
    def check_combine(cls, cate: str, type: str, subs: list[str]) -> bool:  # noqa: A002
        prefix = cls.rules.get(f'{cate}:{type}')
        return prefix is not None and len(subs) == 1 and subs[0].startswith(prefix)


def make_repr(category: str, type: Any, *, name: str | None = None, subs: list[str] | None = None,  # noqa: A002
              attrs: dict[str, Any] | None = None, **kw: Any) -> str:
    """Draw ``<category type=type ...>`` and, when ``repr_show_child`` is on, the ``subs`` below it."""
    if attrs and kw:
        raise TypeError('make_repr takes attributes as attrs= or as keywords, not both')
    if isinstance(type, builtins.type):
        type = type.__name__  # noqa: A001
    header = f'<{category} type={type}' + (f' name={name}' if name else '')
    items = attrs or kw
    if items:
        header += ' ' + ' '.join(f'{k}={v}' for k, v in items.items())
    header += '>'
    if not subs or not config['repr_show_child']:
        return header
    subs = [s.strip() for s in subs]
    if ReprRule.check_combine(category, str(type), subs):
        first, _, rest = subs[0].partition('\n')
        combined = f'{header[:-1]} sub-category={first[1:]}'
        return f'{combined}\n{rest}\n' if rest else combined
    lines = [header]
    last = len(subs) - 1
    for i, sub in enumerate(subs):
        head, cont = (' └- ', '    ') if i == last else (' |- ', ' |  ')
        first, *more = sub.split('\n')
        lines.append(head + first)
        lines.extend(cont + line for line in more)
    return '\n'.join(lines) + '\n'
