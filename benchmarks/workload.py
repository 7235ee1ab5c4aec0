"""Synthetic HealthBench-shaped workloads: N answers x K criteria, realistic prompt and answer lengths."""

from __future__ import annotations

import json
import random
from pathlib import Path

WORDS = ("patient pain fever dose medicine doctor emergency symptoms blood pressure pregnancy infection "
         "treatment risk advice week daily tablet sleep heart breath rash test result clinic nurse").split()


def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def write_workload(path: Path, answers: int, criteria: int, seed: int = 0) -> Path:
    """HealthBench JSONL with an ideal completion per example (about 1,500 characters) and K criteria."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(answers):
            rubrics = [{"criterion": sentence(rng, 14), "points": rng.choice([-8, -5, 3, 5, 7, 10]),
                        "tags": [f"axis:{rng.choice(['accuracy', 'completeness', 'communication_quality'])}"]}
                       for _ in range(criteria)]
            if not any(r["points"] > 0 for r in rubrics):
                rubrics[0]["points"] = 5
            fh.write(json.dumps({
                "prompt_id": f"p{i}",
                "prompt": [{"role": "user", "content": " ".join(sentence(rng, 12) for _ in range(4))}],
                "rubrics": rubrics,
                "example_tags": [f"theme:{rng.choice(['emergency', 'hedging', 'global_health'])}"],
                "ideal_completions_data": {"ideal_completion": " ".join(sentence(rng, 15) for _ in range(14))},
            }) + "\n")
    return path
