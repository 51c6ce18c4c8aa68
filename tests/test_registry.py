"""module_register and lazyplug.<group>.<name>: registration, look-up rules, errors."""

import pytest

import lazyplug
from lazyplug import module_register
from lazyplug.errors import DuplicateRegistrationError, RegistrationError, UnknownGroupError, UnknownNameError
from lazyplug.module import ModuleBase


@pytest.fixture(autouse=True)
def _tools_group():
    """Most tests register into `tools`; the registry isolation of conftest.py drops it after each test."""
    module_register.new_group('tools')


def test_new_group_returns_the_groups_base_class_and_is_idempotent():
    base = module_register.new_group('tools')
    assert issubclass(base, ModuleBase)
    assert module_register.new_group('tools') is base
    assert isinstance(lazyplug.tools, lazyplug.registry.ModuleGroup)


def test_the_decorator_returns_the_function_and_the_module_calls_it():
    module_register.new_group('tools')

    @module_register('tools')
    def shout(text):
        return text.upper()

    assert shout('a') == 'A'
    module = lazyplug.tools.shout()
    assert isinstance(module, ModuleBase) and module('hi') == 'HI'


def test_look_ups_are_case_insensitive_and_find_the_group_suffix_and_its_singular():
    base = module_register.new_group('modules')

    @module_register('modules')
    def m(x):
        return x

    class mModule(base):
        pass

    assert lazyplug.modules.m is lazyplug.modules.M  # 'm' itself is not registered: 'mmodules' is
    assert [key for key, _, _ in lazyplug.modules] == ['mmodules', 'mmodule']
    lazyplug.modules.remove('m')
    assert lazyplug.modules.m is mModule  # 'mmodule', the singular


def test_a_registered_modulebase_subclass_is_returned_unchanged():
    @module_register('tools')
    class Counter(ModuleBase):
        def forward(self, x):
            return x + 1

    assert lazyplug.tools.counter is Counter
    assert lazyplug.tools.Counter()(1) == 2


def test_subclasses_of_a_group_base_register_themselves():
    base = module_register.new_group('models')

    class Small(base):
        def forward(self, x):
            return 'small'

    class _Helper(base):  # private classes stay out
        pass

    assert lazyplug.models.small is Small
    assert '_helper' not in dir(lazyplug.models)


def test_dotted_paths_make_sub_groups():
    @module_register('tools.text')
    def strip(text):
        return text.strip()

    assert lazyplug.tools.text.strip()('  x ') == 'x'


def test_forward_names_the_overridden_method_and_a_second_argument_renames():
    @module_register.forward('tools')
    def inc(x):
        return x + 1

    def anon(x):
        return -x

    module_register('tools')(anon, 'negate')
    assert lazyplug.tools.inc()(1) == 2
    assert lazyplug.tools.negate()(3) == -3


def test_remove_drops_a_module_and_later_look_ups_fail():
    @module_register('tools')
    def gone(x):
        return x

    assert lazyplug.tools.gone
    lazyplug.tools.remove('gone')
    with pytest.raises(UnknownNameError):
        lazyplug.tools.gone


def test_an_unknown_name_lists_what_exists_and_the_nearest_match():
    @module_register('tools')
    def shout(text):
        return text

    with pytest.raises(UnknownNameError, match=r"no module 'shoot'; did you mean 'shout'\?.*it has: shout\)") as info:
        lazyplug.tools.shoot
    assert isinstance(info.value, AttributeError)


def test_an_unknown_group_suggests_the_nearest():
    module_register.new_group('tools')
    with pytest.raises(AttributeError, match=r"'tols'; did you mean lazyplug.tools\?"):
        lazyplug.tols


