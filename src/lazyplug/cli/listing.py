"""``lazyplug plugins``, ``lazyplug modules`` and ``lazyplug tree``: what is installed, and what a TARGET is."""

from __future__ import annotations

import click

from .options import traceback_option
from .output import echo_json, mermaid, tree_node
from .target import TargetError, load_module, target_argument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..entrypoints import PluginInfo
    from ..inventory import Contribution
    from ..registry import ModuleGroup

__all__ = ['modules_command', 'plugins_command', 'tree_command']


# -- plugins --------------------------------------------------------------------------------------

@click.command('plugins')
@traceback_option
@click.option('--json', 'as_json', is_flag=True, help='Print JSON.')
@click.pass_context
def plugins_command(ctx: click.Context, as_json: bool) -> None:
    """List every installed distribution that adds to lazyplug, and what it adds.

    \b
    * hook plugins, with their hooks, or why they did not load;
    * module groups and their modules;
    * launchers, service registry schemes, cache strategies, commands.
    lazyplug's own come first.
    """
    from ..inventory import contributions
    root = ctx.find_root().command
    found = contributions(getattr(root, 'plugin_commands', {}),
                          [name for name in getattr(root, 'commands', {}) if name not in
                           {n for names in getattr(root, 'plugin_commands', {}).values() for n in names}])
    if as_json:
        echo_json([c.to_dict() for c in found])
        return
    for index, contribution in enumerate(found):
        if index:
            click.echo()
        click.echo(_heading(contribution))
        for kind, text in _lines(contribution):
            click.echo(f'  {kind:<14}{text}')


def _heading(contribution: Contribution) -> str:
    if contribution.distribution is None:
        return 'registered at run time'
    built_in = ', built in' if contribution.builtin else ''
    return f'{contribution.distribution} {contribution.version}{built_in}'


def _status(info: PluginInfo) -> str:
    return f'{info.name}: {info.status}' + (f' ({info.error})' if info.error else '')


def _lines(contribution: Contribution) -> list[tuple[str, str]]:
    """``(kind, text)`` rows: one per plugin, group or entry point that did not load; one per kind of name."""
    rows = [('hook plugin', f'{info.name}: {", ".join(h.removeprefix("lazyplug_") for h in info.hooks) or "no hooks"}'
             if info.status == 'loaded' else _status(info)) for info in contribution.hook_plugins]
    rows += [('module group', f'{path}: {", ".join(names)}') for path, names in contribution.module_groups.items()]
    rows += [('entry point', _status(info)) for info in contribution.module_entry_points if info.status != 'loaded']
    for kind, names in (('launchers', contribution.launchers), ('registries', contribution.registry_schemes),
                        ('cache', contribution.cache_strategies), ('commands', contribution.commands)):
        if names:
            rows.append((kind, ', '.join(f'{n}://' for n in names) if kind == 'registries' else ', '.join(names)))
    return rows


# -- modules --------------------------------------------------------------------------------------

def _origin(origin: Any) -> str:
    where = f'{origin.module}.{origin.qualname}'
    if origin.distribution:
        return f'{where} (distribution {origin.distribution})'
    return f'{where} (user code{", " + str(origin.file) if origin.file else ""})'


def _group_json(group: ModuleGroup, entries: dict[str, list[Any]]) -> dict[str, Any]:
    top = group._path.split('.', 1)[0]
    return {
        'group': group._path,
        'modules': [{'name': cls.__name__, 'key': key, 'defined_in': f'{origin.module}.{origin.qualname}',
                     'file': origin.file, 'line': origin.line, 'distribution': origin.distribution}
                    for key, cls, origin in group],
        'entry_points': [{'name': e.name, 'value': e.value, 'distribution': e.distribution, 'version': e.version,
                          'status': e.status, 'error': e.error} for e in entries.get(top, [])]
        if group._path == top else [],
        'subgroups': [_group_json(sub, entries) for sub in group._subgroups.values()],
    }


