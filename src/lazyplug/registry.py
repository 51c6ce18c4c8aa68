"""Module groups: ``module_register`` and ``lazyplug.<group>.<name>``.

``module_register.new_group('g')`` makes ``lazyplug.g``; ``@module_register('g')`` on a function
registers a module class whose ``forward`` is that function (``lazyplug.g.f()(x) == f(x)``); on a
ModuleBase subclass it registers the class. Subclasses of a group's base class register themselves.
Dotted paths (``'g.sub'``) make sub-groups.

Look-ups follow LazyLLM's rules: case-insensitive, and ``name`` also finds ``name + group`` (and
its singular): in group ``modules``, ``m`` finds ``mModules`` and ``mModule``.

Distributions contribute to groups through the ``lazyplug.modules`` entry-point group, read the
first time a group is touched:

* ``group = "pkg.module"``: importing ``pkg.module`` registers the group's modules;
* ``group.name = "pkg.module:obj"``: one function or ModuleBase subclass, as ``lazyplug.group.name``.

They load by the rules of :mod:`lazyplug.entrypoints`: duplicates, ``LAZYPLUG_PLUGINS``,
``LAZYPLUG_DISABLED_PLUGINS``, strict mode. A group whose every entry is blocked or unselected
does not exist.
"""

from __future__ import annotations

import contextvars
import sys
import threading
import types
from collections.abc import Callable, Iterator

from .entrypoints import MODULES_GROUP, PluginInfo, discover, import_object, load
from .errors import DuplicateRegistrationError, RegistrationError, UnknownGroupError, UnknownNameError
from .module.base import ModuleBase

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ['MODULES_ENTRY_POINT_GROUP', 'ModuleGroup', 'Origin', 'Register', 'groups',
           'list_module_entry_points', 'module_register']

MODULES_ENTRY_POINT_GROUP = MODULES_GROUP
_GROUP_API = frozenset({'remove'})
_lock = threading.RLock()


class Origin:
    """Where a registered module was defined: for error messages and listings."""

    __slots__ = ('distribution', 'file', 'line', 'module', 'qualname')

    def __init__(self, module: str, qualname: str, file: str | None = None, line: int | None = None,
                 distribution: str | None = None) -> None:
        self.module = module
        self.qualname = qualname
        self.file = file
        self.line = line
        self.distribution = distribution

    def __str__(self) -> str:
        text = f'{self.module}.{self.qualname}'
        if self.file:
            text += f' ({self.file}:{self.line})' if self.line else f' ({self.file})'
        if self.distribution:
            text += f' from distribution {self.distribution}'
        return text


# set while an entry point loads, so that what it registers records its distribution
_loading: contextvars.ContextVar[tuple[str, list[tuple[ModuleGroup, dict[str, Any], str]]] | None] = \
    contextvars.ContextVar('lazyplug_loading', default=None)


def _origin_of(obj: Any) -> Origin:
    code = getattr(obj, '__code__', None)
    file = code.co_filename if code else getattr(sys.modules.get(obj.__module__), '__file__', None)
    line = code.co_firstlineno if code else None
    loading = _loading.get()
    return Origin(obj.__module__, obj.__qualname__, file, line, loading[0] if loading else None)


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name.isidentifier() or name.startswith('_'):
        raise RegistrationError(f'{what} {name!r} is not a valid name: use a Python identifier '
                                'that does not start with an underscore')
    return name


class _Entry:
    __slots__ = ('key', 'obj', 'origin')

    def __init__(self, key: str, obj: type, origin: Origin) -> None:
        self.key = key
        self.obj = obj
        self.origin = origin


