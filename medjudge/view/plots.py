"""The report's figures: matplotlib drawn to inline SVG (text kept as text, escaped by matplotlib)."""

from __future__ import annotations

import io

VERDICT_COLOUR = {"trust": "#2e7d32", "use with care": "#f9a825", "do not trust": "#c62828",
                  "insufficient coverage": "#6a1b9a", "no verdict": "#757575"}


def _figure(width, height):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
                         "axes.spines.right": False, "svg.hashsalt": "medjudge"})
    return plt.subplots(figsize=(width, height))


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # no XML prolog or DOCTYPE inside HTML


def ci_plot(rows: list[dict], xlabel: str, xlim=None) -> str | None:
    """rows: {label, estimate, ci: [lo, hi]}: a dot with its interval per row, top to bottom."""
    rows = [r for r in rows if r.get("estimate") is not None]
    if not rows:
        return None
    fig, ax = _figure(6.0, 0.35 * len(rows) + 0.9)
    for i, r in enumerate(reversed(rows)):
        lo, hi = r.get("ci") or (None, None)
        if lo is not None and hi is not None:
            ax.plot([lo, hi], [i, i], color="#1565c0", linewidth=2)
        ax.plot([r["estimate"]], [i], "o", color="#0d47a1")
    ax.set_yticks(range(len(rows)), [r["label"] for r in reversed(rows)])
    ax.set_xlabel(xlabel)
    if xlim:
        ax.set_xlim(*xlim)
    return _svg(fig)


def compare_plot(series: list[tuple[str, list[dict]]], xlabel: str) -> str | None:
    """Several runs' rows ({label, estimate, ci}) on shared row labels: one colour a run, side by side."""
    labels = list(dict.fromkeys(r["label"] for _, rows in series for r in rows))
    if not labels:
        return None
    colours = ["#0d47a1", "#e65100", "#2e7d32", "#6a1b9a", "#c62828", "#00838f"]
    fig, ax = _figure(6.5, 0.45 * len(labels) + 1.0)
    step = 0.6 / max(1, len(series))
    for s, (name, rows) in enumerate(series):
        by = {r["label"]: r for r in rows if r.get("estimate") is not None}
        colour = colours[s % len(colours)]
        for i, label in enumerate(reversed(labels)):
            r = by.get(label)
            if r is None:
                continue
            y = i + 0.3 - (s + 0.5) * step
            if r.get("ci") and r["ci"][0] is not None:
                ax.plot(r["ci"], [y, y], color=colour, linewidth=2)
            ax.plot([r["estimate"]], [y], "o", color=colour, label=name if i == 0 or label == labels[-1] else None)
    ax.set_yticks(range(len(labels)), list(reversed(labels)))
    handles, names = ax.get_legend_handles_labels()
    seen = dict(zip(names, handles))
    ax.legend(seen.values(), seen.keys(), frameon=False, loc="best")
    ax.set_xlabel(xlabel)
    return _svg(fig)


def forest_plot(rows: list[dict]) -> str | None:
    """Calibration rows: the verdict statistic per group x judge with its CI (coloured by verdict) and the
    physicians' ceiling band (their CI on the same items) behind it."""
    rows = [r for r in rows if (r["stats"].get(r["primary"]) or {}).get("estimate") is not None]
    if not rows:
        return None
    fig, ax = _figure(6.5, 0.4 * len(rows) + 1.0)
    banded = False
    for i, r in enumerate(reversed(rows)):
        s = r["stats"][r["primary"]]
        c = ((r.get("ceiling") or {}).get("stats") or {}).get(r["primary"]) or {}
        if c.get("ci") and c["ci"][0] is not None:
            banded = True
            ax.fill_betweenx([i - 0.35, i + 0.35], c["ci"][0], c["ci"][1], color="#bdbdbd", alpha=0.6, linewidth=0)
        colour = VERDICT_COLOUR.get(r["verdict"], "#424242")
        if s["ci"][0] is not None:
            ax.plot(s["ci"], [i, i], color=colour, linewidth=2)
        ax.plot([s["estimate"]], [i], "o", color=colour)
    ax.set_yticks(range(len(rows)), [f"{r['group']} / {r['judge']}" for r in reversed(rows)])
    ax.axvline(0, color="#9e9e9e", linewidth=0.8)
    ax.set_xlabel(f"{rows[0]['primary']} with 95% CI" + (" (grey band: the physicians' own 95% CI among themselves)"
                                                         if banded else " (no physician ceiling: one expert)"))
    return _svg(fig)


def confusion(matrix, labels, title) -> str:
    fig, ax = _figure(2.6, 2.4)
    ax.imshow(matrix, cmap="Blues")
    for (i, j), v in _cells(matrix):
        ax.text(j, i, str(v), ha="center", va="center", color="black")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("expert")
    ax.set_ylabel("judge")
    ax.set_title(title)
    return _svg(fig)


def _cells(matrix):
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            yield (i, j), v


def bland_altman(judge, expert, title) -> str | None:
    """Difference (judge - expert) against the mean, with the mean bias and the 95% limits of agreement."""
    import numpy as np

    j, e = np.asarray(judge, float), np.asarray(expert, float)
    if len(j) < 3:
        return None
    mean, diff = (j + e) / 2, j - e
    bias, sd = float(diff.mean()), float(diff.std(ddof=1))
    fig, ax = _figure(4.2, 2.8)
    jitter = np.random.default_rng(0).uniform(-0.08, 0.08, len(mean))  # ordinal values overlap
    ax.plot(mean + jitter, diff + jitter, "o", alpha=0.35, color="#1565c0", markersize=4)
    for y, style in ((bias, "-"), (bias - 1.96 * sd, "--"), (bias + 1.96 * sd, "--")):
        ax.axhline(y, color="#c62828", linestyle=style, linewidth=1)
    ax.set_xlabel("mean of judge and expert")
    ax.set_ylabel("judge - expert")
    ax.set_title(f"{title}: bias {bias:+.2f}, limits {bias - 1.96 * sd:+.2f} to {bias + 1.96 * sd:+.2f}")
    return _svg(fig)


def rates(rows: list[dict], title: str) -> str | None:
    """Judge vs expert rate per unit: rows {label, judge, expert}."""
    rows = [r for r in rows if r["judge"] is not None and r["expert"] is not None]
    if not rows:
        return None
    fig, ax = _figure(6.0, 0.35 * len(rows) + 0.9)
    ys = range(len(rows))
    ax.barh([y + 0.2 for y in ys], [r["judge"] for r in reversed(rows)], height=0.4, label="judge", color="#1565c0")
    ax.barh([y - 0.2 for y in ys], [r["expert"] for r in reversed(rows)], height=0.4, label="experts", color="#9e9e9e")
    ax.set_yticks(list(ys), [r["label"] for r in reversed(rows)])
    ax.set_xlabel(title)
    ax.legend(frameon=False)
    return _svg(fig)
