"""A test distribution whose hook plugin wraps lazyplug's phases and tasks (see plugin.py)."""
