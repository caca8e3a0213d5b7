"""Triage on the development vignettes (tests/data/triage/vignettes.jsonl): accuracy per level, the share
under-triaged (sent to a less urgent level: the dangerous error) and over-triaged, the confusion matrix, the
specialty agreement, and the assessment latency (p50/p99, one core).

    .venv/bin/python bench/triage_eval.py [--show-misses]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from common import ROOT, pct

from core.triage.assess import assess
from core.triage.rules import LEVELS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", default=str(ROOT / "tests" / "data" / "triage" / "vignettes.jsonl"))
    ap.add_argument("--show-misses", action="store_true")
    args = ap.parse_args()
    cases = [json.loads(line) for line in Path(args.file).read_text(encoding="utf-8").splitlines() if line.strip()]
    assess("warm up")
    matrix = {want: dict.fromkeys(LEVELS, 0) for want in LEVELS}
    latencies, under, over, specialty_ok = [], 0, 0, 0
    for case in cases:
        t = time.perf_counter()
        got = assess(case["text"], age=case.get("age"), sex=case.get("sex"))
        latencies.append((time.perf_counter() - t) * 1000)
        matrix[case["level"]][got.level] += 1
        order = LEVELS.index(got.level) - LEVELS.index(case["level"])
        under += order < 0
        over += order > 0
        specialty_ok += got.specialty == case["specialty"]
        if args.show_misses and (order or got.specialty != case["specialty"]):
            print(f"  want {case['level']}/{case['specialty']}, got {got.level}/{got.specialty}: {case['text']}")
    n = len(cases)
    exact = sum(matrix[level][level] for level in LEVELS)
    print(f"{n} vignettes · exact level {exact}/{n} ({exact / n:.0%}) · under-triaged {under} ({under / n:.0%}) · "
          f"over-triaged {over} ({over / n:.0%}) · specialty {specialty_ok}/{n} ({specialty_ok / n:.0%})")  # fmt: skip
    for level in reversed(LEVELS):
        row = matrix[level]
        total = sum(row.values())
        print(f"  {level:10} {row[level]}/{total} right   " + "  ".join(f"{k}:{v}" for k, v in row.items()))
    print(f"latency ms p50 {pct(latencies, 50):.2f}  p99 {pct(latencies, 99):.2f}  max {max(latencies):.2f}")


if __name__ == "__main__":
    main()
