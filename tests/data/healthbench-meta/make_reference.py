"""A synthetic HealthBench meta-evaluation file in the real format, and the figures openai/simple-evals' own code gives
on it: the expected values of tests/test_healthbench_meta.py (issue 35). Run by hand, with the simple-evals checkout of
../shared/peers (MIT, openai/simple-evals @ ee3b031; needs blobfile, pandas, jinja2, tqdm, requests, numpy):

    python tests/data/healthbench-meta/make_reference.py /work/shared/peers

1. meta_eval.jsonl: 300 lines (prompt, completion, rubric, category, binary_labels, anonymized_physician_ids,
   completion_id, prompt_id) over 10 categories in HealthBench's 7 themes (some themes two sub-clusters), 8
   physicians of whom 2 label rarely, 1-4 labels a line; one category where every label (and the judge's) is "met",
   so that the negative class is degenerate there. judge_verdicts.json: the fake judge's verdict per line.
2. The judge's figures come from simple-evals' HealthBenchMetaEval itself (healthbench_meta_eval.py), run on this
   file (INPUT_PATH pointed at it) with a sampler that answers each grading prompt with the line's verdict.
3. The per-theme table comes from the notebook's own plot_model_physician_agreement and agg_n_and_val_list
   (healthbench_scripts/healthbench_analysis.ipynb), executed from the notebook's source with plotting stubbed,
   `round` left out (unrounded values) and one adaptation: a cluster where a class was never used has no
   balanced-F1 metric (healthbench_meta_eval.py leaves it out), which the notebook would raise on; it is read as
   None and agg_n_and_val_list leaves a None value out.
"""

import json
import random
import sys
import types
from collections import defaultdict
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import simple_evals_peer  # noqa: E402  (tests/data/simple_evals_peer.py)
CATEGORIES = ["cluster:emergency_referrals_emergent", "cluster:emergency_referrals_conditionally_emergent",
              "cluster:communication_health_professional", "cluster:communication_not_health_professional",
              "cluster:hedging_reducible_uncertainty", "cluster:complex_responses_detailed",
              "cluster:health_data_tasks_enough_info", "cluster:health_data_tasks_not_enough_info",
              "cluster:global_health_aware", "cluster:context_seeking_enough_context"]
DEGENERATE = "cluster:health_data_tasks_not_enough_info"
PHYSICIANS = [f"phys_{c}" for c in "abcdefgh"]
WEIGHTS = [10, 10, 9, 8, 8, 7, 0.6, 0.4]  # phys_g and phys_h label rarely: below the minimum count in every theme


def make_file():
    rng = random.Random(35)
    lines, verdicts = [], {}
    completion = 0
    while len(lines) < 300:
        completion += 1
        category = rng.choice(CATEGORIES)
        prompt = [{"role": "user", "content": f"Question {completion}: what should I do about symptom {rng.randint(1, 99)}?"}]
        text = f"Completion {completion}: " + rng.choice(["Seek care now.", "Rest and watch.", "It depends on more details.",
                                                          "Call emergency services.", "Ask your doctor about tests."])
        for k in range(rng.choice([1, 1, 2, 3])):
            criterion = f"{category.split(':')[1]} criterion {k}: the response handles the situation as a physician would"
            truth = rng.random() < 0.6 or category == DEGENERATE
            # a weighted draw without replacement (each physician's key u^(1/w), the largest k kept)
            keys = {p: rng.random() ** (1 / w) for p, w in zip(PHYSICIANS, WEIGHTS)}
            raters = sorted(PHYSICIANS, key=lambda p: -keys[p])[:rng.choice([1, 2, 3, 4, 4, 5])]
            labels = [truth if category == DEGENERATE or rng.random() < 0.8 else not truth for _ in raters]
            line = {"prompt": prompt, "completion": text, "rubric": criterion, "category": category,
                    "binary_labels": labels, "anonymized_physician_ids": raters,
                    "completion_id": f"comp{completion:04d}", "prompt_id": f"prompt{completion:04d}"}
            lines.append(line)
            verdicts[f"{line['completion_id']}|{criterion}"] = truth if category == DEGENERATE or rng.random() < 0.75 \
                else not truth
    with open(HERE / "meta_eval.jsonl", "w") as fh:
        for line in lines[:300]:
            fh.write(json.dumps(line) + "\n")
    keep = {f"{x['completion_id']}|{x['rubric']}" for x in lines[:300]}
    (HERE / "judge_verdicts.json").write_text(json.dumps({k: v for k, v in verdicts.items() if k in keep}, indent=0))
    return lines[:300], {k: v for k, v in verdicts.items() if k in keep}


