from __future__ import annotations

import pytest

from connectors.clickhouse import (
    HttpTarget,
    InvalidClickHouseUrl,
    deduplicated_insert_settings,
    parse_clickhouse_url,
)

NO_ENV: dict[str, str] = {}


def test_defaults_for_plain_http() -> None:
    assert parse_clickhouse_url("http://clickhouse", NO_ENV) == HttpTarget(
        scheme="http", host="clickhouse", port=8123, username="default", password=""
    )


def test_https_defaults_to_8443_and_keeps_an_explicit_port() -> None:
    assert parse_clickhouse_url("https://ch.example.com", NO_ENV).port == 8443
    assert parse_clickhouse_url("HTTPS://ch.example.com:9443/", NO_ENV).port == 9443


def test_credentials_from_the_url_are_percent_decoded() -> None:
    target = parse_clickhouse_url("http://ana%40ops:p%3Ass%2Fw@127.0.0.1:18123", NO_ENV)
    assert (target.username, target.password) == ("ana@ops", "p:ss/w")
    assert (target.host, target.port) == ("127.0.0.1", 18123)


def test_credentials_missing_from_the_url_come_from_the_environment() -> None:
    env = {"CLICKHOUSE_USER": "writer", "CLICKHOUSE_PASSWORD": "from-env"}
    target = parse_clickhouse_url("http://ch:8123", env)
    assert (target.username, target.password) == ("writer", "from-env")


def test_the_url_wins_over_the_environment() -> None:
    env = {"CLICKHOUSE_USER": "writer", "CLICKHOUSE_PASSWORD": "from-env"}
    target = parse_clickhouse_url("http://reader:from-url@ch:8123", env)
    assert (target.username, target.password) == ("reader", "from-url")


def test_ipv6_host() -> None:
    target = parse_clickhouse_url("http://[::1]:8123", NO_ENV)
    assert target.host == "::1"
    assert target.display_url == "http://default@[::1]:8123"


def test_the_password_never_shows_in_repr_or_display_url() -> None:
    target = parse_clickhouse_url("http://ana:hunter2@ch:8123", NO_ENV)
    assert "hunter2" not in repr(target)
    assert target.display_url == "http://ana:***@ch:8123"


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("clickhouse://ch:9000", "use http://"),
        ("tcp://ch:9000", "use http://"),
        ("ch:8123", "use http://"),
        ("http://", "no host"),
        ("http://ch:8123/cobranca", "CLICKHOUSE_DATABASE"),
        ("http://ch:8123/?database=x", "CLICKHOUSE_DATABASE"),
        ("http://ch:port", "not a valid URL"),
    ],
)
def test_unusable_urls_are_refused_with_a_hint(url: str, hint: str) -> None:
    with pytest.raises(InvalidClickHouseUrl, match=hint):
        parse_clickhouse_url(url, NO_ENV)


def test_a_refused_url_does_not_leak_its_password() -> None:
    with pytest.raises(InvalidClickHouseUrl) as caught:
        parse_clickhouse_url("tcp://ana:hunter2@ch:9000", NO_ENV)
    assert "hunter2" not in str(caught.value)
    assert "ana:***@ch" in str(caught.value)


def test_deduplicated_insert_settings_carry_the_token_to_table_and_views() -> None:
    settings = deduplicated_insert_settings("cobranca.sends[3]@1200-1699")
    assert settings["insert_deduplication_token"] == "cobranca.sends[3]@1200-1699"
    assert settings["deduplicate_blocks_in_dependent_materialized_views"] == "1"
    with pytest.raises(ValueError, match="empty"):
        deduplicated_insert_settings("")
