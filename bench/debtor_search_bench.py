"""Debtor search figures: one tenant's ~1M imported debtors (chDB, in-process).

Run on demand (not a test):

    ~/.cache/cobranca/venv/bin/python bench/debtor_search_bench.py [--rows 1000000]

Migrates a fresh database (0001-0015), generates `--rows` ClientImported rows of one tenant
(plus as many of another tenant) into raw_clients with INSERT ... SELECT (its view fills
debtor_search), computing
`name_grams` and `phone_last4` with the sink's own SQL (`raw_tables.name_grams_sql`), then times
`connectors.clickhouse.debtors.search_candidates` (median of 5 runs, after one warm-up) for a
rare name piece, a common one, a phone's last digits, a whole phone and a CPF, and a debtor's
timeline query. The timing is ClickHouse's: reading the page's records back from Kafka is not
in it (one fetch per partition the page touches).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIRST = ["maria", "jose", "ana", "joao", "antonio", "francisca", "carlos", "paulo", "lucas",
         "luiz", "marcos", "luis", "gabriel", "rafael", "daniel", "marcelo", "bruno", "eduardo",
         "felipe", "raimundo", "rodrigo", "manoel", "mateus", "andre", "fernando", "fabio",
         "leonardo", "gustavo", "guilherme", "leandro", "tiago", "anderson", "ricardo",
         "marcio", "jorge", "sebastiao", "alexandre", "roberto", "edson", "diego"]  # fmt: skip
LAST = ["silva", "santos", "oliveira", "souza", "rodrigues", "ferreira", "alves", "pereira",
        "lima", "gomes", "costa", "ribeiro", "martins", "carvalho", "almeida", "lopes", "soares",
        "fernandes", "vieira", "barbosa", "rocha", "dias", "nascimento", "andrade", "moreira",
        "nunes", "marques", "machado", "mendes", "freitas", "cardoso", "ramos", "goncalves",
        "santana", "teixeira", "conceicao", "araujo", "cavalcanti", "bezerra",
        "quaresma"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", help="a folder to keep the database in (reused if there)")
    args = parser.parse_args()

    import clickhouse_connect

    from connectors.clickhouse.migrations import apply_migrations

    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or temporary
        reused = Path(f"{folder}/db").exists()
        client = clickhouse_connect.get_client(interface="chdb", path=f"{folder}/db")
        apply_migrations(client, "bench")
        n = args.rows // 2 + 12345
        if not reused:
            _generate(client, args.rows, n)
        _measure(client, n)
        client.close()


def _generate(client: Any, rows: int, n: int) -> None:
    from connectors.clickhouse.privacy import DEV_PSEUDONYM_KEY, Pseudonymizer
    from connectors.clickhouse.raw_tables import name_gram_keys, name_grams_sql

    k0, k1 = name_gram_keys(DEV_PSEUDONYM_KEY)
    first = "[" + ",".join(f"'{x}'" for x in FIRST) + "]"
    last = "[" + ",".join(f"'{x}'" for x in LAST) + "]"
    # Names from 40 x 40 x 40 pieces (1 in 97 also 'quaresmão'); phones +55119 and 8 digits of
    # the row; CPF-like documents; imports 7 s apart.
    name = (
        f"concat({first}[number % 40 + 1], ' ', {last}[intDiv(number, 40) % 40 + 1], ' ', "
        f"{last}[intDiv(number, 1600) % 40 + 1], if(number % 97 = 0, ' quaresmão', ''))"
    )
    phone = "concat('+55119', leftPad(toString(number), 8, '0'))"
    pseudonym = f"concat('p:', lower(hex(SHA256(concat('k', {phone})))))"
    started = time.perf_counter()
    for tenant in ("acme", "other"):
        client.command(
            f"""
            INSERT INTO bench.raw_clients
              (kafka_partition, kafka_offset, schema_id, event_id, event_type, schema_version,
               tenant_id, occurred_at, correlation_id, source, import_id, `row`, client_id,
               phone_e164, document, document_kind, name_grams, phone_last4,
               amount_centavos, due_date, payload)
            SELECT number % 3, number, 1, toString(generateUUIDv4()), 'ClientImported', 2,
                   '{tenant}',
                   toDateTime64('2026-09-01 12:00:00', 3, 'UTC') + toIntervalSecond(number * 7),
                   'imp', 'bench', concat('imp-', toString(intDiv(number, 50000))), number,
                   concat('c', leftPad(toString(number), 8, '0')), {pseudonym},
                   concat('p:', lower(hex(SHA256(toString(number))))), 'CPF',
                   {name_grams_sql(name)}, right({phone}, 4),
                   10000 + number % 100000, toDate('2026-12-05') + number % 60, '{{}}'
            FROM numbers({rows})
            """,
            parameters={"name_key0": k0, "name_key1": k1},
        )
    print(f"generated 2 x {rows:,} rows in {time.perf_counter() - started:.1f} s")
    for table in ("raw_clients", "debtor_search"):
        client.command(f"OPTIMIZE TABLE bench.{table} FINAL")
    # The row the whole-number searches look for.
    pseudonyms = Pseudonymizer(DEV_PSEUDONYM_KEY)
    for table in ("raw_clients", "debtor_search"):
        client.command(
            f"ALTER TABLE bench.{table} UPDATE phone_e164 = {{p:String}}, "
            "document = {d:String} WHERE tenant_id = 'acme' AND client_id = {c:String} "
            "SETTINGS mutations_sync = 1",
            parameters={
                "p": pseudonyms.phone(f"+55119{n:08d}"),
                "d": pseudonyms.pseudonym("52998224725"),
                "c": f"c{n:08d}",
            },
        )


def _timed(run: Any) -> tuple[float, float, Any]:
    """Median and max ms of 5 runs after a warm-up, and the last answer."""
    runs, answer = [], None
    for i in range(6):
        t0 = time.perf_counter()
        answer = run()
        if i:
            runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs), max(runs), answer


def _measure(client: Any, n: int) -> None:
    from connectors.clickhouse.debtors import client_events, search_candidates
    from connectors.clickhouse.privacy import DEV_PSEUDONYM_KEY
    from streams.domain.debtors import parse_debtor_query

    phone = f"+55119{n:08d}"
    cases = {
        "name, rare piece ('quaresmão')": "Quaresmão",
        "name, two common pieces ('maria silva')": "maria silva",
        "name, first and last ('cavalcanti bezerra')": "cavalcanti bezerra",
        "name, no one (common pieces, worst case)": "silva quaresmão andrade",
        "phone, last 4 digits": phone[-4:],
        "phone, whole ((11) 9xxxx-xxxx)": f"({phone[3:5]}) {phone[5:10]}-{phone[10:]}",
        "CPF": "529.982.247-25",
    }
    print(f"{'query':45} {'median ms':>10} {'max ms':>9} {'found':>6}")
    for label, text in cases.items():
        query = parse_debtor_query(text)
        median, most, (found, _) = _timed(
            lambda q=query: search_candidates(client, "bench", "acme", q, DEV_PSEUDONYM_KEY)
        )
        print(f"{label:45} {median:10.1f} {most:9.1f} {len(found):6}")
    median, most, events = _timed(lambda: client_events(client, "bench", "acme", f"c{n:08d}"))
    print(f"{'timeline (client_events)':45} {median:10.1f} {most:9.1f} {len(events or []):6}")


if __name__ == "__main__":
    main()
