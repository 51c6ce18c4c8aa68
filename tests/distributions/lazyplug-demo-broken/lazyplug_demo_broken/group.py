"""A module group that registers one module, then fails: nothing of it may stay registered."""

import lazyplug


@lazyplug.module_register('brokengroup')
def half(x):
    return x / 2


raise RuntimeError('demo module group is broken on purpose')
