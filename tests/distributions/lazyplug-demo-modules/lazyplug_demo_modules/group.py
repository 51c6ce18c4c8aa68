"""The ``demo = "lazyplug_demo_modules.group"`` entry: importing this registers the group's modules."""

import lazyplug


@lazyplug.module_register('demo')
def shout(text):
    return text.upper() + '!'


@lazyplug.module_register('demo.text')
def strip(text):
    return text.strip()


@lazyplug.module_register('demo')
class Trainer(lazyplug.ModuleBase):
    """Records its training and deployment in ``Trainer.log``."""

    log = []

    def _get_train_tasks(self):
        return lambda: Trainer.log.append(f'trained {self.name}')

    def _get_deploy_tasks(self):
        return lambda: Trainer.log.append(f'deployed {self.name}')

    def forward(self, x):
        return x
