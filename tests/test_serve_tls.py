"""TLS for real: https:// services are called over TLS with the certificate verified; nothing is
sent in clear text to an https URL."""

import pytest

from lazyplug import UrlModule, config
from lazyplug.errors import ServiceUnavailableError
from serve_helpers import ScriptedServer

pytestmark = pytest.mark.usefixtures('nothing_left_running')


def test_https_urls_are_never_called_in_clear_text():
    server = ScriptedServer(lambda n: b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}')  # plain HTTP only
    try:
        with config.temp('call_timeout', 1.0), pytest.raises(ServiceUnavailableError, match='did not run'):
            UrlModule(url=f'https://127.0.0.1:{server.port}', security_key='sk-secret')('x')
    finally:
        server.close()
    sent = b''.join(server.received)
    assert sent.startswith(b'\x16\x03')  # a TLS handshake record
    assert b'sk-secret' not in sent and b'POST' not in sent and not server.requests
