"""The examples of the Module concept document, run with `import lazyplug as lazyllm`."""

import lazyplug as lazyllm


class MyModule(lazyllm.module.ModuleBase):

    def __init__(self, name, return_trace=True):
        super(__class__, self).__init__(return_trace=return_trace)
        self.name = name

    def _get_train_tasks(self):
        return lazyllm.pipeline(lambda: print(f'Module {self.name} trained!'))

    def _get_deploy_tasks(self):
        return lazyllm.pipeline(lambda: print(f'Module {self.name} deployed!'))

    def forward(self, input):
        return f'[Module {self.name} get input: {input}]'


class MyModule2(lazyllm.module.ModuleBase):

    def __init__(self, name, return_trace=True):
        super(__class__, self).__init__(return_trace=return_trace)
        self.name = name
        self.m1_1 = MyModule(f'{name} m1-1')
        self.m1_2 = MyModule(f'{name} m1-2')

    def _get_deploy_tasks(self):
        return lazyllm.pipeline(lambda: print(f'Module {self.name} deployed!'))

    def __repr__(self):
        return lazyllm.make_repr('Module', self.__class__, subs=[repr(self.m1_1), repr(self.m1_2)])


def test_a_module_defined_by_inheritance_calls_trains_deploys_and_evaluates(capsys):
    m = MyModule('example')
    assert m('hello world') == '[Module example get input: hello world]'
    assert m.update() is m
    assert capsys.readouterr().out == 'Module example trained!\nModule example deployed!\n'
    assert repr(m.start()) == '<Module type=MyModule name=example>'
    assert capsys.readouterr().out == 'Module example deployed!\n'
    assert m.evalset(['hello', 'world']) is None
    assert m.update().eval_result == ['[Module example get input: hello]', '[Module example get input: world]']
    assert capsys.readouterr().out == 'Module example trained!\nModule example deployed!\n'


def test_a_function_registered_in_a_new_group_is_a_module(capsys):
    base = lazyllm.module_register.new_group('mymodules')
    assert issubclass(base, lazyllm.module.ModuleBase)

    @lazyllm.module_register('mymodules')
    def m(input):
        return f'module m get input: {input}'

    assert lazyllm.mymodules.m()(1) == 'module m get input: 1'
    m = lazyllm.mymodules.m()
    m.evalset([1, 2, 3])
    assert m.eval().eval_result == ['module m get input: 1', 'module m get input: 2', 'module m get input: 3']
    assert capsys.readouterr().out == ''


def test_modules_given_to_action_and_server_modules_become_submodules():
    m1, m2 = MyModule('m1'), MyModule('m2')
    assert lazyllm.ActionModule(m1, m2).submodules == [m1, m2]
    sm = lazyllm.ServerModule(m1)
    assert repr(sm.submodules) == '[<Module type=_ServerModuleImpl>]'
    assert sm.submodules[0].submodules == [m1]


def test_modules_inside_a_flow_become_submodules_and_the_repr_draws_the_tree():
    m1, m2, m3 = MyModule('m1'), MyModule('m2'), MyModule('m3')
    am = lazyllm.ActionModule(lazyllm.pipeline(m1, lazyllm.parallel(m2, m3)))
    assert am.submodules == [m1, m2, m3]
    sm = lazyllm.ServerModule(lazyllm.pipeline(m1, lazyllm.parallel(m2, m3)))
    assert repr(sm) == (
        '<Module type=Server stream=False return_trace=False>\n'
        ' └- <Module type=Action return_trace=False sub-category=Flow type=Pipeline items=[]>\n'
        '     └- <Flow type=Pipeline items=[]>\n'
        '         |- <Module type=MyModule name=m1>\n'
        '         └- <Flow type=Parallel items=[]>\n'
        '             |- <Module type=MyModule name=m2>\n'
        '             └- <Module type=MyModule name=m3>\n')


def test_modules_held_by_attributes_are_submodules():
    m2 = MyModule2('m2')
    assert repr(m2.submodules) == '[<Module type=MyModule name=m2 m1-1>, <Module type=MyModule name=m2 m1-2>]'


def test_joint_deployment_trains_everything_then_deploys_children_before_parents(capsys):
    am = lazyllm.ActionModule(MyModule2('m2-1'), MyModule2('m2-2'))
    assert repr(am) == (
        '<Module type=Action return_trace=False sub-category=Flow type=Pipeline items=[]>\n'
        ' |- <Module type=MyModule2>\n'
        ' |   |- <Module type=MyModule name=m2-1 m1-1>\n'
        ' |   └- <Module type=MyModule name=m2-1 m1-2>\n'
        ' └- <Module type=MyModule2>\n'
        '     |- <Module type=MyModule name=m2-2 m1-1>\n'
        '     └- <Module type=MyModule name=m2-2 m1-2>\n')
    am.update()
    assert capsys.readouterr().out.splitlines() == [
        'Module m2-1 m1-1 trained!', 'Module m2-1 m1-2 trained!', 'Module m2-2 m1-1 trained!',
        'Module m2-2 m1-2 trained!', 'Module m2-1 m1-1 deployed!', 'Module m2-1 m1-2 deployed!',
        'Module m2-1 deployed!', 'Module m2-2 m1-1 deployed!', 'Module m2-2 m1-2 deployed!',
        'Module m2-2 deployed!']


def test_repr_trees_can_be_turned_off():
    with lazyllm.config.temp('repr_show_child', False):
        assert repr(lazyllm.ActionModule(MyModule('m1'))) == '<Module type=Action return_trace=False>'
