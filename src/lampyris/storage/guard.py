"""The SSRF guard: decide, before any connection, whether a URL may be fetched.

A job's ``href`` comes from whoever submitted the job, so it must not reach the cloud metadata
service (169.254.169.254), loopback admin ports or the private network. The host is resolved
once and the connection is made to that pinned address, so a DNS answer that changes between
the check and the connect (DNS rebinding) cannot smuggle a private address through.

A refusal names the rule a URL broke and the setting that relaxes it, never the address a
name resolved to: the submitter would otherwise learn how internal names resolve. The server's
log has the address, for the operator who decides whether to allow its network.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, ip_address

import httpx

from lampyris.errors import ForbiddenUrlError, StorageUnavailableError
from lampyris.storage.settings import StorageSettings

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], Sequence[str]]
IpAddress = IPv4Address | IPv6Address

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SHARED_ADDRESS_SPACE = IPv4Network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
_NAT64_PREFIX = IPv6Address("64:ff9b::")  # 64:ff9b::/96 embeds an IPv4 address


@dataclass(frozen=True)
class GuardedUrl:
    """A URL that passed the guard, with the one address it may be fetched from.

    ``host`` and ``port`` are the URL's own (for the Host header, SNI and certificate checks);
    ``ip`` is where the connection goes.
    """

    url: str
    scheme: str
    host: str
    port: int
    ip: str


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the system's preferred order, without repeats.

    getaddrinfo also decodes the odd literal forms (``2130706433``, ``0x7f.1``, ``017700000001``)
    exactly as the socket layer would, so what is checked is what would be connected to.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise StorageUnavailableError(f"cannot resolve host {host!r}: {exc}") from exc
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def forbidden_reason(address: IpAddress) -> str | None:
    """Why an address is not public (``"loopback"``, ``"link-local"``…), or None if it is."""
    if isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = forbidden_reason(embedded)
            return f"{reason} (IPv4 inside IPv6)" if reason else None
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("carrier-grade NAT", address in _SHARED_ADDRESS_SPACE),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("non-public", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, NAT64, 6to4), which is what it reaches."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if int(address) >> 32 == int(_NAT64_PREFIX) >> 32:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class UrlGuard:
    """Checks URLs against the scheme allow-list and the private-address rules.

    Usage::

        guard = UrlGuard(StorageSettings())
        target = guard.check("https://bucket.s3.amazonaws.com/in.png?X-Amz-Signature=…")
        # connect to target.ip, send Host: target.host
    """

    def __init__(self, settings: StorageSettings, *, resolver: Resolver = resolve) -> None:
        self._settings = settings
        self._resolver = resolver

    def check(self, url: str) -> GuardedUrl:
        """Parse, resolve once, and return the pinned target; ForbiddenUrlError if refused."""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise ForbiddenUrlError(f"not a valid URL: {exc}") from exc
        scheme = parsed.scheme.lower()
        allowed = self._settings.allowed_schemes
        if scheme not in allowed:
            raise ForbiddenUrlError(
                f"URL scheme {scheme or '(none)'!r} is not allowed (allowed: "
                f"{', '.join(allowed)}; see LAMPYRIS_ALLOWED_SCHEMES)"
            )
        if parsed.userinfo:
            raise ForbiddenUrlError(f"URLs with a user name or password are refused ({scheme}://…)")
        host = parsed.raw_host.decode("ascii")  # IDNA-encoded: what DNS, SNI and Host carry
        if not host:
            raise ForbiddenUrlError("the URL has no host")
        port = parsed.port or _DEFAULT_PORTS.get(scheme)
        if port is None:
            raise ForbiddenUrlError(f"the URL for {host} has no port and {scheme} has no default")
        addresses = self._resolver(host, port)
        if not addresses:
            raise StorageUnavailableError(f"host {host!r} resolved to no address")
        for address in addresses:
            self._check_address(host, address)
        return GuardedUrl(url=url, scheme=scheme, host=host, port=port, ip=addresses[0])

    def _check_address(self, host: str, address: str) -> None:
        try:
            ip = ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id (fe80::1%eth0)
        except ValueError:
            log.warning("SSRF guard: host %r resolved to %r, not an IP address", host, address)
            raise ForbiddenUrlError(
                f"refused: the host {host!r} does not resolve to an IP address"
            ) from None
        reason = forbidden_reason(ip)
        if reason is None or self._is_allowed(ip):
            return
        if _is_literal(host, ip):  # the submitter wrote the address: naming it tells nothing
            suffix = 32 if ip.version == 4 else 128
            raise ForbiddenUrlError(
                f"refused: {host} is a {reason} address; to allow it, add its network to "
                f"LAMPYRIS_ALLOW_PRIVATE_URLS (comma-separated, e.g. "
                f"LAMPYRIS_ALLOW_PRIVATE_URLS={ip}/{suffix})"
            )
        log.warning("SSRF guard: host %r resolves to %s, a %s address: refused", host, ip, reason)
        raise ForbiddenUrlError(
            f"refused: the host {host!r} resolves to a {reason} address; to allow it, add that "
            "network to LAMPYRIS_ALLOW_PRIVATE_URLS (comma-separated, e.g. "
            "10.0.0.0/8,127.0.0.0/8)"
        )

    def _is_allowed(self, ip: IpAddress) -> bool:
        candidates: list[IpAddress] = [ip]
        if isinstance(ip, IPv6Address) and (embedded := _embedded_ipv4(ip)) is not None:
            candidates.append(embedded)
        return any(
            candidate.version == network.version and candidate in network
            for candidate in candidates
            for network in self._settings.allow_private_urls
        )


def _is_literal(host: str, ip: IpAddress) -> bool:
    """Whether the URL's host is the address itself, written the usual way (``10.0.0.1``,
    ``[::1]``), not a name or an odd literal (``2130706433``) that only resolving decodes."""
    try:
        return ip_address(host.strip("[]").split("%", 1)[0]) == ip
    except ValueError:
        return False
