"""The core's own hook implementations, registered as plugins like any other (``trylast``).

A third-party plugin wraps them with ``wrapper=True`` or replaces them with a ``firstresult``
implementation that returns a value.
"""

BUILTIN_PLUGINS = ('lazyplug.builtin.lifecycle', 'lazyplug.builtin.calls', 'lazyplug.builtin.cache',
                   'lazyplug.builtin.services', 'lazyplug.builtin.launchers')

OPTIONAL_BUILTIN_PLUGINS = {'lazyplug.builtin.progress': 'progress'}
"""Built-in plugins registered only while the setting named beside them is on (they wrap per-task
hooks, and an update pays nothing for them when they are off); ``lazyplug.plugins.sync_optional_builtins``
registers or unregisters them when the setting changes."""
