"""ModuleBase: calls, submodules, per-module hooks, evalsets."""

import json
import sys
import warnings

import pytest

import lazyplug
from lazyplug.errors import EvalsetError, EvalsetNotFoundError, HookError, LazyplugError
from lazyplug.module import ModuleBase, ModuleHook


class Echo(ModuleBase):
    def forward(self, *args, **kw):
        return args, kw


class Upper(ModuleBase):
    def forward(self, text):
        return text.upper()


# -- calls ---------------------------------------------------------------------------------------

def test_calling_a_module_runs_forward_with_the_arguments():
    assert Echo()(1, 2, k=3) == ((1, 2), {'k': 3})
    assert Echo()(1) == ((1,), {})
    assert Echo()() == ((), {})
    assert Echo()(k=3) == ((), {'k': 3})
    assert Echo()(lazyplug.kwargs()) == ((), {})


def test_a_subclass_may_name_the_module_before_calling_init():
    class Named(ModuleBase):
        def __init__(self):
            self.name = 'mine'
            self.sub = Echo()
            super().__init__()

    named = Named()
    assert (named.name, named.group_id, named.submodules) == ('mine', None, [named.sub])
    assert Named.name is None  # the instance's name did not land on the class


def test_a_leading_kwargs_value_is_spread_into_keyword_arguments():
    assert Echo()(lazyplug.kwargs(a=1), b=2) == ((), {'a': 1, 'b': 2})


def test_a_package_is_passed_to_forward_as_one_value():
    assert Echo()(lazyplug.package(1, 2)) == (((1, 2),), {})


def test_a_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match='ModuleBase does not implement forward'):
        ModuleBase()(1)


def test_an_exception_in_forward_reaches_the_caller_unchanged():
    class Fails(ModuleBase):
        def forward(self, x):
            raise KeyError(x)

    with pytest.raises(KeyError, match='boom'):
        Fails()('boom')


def test_module_ids_are_unique_and_can_be_given():
    assert ModuleBase()._module_id != ModuleBase()._module_id
    assert ModuleBase(id='fixed')._module_id == 'fixed'


# -- submodules ----------------------------------------------------------------------------------

class Holder(ModuleBase):
    def __init__(self):
        super().__init__()
        self.a = Upper()
        self.b = Upper()


def test_modules_assigned_to_attributes_are_submodules_in_assignment_order():
    h = Holder()
    assert h.submodules == [h.a, h.b]


def test_reassigning_an_attribute_replaces_its_submodule():
    h = Holder()
    new = Upper()
    h.a = new
    assert h.submodules == [new, h.b]


def test_assigning_a_non_module_or_deleting_the_attribute_drops_the_submodule():
    h = Holder()
    b = h.b
    h.a = 'not a module'
    assert h.submodules == [b]
    del h.b
    assert h.submodules == []


def test_submodules_may_be_assigned_before_super_init():
    class Early(ModuleBase):
        def __init__(self):
            self.child = Upper()
            self.name = 'early'
            super().__init__()

    early = Early()
    assert early.submodules == [early.child]
    assert early.name == 'early'


def test_for_each_visits_every_module_below_once_in_pre_order():
    h = Holder()
    h.a.inner = Upper()
    h.b.shared = h.a  # reachable twice
    seen = []
    h.for_each(lambda m: True, seen.append)
    assert seen == [h.a, h.a.inner, h.b]


def test_for_each_applies_the_action_only_where_the_filter_holds():
    h = Holder()
    h.a.name = 'wanted'
    names = []
    h.for_each(lambda m: m.name == 'wanted', lambda m: names.append(m.name))
    assert names == ['wanted']


# -- per-module hooks ----------------------------------------------------------------------------

def test_a_hook_class_sees_arguments_output_and_finalize_in_order():
    events = []

    class Recorder(ModuleHook):
        def pre_hook(self, *args, **kw):
            events.append(('pre', args, kw))

        def post_hook(self, output):
            events.append(('post', output))

        def finalize(self):
            events.append(('finalize',))

    m = Upper()
    m.register_hook(Recorder)
    assert m('a') == 'A'
    assert events == [('pre', ('a',), {}), ('post', 'A'), ('finalize',)]


def test_hooks_run_by_priority_before_the_call_and_in_reverse_after_it():
    events = []

    def make(name, priority):
        class Hook(ModuleHook):
            __hook_priority__ = priority

            def pre_hook(self, *args, **kw):
                events.append(f'pre {name}')

            def post_hook(self, output):
                events.append(f'post {name}')
        return Hook

    m = Upper()
    m.register_hook(make('late', 200))
    m.register_hook(make('early', 1))
    m('x')
    assert events == ['pre early', 'pre late', 'post late', 'post early']


def test_a_generator_function_hook_wraps_the_call():
    seen = []

    def around(text):
        seen.append(f'before {text}')
        output = yield
        seen.append(f'after {output}')

    m = Upper()
    m.register_hook(around)
    m('x')
    assert seen == ['before x', 'after X']


