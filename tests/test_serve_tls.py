"""TLS for real: a server started with a certificate speaks only TLS; https:// services are called
over TLS with the certificate verified; nothing is sent in clear text to an https URL.

The certificates are made by the test: an authority, and a server certificate it signs for
127.0.0.1 and localhost."""

import datetime
import ipaddress

import pytest

from lazyplug import ServerModule, UrlModule, config
from lazyplug.errors import (
    CallOutcomeUnknownError,
    InvalidArgumentError,
    LaunchError,
    ServiceUnavailableError,
    TaskFailedError,
)
from lazyplug.module import ModuleBase
from serve_helpers import ScriptedServer

pytestmark = pytest.mark.usefixtures('nothing_left_running')

LAUNCHERS = ['thread', 'local']


class Upper(ModuleBase):
    def forward(self, text):
        return text.upper()


def _certificate(subject, issuer, public_key, signing_key, *, ca, names=()):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    """PEM files: ``ca`` (the authority), ``cert`` and ``key`` (the server's), ``both`` (cert and key in one)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    folder = tmp_path_factory.mktemp('pki')
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate('lazyplug test CA', 'lazyplug test CA', ca_key.public_key(), ca_key, ca=True)
    names = [x509.IPAddress(ipaddress.ip_address('127.0.0.1')), x509.DNSName('localhost')]
    server = _certificate('127.0.0.1', 'lazyplug test CA', server_key.public_key(), ca_key, ca=False, names=names)
    pem = serialization.Encoding.PEM
    key_pem = server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    files = {'ca': ca.public_bytes(pem), 'cert': server.public_bytes(pem), 'key': key_pem,
             'both': server.public_bytes(pem) + key_pem}
    for name, data in files.items():
        (folder / f'{name}.pem').write_bytes(data)
    return {name: str(folder / f'{name}.pem') for name in files}


@pytest.mark.parametrize('launcher', LAUNCHERS)
def test_a_server_with_a_certificate_serves_https_and_callers_verify_it(launcher, pki, started):
    with config.temp('ca_file', pki['ca']):
        sm = started(ServerModule(Upper(), launcher=launcher, ssl_certfile=pki['cert'], ssl_keyfile=pki['key'],
                                  security_key=True))
        assert sm._url.startswith('https://127.0.0.1:')
        assert sm('over tls') == 'OVER TLS'
        assert UrlModule(url=sm._url, security_key=sm._security_key)('again') == 'AGAIN'


def test_a_certificate_file_that_holds_its_key_is_enough(pki, started):
    with config.temp('ca_file', pki['ca']):
        sm = started(ServerModule(Upper(), launcher='local', ssl_certfile=pki['both']))
        assert sm('x') == 'X'


def test_a_tls_server_does_not_speak_plain_http(pki, started):
    with config.temp('ca_file', pki['ca']):
        sm = started(ServerModule(Upper(), launcher='thread', ssl_certfile=pki['cert'], ssl_keyfile=pki['key']))
    with pytest.raises(CallOutcomeUnknownError, match='reply was lost'):  # it read the request as TLS, and hung up
        UrlModule(url=sm._url.replace('https://', 'http://'))('x')


def test_a_caller_that_does_not_trust_the_certificate_refuses_it_naming_the_setting(pki, started):
    with config.temp('ca_file', pki['ca']):
        sm = started(ServerModule(Upper(), launcher='thread', ssl_certfile=pki['cert'], ssl_keyfile=pki['key']))
    with pytest.raises(ServiceUnavailableError, match=r'certificate does not verify.*ca_file.*did not run'):
        UrlModule(url=sm._url)('x')  # the system's authorities do not know the test's


def test_a_deploy_whose_certificate_the_deployer_does_not_trust_fails_at_once(pki):
    with config.temp('start_timeout', 30.0):
        with pytest.raises(TaskFailedError) as info:
            ServerModule(Upper(), launcher='local', ssl_certfile=pki['cert'], ssl_keyfile=pki['key']).start()
    assert isinstance(info.value.__cause__, LaunchError) and 'certificate does not verify' in str(info.value.__cause__)


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


@pytest.mark.parametrize('options, words', [
    ({'ssl_keyfile': 'key.pem'}, 'give both'),
    ({'ssl_certfile': '/no/such/cert.pem'}, "ssl_certfile must be the path of a PEM file, not '/no/such/cert.pem'"),
    ({'ssl_certfile': 5}, 'ssl_certfile must be the path'),
])
def test_bad_tls_options_are_refused_at_construction(options, words):
    with pytest.raises(InvalidArgumentError, match=words):
        ServerModule(Upper(), **options)


def test_tls_options_belong_with_a_module_to_serve(pki):
    with pytest.raises(InvalidArgumentError, match='serves nothing'):
        ServerModule(url='https://127.0.0.1:8443', ssl_certfile=pki['cert'])


def test_a_tls_client_connection_is_reused_like_a_plain_one(pki, started):
    with config.temp('ca_file', pki['ca']):
        sm = started(ServerModule(Upper(), launcher='thread', ssl_certfile=pki['cert'], ssl_keyfile=pki['key']))
        for i in range(20):
            assert sm(f'call {i}') == f'CALL {i}'
    from lazyplug.serve import client
    host, port = sm._urls[0].split('//')[1].rsplit(':', 1)
    connection = client._connections.pool[sm._urls[0]]
    assert connection.sock.getpeername() == (host, int(port)) and connection.sock.version().startswith('TLS')