def main(peers):
    lines, verdicts = make_file()
    meta = simple_evals_peer.load(peers, "healthbench_meta_eval")
    meta.INPUT_PATH = str(HERE / "meta_eval.jsonl")
    by_prompt = {}
    for x in lines:
        by_prompt[(x["completion"], x["rubric"])] = verdicts[f"{x['completion_id']}|{x['rubric']}"]

    class Sampler:
        def __call__(self, messages):
            text = messages[0]["content"]
            verdict = next(v for (c, r), v in by_prompt.items() if c in text and r in text)
            return types.SimpleNamespace(response_text=json.dumps({"explanation": "", "criteria_met": verdict}),
                                         actual_queried_message_list=messages)

    ev = meta.HealthBenchMetaEval(grader_model=Sampler(), n_threads=1)
    result = ev(Sampler())
    model = result.metadata["model_agreement_metrics"]
    physicians = result.metadata["physician_agreement_metric_lists"]
    out = {"source": "openai/simple-evals @ ee3b031 healthbench_meta_eval.py and healthbench_analysis.ipynb, run by "
                     "tests/data/healthbench-meta/make_reference.py on meta_eval.jsonl with judge_verdicts.json",
           "overall": {"judge": model["pairwise_model_f1_balanced"]["value"],
                       "physicians": {p: v for p, v in physicians["pairwise_physician_f1_balanced"].items()}},
           "category": {}, "theme": {}}
    for category in CATEGORIES:
        key = f"{category}: pairwise_model_f1_balanced"
        out["category"][category] = {"judge": model[key]["value"] if key in model else None,
                                     "physicians": physicians.get(f"{category}: pairwise_physician_f1_balanced", {})}
    # the notebook's per-theme table
    nb = json.loads((Path(peers) / "simple-evals" / "healthbench_scripts" / "healthbench_analysis.ipynb").read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    source = next(c for c in cells if "CANONICAL_CLUSTER_NAMES = {" in c) + "\n" + \
        next(c for c in cells if "def plot_model_physician_agreement" in c)
    import numpy as np
    import pandas as pd

    captured = []
    ax = mock.MagicMock()
    ax.get_legend_handles_labels.return_value = ([], [])
    plt = mock.MagicMock()
    plt.subplots.return_value = (mock.MagicMock(), ax)
    space = {"np": np, "pd": pd, "defaultdict": defaultdict, "plt": plt, "display": captured.append,
             "wrap_label": lambda label, width: label, "round": lambda x, n=None: x, "print": lambda *a, **k: None,
             "Literal": None}
    exec(source, space)
    original = space["agg_n_and_val_list"]
    space["agg_n_and_val_list"] = lambda vals: original([d for d in vals if d["value"] is not None])
    # a cluster where a class was never used has no balanced-F1 key at all (healthbench_meta_eval.py leaves it
    # out): read as None, and left out by the adapted agg_n_and_val_list
    missing_as_none = defaultdict(lambda: {"value": None, "n": 0}, model)
    space["plot_model_physician_agreement"](model, physicians, missing_as_none)
    (summary,) = captured
    for theme, row in summary.iterrows():
        short = next(k for k, v in space["CANONICAL_CLUSTER_NAMES"].items() if v == theme)
        out["theme"][short] = {"physicians_kept": int(row["# Physicians"]),
                               "physician_average": float(row["Physician Weighted Avg"]),
                               "judge": float(row["Model Score"]), "percentile": float(row["Model Percentile"])}
    (HERE / "expected.json").write_text(json.dumps(out, indent=1))
    print(json.dumps(out["theme"], indent=1))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/peers")
