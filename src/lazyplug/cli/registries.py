"""The service registry a command works with, and finding a service in it by id."""

from __future__ import annotations

import os

import click

from ..config import config
from ..errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..interfaces import ServiceRegistry
    from ..services import ServiceEntry

__all__ = ['apply_registry', 'existing_registry', 'find_service', 'no_registry_file']


def apply_registry(registry: str | None) -> ServiceRegistry:
    """Set the ``registry`` setting (when given) and return the registry, checked to exist."""
    from ..services import get_registry
    if registry is not None:
        config['registry'] = registry
    try:
        return get_registry()
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="'--registry' / LAZYPLUG_REGISTRY") from None


def existing_registry(url: str | None) -> ServiceRegistry | None:
    """The registry to read, or None when it is the default SQLite file and that does not exist.

    Commands that read (or remove entries) never create a registry file. A file named by
    ``--registry`` or ``LAZYPLUG_REGISTRY`` that does not exist is a usage error.
    """
    from ..services.sqlite import SqliteRegistry
    found = apply_registry(url)
    if isinstance(found, SqliteRegistry) and not os.path.exists(found.path):
        if url is None and not config['registry']:
            return None
        raise click.BadParameter(f'the registry file {found.path} does not exist (`lazyplug update` creates it '
                                 'when it deploys)', param_hint="'--registry' / LAZYPLUG_REGISTRY")
    return found


def no_registry_file() -> str:
    """What to say of the default registry when its file does not exist yet."""
    from ..services import default_url
    return f'{default_url()}, whose file does not exist yet'


def find_service(registry: ServiceRegistry | None, ident: str, param: str = "'ID'") -> ServiceEntry:
    """The one live entry whose module id starts with ``ident``.

    Usage errors: no such entry, several, or a blank ``ident`` (every id starts with it: ``stop
    "$ID"`` with ID unset).
    """
    if not ident.strip():
        raise click.BadParameter('the service id is empty; give an id (or its beginning), see `lazyplug ps`',
                                 param_hint=param)
    if registry is None:
        raise click.BadParameter(f'no service with id {ident!r}: none are running (registry: {no_registry_file()})',
                                 param_hint=param)
    entries = registry.list()
    matches = [e for e in entries if e.module_id.startswith(ident)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        listing = ', '.join(f'{e.module_id[:12]} ({e.name})' for e in entries) or 'none'
        raise click.BadParameter(f'no service with id {ident!r} in {registry.url} (running: {listing})',
                                 param_hint=param)
    raise click.BadParameter(f'{ident!r} is the beginning of the ids of {len(matches)} services: '
                             f'{", ".join(e.module_id for e in matches)}; give more of the id', param_hint=param)