def test_on_error_sees_the_exception_and_it_still_propagates():
    errors = []

    class Watch(ModuleHook):
        def on_error(self, exc):
            errors.append(exc)

    m = Upper()
    m.register_hook(Watch)
    with pytest.raises(AttributeError):
        m(None)
    assert isinstance(errors[0], AttributeError)


def test_a_failing_hook_is_warned_about_and_skipped_by_default():
    def broken(text):
        raise ValueError('hook bug')

    m = Upper()
    m.register_hook(broken)
    with pytest.warns(RuntimeWarning, match='hook bug'):
        assert m('x') == 'X'


def test_a_failing_hook_in_raise_mode_fails_the_call():
    class Strict(ModuleHook):
        __hook_error_mode__ = 'raise'

        def pre_hook(self, *args, **kw):
            raise ValueError('strict hook')

    m = Upper()
    m.register_hook(Strict)
    with pytest.raises(HookError, match='strict hook'):
        m('x')


def test_the_hook_handle_removes_the_hook_also_as_a_context_manager():
    calls = []
    m = Upper()
    with m.register_hook(lambda text: calls.append(text)):
        m('a')
    m('b')
    assert calls == ['a']
    handle = m.register_hook(lambda text: calls.append(text))
    handle.remove()
    m('c')
    assert calls == ['a']


def test_registering_a_hook_twice_keeps_one_and_clear_hooks_removes_all():
    calls = []

    def hook(text):
        calls.append(text)

    m = Upper()
    m.register_hook(hook)
    m.register_hook(hook)
    m('a')
    m.clear_hooks()
    m('b')
    assert calls == ['a']


def test_what_cannot_be_a_hook_is_refused_at_registration():
    with pytest.raises(TypeError, match='ModuleHook'):
        Upper().register_hook(int)
    with pytest.raises(TypeError, match='callable'):
        Upper().register_hook(42)


# -- evaluation ----------------------------------------------------------------------------------

def test_eval_runs_the_module_on_every_item_in_order():
    m = Upper()
    m.evalset(['a', 'b', 'c'])
    assert m.eval().eval_result == ['A', 'B', 'C']


def test_dict_items_are_passed_as_keyword_arguments_and_collect_f_shapes_the_result():
    m = Upper()
    m.evalset([{'text': 'a'}, {'text': 'b'}], collect_f=lambda outs: '+'.join(outs))
    assert m.eval().eval_result == 'A+B'


def test_an_evalset_file_is_read_with_load_f(tmp_path):
    path = tmp_path / 'evalset.json'
    path.write_text(json.dumps(['x', 'y']))
    m = Upper()
    m.evalset(str(path), load_f=json.load)
    assert m.eval().eval_result == ['X', 'Y']


def test_a_missing_evalset_file_is_an_error_that_changes_nothing(tmp_path):
    m = Upper()
    m.evalset(['kept'])
    with pytest.raises(EvalsetNotFoundError, match='does not exist'):
        m.evalset(tmp_path / 'missing.json', load_f=json.load)
    assert isinstance(EvalsetNotFoundError('x'), FileNotFoundError)
    assert m.eval().eval_result == ['KEPT']


def test_an_evalset_path_without_load_f_is_refused(tmp_path):
    path = tmp_path / 'e.json'
    path.write_text('[]')
    with pytest.raises(EvalsetError, match='load_f'):
        Upper().evalset(str(path))


def test_an_evalset_that_is_neither_sequence_nor_path_is_refused():
    with pytest.raises(EvalsetError, match='int'):
        Upper().evalset(3)


@pytest.mark.skipif(sys.version_info < (3, 11), reason='exception notes arrived in Python 3.11')
def test_a_failing_evalset_item_fails_the_update_naming_the_item():
    m = Upper()
    m.evalset(['a', None])
    with pytest.raises(LazyplugError) as info:
        m.eval()
    assert isinstance(info.value.__cause__, AttributeError)
    assert 'evalset item 1 of Upper' in '\n'.join(info.value.__cause__.__notes__)


def test_without_an_evalset_eval_leaves_eval_result_alone():
    m = Upper()
    assert m.eval().eval_result is None


# -- stop / wait / restart -----------------------------------------------------------------------

class Service(ModuleBase):
    def __init__(self, log, name):
        super().__init__(name=name)
        self.log = log

    def _get_deploy_tasks(self):
        return lambda: self.log.append(f'deploy {self.name}')

    def _on_stop(self):
        self.log.append(f'stop {self.name}')


def test_stop_releases_parents_before_children_and_returns_the_module():
    log = []
    parent = Service(log, 'parent')
    parent.child = Service(log, 'child')
    assert parent.stop() is parent
    assert log == ['stop parent', 'stop child']


def test_restart_stops_then_deploys_again():
    log = []
    s = Service(log, 's')
    assert s.restart() is s
    assert log == ['stop s', 'deploy s']


def test_wait_returns_the_module():
    s = Service([], 's')
    assert s.wait() is s


def test_no_warning_is_raised_by_a_plain_call():
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert Upper()('a') == 'A'
