"""The privacy rules ClickHouse applies inside the sink's insert agree with `privacy.py`."""

from __future__ import annotations

import re
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from connectors.clickhouse.batches import Batch
from schemas.codec import encode
from streams.base.logs import mask
from tests import factories as f
from tests.integration.clickhouse.events import PSEUDONYMS, WRITER

pytestmark = pytest.mark.integration

CHAT_IDS = [
    "5511987654321@c.us",
    "5511987654321@s.whatsapp.net",
    "+5511987654321",
    "120363025246125888@g.us",  # a group: no phone, the pseudonym of the whole id
    "98765432109876@lid",
    "abc",
]
DIAGNOSTICS = [
    "phone +5511987654321 refused",
    "cpf 529.982.247-25 invalid",
    "cnpj 11.222.333/0001-81 invalid",
    "5511987654321",
    "no number here, only 12345",
    "call (11) 98765-4321 or +55 (21) 3333-4444",
    # alphanumeric CNPJs (since July 2026), in either case, one right after another
    "cnpj 12.ABC.345/01DE-35 invalid",
    "12abc34501de35",
    "docs 12ABC34501DE35 A1B2C3D4E5F668;1234567890AB04 12ABC34501DE35",
    "cnpj 11.222.333/0001-81, cpf 529.982.247-25",
    # not CNPJs: too long, inside a longer word, after a +, a letter for a check digit
    "12ABC34501DE355 x12ABC34501DE35 +12ABC34501DE35 12ABC34501DE3A",
]


def _insert(client: Client, database: str, topic: str, values: list[bytes]) -> None:
    rows = [WRITER.frame(offset, value) for offset, value in enumerate(values)]
    assert all(row is not None for row in rows)
    WRITER.insert(client, database, Batch(topic, 0, 0, len(rows), [r for r in rows if r]))


def _with(event: Any, **fields: object) -> bytes:
    representation = event.to_representation()
    representation.update(fields)
    return encode(representation)


def test_pseudonyms_computed_in_clickhouse_equal_the_pseudonymizer(
    client: Client, migrated: str
) -> None:
    base = f.delivery_status_changed("acme", ack=2, message_id="m1")
    values = []
    for chat in CHAT_IDS:
        header = {**base.header.to_representation(), "correlation_id": chat}
        values.append(_with(base, chat_id=chat, waha_message_id=f"true_{chat}_1", header=header))
    _insert(client, migrated, "cobranca.conversations", values)
    got = client.query(
        f"SELECT chat_id, waha_message_id, correlation_id FROM {migrated}.raw_conversations "
        "ORDER BY kafka_offset"
    ).result_rows
    assert [tuple(row) for row in got] == [
        (
            PSEUDONYMS.phone(chat),
            PSEUDONYMS.pseudonym(f"true_{chat}_1"),
            PSEUDONYMS.correlation(chat),
        )
        for chat in CHAT_IDS
    ]


def test_diagnostics_are_masked_like_the_logs(client: Client, migrated: str) -> None:
    base = f.dead_lettered("acme")
    _insert(
        client,
        migrated,
        "cobranca.dead-letters",
        [_with(base, error=text) for text in DIAGNOSTICS],
    )
    got = [
        str(row[0])
        for row in client.query(
            f"SELECT error FROM {migrated}.raw_dead_letters ORDER BY kafka_offset"
        ).result_rows
    ]
    assert len(got) == len(DIAGNOSTICS)
    for masked in got:
        # No run of 10 digits survives, whatever the separators were.
        assert not re.search(r"\d{10}", re.sub(r"[\s.()/+-]", "", masked)), masked
    # The unformatted and the plainly formatted forms read exactly as in the logs.
    assert got[:5] == [mask(text) for text in DIAGNOSTICS[:5]]
    assert got[5] == "call (11987****21 or 55213****44"
    assert got[6:] == [mask(text) for text in DIAGNOSTICS[6:]]
    assert got[6:9] == [
        "cnpj 12ABC****35 invalid",
        "12abc****35",
        "docs 12ABC****35 A1B2C****68;12345****04 12ABC****35",
    ]
    assert got[10] == DIAGNOSTICS[10]


def test_a_record_clickhouse_cannot_decode_is_left_out_and_the_rest_inserted_once(
    client: Client, migrated: str
) -> None:
    good = encode(f.send_deferred("acme", "r1").to_representation())
    corrupt = good[:5] + b"\x99\x99\x99"  # a pinned schema id, then no valid body
    values = [good, corrupt, encode(f.send_deferred("acme", "r2").to_representation())]
    for _ in range(2):  # the retry of the same range changes nothing
        _insert(client, migrated, "cobranca.sends.requested", values)
    got = client.query(
        f"SELECT kafka_offset, request_id FROM {migrated}.raw_sends_requested ORDER BY kafka_offset"
    ).result_rows
    assert [tuple(row) for row in got] == [(0, "r1"), (2, "r2")]


def test_a_debtors_name_reaches_clickhouse_only_as_keyed_piece_hashes(
    client: Client, migrated: str
) -> None:
    from connectors.clickhouse.privacy import DEV_PSEUDONYM_KEY
    from connectors.clickhouse.raw_tables import name_gram_keys, name_grams_sql
    from streams.domain.debtors import normalize_name

    base = f.client_imported("acme", 1, phone="+5511987654321")
    _insert(client, migrated, "cobranca.clients", [_with(base, name="José  da CONCEIÇÃO")])
    row = client.query(
        f"SELECT name_grams, phone_last4, phone_e164, document, payload FROM {migrated}.raw_clients"
    ).result_rows[0]
    grams, last4, phone, document, payload = row
    assert last4 == "4321" and phone == PSEUDONYMS.phone("+5511987654321")
    assert document == PSEUDONYMS.pseudonym("52998224725")
    assert "jos" not in payload.lower() and "CONCEI" not in payload and "name" not in payload
    # As many distinct pieces as the normalized name has; hashes, not the pieces.
    pieces = {normalize_name("José  da CONCEIÇÃO")[i : i + 3] for i in range(15)}
    assert len(grams) == len(pieces) and all(isinstance(g, int) for g in grams)
    k0, k1 = name_gram_keys(DEV_PSEUDONYM_KEY)
    keys = {"name_key0": k0, "name_key1": k1}

    def found(text: str) -> int:
        sql = f"SELECT count() FROM {migrated}.debtor_search WHERE hasAll(name_grams, "
        sql += f"{name_grams_sql('{q:String}')})"
        return int(
            client.query(sql, parameters={**keys, "q": normalize_name(text)}).result_rows[0][0]
        )

    assert found("conceição") == found("DA CONCEI") == 1
    assert found("souza") == 0
    other = name_gram_keys(b"another key")
    sql = f"SELECT count() FROM {migrated}.debtor_search WHERE hasAll(name_grams, "
    sql += f"{name_grams_sql('{q:String}')})"
    params = {"name_key0": other[0], "name_key1": other[1], "q": "conceicao"}
    assert client.query(sql, parameters=params).result_rows[0][0] == 0  # keyed
