"""Helpers of the tests of lazyplug's state directory: make a directory read-only for its owner, and
run a program whose file permissions are enforced even when the tests run as root."""

import contextlib
import os
import shutil

import pytest


@contextlib.contextmanager
def read_only(directory):
    """``directory`` and its files made read-only for their owner (0500, 0400) for a with-block."""
    modes = {path: os.stat(path).st_mode for path in [directory, *directory.iterdir()]}
    for path in modes:
        os.chmod(path, 0o500 if path.is_dir() else 0o400)
    try:
        yield
    finally:
        for path, mode in modes.items():
            os.chmod(path, mode)


def as_owner_without_override():
    """The command prefix that runs a program with file permissions enforced: as root, without the
    capabilities that bypass them (setpriv, util-linux); as anyone else, nothing."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which('setpriv')
    if setpriv is None:
        pytest.skip('running as root without setpriv (util-linux): permissions cannot be enforced')
    drop = '-dac_override,-dac_read_search'
    return [setpriv, f'--inh-caps={drop}', f'--bounding-set={drop}', '--']
