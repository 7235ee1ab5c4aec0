"""HealthBench scoring, checked against the published formula and its unit case (openai/simple-evals)."""

import numpy as np
import pytest

from medjudge.rubrics.checklist import Criterion, answer_bounds, answer_score, clipped_stats, summarize


def crit(points, tags=(), i=[0]):
    i[0] += 1
    return Criterion(id=f"c{i[0]}", text=f"criterion {i[0]}", points=points, tags=list(tags))


def test_published_unit_case_11_over_22():
    # simple-evals healthbench_eval_test: points [7, 5, 10, -6], met [T, F, T, T] -> (7 + 10 - 6) / 22
    cs = [crit(7), crit(5), crit(10), crit(-6)]
    met = dict(zip([c.id for c in cs], [True, False, True, True]))
    assert answer_score(cs, met) == pytest.approx(11 / 22)


def test_answer_score_can_be_negative_and_is_not_clipped():
    cs = [crit(5), crit(-10)]
    assert answer_score(cs, {cs[0].id: False, cs[1].id: True}) == pytest.approx(-2.0)


def test_unscored_criterion_makes_the_answer_partial_with_bounds():
    """Issue 11: an unscored criterion used to leave both sums ((7 - 6) / 12), so an unscored negative
    criterion could never lower a score. Now the answer is partial: no score, and the bounds its missing
    verdict allows, by hand: the 10-point criterion unmet (7 - 6) / 22 or met (7 + 10 - 6) / 22."""
    cs = [crit(7), crit(5), crit(10), crit(-6)]
    met = {cs[0].id: True, cs[1].id: False, cs[3].id: True}
    assert answer_score(cs, met) is None
    assert answer_bounds(cs, met) == pytest.approx((1 / 22, 11 / 22))
    # an unscored negative criterion lowers the lower bound: (7 + 10 - 6) / 22 .. (7 + 10) / 22
    met = {cs[0].id: True, cs[1].id: False, cs[2].id: True}
    assert answer_bounds(cs, met) == pytest.approx((11 / 22, 17 / 22))


def test_partial_answers_leave_the_mean_and_bound_it_when_included():
    a = [crit(10), crit(-5)]
    b = [crit(4, ["axis:x"]), crit(6, ["axis:x"])]
    a_met = {a[0].id: True, a[1].id: False}  # complete: 10 / 10 = 1.0
    b_met = {b[0].id: True}  # partial: 4 / 10 .. 10 / 10
    out = summarize([(a, a_met, []), (b, b_met, [])], resamples=100)
    assert out["overall"]["score"] == pytest.approx(1.0) and out["overall"]["n"] == 1
    assert out["answers_partial"] == 1 and "bounds" not in out["overall"]
    inc = summarize([(a, a_met, []), (b, b_met, [])], resamples=100, partial="include")
    assert inc["overall"]["score"] == pytest.approx(1.0)  # the headline still covers complete answers
    assert inc["overall"]["bounds"] == pytest.approx([(1.0 + 0.4) / 2, (1.0 + 1.0) / 2])
    # the tag only b carries: no complete answer, so no score; bounds 4/10 .. 10/10 by hand
    assert inc["tags"]["axis:x"]["score"] is None and inc["tags"]["axis:x"]["n"] == 0
    assert inc["tags"]["axis:x"]["bounds"] == pytest.approx([0.4, 1.0])


def test_no_positive_points_is_none():
    cs = [crit(-3)]
    assert answer_score(cs, {cs[0].id: True}) is None and answer_bounds(cs, {}) is None


def test_overall_is_clipped_mean_and_bootstrap_std_is_seeded():
    stats = clipped_stats([1.2, 0.9, 1.1], resamples=1000, seed=3)
    assert stats["score"] == 1.0  # mean 1.067 clipped to 1
    low = clipped_stats([-0.5, 0.1], resamples=1000, seed=3)
    assert low["score"] == 0.0
    a = clipped_stats([0.1, 0.5, 0.9, 0.3], resamples=1000, seed=7)
    b = clipped_stats([0.1, 0.5, 0.9, 0.3], resamples=1000, seed=7)
    assert a["std"] == b["std"]
    # the bootstrap std of a mean approaches the analytic value sd/sqrt(n) (population sd)
    values = np.random.default_rng(0).uniform(0.2, 0.8, 400)
    est = clipped_stats(list(values), resamples=2000, seed=1)["std"]
    assert est == pytest.approx(values.std() / np.sqrt(len(values)), rel=0.1)


def test_tag_breakdowns_criterion_and_example_tags():
    a_cs = [crit(10, ["axis:accuracy"]), crit(5, ["axis:completeness"]), crit(-5, ["axis:accuracy"])]
    b_cs = [crit(4, ["axis:accuracy"]), crit(6, ["axis:completeness"])]
    a_met = {a_cs[0].id: True, a_cs[1].id: False, a_cs[2].id: True}  # (10 - 5) / 15
    b_met = {b_cs[0].id: False, b_cs[1].id: True}  # 6 / 10
    out = summarize([(a_cs, a_met, ["theme:emergency"]), (b_cs, b_met, ["theme:hedging"])], resamples=200)
    assert out["overall"]["score"] == pytest.approx((5 / 15 + 0.6) / 2)
    # axis:accuracy: answer a -> (10 - 5) / 10 = 0.5; answer b -> 0 / 4 = 0
    assert out["tags"]["axis:accuracy"]["score"] == pytest.approx(0.25)
    assert out["tags"]["axis:accuracy"]["n"] == 2
    # axis:completeness: a -> 0 / 5, b -> 6 / 6
    assert out["tags"]["axis:completeness"]["score"] == pytest.approx(0.5)
    # example tags take the whole answer's score
    assert out["tags"]["theme:emergency"]["score"] == pytest.approx(5 / 15)
    assert out["tags"]["theme:hedging"]["score"] == pytest.approx(0.6)
