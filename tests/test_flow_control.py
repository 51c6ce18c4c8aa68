"""switch, ifs and loop."""

import pytest

import lazyplug
from lazyplug import ifs, loop, package, switch
from lazyplug.errors import FlowError


def is_1(x):
    return x == 1


def is_2(x):
    return x == 2


def t1(x):
    return x * 1


def t2(x):
    return x * 2


def t3(x):
    return x * 3


def test_the_first_matching_condition_picks_the_branch():
    sw = switch({is_1: t1, is_2: t2, 'default': t3})
    assert (sw(1), sw(2), sw(5)) == (1, 4, 15)


def test_no_match_returns_none():
    assert switch({is_1: t1, is_2: t2})(3) is None


def test_conditions_may_be_values_and_pairs_may_be_positional():
    assert switch(1, t1, 2, t2)(2) == 4
    with pytest.raises(FlowError, match='in pairs'):
        switch(1, t1, 2)


def test_conversion_changes_what_conditions_see_not_what_the_branch_gets():
    assert switch({1: t1, 2: t2}, conversion=lambda x: x / 10)(20) == 40


def test_judge_on_part_of_the_input():
    sw = switch({1: lambda *rest: rest, 2: t2}, judge_on_full_input=False)
    assert sw(2, 30) == 60
    assert sw(1, 3, 4) == (3, 4)
    with pytest.raises(FlowError, match='at least two values'):
        sw(1)


def test_cases_can_be_added_in_a_with_block_in_every_spelling():
    with switch() as sw:
        sw.case[is_1::t1]
        sw.case[is_2:t2]
        sw.case[lambda x: x == 3, t3]
        sw.case('default', lambda x: 'other')
    assert [sw(i) for i in (1, 2, 3, 4)] == [1, 4, 9, 'other']


def test_a_callable_condition_must_return_true_itself_not_just_a_truthy_value():
    assert switch({lambda x: 'yes': t1, 'default': t2})(3) == 6


def test_ifs_runs_one_branch_by_a_condition_on_the_input_or_of_its_own():
    assert ifs(is_1, t3, t1)(1) == 3
    assert ifs(is_1, t3, t1)(2) == 2
    assert ifs(lambda: True, t3, t1)(2) == 6
    assert ifs(False, t3, t1)(2) == 2


def test_a_no_argument_condition_is_called_once_and_its_error_propagates():
    calls = []

    def cond():
        calls.append(1)
        raise RuntimeError('condition broke')

    with pytest.raises(RuntimeError, match='condition broke'):
        ifs(cond, t1, t2)(1)
    assert calls == [1]


def test_ifs_refuses_a_condition_that_is_neither_bool_nor_callable():
    with pytest.raises(FlowError, match='bool or callable'):
        ifs('yes', t1, t2)


def test_modules_in_ifs_branches_are_submodules():
    class M(lazyplug.ModuleBase):
        def forward(self, x):
            return x

    a, b = M(), M()
    assert lazyplug.ActionModule(ifs(is_1, a, b)).submodules == [a, b]


def add_one(x):
    return x + 1


def test_loop_runs_count_times():
    assert loop(add_one, count=2)(0) == 2
    assert loop(add_one, count=1)(0) == 1  # LazyLLM refuses count=1; one iteration is a fine loop


def test_loop_stops_when_the_condition_holds():
    assert loop(add_one, add_one, stop_condition=lambda x: x > 10)(1) == 11


def test_on_limit_can_extend_one_call():
    calls = []

    def on_limit(output, used, limit):
        calls.append((output, used, limit))
        return 4

    assert loop(add_one, count=2, on_limit=on_limit)(0) == 4
    assert calls == [(2, 2, 2), (4, 4, 4)]


def test_judging_on_a_flag_carries_the_rest_forward():
    lp = loop(lambda x: package(x + 1 >= 3, x + 1), stop_condition=lambda flag: flag, judge_on_full_input=False)
    assert lp(0) == 3


def test_a_loop_that_could_never_end_or_a_bad_count_is_refused():
    with pytest.raises(FlowError, match='never end'):
        loop(add_one)
    with pytest.raises(FlowError, match='at least 1'):
        loop(add_one, count=0)


def test_the_number_of_iterations_is_recorded_in_globals():
    lp = loop(add_one, stop_condition=lambda x: x >= 5)
    with lazyplug.globals.session():
        lp(0)
        assert lazyplug.globals['loop_iterations'][lp] == 5
