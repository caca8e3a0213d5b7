"""Every benchmark, one after another, with the arguments docs/benchmarks.md gives (shorter with ``--quick``), and
``bench/RESULTS.md`` written from what they print: the machine first (CPU, cores, memory, kernel, PostgreSQL,
Redis, Python), then each benchmark's command, its wall time and its output as printed. A benchmark that fails is
reported as failed with the end of its output, and the others still run. With ``--only``, the sections run replace
theirs in an existing results file and the others are kept.

    .venv/bin/python bench/run_all.py [--quick] [--only transitions,fanout] [--out bench/RESULTS.md]
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--redis-url redis://127.0.0.1:6379/0]

Each benchmark uses a throwaway schema and Redis prefix of its own and drops them; nothing else is touched.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name, full arguments, quick arguments (None: the same)
BENCHES: list[tuple[str, list[str], list[str] | None]] = [
    ("transitions", ["transitions.py", "--seconds", "20", "--samples", "8000", "--concurrency", "16"],
     ["transitions.py", "--seconds", "8", "--samples", "3000", "--concurrency", "16"]),
    ("transitions, 2 relays through PgBouncer (transaction pooling)",
     ["transitions.py", "--seconds", "20", "--samples", "8000", "--concurrency", "16", "--workers", "2",
      "--pgbouncer"],
     ["transitions.py", "--seconds", "8", "--samples", "3000", "--concurrency", "16", "--workers", "2",
      "--pgbouncer"]),
    ("fan-out", ["fanout.py", "--sockets", "10000", "--rate", "500", "--seconds", "30"],
     ["fanout.py", "--sockets", "1000", "--rate", "200", "--seconds", "8"]),
    ("fan-out, 2 web + 2 workers through PgBouncer (transaction pooling)",
     ["fanout.py", "--sockets", "10000", "--rate", "500", "--seconds", "30", "--web", "2", "--workers", "2",
      "--pgbouncer"],
     ["fanout.py", "--sockets", "1000", "--rate", "200", "--seconds", "8", "--web", "2", "--workers", "2",
      "--pgbouncer"]),
    ("HL7 intake", ["hl7_ingest.py", "--messages", "10000", "--connections", "16", "--tubes", "200", "--processes",
                    "2", "--critical-every", "50"],
     ["hl7_ingest.py", "--messages", "2000", "--connections", "8", "--tubes", "100", "--processes", "2",
      "--critical-every", "50"]),
    ("webhooks", ["webhooks.py", "--rate", "300", "--seconds", "30", "--people", "400", "--workers", "2"],
     ["webhooks.py", "--rate", "100", "--seconds", "8", "--people", "100", "--workers", "2"]),
    ("reports", ["reports.py", "--reports", "3000", "--workers", "2"], ["reports.py", "--reports", "300", "--workers",
                                                                         "2"]),
    ("staff workspace", ["staff_bench.py", "--tubes", "5000", "--sockets", "20", "--scans", "200", "--every-ms", "50"],
     ["staff_bench.py", "--tubes", "1000", "--sockets", "10", "--scans", "50", "--every-ms", "50"]),
    ("report files in PostgreSQL", ["file_store.py", "--files", "2000", "--kb", "80", "--concurrency", "8"],
     ["file_store.py", "--files", "300", "--kb", "80", "--concurrency", "8"]),
    ("audit seal", ["audit_seal.py", "--rows", "2000", "--rounds", "3"], ["audit_seal.py", "--rows", "500",
                                                                           "--rounds", "1"]),
    ("triage", ["triage_eval.py", "--set", "clinical"], None),
    ("transcription", ["transcribe.py"], None),
    ("SOAP drafts", ["soap.py"], None),
]  # fmt: skip


def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine(database_url: str, redis_url: str) -> list[str]:
    """The machine as a few lines: what a figure means depends on all of them."""
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor() or "?")  # fmt: skip
    mem = next((int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                if ln.startswith("MemTotal")), 0)  # fmt: skip
    pg = _run(["psql", database_url, "-Atc", "SHOW server_version"])
    settings = _run(["psql", database_url, "-Atc", "SELECT string_agg(name || '=' || setting, ', ') FROM pg_settings "
                     "WHERE name IN ('synchronous_commit', 'shared_buffers', 'max_connections', 'fsync')"])  # fmt: skip
    redis = _run([sys.executable, "-c", "import redis, sys; print(redis.Redis.from_url(sys.argv[1]).info('server')"
                  "['redis_version'])", redis_url])  # fmt: skip
    return [
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- CPU: {cpu}, {os.cpu_count()} cores (the benchmarks, PostgreSQL and Redis share them)",
        f"- memory: {mem / 1024 / 1024:.1f} GiB; kernel {platform.release()}",
        f"- PostgreSQL {pg} ({settings}); Redis {redis}; Python {platform.python_version()}",
    ]


def scrub(text: str) -> str:
    """No machine's paths in the results: the checkout as ``.``, the home folder as ``~``, temporary files unnamed."""
    text = text.replace(str(ROOT), ".").replace(str(Path.home()), "~")
    return re.sub(r"/tmp/[\w.\-/]+", "<a temporary file>", text)  # noqa: S108 - matching, not using


