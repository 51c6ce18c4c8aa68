"""User code registering a name that an installed lazyplug.modules entry point registered first
(lazyplug-demo-modules): a clear error naming both definitions, and the entry's module stays."""

import pytest

import lazyplug
from lazyplug import module_register
from lazyplug.errors import DuplicateRegistrationError
from lazyplug.module import ModuleBase

pytest.importorskip('lazyplug_demo_modules', reason='tox installs the test distributions')

FROM_THE_DISTRIBUTION = 'from distribution lazyplug-demo-modules 1.0.0'


def test_a_function_registered_over_an_entry_points_module_is_an_error_naming_both():
    entry_module = lazyplug.demo.shout  # loads the group's entry points

    def shout(text):
        return 'mine'

    with pytest.raises(DuplicateRegistrationError) as info:
        module_register('demo')(shout)
    message = str(info.value)
    assert 'lazyplug_demo_modules.group.shout (' in message and FROM_THE_DISTRIBUTION in message
    assert f'{__name__}.{shout.__qualname__}' in message and 'test_entry_point_clashes.py:' in message
    assert lazyplug.demo.shout is entry_module and lazyplug.demo.shout()('a') == 'A!'


def test_a_class_registered_over_an_entry_points_class_is_an_error_naming_both():
    entry_class = lazyplug.demo.trainer

    class Trainer(ModuleBase):
        pass

    with pytest.raises(DuplicateRegistrationError) as info:
        module_register('demo')(Trainer)
    message = str(info.value)
    assert 'lazyplug_demo_modules.group.Trainer' in message and FROM_THE_DISTRIBUTION in message
    assert f'{__name__}.{Trainer.__qualname__}' in message
    assert lazyplug.demo.trainer is entry_class


def test_subclassing_the_group_base_with_an_object_entrys_name_is_an_error_naming_both():
    entry_class = lazyplug.demo.doubler
    base = module_register.new_group('demo')
    with pytest.raises(DuplicateRegistrationError) as info:
        class Doubler(base):  # registers itself in lazyplug.demo, where the entry's Doubler is
            pass
    message = str(info.value)
    assert 'lazyplug_demo_modules.single.Doubler' in message and FROM_THE_DISTRIBUTION in message
    assert f'{__name__}.' in message
    assert lazyplug.demo.doubler is entry_class and entry_class()(3) == 6
