"""Which callback URLs production mode accepts, and how a checked address is connected to."""

from __future__ import annotations

import pytest

from service.callbacks import CallbackUrlError, Resolver, check_url, is_public, parse, pinned


def resolver_double(*addresses: str) -> Resolver:
    """A stand-in for DNS (no resolver we control runs here): every name resolves to `addresses`."""

    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://hooks.example.com/x", "must be https"),
        ("ftp://hooks.example.com/x", r"absolute http\(s\) URL"),
        ("https:///x", r"absolute http\(s\) URL"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("https://hooks.example.com:99999/x", "invalid port"),
    ],
)
async def test_production_refuses_urls_that_are_not_plain_https(url: str, problem: str) -> None:
    with pytest.raises(CallbackUrlError, match=problem):
        await check_url(url, production=True, resolver=resolver_double("93.184.216.34"))


@pytest.mark.parametrize(
    "inside",
    [
        "127.0.0.1",  # loopback
        "::1",
        "::ffff:127.0.0.1",  # loopback behind an IPv4-mapped IPv6 address
        "10.1.2.3",  # private
        "172.16.0.9",
        "192.168.1.1",
        "fd00:ec2::254",  # AWS metadata over IPv6 (unique local)
        "169.254.169.254",  # link-local: the cloud metadata service
        "100.100.100.200",  # shared address space: Alibaba's metadata service
        "0.0.0.0",
        "224.0.0.1",  # multicast
    ],
)
async def test_production_refuses_a_host_that_resolves_inside(inside: str) -> None:
    assert not is_public(inside)
    # One inside address among public ones is enough to refuse: the connection could go to any.
    with pytest.raises(CallbackUrlError, match="public addresses only"):
        await check_url(
            "https://hooks.example.com/x", production=True, resolver=resolver_double("93.184.216.34", inside)
        )


async def test_production_accepts_a_public_https_host_and_development_a_local_one() -> None:
    await check_url("https://hooks.example.com/x", production=True, resolver=resolver_double("93.184.216.34"))
    await check_url("http://127.0.0.1:9/x", production=False, resolver=resolver_double("127.0.0.1"))
    with pytest.raises(CallbackUrlError, match="does not resolve"):
        await check_url("https://hooks.example.com/x", production=True, resolver=resolver_double())
    # Development looks nothing up: any name will do there.
    await check_url("https://hooks.example.com/x", production=False, resolver=resolver_double())


def test_the_connection_goes_to_the_checked_address_with_the_name_kept_for_host_and_tls() -> None:
    https = pinned(parse("https://hooks.example.com/cb?x=1", True), "93.184.216.34")
    assert https.url == "https://93.184.216.34:443/cb?x=1"
    assert https.host_header == "hooks.example.com" and https.sni_hostname == "hooks.example.com"
    v6 = pinned(parse("http://hooks.example.com:8080", False), "2606:2800:220:1::1")
    assert v6.url == "http://[2606:2800:220:1::1]:8080/" and v6.host_header == "hooks.example.com:8080"
    assert v6.sni_hostname is None