class ModuleGroup:
    """A group of registered modules: ``group.name`` looks one up, ``group.remove(name)`` drops it,
    ``len(group)`` counts its modules and sub-groups."""

    _path: str
    _name: str
    _base: type
    _entries: dict[str, _Entry]
    _subgroups: dict[str, ModuleGroup]
    _cached: set[str]

    def __init__(self, path: str, base: type) -> None:
        d = self.__dict__
        d['_path'] = path
        d['_name'] = path.rsplit('.', 1)[-1].lower()
        d['_base'] = base
        d['_entries'] = {}
        d['_subgroups'] = {}
        d['_cached'] = set()

    # -- look-up -------------------------------------------------------------------------------
    def _candidates(self, name: str) -> list[str]:
        key = name.lower()
        group = self._name
        keys = [key, key + group]
        if group.endswith('es'):
            keys.append(key + group[:-2])
        if group.endswith('s'):
            keys.append(key + group[:-1])
        return keys

    def _find(self, name: str) -> Any:
        for key in self._candidates(name):
            entry = self._entries.get(key)
            if entry is not None:
                return key, entry.obj
            sub = self._subgroups.get(key)
            if sub is not None:
                return key, sub
        return None, None

    def __getattr__(self, name: str) -> Any:
        if name.startswith('__'):
            raise AttributeError(name)
        _ensure_entry_points(self._path.split('.', 1)[0])
        with _lock:
            _, value = self._find(name)
            if value is None:
                raise UnknownNameError(self._unknown_message(name))
            self.__dict__[name] = value  # the next look-up is a plain attribute read
            self._cached.add(name)
        return value

    def _short(self, key: str) -> str:
        """The shortest name that finds ``key``: without the group's name as a suffix."""
        for suffix in self._candidates('')[1:]:
            if suffix and key.endswith(suffix) and len(key) > len(suffix):
                return key[:-len(suffix)]
        return key

    def _unknown_message(self, name: str) -> str:
        known = self._names()
        import difflib
        shorts = [self._short(k.lower()) for k in known]
        near = difflib.get_close_matches(name.lower(), shorts, n=1)
        hint = f'; did you mean {near[0]!r}?' if near else ''
        listing = ', '.join(known) if known else 'nothing yet'
        return f'lazyplug.{self._path} has no module {name!r}{hint} (it has: {listing})'

    def _names(self) -> list[str]:
        return sorted([e.obj.__name__ for e in self._entries.values()] + list(self._subgroups))

    def _forget_cache(self) -> None:
        for name in self._cached:
            self.__dict__.pop(name, None)
        self._cached.clear()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f'lazyplug.{self._path} is read-only: register modules with '
                             f"@lazyplug.module_register('{self._path}')")

    def __contains__(self, name: object) -> bool:
        _ensure_entry_points(self._path.split('.', 1)[0])
        return isinstance(name, str) and self._find(name)[1] is not None

    def __iter__(self) -> Iterator[tuple[str, type, Origin]]:
        """``(key, class, origin)`` for every module of the group (not of its sub-groups)."""
        _ensure_entry_points(self._path.split('.', 1)[0])
        return iter([(e.key, e.obj, e.origin) for e in self._entries.values()])

    def __len__(self) -> int:
        _ensure_entry_points(self._path.split('.', 1)[0])
        return len(self._entries) + len(self._subgroups)

    def __dir__(self) -> list[str]:
        return [*self._names(), 'remove']

    def __repr__(self) -> str:
        return f'<lazyplug module group {self._path!r}: {len(self._entries)} modules>'

    # -- changes -------------------------------------------------------------------------------
    def remove(self, name: str) -> None:
        """Unregister the module ``name`` (found by the look-up rules)."""
        _ensure_entry_points(self._path.split('.', 1)[0])
        with _lock:
            key, value = self._find(name)
            if value is None or key not in self._entries:
                raise UnknownNameError(self._unknown_message(name))
            del self._entries[key]
            self._forget_cache()

    def _add(self, key: str, obj: type, origin: Origin) -> None:
        with _lock:
            low = key.lower()
            if low in _GROUP_API:
                raise RegistrationError(f'{key!r} is the name of a method of module groups; choose another name')
            if low in self._subgroups:
                raise DuplicateRegistrationError(f'{key!r} is a sub-group of lazyplug.{self._path}')
            old = self._entries.get(low)
            if old is not None:
                raise DuplicateRegistrationError(
                    f'lazyplug.{self._path} already has a module {key!r}: defined in {old.origin}; '
                    f'the new one is defined in {origin}. Register it under another name, or replace '
                    f'the old one: lazyplug.{self._path}.remove({key!r}) first')
            self._entries[low] = _Entry(low, obj, origin)
            loading = _loading.get()
            if loading is not None:
                loading[1].append((self, self._entries, low))
            self._forget_cache()

    def _subgroup(self, name: str, create: bool) -> ModuleGroup | None:
        low = name.lower()
        sub = self._subgroups.get(low)
        if sub is None and create:
            if low in self._entries:
                raise DuplicateRegistrationError(f'lazyplug.{self._path} has a module {name!r}; '
                                                 'it cannot also be a sub-group')
            sub = ModuleGroup(f'{self._path}.{low}', _make_base(f'{self._path}.{low}', self._base))
            self._subgroups[low] = sub
            loading = _loading.get()
            if loading is not None:
                loading[1].append((self, self._subgroups, low))
            self._forget_cache()
        return sub


_groups: dict[str, ModuleGroup] = {}


