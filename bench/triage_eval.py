"""How well triage places people, on four sets of cases:

- ``--set lay`` (default): the patient-voice development vignettes (tests/data/triage/vignettes.jsonl);
- ``--set clinical``: clinical vignettes written blind by separate sessions
  (tests/data/triage/clinical_vignettes.jsonl),
  measured once untouched, then joined the development data; read as text only, as a note gives age and sex;
- ``--set avey-dev`` / ``--set avey-held-out``: the 400 public clinical vignettes of the Avey study
  (../shared/data/avey-vignettes), each given the level of its diagnosis from the reviewed table
  tests/data/triage/avey_levels.csv; every fourth vignette (line 4, 8, 12 …) is held out and never tuned on;
- ``--file F.jsonl``: any file of ``{"text", "age"?, "sex"?, "level"}`` lines (blind sets).

For each: exact level on four levels and on the three tiers symptom-checker studies use (emergency / see a
doctor / self-care), emergencies recognised, under-triage (a less urgent tier: the dangerous error) and
over-triage, the confusion matrices, and the assessment latency (p50/p99 on whatever core runs it).

    .venv/bin/python bench/triage_eval.py [--set lay|clinical|avey-dev|avey-held-out] [--file F] [--show-misses]
                                          [--text-only]
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

from common import ROOT, pct

from core.triage.assess import assess
from core.triage.rules import LEVELS

TIERS = ("self_care", "doctor", "emergency")
AVEY = ROOT.parent / "shared" / "data" / "avey-vignettes" / "avey_vignettes.jsonl"
AVEY_LEVELS = ROOT / "tests" / "data" / "triage" / "avey_levels.csv"


def tier(level: str) -> str:
    return {"urgent": "doctor", "routine": "doctor"}.get(level, level)


def avey_text(case: dict[str, str]) -> str:
    """A clinical vignette as one note: who, what brought them, the story, what is absent, the history."""
    parts = [case["demographics"], f"Chief complaint: {case['chief_complaints']}", case["presentation"],
             case["absent_findings"], case["physical_history"]]  # fmt: skip
    return ". ".join(p.strip().rstrip(".") for p in parts if p and p.strip() not in ("-", "None")) + "."


def avey_cases(part: str, path: Path = AVEY) -> list[dict[str, object]]:
    with AVEY_LEVELS.open(encoding="utf-8") as f:
        levels = {row["diagnosis"]: row["level"] for row in csv.DictReader(f)}
    cases = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip() or (i % 4 == 3) != (part == "held-out"):
            continue
        raw = json.loads(line)
        cases.append({"text": avey_text(raw), "level": levels[raw["correct_diagnosis"]],
                      "note": raw["correct_diagnosis"]})  # fmt: skip
    return cases


def load(args: argparse.Namespace) -> list[dict[str, object]]:
    if args.file:
        return [json.loads(x) for x in Path(args.file).read_text(encoding="utf-8").splitlines() if x.strip()]
    if args.set.startswith("avey-"):
        return avey_cases(args.set.removeprefix("avey-"))
    name = "clinical_vignettes.jsonl" if args.set == "clinical" else "vignettes.jsonl"
    path = ROOT / "tests" / "data" / "triage" / name
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="lay", choices=("lay", "clinical", "avey-dev", "avey-held-out"))
    ap.add_argument("--file")
    ap.add_argument("--show-misses", action="store_true")
    ap.add_argument("--text-only", action="store_true", help="ignore the age and sex fields (the text says them)")
    args = ap.parse_args()
    cases = load(args)
    assess("warm up")
    levels = {want: dict.fromkeys(LEVELS, 0) for want in LEVELS}
    tiers = {want: dict.fromkeys(TIERS, 0) for want in TIERS}
    latencies, under, over = [], 0, 0
    for case in cases:
        want = str(case["level"])
        text_only = args.text_only or args.set == "clinical"
        age, sex = (None, None) if text_only else (case.get("age"), case.get("sex"))
        t = time.perf_counter()
        got = assess(str(case["text"]), age=age, sex=sex)
        latencies.append((time.perf_counter() - t) * 1000)
        levels[want][got.level] += 1
        tiers[tier(want)][tier(got.level)] += 1
        order = TIERS.index(tier(got.level)) - TIERS.index(tier(want))
        under += order < 0
        over += order > 0
        if args.show_misses and order:
            rules = ",".join(r.rule for r in got.reasons) or "-"
            note = f" [{case['note']}]" if case.get("note") else ""
            print(f"  want {want}, got {got.level} ({rules}){note}: {case['text']}")
    n = len(cases)
    exact = sum(levels[x][x] for x in LEVELS)
    exact3 = sum(tiers[x][x] for x in TIERS)
    emergencies = sum(tiers["emergency"].values())
    print(f"{n} cases · 3 tiers exact {exact3}/{n} ({exact3 / n:.0%}) · 4 levels exact {exact}/{n} ({exact / n:.0%})"
          f" · emergencies recognised {tiers['emergency']['emergency']}/{emergencies}"
          f" · under-triaged {under} ({under / n:.0%}) · over-triaged {over} ({over / n:.0%})")  # fmt: skip
    print("  tiers (want → got)      " + "  ".join(f"{t:>9}" for t in TIERS))
    for want in reversed(TIERS):
        print(f"    {want:21} " + "  ".join(f"{tiers[want][got]:>9}" for got in TIERS))
    print("  levels (want → got)     " + "  ".join(f"{t:>9}" for t in LEVELS))
    for want in reversed(LEVELS):
        print(f"    {want:21} " + "  ".join(f"{levels[want][got]:>9}" for got in LEVELS))
    print(f"  latency ms p50 {pct(latencies, 50):.2f}  p99 {pct(latencies, 99):.2f}  max {max(latencies):.2f}")


if __name__ == "__main__":
    main()
