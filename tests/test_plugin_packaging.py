"""The plugins in plugins/ are packaged alike, as the template shows authors: a src/ layout, a
lazyplug dependency bounded to this release series, a license, authors and URLs, ``hookimpl``
imported one way, and each listed in plugins/README.md."""

import pathlib
import re

import pytest

import lazyplug

tomllib = pytest.importorskip('tomllib', reason='tomllib arrived in Python 3.11')

ROOT = pathlib.Path(__file__).resolve().parent.parent
PLUGINS = sorted(p for p in (ROOT / 'plugins').iterdir() if (p / 'pyproject.toml').exists())
CORE = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']


def project(plugin):
    return tomllib.loads((plugin / 'pyproject.toml').read_text())


def test_the_six_plugins_are_found():
    assert [p.name for p in PLUGINS] == ['lazyplug-otel', 'lazyplug-ray', 'lazyplug-redis', 'lazyplug-sklearn',
                                         'lazyplug-template', 'lazyplug-web']


@pytest.mark.parametrize('plugin', PLUGINS, ids=lambda p: p.name)
def test_a_plugin_has_a_license_authors_and_urls(plugin):
    meta = project(plugin)['project']
    assert meta['license'] == CORE['license'] and meta['authors']
    urls = meta['urls']
    assert (urls['Homepage'], urls['Issues']) == (CORE['urls']['Homepage'], CORE['urls']['Issues'])
    assert urls['Source'] == f'{CORE["urls"]["Source"]}/tree/main/plugins/{plugin.name}'


@pytest.mark.parametrize('plugin', PLUGINS, ids=lambda p: p.name)
def test_a_plugin_depends_on_this_release_series_of_lazyplug(plugin):
    major, minor = map(int, lazyplug.__version__.split('.')[:2])
    requirements = [r for r in project(plugin)['project']['dependencies'] if re.match(r'lazyplug\b(?!-)', r)]
    assert requirements == [f'lazyplug>={major}.{minor},<{major}.{minor + 1}']


@pytest.mark.parametrize('plugin', PLUGINS, ids=lambda p: p.name)
def test_a_plugin_has_the_src_layout(plugin):
    package = plugin.name.replace('-', '_')
    assert project(plugin)['tool']['hatch']['build']['targets']['wheel']['packages'] == [f'src/{package}']
    assert (plugin / 'src' / package / '__init__.py').is_file()
    assert not (plugin / package).exists()


def test_every_plugin_imports_hookimpl_one_way():
    for source in (ROOT / 'plugins').glob('*/src/*/*.py'):
        for line in source.read_text().splitlines():
            if 'hookimpl' in line and ('import' in line or line.lstrip().startswith('@')):
                assert line.strip() in ('from lazyplug import hookimpl', '@hookimpl') or line.lstrip().startswith(
                    '@hookimpl('), f'{source.relative_to(ROOT)}: {line.strip()}'


def test_the_guide_lists_every_plugin_with_a_link():
    guide = (ROOT / 'plugins' / 'README.md').read_text()
    for plugin in PLUGINS:
        assert f'[`{plugin.name}`]({plugin.name})' in guide
