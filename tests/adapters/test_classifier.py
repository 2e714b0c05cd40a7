"""Outcome tests on digits (fixed seed 0, the toy preset): class and random forgetting, every method vs retrain.

Known gaps are strict xfails: they fail today, and the suite says so the day they pass.
"""

import pytest

from erase.adapters.run import Job, run

FORGETS_CLASS_BUT_NOT_YET = {  # UA more than 10 points from retrain's, or TA more than 3 below the original's
    "ssd": "dampens too little at alpha=10 on a 26k-parameter MLP (UA 1.5)",
    "iau": "one Adam step at lr 1e-3 (official) moves too little for a whole class (UA 1.5)",
    "dmm": "the last-layer ridge datamodel predicts almost no change (UA 0)",
    "bad_teacher": "UA 38 after 8 epochs",
    "prune_ft": "sparse FT forgets like FT (UA 32)",
    "salun": "UA 73 under the saliency mask",
    "scrub": "16 max-step epochs collapse retained accuracy (TA 58)",
    "modhifi": "removing 10% of units costs 26 points of TA",
}


@pytest.fixture(scope="module")
def class_3(tmp_path_factory):
    return run(Job(forget="class:3", methods=("all",), out=tmp_path_factory.mktemp("class"), progress=False)).metrics


@pytest.fixture(scope="module")
def random_10(tmp_path_factory):
    return run(Job(forget="random:10%", methods=("ft", "salun", "l1_sparse"), out=tmp_path_factory.mktemp("random"),
                   progress=False)).metrics


def test_the_original_remembers_and_retrain_forgets(class_3):
    assert class_3["before"]["erased"]["ua"] <= 5 and class_3["methods"]["retrain"]["erased"]["ua"] >= 95
    assert class_3["before"]["retained"]["ta"] >= 95


@pytest.mark.parametrize("method", [
    pytest.param(m, marks=pytest.mark.xfail(strict=True, reason=FORGETS_CLASS_BUT_NOT_YET[m]))
    if m in FORGETS_CLASS_BUT_NOT_YET else m
    for m in ("rl", "scrub", "bad_teacher", "ssd", "l1_sparse", "prune_ft", "salun", "laf", "iau", "dmm", "acu",
              "s3t", "modhifi")])
def test_class_forgetting_reaches_retrain(class_3, method):
    result = class_3["methods"][method]
    assert abs(result["gap"]["erased"]["ua"]) <= 10
    assert result["retained"]["ta"] >= class_3["before"]["retained"]["ta"] - 3


@pytest.mark.parametrize("method", [
    pytest.param("salun", marks=pytest.mark.xfail(strict=True, reason="MIA-efficacy 34 vs retrain's 2.2")),
    pytest.param("l1_sparse", marks=pytest.mark.xfail(strict=True, reason="ties FT: both at retrain's 2.2")),
])
def test_random_forgetting_mia_closer_to_retrain_than_ft(random_10, method):
    gaps = {m: abs(random_10["methods"][m]["gap"]["erased"]["mia_efficacy"]) for m in ("ft", method)}
    assert gaps[method] < gaps["ft"]
