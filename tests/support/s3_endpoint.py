"""S3 for tests and benches: moto's server mode on 127.0.0.1, and a fault-injecting HTTP proxy.

The moto server is a separate process (`moto_server`), so boto3 talks real HTTP to it. The proxy
sits between boto3 and moto and fails chosen requests with a 500, a 503 SlowDown or a reset
connection — the failures botocore's retries must absorb — or corrupts response bodies; for
benchmarks it adds a first-byte latency per request and a bandwidth cap per connection (what a
real S3 endpoint has and loopback does not).
"""

from __future__ import annotations

import http.client
import os
import random
import secrets
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.mlflow_server import free_port

ACCESS_KEY_ID = "AKIAAMLBRIDGETEST0001"
SECRET = "aml-bridge-test-secret-" + secrets.token_hex(12)  # what the security scan looks for


def s3_store(endpoint: str, bucket: str, prefix: str = "ws", **extra: Any) -> dict[str, Any]:
    """A workspace-config datastore entry for `s3://bucket/prefix` on `endpoint`."""
    return {"type": "s3", "bucket": bucket, "prefix": prefix, "endpoint_url": endpoint, **extra}


def keys(client: Any, bucket: str, prefix: str = "") -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def start_moto_server(log_dir: str | os.PathLike[str],
                      launcher: Sequence[str] | None = None) -> tuple[str, subprocess.Popen[bytes]]:
    """Start `moto_server` (or `launcher`, a command taking its arguments) on a free loopback port;
    return (endpoint URL, process) once it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(Path(log_dir) / "moto.log", "wb")  # noqa: SIM115 - lives as long as the server
    command = list(launcher or [str(Path(sys.executable).with_name("moto_server"))])
    proc = subprocess.Popen([*command, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited: {(Path(log_dir) / 'moto.log').read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).read()
            return url, proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"moto_server did not answer on {url} within 30 s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def write_aws_files(folder: Path, secret: str) -> dict[str, str]:
    """A shared credentials file (boto3's standard chain); returns the env that points at it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "credentials").write_text(
        f"[default]\naws_access_key_id = {ACCESS_KEY_ID}\naws_secret_access_key = {secret}\n")
    (folder / "config").write_text("[default]\nregion = us-east-1\n")
    return {"AWS_SHARED_CREDENTIALS_FILE": str(folder / "credentials"), "AWS_CONFIG_FILE": str(folder / "config")}


_SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
              b"<Message>Please reduce your request rate.</Message></Error>")
_INTERNAL = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
             b"<Message>We encountered an internal error. Please try again.</Message></Error>")
FAULTS = ("500", "503", "reset")
_CHUNK = 64 * 1024


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default backlog of 5 drops SYNs when a client opens 16 connections


