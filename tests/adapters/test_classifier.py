"""Outcome tests on digits (fixed seed 0, the toy preset): class and random forgetting, every method vs retrain.

Known gaps are strict xfails: they fail today, and the suite says so the day they pass.
"""

import pytest

from erase.adapters.run import Job, run

FORGETS_CLASS_BUT_NOT_YET = {  # UA more than 10 points from retrain's (100), or TA more than 3 below the original's
    "ssd": "UA 80.3: class 3 is 10% of D (1% for a CIFAR-100 class in SSD's runs), so few weights reach "
           "alpha=10 x the full-data importance",
    "iau": "UA 0: one Adam step at lr 1e-3 (official) needs the original trained with IAU's gradient-restriction "
           "loss, which the shared original is not",
    "dmm": "UA 0: the last-layer ridge datamodel of the logits reproduces the head (zero residuals), so removing "
           "D_f predicts no change",
    "bad_teacher": "UA 0: one epoch (63 steps, Adam 1e-4, official) moves class 3 towards the random teacher "
                   "without flipping its argmax",
    "l1_sparse": "UA 2.9: 10 epochs at alpha 5e-4 (alpha unverified) forget little more than FT (UA 1.5)",
    "prune_ft": "UA 6.6: FT on the 95%-sparse model forgets little more than dense FT (UA 1.5)",
    "scrub": "UA 0: 2 max-step passes of 9 steps start at KL=0, a stationary point the max step leaves only "
             "after ~120 steps on this MLP",
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
    pytest.param("salun", marks=pytest.mark.xfail(strict=True, reason=(
        "MIA-efficacy 4.4 vs retrain's 2.2 and FT's 0.0 (gaps tie at 2.2): the MLP barely memorises digits, so every "
        "model's MIA-efficacy is within a few of 135 samples of 0"))),
    "l1_sparse",
])
def test_random_forgetting_mia_closer_to_retrain_than_ft(random_10, method):
    gaps = {m: abs(random_10["methods"][m]["gap"]["erased"]["mia_efficacy"]) for m in ("ft", method)}
    assert gaps[method] < gaps["ft"]