def _sections(text: str) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = [("", [])]
    for line in text.splitlines():
        if line.startswith("## "):
            found.append((line[3:], []))
        found[-1][1].append(line)
    return found


def _merge(old: str, new_lines: list[str]) -> list[str]:
    """The old file with the sections just run replaced, in the order of BENCHES; the header and the machine stay,
    and a line at the end says which sections were run again, and how (earlier such lines stay above it)."""
    fresh = dict(_sections("\n".join(new_lines)))
    kept = dict(_sections(old))
    again = [n for n in fresh if n not in ("", "The machine")]
    merged: list[str] = []
    for name in ["", "The machine", *(name for name, _, _ in BENCHES)]:
        body = fresh[name] if name in again else kept.get(name, [])
        merged += body  # the last section keeps the earlier "Run again later" lines
    command = shlex.join(["python", "bench/run_all.py", *sys.argv[1:]])
    return [
        *merged,
        "",
        f"Run again later: {', '.join(again)} (`{command}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC).",
        "",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="shorter runs: a check that every benchmark works")
    ap.add_argument("--only", help="comma-separated words; runs the benchmarks whose name contains one")
    ap.add_argument("--out", default=str(ROOT / "bench" / "RESULTS.md"))
    ap.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    ap.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = ap.parse_args()
    wanted = [w.strip().lower() for w in args.only.split(",")] if args.only else None
    env = {**os.environ, "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url}
    lines = ["# Benchmark results", "", f"Written by `{shlex.join(['python', 'bench/run_all.py', *sys.argv[1:]])}`.",
             "", "## The machine", "", *machine(args.database_url, args.redis_url), ""]  # fmt: skip
    failed = 0
    for name, full, quick in BENCHES:
        if wanted and not any(w in name.lower() for w in wanted):
            continue
        argv = (quick or full) if args.quick else full
        cmd = [sys.executable, str(ROOT / "bench" / argv[0]), *argv[1:]]
        shown = shlex.join([".venv/bin/python", f"bench/{argv[0]}", *argv[1:]])
        print(f"== {name}: {shown}", flush=True)
        started = time.monotonic()
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        took = time.monotonic() - started
        output = scrub(done.stdout.strip())
        print(output[-3000:], flush=True)
        status = f"{took:.0f} s" if done.returncode == 0 else f"FAILED (exit {done.returncode}) after {took:.0f} s"
        failed += done.returncode != 0
        lines += [f"## {name}", "", f"`{shown}` — {status}", "", "```", output or "(no output)"]
        if done.returncode != 0:
            lines += ["--- end of its error output ---", scrub(done.stderr.strip()[-3000:])]
        lines += ["```", ""]
    out = Path(args.out)
    if wanted and out.exists():  # only some were run: their sections replace the old ones, the rest stay
        lines = _merge(out.read_text(), lines)
    out.write_text("\n".join(lines))
    print(f"wrote {args.out}; {failed} failed")
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
