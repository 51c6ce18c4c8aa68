"""``python -m lazyplug.serve``: run one server process (see lazyplug.serve.process), or with
``--forkserver FD`` the process that forks them (see lazyplug.serve.forkserver)."""

import sys

if len(sys.argv) == 3 and sys.argv[1] == '--forkserver':
    from .forkserver import serve_forever
    serve_forever(int(sys.argv[2]))
else:
    from .process import main
    main()
