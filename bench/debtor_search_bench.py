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
    args = parser.parse_args()

    import clickhouse_connect

    from connectors.clickhouse.debtors import client_events, search_candidates
    from connectors.clickhouse.migrations import apply_migrations
    from connectors.clickhouse.privacy import DEV_PSEUDONYM_KEY, Pseudonymizer
    from connectors.clickhouse.raw_tables import name_gram_keys, name_grams_sql
    from streams.domain.debtors import parse_debtor_query

    key = DEV_PSEUDONYM_KEY
    with tempfile.TemporaryDirectory() as folder:
        client = clickhouse_connect.get_client(interface="chdb", path=f"{folder}/db")
        apply_migrations(client, "bench")
        k0, k1 = name_gram_keys(key)
        first = "[" + ",".join(f"'{n}'" for n in FIRST) + "]"
        last = "[" + ",".join(f"'{n}'" for n in LAST) + "]"
        # Names from 40 x 40 x 40 pieces; phones +5511 9 + 8 digits of the row; CPF-like
        # documents; 3 months of imports.
        name = (
            f"concat({first}[number % 40 + 1], ' ', {last}[intDiv(number, 40) % 40 + 1], ' ', "
            f"{last}[intDiv(number, 1600) % 40 + 1], if(number % 97 = 0, ' quaresmão', ''))"
        )
        phone = "concat('+55119', leftPad(toString(number), 8, '0'))"
        pseudonym = "concat('p:', lower(hex(SHA256(concat('k', {phone})))))"
        started = time.perf_counter()
        for tenant, rows in (("acme", args.rows), ("other", args.rows)):
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
                       concat('c', leftPad(toString(number), 8, '0')),
                       {pseudonym.format(phone=phone)},
                       concat('p:', lower(hex(SHA256(toString(number))))), 'CPF',
                       {name_grams_sql(name)}, right({phone}, 4),
                       10000 + number % 100000, toDate('2026-12-05') + number % 60, '{{}}'
                FROM numbers({rows})
                """,
                parameters={"name_key0": k0, "name_key1": k1},
            )
        print(f"generated 2 x {args.rows:,} rows in {time.perf_counter() - started:.1f} s")
        for table in ("raw_clients", "debtor_search"):
            client.command(f"OPTIMIZE TABLE bench.{table} FINAL")

        # The row whose phone and document the number searches look for.
        n = args.rows // 2 + 12345
        target_phone = f"+55119{n:08d}"
        pseudonyms = Pseudonymizer(key)
        for table in ("raw_clients", "debtor_search"):
            client.command(
                f"ALTER TABLE bench.{table} UPDATE phone_e164 = {{p:String}}, "
                "document = {d:String} WHERE tenant_id = 'acme' AND client_id = {c:String} "
                "SETTINGS mutations_sync = 1",
                parameters={
                    "p": pseudonyms.phone(target_phone),
                    "d": pseudonyms.pseudonym("52998224725"),
                    "c": f"c{n:08d}",
                },
            )

        cases = {
            "name, rare piece ('quaresmão')": "Quaresmão",
            "name, two common pieces ('maria silva')": "maria silva",
            "name, first and last ('cavalcanti bezerra')": "cavalcanti bezerra",
            "phone, last 4 digits": target_phone[-4:],
            "phone, whole ((11) 9xxxx-xxxx)": f"({target_phone[3:5]}) {target_phone[5:10]}-"
            f"{target_phone[10:]}",
            "CPF": "529.982.247-25",
        }
        print(f"{'query':45} {'median ms':>10} {'p max ms':>9} {'found':>6}")
        for label, text in cases.items():
            query = parse_debtor_query(text)
            runs, found = [], 0
            for i in range(6):
                t0 = time.perf_counter()
                found = len(search_candidates(client, "bench", "acme", query, key, limit=20)[0])
                if i:
                    runs.append((time.perf_counter() - t0) * 1000)
            print(f"{label:45} {statistics.median(runs):10.1f} {max(runs):9.1f} {found:6}")
        runs = []
        for i in range(6):
            t0 = time.perf_counter()
            client_events(client, "bench", "acme", f"c{n:08d}")
            if i:
                runs.append((time.perf_counter() - t0) * 1000)
        print(f"{'timeline (client_events)':45} {statistics.median(runs):10.1f} {max(runs):9.1f}")
        client.close()


if __name__ == "__main__":
    main()
