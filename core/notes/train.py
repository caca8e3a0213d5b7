"""Fits the note models shipped in core/notes/models from the public development data (ACI-BENCH and MTS-Dialog
train splits; ../shared/data/README.md says what they are): run it again after changing a feature function,
then bench/soap.py on the valid split.

    .venv/bin/python -m core.notes.train --data /work/shared/data

- boundary.json: where a sentence ends inside an unpunctuated stretch of speech (core.notes.units). Learnt from
  punctuated turns with their punctuation taken away.
- section.json: which SOAP section a sentence unit belongs to, or none (core.notes.soap). The labels come from
  the reference notes: a unit is labelled with the section of the note sentence that holds most of its content
  words (at least half), else "none". In ACI-BENCH's assessment-and-plan division, the problem lines and the
  "Medical Reasoning" bullets are Assessment and the other bullets Plan.

- names.json: first names given to one sex in at least nine of ten cases (core.notes.sex), from the nomquamgender
  package's name data (MIT licence; counts from many countries' name records), names seen at least MIN_NAME_COUNT
  times, letters a-z only.

A development tool (it needs scikit-learn and nomquamgender, dev dependencies); the app reads the JSON with
core.notes.linear and core.notes.sex."""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from core.notes import linear, rewrite, units
from core.notes.soap import Line, features_of, units_of

MTS_SECTION = {
    "CC": "S", "GENHX": "S", "ROS": "S", "PASTMEDICALHX": "S", "PASTSURGICAL": "S", "FAM/SOCHX": "S",
    "ALLERGY": "S", "MEDICATIONS": "S", "GYNHX": "S", "IMMUNIZATIONS": "S", "OTHER_HISTORY": "S",
    "EXAM": "O", "LABS": "O", "IMAGING": "O",
    "ASSESSMENT": "A", "DIAGNOSIS": "A",
    "PLAN": "P", "DISPOSITION": "P",
}  # fmt: skip
ACI_DIVISIONS = {"subjective": "S", "objective_exam": "O", "objective_results": "O", "assessment_and_plan": "AP"}
_STOP = frozenset(
    "a an the and or but so to of in on at for with is are was were be been it this that i you he she we they my "
    "your me him her them not no yes yeah okay ok just like really very do did does have has had well oh um uh "
    "know think right sure good great fine all what how when there here then too also about as if will would can "
    "could should going get got any some there their his hers patient reports states denies".split()
)


def aci_lines(dialogue: str) -> list[Line]:
    """ACI-BENCH's "[doctor] …" / "[patient] …" lines; a line without a tag continues the one before."""
    lines: list[Line] = []
    for i, raw in enumerate(dialogue.splitlines()):
        m = re.match(r"\s*\[(\w+)\]\s*(.*)", raw)
        if m:
            lines.append(Line(i, "doctor" if m.group(1) == "doctor" else "patient", m.group(2)))
        elif lines and raw.strip():
            lines[-1] = Line(lines[-1].id, lines[-1].speaker, lines[-1].text + " " + raw.strip())
    return lines


def mts_lines(dialogue: str) -> list[Line]:
    """MTS-Dialog's 'Doctor: …' / 'Patient: …' / 'Guest_family: …' turns; one may share a line with another."""
    parts = re.split(r"(?:^|\s)(Doctor|Patient|Guest_\w+)\s*:", dialogue)
    lines: list[Line] = []
    for i in range(1, len(parts) - 1, 2):
        text = parts[i + 1].strip()
        if text:
            lines.append(Line(len(lines), "doctor" if parts[i] == "Doctor" else "patient", text))
    return lines


def content(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9][a-z0-9/.]*", rewrite.clean(text))
    return {w.rstrip(".").removesuffix("s") if len(w) > 3 else w for w in words if w not in _STOP}


def reference_sentences(text: str, section: str) -> Iterator[tuple[str, set[str]]]:
    """The sentences of a reference note division with their section; A&P split into A and P by its bullets."""
    for raw in text.splitlines():
        line = raw.strip(" •-*\t")
        if not line or (line.isupper() and len(line.split()) <= 6):
            continue
        label = section
        if section == "AP":
            bullet = re.match(r"^(?:[\w ]+):", line)
            label = "P" if bullet and "reasoning" not in bullet.group(0).lower() else "A"
        for sentence in re.split(r"(?<=[.!?])\s+", line):
            words = content(sentence)
            if words:
                yield label, words


LABEL_AT = 0.4  # the share of a unit's content words one note sentence must hold for the unit to take its section


def labelled(lines: list[Line], references: list[tuple[str, set[str]]]) -> Iterator[tuple[list[str], str]]:
    """(features, label) for every unit of a dialogue."""
    found = units_of(lines)
    for k, feats in enumerate(features_of(found)):
        words = content(found[k].text)
        label, best = "none", 0.0
        for section, ref in references:
            hit = len(words & ref)
            score = hit / len(words) if words else 0.0
            if hit and score > best:
                label, best = section, score
        yield feats, label if best >= LABEL_AT else "none"


