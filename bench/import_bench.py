"""Import throughput on a real broker: a generated 1,000,000-row CSV, in rows/s and MB/s.

Run on demand (not a test):

    ~/.cache/cobranca/venv/bin/python bench/import_bench.py            # 1,000,000 rows
    ~/.cache/cobranca/venv/bin/python bench/import_bench.py --rows 200000 --profile

It writes a Brazilian-spreadsheet CSV (``;``, ``1.234,56``, ``DD/MM/YYYY``, about 1% bad rows)
into a temporary directory, starts a local Kafka broker (infra/kafka) on free loopback ports in
that directory, and measures, each phase in a fresh child process so that its peak RSS is its
own:

- ``parse``: the streaming CSV reader alone;
- ``dry``: parse + validate + build the event records (the ``--dry-run`` path, no Avro, no Kafka);
- ``ceiling``: the bare ceiling of issue 3: parse + Avro-encode + produce (acks=all,
  idempotent) with the import's own reader, record writer and sender, and no validation;
- ``full``: the real import into Kafka (import_rows + send_import through EventProducer);
- ``xlsx-dry`` and ``xlsx``: the ``dry`` and ``full`` paths over the same rows as an .xlsx
  workbook (``clientes.xlsx``, written when one of them is asked for: phone and CPF as numbers,
  the amount as a number, the due date as a date cell, as a collection team types them), and
  the ratio of each to its CSV phase when both ran.

It prints one line per phase (rows/s and MB/s of wall time, and rows per CPU-second of the
importer's own process: on a shared machine the second moves less with the load), the ratio
full/ceiling, and stops the broker by its PID.
``--profile`` adds a cProfile of the dry path plus encoding (no broker noise) for a tenth of the
rows: where the time of a row goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if "--src" in sys.argv:  # a phase against another source tree (the --baseline checkout)
    sys.path.insert(0, sys.argv[sys.argv.index("--src") + 1])

HEADER = "codigo;nome;celular;cpf;valor;vencimento;fatura;descricao;uf"
DDDS = ("11", "21", "31", "41", "51", "61", "71", "81", "85", "91", "47", "19")
NAMES = ("Maria Aparecida Souza", "João Pedro Oliveira", "Ana Beatriz Lima", "Luiz Henrique Costa")


def _cpf(base: int) -> str:
    digits = [int(c) for c in f"{base:09d}"]
    for size in (9, 10):
        total = sum(d * w for d, w in zip(digits, range(size + 1, 1, -1), strict=False))
        digits.append((total * 10) % 11 % 10)
    return "{}{}{}.{}{}{}.{}{}{}-{}{}".format(*digits)


def generate(path: Path, rows: int) -> int:
    """Write the CSV; every 97th row has a bad phone and every 89th a bad CPF."""
    cpfs = [_cpf(123456780 + 7919 * n) for n in range(101)]
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\r\n")
        for n in range(rows):
            ddd = DDDS[n % len(DDDS)]
            phone = f"({ddd}) 9{n % 10000:04d}-{n // 10000 % 10000:04d}"
            if n % 97 == 0:
                phone = f"(20) 9{n % 10000:04d}-0000"
            cpf = cpfs[n % len(cpfs)]
            if n % 89 == 0:
                cpf = cpf[:-1] + str((int(cpf[-1]) + 1) % 10)
            reais, cents = divmod(15_000 + 7_919 * n % 1_000_000, 100)
            amount = f"{reais:,}".replace(",", ".") + f",{cents:02d}"
            due = f"{1 + n % 28:02d}/{1 + n % 12:02d}/2026"
            out.write(
                f"cli-{n:07d};{NAMES[n % len(NAMES)]};{phone};{cpf};{amount};{due};"
                f"NF-{n};Mensalidade {1 + n % 12:02d}/2026;SP\r\n"
            )
    return path.stat().st_size


def generate_xlsx(path: Path, rows: int) -> int:
    """The rows of `generate` as a workbook of typed cells (see the module docstring)."""
    from datetime import date

    from tests.unit.imports.workbooks import xlsx_bytes

    cpfs = [int("".join(filter(str.isdigit, _cpf(123456780 + 7919 * n)))) for n in range(101)]

    def cells() -> Any:
        yield HEADER.split(";")
        for n in range(rows):
            phone = int(f"{DDDS[n % len(DDDS)]}9{n % 10000:04d}{n // 10000 % 10000:04d}")
            if n % 97 == 0:
                phone = int(f"209{n % 10000:04d}0000")
            cpf = cpfs[n % len(cpfs)]
            if n % 89 == 0:
                cpf = cpf - cpf % 10 + (cpf % 10 + 1) % 10
            reais, cents = divmod(15_000 + 7_919 * n % 1_000_000, 100)
            yield (
                f"cli-{n:07d}",
                NAMES[n % len(NAMES)],
                phone,
                cpf,
                float(f"{reais}.{cents:02d}"),
                date(2026, 1 + n % 12, 1 + n % 28),
                f"NF-{n}",
                f"Mensalidade {1 + n % 12:02d}/2026",
                "SP",
            )

    path.write_bytes(xlsx_bytes(cells()))
    return path.stat().st_size


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- phases (each runs in its own process) -------------------------------------------------


def phase_parse(file: Path, bootstrap: str) -> dict[str, Any]:
    from connectors.imports.formats import RowSource

    with file.open("rb") as stream:
        return {"rows": sum(1 for _ in RowSource(stream))}


def phase_dry(file: Path, bootstrap: str) -> dict[str, Any]:
    from connectors.imports.importer import dry_run, import_rows

    with file.open("rb") as stream:
        summary = dry_run(import_rows(stream, tenant_id="bench", name=str(file)))
    return {"rows": summary.rows, "accepted": summary.accepted, "rejected": summary.rejected}


def phase_ceiling(file: Path, bootstrap: str) -> dict[str, Any]:
    """The bare ceiling: the import's own reader, record writer and sender, no validation.

    The import's plain CSV blocks (`RowSource.pieces`) are split into cells and written as
    ClientImported records with the same column-wise building blocks the import uses
    (`connectors.imports.columnar`'s line and cell split, event ids and value writer), each
    row's cells unchecked (texts as they are, amount and due date from the row number), and
    sent through `send_records` (the import's batches and pipelining) to the same
    `EventProducer`: the full import minus validation, duplicates and counting."""
    import numpy as np

    from connectors.imports import columnar as c
    from connectors.imports.formats import LineBlock, RowSource
    from connectors.imports.importer import send_records
    from connectors.imports.records import ImportRecords
    from schemas.binary import NULL, epoch_millis, long_bytes
    from schemas.columns import ColumnWriter
    from streams.runtime.producer import EventProducer

    records = ImportRecords("bench", "ceiling")
    count = 0

    def batches() -> Any:
        nonlocal count
        with file.open("rb") as stream:
            for block in RowSource(stream).pieces():
                assert isinstance(block, LineBlock), "the bench's CSV is plain"
                buf = np.frombuffer(block.data, np.uint8)
                starts, ends = c._lines(buf)
                cells = c._cells(buf, starts, ends, ord(block.delimiter), 9, range(9))
                index = np.flatnonzero(cells.ok)
                rows = (index + block.first_row).tolist()
                at = cells.spans
                writer = ColumnWriter(buf, len(index))
                writer.long(np.asarray(rows, np.int64))
                for column in (0, 1, 2, 3):  # client_id, name, phone, document
                    writer.string(at[column][0][index], at[column][1][index])
                writer.constant(long_bytes(0))  # CPF
                writer.long(np.asarray(rows, np.int64))  # amount
                writer.long(np.zeros(len(rows), np.int64))  # due date
                for column in (6, 7, None, 8, None, None, None):  # invoice .. uf .. link
                    if column is None:
                        writer.constant(NULL)
                    else:
                        s, e = at[column][0][index], at[column][1][index]
                        writer.string(s, e, e > s)
                ids = [
                    block.data[s:e] for s, e in zip(at[0][0][index], at[0][1][index], strict=True)
                ]
                millis = epoch_millis(datetime.now(UTC))
                values = c._with_header(records, rows, writer.build(), millis)
                count += len(rows)
                yield [records.client_key + i for i in ids], values

    async def run() -> None:
        async with EventProducer(bootstrap) as producer:
            await send_records(batches(), producer)

    asyncio.run(run())
    return {"rows": count}


def phase_full(file: Path, bootstrap: str) -> dict[str, Any]:
    from connectors.imports.importer import import_rows, send_import
    from streams.runtime.producer import EventProducer

    async def run() -> dict[str, Any]:
        with file.open("rb") as stream:
            job = import_rows(stream, tenant_id="bench", name=str(file))
            async with EventProducer(bootstrap) as producer:
                summary = await send_import(job, producer)
        return {"rows": summary.rows, "accepted": summary.accepted, "rejected": summary.rejected}

    return asyncio.run(run())


PHASES = {
    "parse": phase_parse,
    "dry": phase_dry,
    "ceiling": phase_ceiling,
    "full": phase_full,
    "xlsx-dry": phase_dry,  # given the .xlsx as its file
    "xlsx": phase_full,
}


def run_phase(name: str, file: Path, bootstrap: str) -> None:
    """Child process: run one phase and print its figures as one JSON line."""
    # Modules are loaded before the clock starts: with PYTHONDONTWRITEBYTECODE (this machine's
    # environment) compiling faust, aiokafka and aiohttp takes seconds, the same for every
    # phase, and it is not the import's work.
    import connectors.imports.importer  # noqa: F401
    import streams.runtime.producer  # noqa: F401

    rss_before = _rss_mb()
    began, cpu_began = time.perf_counter(), time.process_time()
    result = PHASES[name.partition("@")[0]](file, bootstrap)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    result.update(
        phase=name,
        seconds=elapsed,
        cpu_seconds=cpu,
        rows_per_cpu_s=result["rows"] / cpu,
        rows_per_s=result["rows"] / elapsed,
        mb_per_s=file.stat().st_size / 1e6 / elapsed,
        rss_start_mb=rss_before,
        peak_rss_mb=_rss_mb(),
    )
    print(json.dumps(result))


def profile(file: Path, rows: int) -> None:
    """Where a row's time goes, without the broker: the dry path (read, validate, encode)."""
    from connectors.imports.importer import import_rows

    sample = file.with_name("profile.csv")
    with file.open("rb") as src, sample.open("wb") as dst:
        for _ in range(rows + 1):
            dst.write(src.readline())
    profiler = cProfile.Profile()
    with sample.open("rb") as stream:
        job = import_rows(stream, tenant_id="bench")
        profiler.enable()
        for _ in job.records():
            pass
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(22)
    print(f"\n--- cProfile, {rows:,} rows: dry path + encode (no Kafka), by own time ---")
    print(out.getvalue())


# --- orchestration -------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--phases", default="parse,dry,ceiling,full")
    parser.add_argument("--profile", action="store_true", help="also profile a tenth of the rows")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout of the repository (e.g. `git archive <commit>` unpacked): adds "
        "the phase full@base, the same import run with that tree's code, and the ratio",
    )
    parser.add_argument("--src", help=argparse.SUPPRESS)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run_phase(args.phase, args.file, args.bootstrap)
        return

    from infra.kafka.broker import LocalBroker
    from streams.base.settings import cache_home
    from streams.runtime.topic_admin import create_topics

    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        work = Path(tmp)
        file = work / "clientes.csv"
        began = time.perf_counter()
        size = generate(file, args.rows)
        print(
            f"generated {args.rows:,} rows, {size / 1e6:.1f} MB in "
            f"{time.perf_counter() - began:.1f}s ({file})"
        )
        phases = args.phases.split(",")
        xlsx = work / "clientes.xlsx"
        if any(name.startswith("xlsx") for name in phases):
            began = time.perf_counter()
            size = generate_xlsx(xlsx, args.rows)
            seconds = time.perf_counter() - began
            print(f"wrote them as {xlsx.name}, {size / 1e6:.1f} MB in {seconds:.1f}s")
        broker = LocalBroker.on_free_ports(cache=cache_home(), home=work / "kafka")
        broker.start(timeout=120)
        pid = broker.pid()
        print(f"broker {broker.bootstrap} (pid {pid}), {args.partitions} partitions per topic")
        results: dict[str, dict[str, Any]] = {}
        try:
            asyncio.run(create_topics(broker.bootstrap, args.partitions))
            if args.baseline and "full@base" not in phases:
                phases.append("full@base")
            for name in phases:
                src = ["--src", str(args.baseline.resolve())] if name.endswith("@base") else []
                # The topic grows between phases; each phase writes its own records.
                done = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--phase",
                        name,
                        "--file",
                        str(xlsx if name.startswith("xlsx") else file),
                        "--bootstrap",
                        broker.bootstrap,
                        *src,
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                    env={**os.environ, "PYTHONHASHSEED": "0"},
                )
                if done.returncode != 0:
                    raise SystemExit(f"phase {name} failed:\n{done.stderr}")
                result = json.loads(done.stdout.strip().splitlines()[-1])
                results[name] = result
                print(
                    f"{name:>9}: {result['rows']:>9,} rows in {result['seconds']:6.1f}s = "
                    f"{result['rows_per_s']:>9,.0f} rows/s, {result['mb_per_s']:6.2f} MB/s, "
                    f"{result['rows_per_cpu_s']:>9,.0f} rows per CPU-second of the importer, "
                    f"peak RSS {result['peak_rss_mb']:6.0f} MB "
                    f"(at start {result['rss_start_mb']:.0f} MB)"
                    + (
                        f", accepted {result['accepted']:,}, rejected {result['rejected']:,}"
                        if "accepted" in result
                        else ""
                    )
                )
            if args.profile:
                profile(file, max(args.rows // 10, 1000))
        finally:
            broker.stop()
            print(f"broker pid {pid} stopped")
    if "full" in results and "ceiling" in results:
        ratio = results["full"]["rows_per_s"] / results["ceiling"]["rows_per_s"]
        print(f"full import / bare ceiling = {ratio:.2f}; goal of issue 3: >= 100,000 rows/s")
    if "full" in results and "full@base" in results:
        ratio = results["full"]["rows_per_s"] / results["full@base"]["rows_per_s"]
        print(f"full import / the same import with --baseline {args.baseline} = {ratio:.2f}")
    for workbook, text in (("xlsx-dry", "dry"), ("xlsx", "full")):
        if workbook in results and text in results:
            ratio = results[workbook]["rows_per_s"] / results[text]["rows_per_s"]
            cpu = results[workbook]["rows_per_cpu_s"] / results[text]["rows_per_cpu_s"]
            print(
                f"{workbook} / {text} (the same rows as .xlsx and as CSV) = {ratio:.2f} "
                f"(rows per CPU-second: {cpu:.2f}); goal of issue 15: xlsx >= 30,000 rows/s"
            )
    print(json.dumps({"run": str(uuid.uuid4())[:8], "rows": args.rows, "results": results}))


if __name__ == "__main__":
    main()
