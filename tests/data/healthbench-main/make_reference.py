"""Expected HealthBench scores for tests/test_healthbench_meta.py::test_main_eval_scores_equal_simple_evals (issue 35,
item 5): openai/simple-evals' own HealthBenchEval (healthbench_eval.py, MIT, @ ee3b031) run on medjudge's bundled
sample (medjudge/data/healthbench_sample.jsonl, the ideal completions) with a grader that answers every criterion by
a fixed rule (met unless the SHA-1 of the criterion text ends in 0-4). Run by hand:

    python tests/data/healthbench-main/make_reference.py /work/shared/peers
"""

import hashlib
import json
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import simple_evals_peer  # noqa: E402  (tests/data/simple_evals_peer.py)
SAMPLE = HERE.parents[2] / "medjudge" / "data" / "healthbench_sample.jsonl"


def met(criterion: str) -> bool:
    return hashlib.sha1(criterion.encode()).hexdigest()[-1] not in "01234"


def main(peers):
    he = simple_evals_peer.load(peers, "healthbench_eval")
    examples = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    for ex in examples:
        ex["rubrics"] = [he.RubricItem.from_dict(d) for d in ex["rubrics"]]
        ex["completion_to_trial"] = ex["ideal_completions_data"]["ideal_completion"]
    criteria = {str(r.criterion) for ex in examples for r in ex["rubrics"]}

    class Grader:
        def __call__(self, messages):
            text = messages[0]["content"]
            found = [c for c in criteria if c in text]
            verdict = met(max(found, key=len))
            return types.SimpleNamespace(response_text=json.dumps({"explanation": "", "criteria_met": verdict}),
                                         actual_queried_message_list=messages, response_metadata={})

    ev = object.__new__(he.HealthBenchEval)
    ev.examples, ev.n_threads, ev.physician_completions_mode, ev.grader_model = examples, 1, "group", Grader()
    result = ev(None)
    out = {"source": "openai/simple-evals @ ee3b031 HealthBenchEval on medjudge/data/healthbench_sample.jsonl, "
                     "made by tests/data/healthbench-main/make_reference.py",
           "score": float(result.score),
           "tags": {k: float(v) for k, v in result.metrics.items() if ":" in k and not k.endswith(
               (":n_samples", ":bootstrap_std"))},
           "examples": {m["prompt_id"]: m["score"] for m in result.metadata["example_level_metadata"]}}
    (HERE / "expected.json").write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/peers")
