"""A tour of lazyplug's modules, following LazyLLM's "Module" document example by example.

Run it with ``python examples/tour.py``. Every example is written exactly as the LazyLLM
document writes it: only the import changes, to ``import lazyplug as lazyllm``.

1. Define a module by inheritance: call it, ``update()`` it, ``start()`` it, evaluate it.
2. Register a function as a module with ``module_register``.
3. Build submodules by giving modules to ``ActionModule`` and ``ServerModule``.
4. Build submodules by holding modules in attributes.
5. Deploy a whole tree at once: everything trains, then deploys, children before parents.
"""

import lazyplug as lazyllm


def section(title: str) -> None:
    """Print a heading, so that each example's output stands apart."""
    print(f'\n== {title} ' + '=' * max(0, 74 - len(title)))


def show(label: str, value: object) -> None:
    """Print what an expression gave; a multi-line repr (a tree) starts on its own line."""
    text = repr(value).rstrip('\n')
    print(f'{label}:' + ('\n' if '\n' in text else ' ') + text)


# -- 1. a module defined by inheritance ------------------------------------------------------------

section('1. A module defined by inheritance')


class MyModule(lazyllm.module.ModuleBase):

    def __init__(self, name, return_trace=True):
        super(__class__, self).__init__(return_trace=return_trace)
        self.name = name

    def _get_train_tasks(self):
        return lazyllm.pipeline(lambda : print(f'Module {self.name} trained!'))

    def _get_deploy_tasks(self):
        return lazyllm.pipeline(lambda : print(f'Module {self.name} deployed!'))

    def forward(self, input):  # noqa: A002 - the document's own parameter name
        return f'[Module {self.name} get input: {input}]'


m = MyModule('example')
print("Calling a module runs its forward: m('hello world')")
show('  result', m('hello world'))

print('update() trains, then deploys, and returns the module:')
show('  returned', m.update())

print('start() only deploys:')
show('  returned', m.start())

print("evalset() sets the evaluation data; update() also evaluates, into eval_result:")
m.evalset(['hello', 'world'])
show('  eval_result', m.update().eval_result)


# -- 2. registering a function as a module ---------------------------------------------------------

section('2. Registering a function as a module')

lazyllm.module_register.new_group('mymodules')
print("new_group('mymodules') made the group lazyllm.mymodules")


@lazyllm.module_register('mymodules')
def m(input):  # noqa: A002 - the document's own parameter name
    return f'module m get input: {input}'


print('@module_register(\'mymodules\') turned the function m into a module class:')
show('  lazyllm.mymodules.m()(1)', lazyllm.mymodules.m()(1))

m = lazyllm.mymodules.m()
m.evalset([1, 2, 3])
print('eval() runs only the evaluation (no training or deployment):')
show('  m.eval().eval_result', m.eval().eval_result)


# -- 3. submodules given to ActionModule and ServerModule --------------------------------------------

section('3. Submodules given to ActionModule and ServerModule')

m1 = MyModule('m1')
m2 = MyModule('m2')
am = lazyllm.ActionModule(m1, m2)
show('ActionModule(m1, m2).submodules', am.submodules)

# A ServerModule is only built here, not started: starting it would serve m1 over HTTP.
# Its one submodule is the part that deploys, which holds the served module.
sm = lazyllm.ServerModule(m1)
show('ServerModule(m1).submodules', sm.submodules)
show('ServerModule(m1).submodules[0].submodules', sm.submodules[0].submodules)

print('\nModules found anywhere inside a flow become submodules too:')
m1 = MyModule('m1')
m2 = MyModule('m2')
m3 = MyModule('m3')
am = lazyllm.ActionModule(lazyllm.pipeline(m1, lazyllm.parallel(m2, m3)))
show('ActionModule(pipeline(m1, parallel(m2, m3))).submodules', am.submodules)
sm = lazyllm.ServerModule(lazyllm.pipeline(m1, lazyllm.parallel(m2, m3)))
show('ServerModule(pipeline(m1, parallel(m2, m3))).submodules', sm.submodules)
show('sm.submodules[0].submodules', sm.submodules[0].submodules)

print('\nThe repr of a module draws its whole tree:')
show('sm', sm)


# -- 4. submodules held by attributes --------------------------------------------------------------

section('4. Submodules held by attributes')


class MyModule2(lazyllm.module.ModuleBase):

    def __init__(self, name, return_trace=True):
        super(__class__, self).__init__(return_trace=return_trace)
        self.name = name
        self.m1_1 = MyModule('m1-1')
        self.m1_2 = MyModule('m1-2')


m2 = MyModule2('m2')
show('MyModule2(\'m2\').submodules', m2.submodules)


# -- 5. joint deployment ---------------------------------------------------------------------------

section('5. Joint deployment of a tree of modules')


class MyModule2(lazyllm.module.ModuleBase):

    def __init__(self, name, return_trace=True):
        super(__class__, self).__init__(return_trace=return_trace)
        self.name = name
        self.m1_1 = MyModule(f'{name} m1-1')
        self.m1_2 = MyModule(f'{name} m1-2')

    def _get_deploy_tasks(self):
        return lazyllm.pipeline(lambda : print(f'Module {self.name} deployed!'))

    def __repr__(self):
        return lazyllm.make_repr('Module', self.__class__, subs=[repr(self.m1_1), repr(self.m1_2)])


am = lazyllm.ActionModule(MyModule2('m2-1'), MyModule2('m2-2'))
show('am', am)
print('am.update() trains every module first, then deploys children before their parents:')
am.update()

print('\nThat is the tour. Next: README.md, and the hooks in src/lazyplug/hookspecs.py.')