class FaultProxy:
    """Forwards HTTP to `upstream`, failing a `rate` fraction of requests (seeded, so runs repeat).

    `rate = 1.0` is a permanent outage. `only_methods` limits faults to e.g. PUT (uploads);
    `after` lets that many matching requests through first (a failure midway through a batch);
    `delay_ms` adds latency to every request before its first byte and `mb_per_s` caps each
    connection's bandwidth both ways (benchmarks: what parallel transfers hide). `corrupt_methods`
    flips a byte of every successful object body (paths without a query: not listings) to those methods. `counts` records the faults
    injected, `seen` every request as (method, path, lower-cased headers), `log` as (method, path, Range).
    """

    def __init__(self, upstream: str, rate: float = 0.0, seed: int = 7, only_methods: tuple[str, ...] = (),
                 after: int = 0, delay_ms: float = 0.0, mb_per_s: float = 0.0,
                 corrupt_methods: tuple[str, ...] = ()) -> None:
        self.upstream = upstream.removeprefix("http://")
        self.delay = delay_ms / 1000
        self.bytes_per_s = mb_per_s * 1e6
        self.corrupt_methods = corrupt_methods
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.rate, self.only_methods, self.after = rate, only_methods, after
        self.counts = dict.fromkeys(FAULTS, 0)
        self.requests = 0
        self.bytes_out = 0  # response body bytes relayed to the client
        self.log: list[tuple[str, str, str | None]] = []  # (method, path with query, Range header) per request
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _fault_for(self, method: str, path: str, headers: dict[str, str]) -> str | None:
        with self._lock:
            self.requests += 1
            self.seen.append((method, path, headers))
            self.log.append((method, path, headers.get("range")))
            if self.only_methods and method not in self.only_methods:
                return None
            self.after -= 1
            if self.after >= 0 or self._random.random() >= self.rate:
                return None
            fault = self._random.choice(FAULTS)
            self.counts[fault] += 1
            return fault

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                pass

            def setup(self) -> None:
                super().setup()  # no Nagle stalls: the only latency is the one configured
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _paced(self, started: float, done: int) -> None:
                """Sleep until `done` bytes since `started` fit the per-connection bandwidth cap."""
                if proxy.bytes_per_s:
                    ahead = done / proxy.bytes_per_s - (time.perf_counter() - started)
                    if ahead > 0:
                        time.sleep(ahead)

            def _body_chunks(self) -> Iterator[bytes]:
                """The request body as it arrives, at no more than the bandwidth cap."""
                length, got, started = int(self.headers.get("Content-Length") or 0), 0, time.perf_counter()
                while got < length:
                    chunk = self.rfile.read(min(_CHUNK, length - got))
                    if not chunk:
                        return
                    got += len(chunk)
                    yield chunk
                    self._paced(started, got)

            def _relay(self) -> None:
                fault = proxy._fault_for(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                if fault is not None:
                    for _ in self._body_chunks():
                        pass
                    time.sleep(proxy.delay)
                    self._fail(fault)
                    return
                upstream = http.client.HTTPConnection(proxy.upstream, timeout=60)
                try:  # the body streams through (not stored, then forwarded), as a real endpoint reads it
                    upstream.connect()
                    upstream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                    for key, value in self.headers.items():
                        if key.lower() not in ("connection", "expect"):  # 100-continue was answered here
                            upstream.putheader(key, value)
                    upstream.endheaders()
                    for chunk in self._body_chunks():
                        upstream.send(chunk)
                    time.sleep(proxy.delay)  # first-byte latency, counted from the end of the request
                    self._relay_response(upstream.getresponse())
                finally:
                    upstream.close()

            def _fail(self, fault: str) -> None:
                if fault == "reset":
                    # RST instead of FIN: the client sees "connection reset by peer".
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                payload = _SLOW_DOWN if fault == "503" else _INTERNAL
                self.send_response(int(fault))
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _relay_response(self, response: http.client.HTTPResponse) -> None:
                """Stream the upstream response (bodies of known length in chunks, paced)."""
                length = response.getheader("Content-Length")
                head = self.command == "HEAD"
                data = b"" if head or length is not None else response.read()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", length or str(len(data)))
                self.end_headers()
                if head:
                    return
                remaining = int(length) if length is not None else len(data)
                flip = self.command in proxy.corrupt_methods and response.status < 300 and "?" not in self.path
                started, sent = time.perf_counter(), 0
                while sent < remaining:
                    chunk = data[sent:sent + _CHUNK] if length is None else response.read(min(_CHUNK, remaining - sent))
                    if not chunk:
                        break
                    if flip:
                        chunk, flip = bytes([chunk[0] ^ 0xFF]) + chunk[1:], False
                    self.wfile.write(chunk)
                    sent += len(chunk)
                    self._paced(started, sent)
                with proxy._lock:
                    proxy.bytes_out += sent

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

        return Handler


def start_proxy_process(upstream: str, delay_ms: float, mb_per_s: float = 0.0) -> tuple[str, subprocess.Popen[bytes]]:
    """A latency (and bandwidth cap) FaultProxy in its own process (benchmarks: not the client's GIL)."""
    root = str(Path(__file__).resolve().parents[2])
    proc = subprocess.Popen([sys.executable, __file__, upstream, str(delay_ms), str(mb_per_s)],
                            stdout=subprocess.PIPE,
                            cwd=root, env={**os.environ, "PYTHONPATH": root})
    assert proc.stdout is not None
    return proc.stdout.readline().decode().strip(), proc


def _serve_proxy(upstream: str, delay_ms: float, mb_per_s: float) -> None:
    with FaultProxy(upstream, delay_ms=delay_ms, mb_per_s=mb_per_s) as proxy:
        print(proxy.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    _serve_proxy(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]))


__all__ = ["ACCESS_KEY_ID", "SECRET", "FaultProxy", "keys", "s3_store", "start_moto_server", "start_proxy_process",
           "stop_process", "write_aws_files"]