def _print_group(node: dict[str, Any], depth: int = 0) -> None:
    pad = '  ' * depth
    click.echo(f'{pad}{node["group"]}')
    for entry in node['entry_points']:
        status = entry['status'] + (f': {entry["error"]}' if entry['error'] else '')
        click.echo(f'{pad}  entry point {entry["name"]} = {entry["value"]} from {entry["distribution"]} '
                   f'{entry["version"]} ({status})')
    for module in node['modules']:
        origin = f'distribution {module["distribution"]}' if module['distribution'] else (
            f'user code, {module["file"]}' if module['file'] else 'user code')
        click.echo(f'{pad}  {module["name"]:<20} {module["defined_in"]} ({origin})')
    for sub in node['subgroups']:
        _print_group(sub, depth + 1)


def _find_group(path: str) -> ModuleGroup:
    """The group ``path`` (dotted for a sub-group); an unknown one is a usage error naming the nearest."""
    import difflib

    from ..registry import lookup_group, unknown_group_message
    top, *rest = path.split('.')
    found = lookup_group(top)
    if found is None:
        raise click.BadParameter(unknown_group_message(top), param_hint="'GROUP'")
    for part in rest:
        sub = found._subgroup(part, create=False)
        if sub is None:
            names = sorted(found._subgroups)
            near = difflib.get_close_matches(part.lower(), names, n=1)
            hint = f'; did you mean {found._path}.{near[0]}?' if near else ''
            raise click.BadParameter(f'lazyplug.{found._path} has no sub-group {part!r}{hint} '
                                     f'(sub-groups: {", ".join(names) or "none"})', param_hint="'GROUP'")
        found = sub
    return found


@click.command('modules')
@traceback_option
@click.argument('group', required=False)
@click.option('--import', 'imports', multiple=True, metavar='MODULE|FILE.py',
              help='Import user code first (repeatable), so that the modules it registers are listed too.')
@click.option('--json', 'as_json', is_flag=True, help='Print JSON.')
def modules_command(group: str | None, imports: tuple[str, ...], as_json: bool) -> None:
    """List the module groups (or GROUP, e.g. demo or demo.text) and their modules.

    Each module says where it comes from: user code, or an entry point of a distribution.
    """
    from ..registry import _entry_point_index, groups, list_module_entry_points
    for where in imports:
        try:
            load_module(where)
        except TargetError as exc:
            raise click.BadParameter(str(exc), param_hint="'--import'") from None
    if group is None:
        list_module_entry_points()  # loads every group: a listing of all of them must see all of them
        chosen = [groups()[name] for name in sorted(groups())]
    else:
        chosen = [_find_group(group)]  # loads that group's entry points only
    nodes = [_group_json(g, _entry_point_index()) for g in chosen]
    if as_json:
        echo_json(nodes)
        return
    if not nodes:
        click.echo('no module groups (distributions add them through the lazyplug.modules entry points)')
    for node in nodes:
        _print_group(node)


# -- tree -----------------------------------------------------------------------------------------

@click.command('tree')
@traceback_option
@click.argument('target')
@click.option('--format', 'fmt', type=click.Choice(['text', 'json', 'mermaid']), default='text', show_default=True,
              help='text: the repr of the module; json: nested {"name", "type", "kind", "children"}; '
                   'mermaid: a "graph TD" diagram.')
def tree_command(target: str, fmt: str) -> None:
    """Print the tree of the module or flow TARGET names (path/to/file.py:name or package.module:name).

    A TARGET naming a function calls it to get the module. A function named main, or annotated
    -> None, is a program: it is refused rather than run.
    """
    obj = target_argument(target)
    if fmt == 'text':
        click.echo(repr(obj).rstrip('\n'))
    elif fmt == 'json':
        echo_json(tree_node(obj))
    else:
        click.echo(mermaid(tree_node(obj)))
