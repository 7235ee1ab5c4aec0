"""Reference values for medjudge's weighted and stratified PPI++ (tests/test_sampling.py), made with ppi-python 0.2.3 (not a dependency of medjudge)."""
import csv, json, sys
import numpy as np
import ppi_py
rng = np.random.default_rng(7)
N = 300
stratum = np.repeat([0, 1, 2], [150, 100, 50])
y = (rng.random(N) < np.array([0.9, 0.6, 0.4])[stratum]).astype(int)
wrong = rng.random(N) < np.array([0.03, 0.2, 0.4])[stratum]
f = np.where(wrong, 1 - y, y)
pi = np.round(np.array([0.1, 0.25, 0.5])[stratum] * np.where(rng.random(N) < 0.5, 0.6, 1.4), 4)
lab = rng.random(N) < pi
out = sys.argv[1]
with open(f"{out}/ppi_weighted_reference.csv", "w", newline="") as fh:
    w = csv.writer(fh); w.writerow(["unit", "stratum", "judge", "expert", "prob", "labelled"])
    for i in range(N):
        w.writerow([f"u{i:03d}", int(stratum[i]), int(f[i]), int(y[i]) if lab[i] else "", f"{pi[i]:.4f}", int(lab[i])])
ref = {"source": "ppi-python 0.2.3 (ppi_py), computed on tests/data/published/ppi_weighted_reference.csv; alpha 0.05; "
       "made by tests/data/published/make_ppi_weighted_reference.py"}
# weighted point estimate at a fixed lam: labelled units weighted by 1/pi, every judged unit as the unlabelled set
for lam in (0.0, 0.6, 1.0):
    ref[f"weighted_lam_{lam:g}"] = float(ppi_py.ppi_mean_pointestimate(y[lab], f[lab], f, lam=lam, w=1 / pi[lab])[0])
# stratified: each stratum's PPI++ (its own tuned lam) drawn uniformly within: its labelled and unlabelled units
ref["strata"] = []
for h in range(3):
    m = stratum == h
    yl, fl, fu = y[m & lab], f[m & lab], f[m & ~lab]
    lo, hi = ppi_py.ppi_mean_ci(yl, fl, fu, alpha=0.05)
    est = ppi_py.ppi_mean_pointestimate(yl, fl, fu)
    ref["strata"].append({"stratum": h, "units": int(m.sum()), "estimate": float(np.ravel(est)[0]),
                          "ci": [float(np.ravel(lo)[0]), float(np.ravel(hi)[0])]})
json.dump(ref, open(f"{out}/ppi_weighted_reference.json", "w"), indent=1)
print(json.dumps(ref, indent=1))
