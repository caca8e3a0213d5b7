"""A linear classifier read from a JSON file of weights: the note models (core/notes/models/*.json) were fitted
offline by core/notes/train.py with scikit-learn, and the app scores them with a dictionary lookup per feature,
so drafting needs neither scikit-learn nor numpy and gives the same answer on every machine."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

MODELS = Path(__file__).with_name("models")


@dataclass(frozen=True, slots=True)
class LinearModel:
    """Multinomial logistic regression over binary features: ``weights[feature][k]`` for class ``classes[k]``."""

    classes: tuple[str, ...]
    intercept: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]

    def probabilities(self, features: Iterable[str]) -> dict[str, float]:
        scores = list(self.intercept)
        for feature in set(features):
            row = self.weights.get(feature)
            if row is not None:
                for k, w in enumerate(row):
                    scores[k] += w
        if len(self.classes) == 2 and len(scores) == 1:  # a binary model keeps one score, for classes[1]
            p = 1.0 / (1.0 + math.exp(-scores[0]))
            return {self.classes[0]: 1.0 - p, self.classes[1]: p}
        top = max(scores)
        exp = [math.exp(s - top) for s in scores]
        total = sum(exp)
        return {c: e / total for c, e in zip(self.classes, exp, strict=True)}

    def to_json(self) -> dict[str, object]:
        return {
            "classes": list(self.classes),
            "intercept": [round(x, 5) for x in self.intercept],
            "weights": {f: [round(x, 5) for x in row] for f, row in sorted(self.weights.items())},
        }


@cache
def load(name: str) -> LinearModel:
    """A model shipped in core/notes/models (read once per process)."""
    raw = json.loads((MODELS / f"{name}.json").read_text(encoding="utf-8"))
    return LinearModel(
        tuple(raw["classes"]),
        tuple(raw["intercept"]),
        {f: tuple(row) for f, row in raw["weights"].items()},
    )
