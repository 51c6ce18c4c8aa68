"""The exception hierarchy of lazyplug.

Every error lazyplug raises derives from :class:`LazyplugError` and from the built-in exception a
caller would naturally catch (``ValueError``, ``KeyError``, ``AttributeError``...), so that both
``except LazyplugError`` and ``except ValueError`` work. The original exception, where there is
one, is kept as ``__cause__``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any



__all__ = [
    'AuthenticationError', 'CacheWarning', 'CallOutcomeUnknownError', 'CallTimeoutError', 'CodecError',
    'ConfigError', 'DuplicateRegistrationError', 'EvalsetError', 'EvalsetNotFoundError', 'FlowError', 'GraphError',
    'HookError', 'InvalidArgumentError', 'InvalidModeError', 'LaunchError', 'LauncherNotFoundError',
    'LazyplugError', 'PluginError', 'PluginLoadError', 'PluginRegistrationError', 'PluginWarning',
    'RegistrationError', 'RemoteError', 'ServiceBusyError', 'ServiceConflictError', 'ServiceError',
    'ServiceUnavailableError', 'TaskFailedError', 'UnknownGroupError', 'UnknownNameError',
]


class LazyplugError(Exception):
    """The root of every exception lazyplug raises on purpose."""


class ConfigError(LazyplugError, ValueError):
    """A setting has an unknown name or a value of the wrong type."""


class RegistrationError(LazyplugError, ValueError):
    """A module cannot be registered: bad name, not callable, or a clash with lazyplug's own names."""


class DuplicateRegistrationError(RegistrationError):
    """A name is registered twice in one group; the message names both definitions."""


class UnknownGroupError(RegistrationError, KeyError):
    """A module is registered into a group that does not exist; the message lists the groups that do."""

    __str__ = BaseException.__str__  # the message as written, not quoted as KeyError quotes keys


class UnknownNameError(LazyplugError, AttributeError):
    """A group or a module looked up by name does not exist; the message lists what does."""


class PluginError(LazyplugError):
    """Base of the errors about hook plugins."""


class PluginLoadError(PluginError, ImportError):
    """A plugin's entry point failed to import (raised only with ``LAZYPLUG_STRICT_PLUGINS=1``)."""


class PluginRegistrationError(PluginError, TypeError):
    """A plugin's hook implementations do not match the hook specifications."""


class CacheWarning(UserWarning):
    """A call of a cached module was not cached: an argument cannot be keyed by its content."""


class PluginWarning(UserWarning):
    """A plugin or module-group entry point was left out because it failed to load or clashed."""


class InvalidArgumentError(LazyplugError, ValueError):
    """A call was given an argument it cannot use; the message says what would be valid."""


class InvalidModeError(InvalidArgumentError):
    """``update(mode=...)`` was given a mode that is not one of the valid ones."""


class EvalsetError(LazyplugError, ValueError):
    """An evaluation set cannot be read as given."""


class EvalsetNotFoundError(EvalsetError, FileNotFoundError):
    """An evaluation set was given as a path that does not exist."""


class FlowError(LazyplugError, RuntimeError):
    """A flow is built or used in a way it does not support."""


class GraphError(FlowError, ValueError):
    """A graph's edges are wrong: an unknown node, a duplicate edge, a cycle, a node without input."""


class HookError(LazyplugError, RuntimeError):
    """A per-module hook in ``raise`` mode failed."""


class LauncherNotFoundError(LazyplugError, LookupError):
    """No installed plugin provides the launcher a ServerModule asked for."""


class ServiceError(LazyplugError, RuntimeError):
    """Base of the errors about deployed services."""


class ServiceConflictError(ServiceError):
    """A live service of another process is published under the same module id."""


class ServiceUnavailableError(ServiceError, ConnectionError):
    """A service cannot be reached (not running, killed, refusing TLS): the call did not run; the message names
    its URL."""


class ServiceBusyError(ServiceUnavailableError):
    """Every replica of a service already runs as many calls as it may (503): the call did not run; retry later."""


class CallOutcomeUnknownError(ServiceError, ConnectionError):
    """A call reached a service but no reply came back (the connection dropped, or an unreadable reply): it may
    or may not have run, and it is not sent again."""


class CallTimeoutError(CallOutcomeUnknownError, TimeoutError):
    """No reply came within the ``call_timeout`` setting: the call may or may not have run, or still be running."""


class AuthenticationError(ServiceError, PermissionError):
    """A service refused the call's security key."""


class RemoteError(ServiceError):
    """A served module raised; ``remote_type`` and ``remote_message`` say what, the message names the module."""

    def __init__(self, message: str, *, remote_type: str = '', remote_message: str = '', url: str = '') -> None:
        super().__init__(message)
        self.remote_type = remote_type
        self.remote_message = remote_message
        self.url = url


class LaunchError(ServiceError):
    """A service could not be started; the message carries the server's last output."""


class CodecError(LazyplugError, TypeError):
    """A value cannot travel to or from a served module; the message names the path to it (``args[0]['x'][3]``)."""


class TaskFailedError(LazyplugError, RuntimeError):
    """A task of ``update()`` failed; ``module``, ``phase`` and ``task`` say which, ``__cause__`` why."""

    def __init__(self, message: str, *, module: Any = None, phase: str | None = None,
                 task: Any = None) -> None:
        super().__init__(message)
        self.module = module
        self.phase = phase
        self.task = task
