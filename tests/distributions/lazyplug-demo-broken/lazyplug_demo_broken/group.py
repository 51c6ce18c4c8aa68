"""A module group that registers two modules (one in a sub-group), then fails: nothing of it may stay."""

import lazyplug


@lazyplug.module_register('brokengroup')
def half(x):
    return x / 2


@lazyplug.module_register('brokengroup.sub')
def third(x):
    return x / 3


raise RuntimeError('demo module group is broken on purpose')
