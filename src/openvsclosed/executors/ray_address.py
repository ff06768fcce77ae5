"""Is there a Ray at this address? Answered in seconds, before Ray's own connect (minutes).

A TCP connect is not enough: any service on that port accepts it, and `ray.init` then waits for
a GCS that never speaks (over 400 s). Ray's head (its GCS) and its client server (`ray://`) are
both gRPC servers, so the probe sends the HTTP/2 connection preface and expects the server's
SETTINGS frame back, as every HTTP/2 server sends at once. A web server, a database or a silent
listener fails that in the probe's timeout, with one paragraph naming the address.
"""

from __future__ import annotations

import importlib.util
import socket

from openvsclosed.executors.unavailable import ExecutorUnavailable

ALLOWED_ADDRESSES = "the address `ray start --head` printed (host:port), ray://host:port or auto"
CLIENT_INSTALL = "pip install 'ray[client]' (the `ray` extra, pip install 'openvsclosed[ray]', " \
                 "includes it)"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
"""The HTTP/2 client preface followed by an empty SETTINGS frame."""
SETTINGS = 0x04


class RayUnavailable(ExecutorUnavailable):
    """The cluster named by --ray-address / RAY_ADDRESS cannot be joined (exit code 2)."""


def split_address(address: str) -> tuple[str, int]:
    """(host, port) of `host:port` or `ray://host:port`; a paragraph for anything else."""
    host, _, port = address.removeprefix("ray://").rstrip("/").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RayUnavailable(f"--ray-address / RAY_ADDRESS {address!r} is not an address; "
                             f"allowed: {ALLOWED_ADDRESSES}")
    return host.strip("[]"), int(port)


def speaks_grpc(host: str, port: int, timeout_s: float) -> str | None:
    """None when an HTTP/2 (gRPC) server answers at host:port, else what went wrong."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            sock.sendall(PREFACE)
            head = b""
            while len(head) < 9:
                chunk = sock.recv(9 - len(head))
                if not chunk:
                    break
                head += chunk
    except TimeoutError:
        return f"something listens there but sent nothing in {timeout_s:g} s"
    except OSError as exc:
        return f"nothing answers there ({type(exc).__name__}: {exc.strerror or exc})"
    if len(head) == 9 and head[3] == SETTINGS:
        return None
    if head.startswith(b"HTTP/"):
        return "an HTTP/1 server answers there (a web server, not Ray's gRPC)"
    return "something answers there, but not in Ray's protocol (gRPC over HTTP/2)"


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Refuse, within `timeout_s`, an address where no Ray answers; Ray's own wait is minutes.

    `ray://` needs Ray's client package (grpcio): refused with the install line when missing.
    """
    if address in ("auto", "local"):
        return
    host, port = split_address(address)
    if address.startswith("ray://") and importlib.util.find_spec("grpc") is None:
        raise RayUnavailable(f"--ray-address {address}: a ray:// address needs Ray's client, "
                             f"which is not installed; install it with {CLIENT_INSTALL}; "
                             "allowed: ray:// with the client, else the head's host:port (GCS, "
                             "default 6379) or auto")
    problem = speaks_grpc(host, port, timeout_s)
    if problem:
        kind = "Ray client server (ray start --head serves it on 10001)" if address.startswith(
            "ray://") else "Ray head (its GCS port, 6379 unless `ray start --port` said else)"
        raise RayUnavailable(f"cannot join the Ray cluster at {address}: {problem}; a {kind} "
                             f"answers in gRPC; allowed: {ALLOWED_ADDRESSES}")