def groups() -> dict[str, ModuleGroup]:
    """The top-level module groups, entry-point groups included, by name."""
    for name in _entry_groups():
        _group(name, create=True)
    return dict(_groups)


class _RegistryModuleBase(ModuleBase):
    """Base of every group's base class: subclasses register themselves in their group."""

    _lazyplug_group: str | None = None
    __lazyplug_registry_disable__ = True

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        own = cls.__dict__
        if own.get('__lazyplug_registry_disable__') or own.get('_lazyplug_group_base') or not cls._lazyplug_group:
            return
        key = own.get('__lazyplug_registry_key__', cls.__name__)
        if key.startswith('_'):
            return  # private helper classes stay out of the registry
        group = _group(cls._lazyplug_group, create=True)
        assert group is not None
        group._add(_check_name(key, 'module'), cls, own.get('_lazyplug_origin') or _origin_of(cls))


def _make_base(path: str, parent: type) -> type:
    title = ''.join(part.capitalize() for part in path.split('.'))
    return type(f'Lazyplug{title}Base', (parent,), {
        '_lazyplug_group': path, '_lazyplug_group_base': True, '__module__': __name__,
        '__doc__': f'Base class of the modules of lazyplug.{path}; subclasses register themselves.'})


def _group(path: str, create: bool) -> ModuleGroup | None:
    with _lock:
        top, *rest = path.lower().split('.')
        group = _groups.get(top)
        if group is None:
            if not create:
                return None
            _check_top_name(top)
            group = _groups[top] = ModuleGroup(top, _make_base(top, _RegistryModuleBase))
            setattr(sys.modules['lazyplug'], top, group)
        for part in rest:
            found = group._subgroup(part, create)
            if found is None:
                return None
            group = found
        return group


def _check_top_name(name: str) -> None:
    _check_name(name, 'group')
    package = sys.modules['lazyplug']
    existing = package.__dict__.get(name)
    if name in package._RESERVED_NAMES or (existing is not None and not isinstance(existing, ModuleGroup)):
        raise RegistrationError(f'group name {name!r} is taken by lazyplug.{name}; choose another name')


def lookup_group(name: str) -> ModuleGroup | None:
    """The top-level group ``name`` (case-insensitive), made from entry points if they declare it."""
    if name.startswith('__'):
        return None
    group = _groups.get(name.lower())
    if group is None and name.lower() in _entry_groups():
        group = _group(name, create=True)
    if group is not None:
        _ensure_entry_points(group._path)
    return group


def unknown_group_message(name: str) -> str:
    """The error text for ``lazyplug.<name>`` when no such group (or attribute) exists."""
    import difflib
    known = sorted(set(_groups) | set(_entry_groups()))
    near = difflib.get_close_matches(name.lower(), known, n=1)
    hint = f'; did you mean lazyplug.{near[0]}?' if near else ''
    return f'module lazyplug has no attribute or module group {name!r}{hint} (groups: {", ".join(known) or "none"})'


# -- registration -------------------------------------------------------------------------------

class Register:
    """A registrar of modules into groups; ``module_register`` is the one for modules.

    ``reg.new_group(path)`` makes a group and returns its base class. ``@reg(path)`` registers
    a function (as a module class overriding ``fnames[0]``) or a class, and returns it unchanged.
    ``reg.<fname>(path)``, e.g. ``module_register.forward('g')``, picks which method a function
    overrides. ``reg(path)(func, 'name')`` registers under another name.
    """

    def __init__(self, base: type, fnames: list[str]) -> None:
        self._base = base
        self._fnames = list(fnames)

    def new_group(self, path: str) -> type:
        """Make the group ``path`` (dotted for a sub-group) if needed; return its base class."""
        for part in str(path).split('.'):
            _check_name(part, 'group')
        group = _group(path, create=True)
        assert group is not None
        return group._base

    def __call__(self, path: str, rewrite_func: str | None = None) -> Callable[..., Any]:
        for part in str(path).split('.'):
            _check_name(part, 'group')
        fname = rewrite_func or self._fnames[0]
        if fname not in self._fnames:
            raise RegistrationError(f'{fname!r} cannot be overridden by registration; choose from {self._fnames}')

        def decorator(obj: Any, name: str | None = None) -> Any:
            group = _registration_group(path, str(name or getattr(obj, '__name__', None) or repr(obj)))
            if isinstance(obj, type):
                if not issubclass(obj, ModuleBase):
                    raise RegistrationError(f'{obj.__qualname__} is neither a function nor a ModuleBase subclass; '
                                            'only those can be registered')
                if not issubclass(obj, group._base) or name is not None:
                    group._add(_check_name(name or obj.__name__, 'module'), obj, _origin_of(obj))
                return obj
            if not callable(obj):
                raise RegistrationError(f'cannot register {obj!r} in lazyplug.{path}: it is not callable')
            func_name = _check_name(name or getattr(obj, '__name__', None), 'module')
            if func_name.lower() in _GROUP_API:
                raise RegistrationError(f'{func_name!r} is the name of a method of module groups; '
                                        'register it under another name: module_register(group)(func, "name")')
            # the class is registered as `name + Group` (so that `group.name` finds it by LazyLLM's
            # suffix rule) and then named after the function, as in LazyLLM: <Module type=name>
            class_name = func_name + group._name.capitalize()
            attrs = {fname: staticmethod(obj), '_lazyplug_origin': _origin_of(obj), '__doc__': obj.__doc__,
                     '__module__': getattr(obj, '__module__', __name__), '__qualname__': class_name}
            made = types.new_class(class_name, (group._base,), exec_body=lambda ns: ns.update(attrs))
            made.__name__ = func_name
            return obj

        return decorator

    def __getattr__(self, fname: str) -> Callable[[str], Callable[..., Any]]:
        if fname.startswith('_') or fname not in self._fnames:
            raise AttributeError(f'{type(self).__name__} has no attribute {fname!r} (overridable: {self._fnames})')
        return lambda path: self(path, rewrite_func=fname)


