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


class _ConnectProxy:
    """A minimal HTTPS proxy: answers one CONNECT per connection, then pipes bytes both ways."""

    def __init__(self):
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.tunnels: list[tuple[str, str | None]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import socket

        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            head = b""
            while b"\r\n\r\n" not in head:
                head += client.recv(4096)
            lines = head.decode().split("\r\n")
            target = lines[0].split()[1]
            auth = next((line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("proxy-authorization")), None)
            self.tunnels.append((target, auth))
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            dst.close()

    def close(self):
        self.sock.close()


def test_https_proxy_from_the_environment_is_tunnelled(tls_server, certificate, monkeypatch):
    url, peers = tls_server
    proxy = _ConnectProxy()
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    for name in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, f"http://ops:s3cret@127.0.0.1:{proxy.port}")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "")
    try:
        outcome = BrazeClient(url, "k", timeout_s=5).post("/users/track", b'{"attributes":[]}')
    finally:
        proxy.close()
    assert outcome.kind is Kind.DELIVERED
    import base64

    [(target, auth)] = proxy.tunnels
    assert target == url.split("//")[1]                       # localhost:PORT, through the tunnel
    assert auth == "Basic " + base64.b64encode(b"ops:s3cret").decode()
    assert len(peers) == 1


def test_no_proxy_bypasses_the_proxy(tls_server, certificate, monkeypatch):
    url, peers = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    for name in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")          # nothing listens there
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "localhost")
    assert BrazeClient(url, "k", timeout_s=5).post("/users/track", b"{}").kind is Kind.DELIVERED
