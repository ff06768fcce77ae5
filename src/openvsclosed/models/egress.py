"""Where a private task's rows may go: decided on the connection, never on the URL's text.

A URL that reads as 127.0.0.1 can still send its bytes elsewhere: a host name that starts with
"127.", a backslash that one parser reads as userinfo and another as a path, a proxy variable,
a redirect. So a private request is checked and sent as one thing: the URL is parsed by the
parser `requests` itself uses (urllib3's), the host is resolved once, every address must be
loopback, and the request goes to that address (the original Host header and TLS name kept),
with proxies ignored and redirects never followed. `stays_on_machine` (the plan's check and
`--dry-run`'s "(this machine)") is the same check, so what the plan says is what is sent.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Any

_ALLOWED = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]!$&'()*+,;=%]+$")
"""RFC 3986 characters; a backslash, space, control or non-ASCII character is refused."""
REFUSE_HINT = ("allowed: http(s)://HOST[:PORT]/path with no user:password@ part, no "
               "backslash, space or non-ASCII character")


class EgressRefused(Exception):
    """A URL, or where it resolves, that a private task's rows must not be sent to."""


@dataclass(frozen=True)
class Endpoint:
    """A URL as `requests` will read it: scheme, host (no brackets), port, request target."""

    url: str
    scheme: str
    host: str
    port: int
    target: str

    @property
    def host_header(self) -> str:
        """The Host header the original URL would send."""
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


@dataclass(frozen=True)
class Pinned:
    """An endpoint and the one loopback address its requests connect to."""

    endpoint: Endpoint
    address: str

    @property
    def url(self) -> str:
        """The URL with the host replaced by the pinned address (no second lookup)."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.endpoint.scheme}://{host}:{self.endpoint.port}{self.endpoint.target}"


def parse_endpoint(url: str) -> Endpoint:
    """The URL as urllib3 (the parser `requests` uses) reads it, refusing ambiguous forms."""
    from urllib.parse import urlsplit

    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    if not _ALLOWED.match(url or ""):
        raise EgressRefused(f"base_url {url!r} holds a character that parsers read differently "
                            f"(a backslash, space, control or non-ASCII character); {REFUSE_HINT}")
    try:
        parsed = parse_url(url)
    except LocationParseError as exc:
        raise EgressRefused(f"base_url {url!r} is not a URL ({exc}); {REFUSE_HINT}") from None
    if parsed.auth is not None or "@" in (urlsplit(url).netloc or ""):
        raise EgressRefused(f"base_url {url!r} has a user:password@ part, which different "
                            f"parsers resolve to different hosts; {REFUSE_HINT}")
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise EgressRefused(f"base_url {url!r} is not an http(s) URL with a host; {REFUSE_HINT}")
    host = parsed.host.strip("[]").lower()
    if (urlsplit(url).hostname or "").lower() != host:  # the two parsers must agree
        raise EgressRefused(f"base_url {url!r} is read as two different hosts by two URL "
                            f"parsers; {REFUSE_HINT}")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    target = parsed.request_uri or "/"
    return Endpoint(url=url, scheme=parsed.scheme, host=host, port=port, target=target)


def is_loopback(address: str) -> bool:
    """127.0.0.0/8, ::1 and ::ffff:127.x (an IPv4-mapped loopback)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def resolve(endpoint: Endpoint) -> list[str]:
    """Every address the host resolves to, once, with the system resolver `requests` uses."""
    try:
        found = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise EgressRefused(f"base_url {endpoint.url!r}: the host {endpoint.host!r} does not "
                            f"resolve here ({type(exc).__name__}), so it cannot be shown to be "
                            "this machine") from None
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in found:
        if sockaddr[0] not in addresses:
            addresses.append(str(sockaddr[0]))
    return addresses


def pin_loopback(url: str) -> Pinned:
    """The endpoint pinned to a loopback address, or EgressRefused naming where it goes."""
    endpoint = parse_endpoint(url)
    addresses = resolve(endpoint)
    outside = [a for a in addresses if not is_loopback(a)]
    if outside or not addresses:
        raise EgressRefused(
            f"base_url {url!r}: the host {endpoint.host!r} resolves to "
            f"{', '.join(outside) or 'nothing'}, which is not this machine (every address must "
            "be loopback: 127.0.0.0/8 or ::1); a private task's rows go only to a server on "
            "this machine unless the task says `allow_closed: true`")
    return Pinned(endpoint, addresses[0])


def stays_on_machine(url: str) -> bool:
    """Whether a private request to `url` would be sent (the plan's and --dry-run's check)."""
    try:
        pin_loopback(url)
    except EgressRefused:
        return False
    return True


def pinned_session(pinned: Pinned) -> Any:
    """A `requests` session that connects only to the pinned address: no proxy, no .netrc.

    `trust_env = False` drops HTTP(S)_PROXY, ALL_PROXY and NO_PROXY; for https the TLS name
    and certificate check stay the original host's.
    """
    import requests
    from requests.adapters import HTTPAdapter

    class _PinnedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            if pinned.endpoint.scheme == "https":
                kwargs["server_hostname"] = pinned.endpoint.host
                kwargs["assert_hostname"] = pinned.endpoint.host
            super().init_poolmanager(*args, **kwargs)

    session = requests.Session()
    session.trust_env = False
    session.proxies = {}
    session.mount("http://", _PinnedAdapter(max_retries=0))
    session.mount("https://", _PinnedAdapter(max_retries=0))
    return session


def private_post(session: Any, pinned: Pinned, *, json: Any, headers: dict[str, str],
                 timeout: float, verify: bool) -> Any:
    """POST to the pinned address only; a redirect is returned as it is, never followed."""
    sent = {**headers, "Host": pinned.endpoint.host_header}
    return session.post(pinned.url, json=json, headers=sent, timeout=timeout, verify=verify,
                        allow_redirects=False, proxies={})
