"""The client over real TLS: a certificate it cannot verify is fatal; one it trusts works."""

from __future__ import annotations

import http.server
import ssl
import subprocess
import threading

import pytest

from connector.braze.client import BrazeClient
from connector.braze.outcome import Kind


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


class _Accept(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.server.peers.append(self.client_address)
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b'{"message":"success"}'
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def tls_server(certificate):
    cert, key = certificate
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Accept)
    server.peers = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://localhost:{server.server_address[1]}", server.peers
    server.shutdown()
    server.server_close()


def test_an_unverifiable_certificate_is_fatal_not_retried(tls_server):
    url, _ = tls_server
    outcome = BrazeClient(url, "k", timeout_s=5).post("/users/track", b"{}")
    assert outcome.kind is Kind.FATAL and "certificate" in outcome.message


def test_a_trusted_certificate_works_over_one_kept_alive_connection(tls_server, certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))   # what a corporate CA bundle would do
    url, peers = tls_server
    client = BrazeClient(url, "k", timeout_s=5)
    first = client.post("/users/track", b'{"attributes":[]}')
    second = client.post("/users/track", b'{"attributes":[]}')
    client.close()
    assert (first.kind, second.kind) == (Kind.DELIVERED, Kind.DELIVERED)
    assert len(peers) == 2 and peers[0] == peers[1]      # one connection, kept alive