module_register = Register(_RegistryModuleBase, ['forward'])


def _registration_group(path: str, what: str) -> ModuleGroup:
    """The group ``path`` names for registering ``what``: its top-level group must exist (made with
    ``new_group`` or declared by an entry point); the sub-groups below it are made as needed."""
    top = path.split('.', 1)[0]
    if lookup_group(top) is None:
        known = sorted(set(_groups) | set(_entry_groups()))
        raise UnknownGroupError(
            f'cannot register {what} in lazyplug.{path}: there is no module group {top!r}; make it first with '
            f'lazyplug.module_register.new_group({top!r}) (groups: {", ".join(known) or "none"})')
    group = _group(path, create=True)
    assert group is not None
    return group


# -- entry points -------------------------------------------------------------------------------

_index: dict[str, list[PluginInfo]] | None = None  # top-level group name -> its entry points
_loaded_tops: set[str] = set()


def _entry_point_index() -> dict[str, list[PluginInfo]]:
    global _index
    if _index is None:
        index: dict[str, list[PluginInfo]] = {}
        for info in discover(MODULES_ENTRY_POINT_GROUP):
            index.setdefault(info.name.split('.', 1)[0].lower(), []).append(info)
        _index = index
    return _index


def _entry_groups() -> list[str]:
    """The top-level groups that selected entry points add (blocked and unselected ones add none)."""
    return [top for top, infos in _entry_point_index().items()
            if any(info.status not in ('blocked', 'not selected') for info in infos)]


def list_module_entry_points() -> list[PluginInfo]:
    """Every ``lazyplug.modules`` entry point with its status (loading every group)."""
    for top in list(_entry_point_index()):
        _ensure_entry_points(top)
    return [info for infos in _entry_point_index().values() for info in infos]


def _ensure_entry_points(path: str) -> None:
    top = path.split('.', 1)[0].lower()
    if top in _loaded_tops:
        return
    with _lock:
        if top in _loaded_tops:
            return
        _loaded_tops.add(top)  # before loading: what an entry point registers touches the group again
        try:
            for info in _entry_point_index().get(top, []):
                load(info, _load_entry)
        except BaseException:
            _loaded_tops.discard(top)  # strict mode raised: the next touch tries (and raises) again
            raise


def _load_entry(info: PluginInfo) -> None:
    """Register what the entry point ``info`` adds; on failure, nothing of it stays registered."""
    assert info.value is not None
    added: list[tuple[ModuleGroup, dict[str, Any], str]] = []  # (group, its entries or sub-groups, key)
    token = _loading.set((f'{info.distribution} {info.version}', added))
    try:
        if ':' in info.value:
            group_path, _, name = info.name.rpartition('.')
            if not group_path:
                raise RegistrationError(f'an entry point naming one object ({info.value}) must be called '
                                        f'"group.name", not {info.name!r}')
            module_register(group_path)(import_object(info.value), name)
        else:
            _group(info.name, create=True)
            import_object(info.value)
    except BaseException:
        for group, container, key in reversed(added):
            container.pop(key, None)
            group._forget_cache()
        raise
    finally:
        _loading.reset(token)
