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
    # one readable vote of two is no majority of the expected votes: the unit is unscored, with the count
    a = aggregate("majority", [(None, "unparseable: x"), (0.0, None)])
    assert a.value is None and a.votes == 1 and a.expected == 2
    assert a.reason == "no quorum: 1 of 2 votes scored, 2 needed (unparseable: x)"
    b = aggregate("majority", [(None, "unparseable: x"), (None, "unparseable: x")])
    assert b.value is None and b.reason == "0 of 2 votes scored (unparseable: x)"
    c = aggregate("majority", [(None, "unparseable: x"), (0.0, None), (0.0, None)])
    assert c.value == 0.0 and c.votes == 2 and c.expected == 3


def test_one_vote_of_five_never_decides():
    """Issue 11: one readable vote out of N decided a unit. Missing votes (failed calls) count too."""
    one = aggregate("majority", [(1.0, None)], expected=5)
    assert one.value is None and one.reason.startswith("no quorum: 1 of 5 votes scored, 3 needed")
    three = aggregate("majority", [(1.0, None), (1.0, None), (0.0, None)], expected=5)
    assert three.value == 1.0 and (three.votes, three.expected) == (3, 5)
    # a scale median needs the quorum too; a share or "all" changes it
    assert aggregate("median", [(4.0, None), (2.0, None)], expected=5).value is None
    assert aggregate("median", [(4.0, None), (2.0, None)], expected=5, quorum=0.4).value == 3.0
    assert aggregate("majority", [(1.0, None)] * 4, expected=5, quorum="all").value is None


def test_quorum_parsing_and_votes_needed():
    from medjudge.judges.aggregate import parse_quorum, votes_needed

    assert [votes_needed(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 2, 3, 3]  # more than half, by hand
    assert votes_needed(5, "all") == 5 and votes_needed(4, 0.75) == 3 and votes_needed(3, 0.5) == 2
    assert parse_quorum("majority") is None and parse_quorum("0.6") == 0.6 and parse_quorum("all") == "all"
    for bad in ("0", "1.5", "most"):
        with pytest.raises(ValueError):
            parse_quorum(bad)


def test_safety_worst_needs_every_expected_vote():
    a = aggregate("worst", [(1.0, None), (1.0, None)], expected=3)
    assert a.value is None and a.reason.startswith("fail-closed: 1 of 3 votes unscored")


def test_median_mean_and_worst_of_n():
    a = aggregate("median", [(2.0, None), (5.0, None), (4.0, None), (None, "out of range")])
    assert a.value == 4.0 and a.detail["mean"] == pytest.approx(11 / 3) and a.detail["worst"] == 2.0
    assert aggregate("median", [(2.0, None), (5.0, None)]).value == 3.5


def test_worst_level_for_safety():
    assert aggregate("worst", [(1.0, None), (3.0, None), (2.0, None)]).value == 3.0


def test_scale_summary_reports_worst_of_n_mean():
    from medjudge.rubrics.scale import Dimension, summarize

    dims = [Dimension(id="a", question="q")]
    out = summarize(dims, [{"a": (4.0, 3.0)}, {"a": (2.0, 1.0)}], resamples=50)
    assert out["dimensions"]["a"]["mean"] == pytest.approx(3.0)
    assert out["dimensions"]["a"]["worst_mean"] == pytest.approx(2.0)
