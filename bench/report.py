"""The results: the machine they came from, the markdown table, and bench/RESULTS.md's latest-run sections."""

import os
import platform
import re
import sqlite3
from pathlib import Path
from typing import Any

from bench.database import BENCH_DIR

RESULTS_MD = BENCH_DIR / "RESULTS.md"


def machine(postgres_version: str | None) -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    mem_kb = next(
        (int(line.split()[1]) for line in _read("/proc/meminfo").splitlines() if line.startswith("MemTotal:")), 0
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "postgresql": postgres_version,
        "sqlite": sqlite3.sqlite_version,
        "load_average_at_start": _read("/proc/loadavg").split()[:3],
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return ""
    return f"{value:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return ""
    return f"{a / b:.2f}×"


def _load_cells(r: dict[str, Any] | None) -> list[str]:
    if not r:
        return ["", "", ""]
    if r["requests"] == 0:
        return ["0", "none done", ""]
    return [_num(r["requests_per_second"]), _num(r["p50_ms"], 2), _num(r["p99_ms"], 2)]


def _errors(runs: dict[str, Any]) -> str:
    if not runs:
        return ""
    stalled = [c for c, r in runs.items() if r["requests"] == 0]
    text = str(sum(r["errors"] for r in runs.values()))
    return text + (f" (c={','.join(stalled)}: none done)" if stalled else "")


def table(results: dict[str, Any]) -> str:
    """One block of rows per operation: ours, the reference path (read plans off), PostGraphile, the floors
    and the ratios."""
    levels = [str(c) for c in results["settings"]["concurrency"]]
    header = ["operation", "row"]
    for c in levels:
        header += [f"c={c} req/s", f"c={c} p50 ms", f"c={c} p99 ms"]
    header += ["errors", "SQL/req", "RSS MiB"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def row(name: str, label: str, cells: list[str], tail: list[str]) -> None:
        lines.append("| " + " | ".join([name, label, *cells, *tail]) + " |")

    def ratios(a_runs: dict[str, Any], b_runs: dict[str, Any]) -> list[str]:
        cells = []
        for c in levels:
            a, b = a_runs.get(c), b_runs.get(c)
            cells += [
                _ratio(a and a["requests_per_second"], b and b["requests_per_second"]),
                _ratio(a and a["p50_ms"], b and b["p50_ms"]),
                _ratio(a and a["p99_ms"], b and b["p99_ms"]),
            ]
        return cells

    def load_row(label: str, runs: dict[str, Any]) -> None:
        cells = [cell for c in levels for cell in _load_cells(runs.get(c))]
        rss = max((r["rss_mb"]["max"] for r in runs.values() if r.get("rss_mb")), default=None)
        row("", label, cells, [_errors(runs), "", _num(rss, 0)])

    for name, op in results["operations"].items():
        ours, theirs = op.get("ours", {}), op.get("postgraphile", {})
        reference = op.get("reference", {})
        cells = [cell for c in levels for cell in _load_cells(ours.get(c))]
        statements = op.get("sql_statements") or []
        sign_in = op.get("sign_in_statements") or []
        sql = " / ".join(str(n) for n in statements)
        if sql and any(sign_in):
            sql += f" (+{max(sign_in)})"
        rss = max((r["rss_mb"]["max"] for r in ours.values() if r.get("rss_mb")), default=None)
        row(name, "ours", cells, [_errors(ours), sql, _num(rss, 0)])
        if reference:
            load_row("reference path", reference)
        if theirs:
            load_row("PostGraphile", theirs)
        floors = op.get("floors", {})
        blank = [""] * (3 * len(levels))
        first_p50 = 1  # index of c=<first level> p50 in the cells
        sql_ms, exec_ms = floors.get("sql_ms"), floors.get("execution_ms")
        if sql_ms is not None:
            cells = list(blank)
            cells[first_p50] = _num(sql_ms, 2)
            row("", "SQL floor", cells, ["", str(floors.get("sql_statements", "")), ""])
        if exec_ms is not None:
            cells = list(blank)
            cells[first_p50] = _num(exec_ms, 2)
            row("", "execution floor", cells, ["", "", ""])
        first = ours.get(levels[0])
        if first and sql_ms is not None and exec_ms is not None:
            cells = list(blank)
            cells[first_p50] = _ratio(first["p50_ms"], sql_ms + exec_ms)
            row("", "ours ÷ (SQL + execution floor)", cells, ["", "", ""])
        if reference:
            row("", "ours ÷ reference path", ratios(ours, reference), ["", "", ""])
        if theirs:
            row("", "ours ÷ PostGraphile", ratios(ours, theirs), ["", "", ""])
    return "\n".join(lines)


def summary(results: dict[str, Any]) -> str:
    """The text around the table: what ran, on what, and the checks the issue asks about."""
    m, s, d = results["machine"], results["settings"], results["dataset"]
    engine = f"PostgreSQL {m['postgresql']}" if m["postgresql"] else f"SQLite {m['sqlite']}"
    lines = [
        f"Command: `{results['command']}`  ",
        f"Run: {results['started']} on {results['db']} ({engine}); "
        f"{s['workers']} uvicorn workers; wrk for {s['duration']} s per operation and concurrency after a "
        f"{s['warmup']} s warm-up.  ",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}, "
        f"PostgreSQL {m['postgresql'] or '–'}, SQLite {m['sqlite']}; load average at the start "
        f"{' '.join(m['load_average_at_start'])} (the machine is shared: figures are indicative).  ",
        f"Data: {d['products']:,} products, {d['transactions']:,} ledger entries.",
    ]
    ops = results["operations"]
    levels = [str(c) for c in s["concurrency"]]
    far, first = ops.get("far_page", {}).get("ours", {}), ops.get("catalog_page", {}).get("ours", {})
    ratios = [
        f"c={c} {_ratio(far[c]['p50_ms'], first[c]['p50_ms'])}"
        for c in levels
        if c in far and c in first and far[c]["requests"] and first[c]["requests"]
    ]
    if ratios:
        lines.append(f"\nFar page ÷ first page, p50: {', '.join(ratios)}.")
    rss = [
        f"{name} c={c}: {r['rss_mb']['start']:.0f} → {r['rss_mb']['end']:.0f} MiB (max {r['rss_mb']['max']:.0f})"
        for name, op in ops.items()
        for c, r in op.get("ours", {}).items()
        if r.get("rss_mb") and c == levels[-1]
    ]
    if rss:
        lines.append(
            "Server RSS over each timed run at the highest concurrency (after warm-up → end): " + "; ".join(rss) + "."
        )
    lines += [f"\n{note}" for note in results.get("notes", [])]
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    return summary(results) + "\n\n" + table(results) + "\n"


_INTRO = """# Benchmark results

`python -m bench run --db postgres` (or `--db sqlite`) writes its latest table into the section for its
database below (see the README's Benchmarks section). Columns: requests per second, p50 and p99 latency
at each concurrency; errors (failed requests and responses carrying errors) over all runs; SQL statements
per request measured in-process (Receive / Ship for the write mix; `(+1)` is the sign-in look-up of the
bearer token); the API server's largest resident memory (all uvicorn processes) during the runs.
Floors: `bench/floors.py`.
"""


def record(results: dict[str, Any], path: Path = RESULTS_MD) -> None:
    """Replace this database's latest-run section of RESULTS.md; the rest stays as it is."""
    title = {"postgres": "PostgreSQL", "sqlite": "SQLite"}[results["db"]]
    record_section(f"latest:{results['db']}", f"Latest run: {title}", markdown(results), path)


def record_section(key: str, title: str, body: str, path: Path = RESULTS_MD) -> None:
    """Replace (or add) the section of RESULTS.md between the markers named `key`."""
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    section = f"{start}\n## {title}\n\n{body.rstrip()}\n{end}"
    text = path.read_text() if path.exists() else _INTRO
    if start in text and end in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _m: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