def section_data(data: Path, split: str) -> tuple[list[list[str]], list[str]]:
    x: list[list[str]] = []
    y: list[str] = []
    base = data / "aci-bench"
    divisions: dict[str, list[tuple[str, set[str]]]] = {}
    for name, section in ACI_DIVISIONS.items():
        for item in json.loads((base / f"{split}_{name}.json").read_text(encoding="utf-8"))["data"]:
            divisions.setdefault(item["file"].split("-")[0], []).extend(reference_sentences(item["tgt"], section))
    for row in csv.DictReader((base / f"{split}.csv").open(encoding="utf-8")):
        for feats, label in labelled(aci_lines(row["dialogue"]), divisions[row["encounter_id"]]):
            x.append(feats)
            y.append(label)
    name = {"train": "TrainingSet", "valid": "ValidationSet"}[split]
    for row in csv.DictReader((data / "mts-dialog" / f"MTS-Dialog-{name}.csv").open(encoding="utf-8")):
        if row["section_header"] not in MTS_SECTION:
            continue
        refs = list(reference_sentences(row["section_text"], MTS_SECTION[row["section_header"]]))
        for feats, label in labelled(mts_lines(row["dialogue"]), refs):
            x.append(feats)
            y.append(label)
    return x, y


def boundary_data(data: Path, split: str) -> tuple[list[list[str]], list[str]]:
    """Gaps between the words of punctuated turns: "end" after a sentence's last word, else "in"."""
    turns: list[str] = []
    base = data / "aci-bench"
    for row in csv.DictReader((base / f"{split}.csv").open(encoding="utf-8")):
        turns += [line.text for line in aci_lines(row["dialogue"])]
    name = {"train": "TrainingSet", "valid": "ValidationSet"}[split]
    for row in csv.DictReader((data / "mts-dialog" / f"MTS-Dialog-{name}.csv").open(encoding="utf-8")):
        turns += [line.text for line in mts_lines(row["dialogue"])]
    x: list[list[str]] = []
    y: list[str] = []
    for turn in turns:
        parts = [units.words_of(p) for p in rewrite.punctuated(rewrite.clean(turn))]
        parts = [p for p in parts if p]
        if len(parts) < 2:
            continue
        words = [w for p in parts for w in p]
        ends = set()
        at = 0
        for p in parts[:-1]:
            at += len(p)
            ends.add(at - 1)
        since = 0
        for i in range(len(words) - 1):
            since += 1
            x.append(units.gap_features(words, i, since))
            y.append("end" if i in ends else "in")
            if i in ends:
                since = 0
    return x, y


def fit(x: list[list[str]], y: list[str], c: float) -> linear.LinearModel:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = DictVectorizer()
    matrix = vec.fit_transform([dict.fromkeys(f, 1) for f in x])
    model = LogisticRegression(C=c, max_iter=3000)
    model.fit(matrix, y)
    names = vec.get_feature_names_out()
    weights = {
        str(names[j]): tuple(float(model.coef_[k, j]) for k in range(model.coef_.shape[0]))
        for j in range(len(names))
        if max(abs(model.coef_[k, j]) for k in range(model.coef_.shape[0])) >= 0.05
    }
    classes = tuple(str(c) for c in model.classes_)
    return linear.LinearModel(classes, tuple(float(b) for b in model.intercept_), weights)


def accuracy(model: linear.LinearModel, x: list[list[str]], y: list[str]) -> str:
    guesses = [max((p, c) for c, p in model.probabilities(f).items())[1] for f in x]
    right = sum(g == t for g, t in zip(guesses, y, strict=True))
    return f"{right / max(1, len(y)):.3f} of {len(y)} (labels {dict(Counter(y))})"


MIN_NAME_COUNT = 500
ONE_SEX = 0.1  # a name is kept when the share of it given to the other sex is at most this


def names_table() -> dict[str, str]:
    """{"male": "aaron abdul …", "female": "…"}: nomquamgender's p(female) per name, one-sex names only."""
    import importlib.util

    spec = importlib.util.find_spec("nomquamgender")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("names.json needs nomquamgender (a dev dependency): ./run lock, then ./run --help")
    raw = json.loads((Path(spec.submodule_search_locations[0]) / "name_data.json").read_text(encoding="utf-8"))
    male, female = [], []
    for name, (_sources, count, p_female, *_rest) in sorted(raw.items()):
        if count < MIN_NAME_COUNT or not re.fullmatch(r"[a-z]{2,}", name):
            continue
        if p_female <= ONE_SEX:
            male.append(name)
        elif p_female >= 1 - ONE_SEX:
            female.append(name)
    return {"male": " ".join(male), "female": " ".join(female)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--only", choices=("boundary", "section", "names"))
    args = ap.parse_args()
    data = Path(args.data)
    if args.only in (None, "names"):
        table = names_table()
        (linear.MODELS / "names.json").write_text(json.dumps(table) + "\n")
        print(f"names: {len(table['male'].split())} male, {len(table['female'].split())} female")
    for name, build, c in (("boundary", boundary_data, 1.0), ("section", section_data, 0.3)):
        if args.only and args.only != name:
            continue
        x, y = build(data, "train")
        model = fit(x, y, c)
        (linear.MODELS / f"{name}.json").write_text(json.dumps(model.to_json(), separators=(",", ":")) + "\n")
        linear.load.cache_clear()
        vx, vy = build(data, "valid")
        print(f"{name}: {len(model.weights)} features; train {accuracy(model, x, y)}; valid {accuracy(model, vx, vy)}")


if __name__ == "__main__":
    main()
