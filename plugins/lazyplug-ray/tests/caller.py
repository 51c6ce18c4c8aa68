"""Call a service of cluster_app.py in a loop: ``python caller.py SECONDS [NAME]`` (NAME: ``app``,
the default, or ``on_b``), in /tmp/app of a machine.

The ServerModule is not started here: it finds its service in the registry by its id, as any
copy of it in another process does, and follows its replicas from then on. Each call sends a
token of its own and prints one JSON line: ``[token, outcome, began, seconds]``, the outcome being
the machine that answered or the error (its type and message).
"""

import json
import os
import sys
import time

import cluster_app

seconds = float(sys.argv[1])
service = getattr(cluster_app, sys.argv[2] if len(sys.argv) > 2 else 'app')
caller = os.urandom(6).hex()  # tokens of its own, whatever process ran before it on this machine
end = time.monotonic() + seconds
for n in range(1, sys.maxsize):
    if time.monotonic() >= end:
        break
    token = f'{caller}-{n}'
    began = time.monotonic()
    try:
        outcome = service(token)['machine']
    except Exception as exc:
        outcome = f'{type(exc).__name__}: {exc}'
    print(json.dumps([token, outcome, began, time.monotonic() - began]), flush=True)
