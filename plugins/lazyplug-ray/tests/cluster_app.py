"""The application of the two-machine tests (test_cluster.py): ``lazyplug update cluster_app.py:app
--serve`` on machine a deploys it on the Ray cluster of machines a and b, one replica on each.

This file is only on machine a (in its own /tmp). It reaches b as Ray ships code to other
machines: its directory is the job's working directory (a ``runtime_env`` of ``ray.init``, which
the ray launcher then uses), uploaded to the cluster and unpacked on every node that runs a replica.
"""

import os
import socket

import lazyplug
import ray

from lazyplug_ray import RayLauncher

KEY = 'sk-two-machines'


def where(x):
    """The machine that answered, and what it was given."""
    return {'machine': socket.gethostname(), 'x': x}


ray.init(address=os.environ['LAZYPLUG_RAY_ADDRESS'], logging_level='WARNING',
         runtime_env={'working_dir': os.path.dirname(os.path.abspath(__file__))})

# bound to every interface (hence the key), published at each node's address
app = lazyplug.ServerModule(where, launcher=RayLauncher(num_cpus=0.5, placement_strategy='STRICT_SPREAD'),
                            num_replicas=2, host='0.0.0.0', security_key=KEY, id='where')
