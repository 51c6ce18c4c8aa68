"""The applications of the two-machine tests (test_cluster*.py), in /tmp/app of the machines.

``lazyplug update cluster_app.py:app --serve`` on machine a deploys ``where`` on the Ray cluster
of machines a and b, a replica on each (Ray's SPREAD strategy: over the nodes; when one dies,
Ray restarts its replica on the other). The code reaches b as Ray ships code to other machines:
this directory is the job's working directory (the launcher's ``working_dir``), uploaded to the
cluster and unpacked on every node that runs a replica. ``on_b`` is served by the local launcher
on the machine that deploys it.

Every call of ``where`` is written down on the machine that ran it (``/tmp/ran.log``, each
machine's own), so that the tests count how often each call ran.
"""

import os
import socket

import lazyplug

from lazyplug_ray import RayLauncher

KEY = 'sk-two-machines'
HERE = os.path.dirname(os.path.abspath(__file__))


def where(x):
    """The machine that answered, and what it was given."""
    with open('/tmp/ran.log', 'a') as log:
        log.write(f'{x}\n')
    return {'machine': socket.gethostname(), 'x': x}


# bound to every interface (hence the key), published at each node's address
app = lazyplug.ServerModule(where, launcher=RayLauncher(num_cpus=0.5, scheduling_strategy='SPREAD', working_dir=HERE),
                            num_replicas=2, host='0.0.0.0', security_key=KEY, id='where')

on_b = lazyplug.ServerModule(where, launcher='local', host='0.0.0.0', security_key=KEY, id='on-b')
