"""Eight services in a tree, for ``lazyplug update tree_app.py:root --workers 8 --serve`` on the
two-machine cluster (test_cluster_deploy.py, benchmarks/bench_cluster.py); ``flat``: eight
services independent of each other::

    tree-root ─┬─ tree-left ─┬─ tree-left-0
               │             └─ tree-left-1
               ├─ tree-mid ─── tree-mid-0
               └─ tree-right ─ tree-right-0

Each is a ServerModule on Ray (SPREAD: over both machines) serving a :class:`Node`, whose own
deploy task takes ``TREE_LOAD`` seconds (0.3 by default), as loading a model would. A node calls
its children's ServerModules: wherever its replica runs, they find their services through the
registry the deploying process publishes in.
"""

import os
import socket
import time

import lazyplug
from lazyplug import config

from lazyplug_ray import RayLauncher

KEY = 'sk-two-machines'
HERE = os.path.dirname(os.path.abspath(__file__))
LOAD = float(os.environ.get('TREE_LOAD', '0.3'))


class Node(lazyplug.ModuleBase):
    """Loads for LOAD seconds in the deploy phase; answers with its name, the machine it runs on,
    the registry it finds services in, when it loaded, and what its children answered."""

    def __init__(self, name, *children):
        super().__init__()
        self.label = name
        self.loaded = None
        for index, child in enumerate(children):
            setattr(self, f'child{index}', child)

    def _get_deploy_tasks(self):
        return self._load

    def _load(self):
        began = time.time()
        time.sleep(LOAD)
        self.loaded = [began, time.time()]

    def forward(self, x):
        return {'name': self.label, 'machine': socket.gethostname(), 'loaded': self.loaded,
                'registry': config['registry'].rpartition('@')[2],
                'children': [child(x) for child in self.submodules]}


def service(name, *children):
    # TREE_LAUNCHER=local: the same services as child processes of the deploying process
    launcher = os.environ.get('TREE_LAUNCHER') or RayLauncher(num_cpus=0.1, scheduling_strategy='SPREAD',
                                                              working_dir=HERE)
    return lazyplug.ServerModule(Node(name, *children), launcher=launcher, host='0.0.0.0', security_key=KEY,
                                 id=f'tree-{name}')


root = service('root', service('left', service('left-0'), service('left-1')), service('mid', service('mid-0')),
               service('right', service('right-0')))


class Group(lazyplug.ModuleBase):
    """Modules held together, with nothing to do of its own."""

    def __init__(self, *members):
        super().__init__()
        for index, member in enumerate(members):
            setattr(self, f'member{index}', member)


flat = Group(*(service(f'flat-{index}') for index in range(8)))