def test_a_duplicate_name_is_an_error_naming_both_definitions():
    @module_register('tools')
    def twice(x):
        return x

    def other(x):
        return x

    with pytest.raises(DuplicateRegistrationError) as info:
        module_register('tools')(other, 'twice')
    message = str(info.value)
    assert 'test_registry.test_a_duplicate_name_is_an_error_naming_both_definitions.<locals>.twice' in message
    assert '.<locals>.other' in message and 'test_registry.py:' in message
    assert lazyplug.tools.twice()(1) == 1  # the first one is kept


def test_registering_a_name_again_is_refused_even_from_the_same_place_and_remove_makes_room():
    def define(version):
        @module_register('tools')
        def versioned(x):
            return version

    define(1)
    with pytest.raises(DuplicateRegistrationError, match=r"already has a module 'versionedTools'.*"
                                                         r"lazyplug\.tools\.remove\('versionedTools'\) first"):
        define(2)
    assert lazyplug.tools.versioned()(None) == 1
    lazyplug.tools.remove('versioned')
    define(2)
    assert lazyplug.tools.versioned()(None) == 2


def test_registering_into_a_group_that_does_not_exist_is_refused_naming_the_groups_that_do():
    module_register.new_group('models')

    def echo(x):
        return x

    with pytest.raises(UnknownGroupError, match=r"no module group 'nogroup'; make it first with "
                                                r"lazyplug\.module_register\.new_group\('nogroup'\) "
                                                r"\(groups: .*models.*tools") as info:
        module_register('nogroup')(echo)
    assert isinstance(info.value, KeyError) and isinstance(info.value, RegistrationError)
    assert str(info.value).startswith('cannot register echo in lazyplug.nogroup')
    with pytest.raises(UnknownGroupError, match="no module group 'nogroup'"):
        module_register('nogroup.sub')(echo)
    assert 'nogroup' not in lazyplug.registry.groups()


def test_a_registered_function_is_a_module_class_named_after_the_function():
    @module_register('tools')
    def echo(x):
        return x

    cls = lazyplug.tools.echo
    assert isinstance(cls, type) and issubclass(cls, ModuleBase)
    assert cls.__name__ == 'echo' and cls.__qualname__ == 'echoTools'
    assert repr(cls()) == '<Module type=echo>'
    assert cls()(3) == 3


def test_the_length_of_a_group_counts_its_modules_and_sub_groups():
    assert len(lazyplug.tools) == 0

    @module_register('tools')
    def one(x):
        return x

    @module_register('tools.text')
    def two(x):
        return x

    assert len(lazyplug.tools) == 2 and len(lazyplug.tools.text) == 1


def test_what_cannot_be_a_module_is_refused():
    with pytest.raises(RegistrationError, match='not callable'):
        module_register('tools')(42, 'answer')
    with pytest.raises(RegistrationError, match='neither a function nor a ModuleBase subclass'):
        module_register('tools')(dict)
    with pytest.raises(RegistrationError, match="'not valid' is not a valid name"):
        module_register('tools')(lambda x: x, 'not valid')
    with pytest.raises(RegistrationError, match="group 'bad-group'"):
        module_register.new_group('bad-group')
    with pytest.raises(RegistrationError, match='method of module groups'):
        module_register('tools')(lambda x: x, 'remove')
    with pytest.raises(RegistrationError, match='method of module groups'):
        class Remove(module_register.new_group('tools')):
            pass


def test_group_names_cannot_shadow_lazyplugs_own_names():
    for taken in ('pipeline', 'config', 'plugins'):
        with pytest.raises(RegistrationError, match='taken by lazyplug'):
            module_register.new_group(taken)


def test_groups_are_read_only():
    module_register.new_group('tools')
    with pytest.raises(AttributeError, match='read-only'):
        lazyplug.tools.x = 1


def test_groups_list_their_modules():
    @module_register('tools')
    def listed(x):
        return x

    assert 'listed' in lazyplug.tools
    assert [key for key, _, _ in lazyplug.tools] == ['listedtools']
    assert 'listed' in dir(lazyplug.tools)
