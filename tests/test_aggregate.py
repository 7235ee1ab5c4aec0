import pytest

from medjudge.judges.aggregate import aggregate


def test_majority_and_agreement_share():
    a = aggregate("majority", [(1.0, None), (1.0, None), (0.0, None)])
    assert a.value == 1.0 and a.votes == 3 and a.detail["agree"] == pytest.approx(2 / 3)


def test_tie_is_unscored_unless_a_tie_rule_is_given():
    votes = [(1.0, None), (0.0, None)]
    a = aggregate("majority", votes)
    assert a.value is None and a.reason.startswith("tie")
    assert aggregate("majority", votes, tie="met").value == 1.0
    assert aggregate("majority", votes, tie="unmet").value == 0.0


def test_unscored_votes_do_not_count():
    a = aggregate("majority", [(None, "unparseable: x"), (0.0, None)])
    assert a.value == 0.0 and a.votes == 1
    b = aggregate("majority", [(None, "unparseable: x"), (None, "unparseable: x")])
    assert b.value is None and b.reason == "unparseable: x"


def test_median_mean_and_worst_of_n():
    a = aggregate("median", [(2.0, None), (5.0, None), (4.0, None), (None, "out of range")])
    assert a.value == 4.0 and a.detail["mean"] == pytest.approx(11 / 3) and a.detail["worst"] == 2.0
    assert aggregate("median", [(2.0, None), (5.0, None)]).value == 3.5


def test_worst_level_for_safety():
    assert aggregate("worst", [(1.0, None), (3.0, None), (2.0, None)]).value == 3.0


def test_scale_summary_reports_worst_of_n_mean():
    from medjudge.rubrics.scale import Dimension, summarize

    dims = [Dimension(id="a", question="q")]
    out = summarize(dims, {"a": [4.0, 2.0]}, resamples=50, worst={"a": [3.0, 1.0]})
    assert out["dimensions"]["a"]["mean"] == pytest.approx(3.0)
    assert out["dimensions"]["a"]["worst_mean"] == pytest.approx(2.0)
