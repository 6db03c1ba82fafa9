"""The SSRF guard: what is refused by default, what an allow-list lets through, and pinning."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from lampyris.errors import ForbiddenUrlError
from lampyris.storage import StorageSettings, UrlGuard


def guard(allow: str = "", resolver: dict[str, Sequence[str]] | None = None) -> UrlGuard:
    settings = StorageSettings(allow_private_urls=allow)  # type: ignore[arg-type]
    if resolver is None:
        return UrlGuard(settings)
    return UrlGuard(settings, resolver=lambda host, port: resolver.get(host, [host]))


PRIVATE_URLS = [
    ("http://127.0.0.1/a", "127.0.0.0/8"),
    ("http://localhost:8080/a", "127.0.0.0/8,::1/128"),
    ("http://10.1.2.3/a", "10.0.0.0/8"),
    ("http://172.16.5.4/a", "172.16.0.0/12"),
    ("http://192.168.1.10/a", "192.168.0.0/16"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254/32"),
    ("http://[::1]/a", "::1/128"),
    ("http://[::ffff:127.0.0.1]/a", "127.0.0.0/8"),
    ("http://[fd00::1]/a", "fc00::/7"),
    ("http://[fe80::1]/a", "fe80::/10"),
    ("http://0.0.0.0/a", "0.0.0.0/32"),
    ("http://100.64.0.1/a", "100.64.0.0/10"),
    ("http://224.0.0.1/a", "224.0.0.0/4"),
    ("http://2130706433/", "127.0.0.1"),  # decimal 127.0.0.1
    ("http://0x7f.1/", "127.0.0.1"),  # hex/short form of 127.0.0.1
    ("http://017700000001/", "127.0.0.1"),  # octal 127.0.0.1
    ("http://[64:ff9b::7f00:1]/", "127.0.0.0/8"),  # NAT64 form of 127.0.0.1
    ("http://[2002:a9fe:a9fe::]/", "169.254.0.0/16"),  # 6to4 form of 169.254.169.254
]


@pytest.mark.parametrize(("url", "network"), PRIVATE_URLS)
def test_private_addresses_are_refused_by_default(url: str, network: str) -> None:
    with pytest.raises(ForbiddenUrlError, match="LAMPYRIS_ALLOW_PRIVATE_URLS"):
        guard().check(url)


@pytest.mark.parametrize(("url", "network"), PRIVATE_URLS)
def test_private_addresses_pass_when_their_network_is_allowed(url: str, network: str) -> None:
    target = guard(network).check(url)
    assert target.url == url
    assert target.ip  # pinned


def test_allowing_loopback_does_not_allow_the_metadata_service() -> None:
    with pytest.raises(ForbiddenUrlError, match=r"169\.254\.169\.254"):
        guard("127.0.0.0/8,10.0.0.0/8").check("http://169.254.169.254/latest/meta-data/")


def test_public_literal_ip_passes_without_a_connection() -> None:
    target = guard().check("https://93.184.216.34/object.png?sig=1")
    assert (target.scheme, target.host, target.port, target.ip) == (
        "https",
        "93.184.216.34",
        443,
        "93.184.216.34",
    )


@pytest.mark.parametrize(
    "url", ["ftp://93.184.216.34/a.png", "file:///etc/passwd", "gopher://93.184.216.34/"]
)
def test_schemes_outside_the_allow_list_are_refused(url: str) -> None:
    with pytest.raises(ForbiddenUrlError, match="scheme"):
        guard().check(url)


def test_scheme_allow_list_is_configurable() -> None:
    settings = StorageSettings(allowed_schemes="https")  # type: ignore[arg-type]
    with pytest.raises(ForbiddenUrlError, match="'http' is not allowed"):
        UrlGuard(settings).check("http://93.184.216.34/")


@pytest.mark.parametrize(
    "url",
    ["http://user:pw@93.184.216.34/", "http://evil.example\\@127.0.0.1/", "http:///nohost"],
)
def test_userinfo_and_missing_hosts_are_refused(url: str) -> None:
    with pytest.raises(ForbiddenUrlError):
        guard("127.0.0.0/8").check(url)


def test_a_host_with_any_private_address_is_refused() -> None:
    """One public and one private answer: the private one could be the one connected to."""
    with pytest.raises(ForbiddenUrlError, match=r"'bucket\.example\.test' resolves to a private"):
        guard(resolver={"bucket.example.test": ["93.184.216.34", "10.0.0.7"]}).check(
            "https://bucket.example.test/a.png"
        )


@pytest.mark.parametrize(
    ("url", "answers", "rule"),
    [
        ("https://db.internal.test/a.png", ["10.20.30.40"], "private"),
        ("http://admin.internal.test:8080/", ["127.0.0.5"], "loopback"),
        ("http://metadata.internal.test/", ["169.254.169.254"], "link-local"),
        ("http://v6.internal.test/", ["fd12:3456::7"], "private"),
        ("http://2130706434/", ["127.0.0.2"], "loopback"),  # an odd literal only DNS decodes
    ],
)
def test_a_refused_name_is_told_the_rule_not_the_address(
    url: str, answers: list[str], rule: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Naming the address would tell the submitter how internal names resolve."""
    host = url.split("/")[2].split(":")[0]
    with pytest.raises(ForbiddenUrlError) as caught:
        guard(resolver={host: answers}).check(url)
    message = str(caught.value)
    assert message.startswith(f"refused: the host '{host}' resolves to a {rule} address")
    assert "LAMPYRIS_ALLOW_PRIVATE_URLS" in message
    assert answers[0] not in message
    assert answers[0] in caplog.text  # the operator's log has it


def test_a_name_resolving_to_something_odd_is_refused_without_echoing_it() -> None:
    with pytest.raises(ForbiddenUrlError, match="does not resolve to an IP") as caught:
        guard(resolver={"odd.test": ["not-an-address"]}).check("http://odd.test/")
    assert "not-an-address" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [("http://10.1.2.3/a", "10.1.2.3"), ("http://[fe80::1]/a", "fe80::1")],
)
def test_a_refused_literal_address_is_named_with_an_allow_list_example(
    url: str, shown: str
) -> None:
    with pytest.raises(ForbiddenUrlError) as caught:
        guard().check(url)
    assert str(caught.value).startswith(f"refused: {shown} is a ")
    assert f"LAMPYRIS_ALLOW_PRIVATE_URLS={shown}/" in str(caught.value)


def test_the_host_is_resolved_once_and_the_first_address_pinned() -> None:
    calls: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return ["93.184.216.34", "93.184.216.35"]

    settings = StorageSettings()
    target = UrlGuard(settings, resolver=resolver).check("https://cdn.example.test:8443/x?a=b")
    assert calls == [("cdn.example.test", 8443)]
    assert (target.host, target.port, target.ip) == ("cdn.example.test", 8443, "93.184.216.34")


def test_refusal_names_the_host_but_never_the_query_string() -> None:
    url = "http://169.254.169.254/latest?X-Amz-Signature=SECRET&token=SECRET"
    with pytest.raises(ForbiddenUrlError) as caught:
        guard().check(url)
    message = str(caught.value)
    assert "169.254.169.254" in message
    assert "link-local" in message
    assert "SECRET" not in message


def test_international_host_names_are_checked_in_their_dns_form() -> None:
    seen: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        seen.append(host)
        return ["93.184.216.34"]

    target = UrlGuard(StorageSettings(), resolver=resolver).check("https://münchen.example/a")
    assert seen == ["xn--mnchen-3ya.example"]
    assert target.host == "xn--mnchen-3ya.example"
