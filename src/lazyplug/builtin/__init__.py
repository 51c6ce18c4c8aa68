"""The core's own hook implementations, registered as plugins like any other (``trylast``).

A third-party plugin wraps them with ``wrapper=True`` or replaces them with a ``firstresult``
implementation that returns a value.
"""

BUILTIN_PLUGINS = ('lazyplug.builtin.lifecycle', 'lazyplug.builtin.calls', 'lazyplug.builtin.cache',
                   'lazyplug.builtin.services', 'lazyplug.builtin.launchers')
