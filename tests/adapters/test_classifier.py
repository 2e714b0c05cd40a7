"""Outcome tests on digits (the toy preset; class forgetting at seed 0, random forgetting over seeds 0-4): every
method vs retrain;
mechanics of IAU's gradient restriction and DMM's attribution.

Known gaps are strict xfails: they fail today, and the suite says so the day they pass.
"""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from erase.adapters.api import Context, UnlearnData
from erase.adapters.loops import TrainConfig, predict, train_model
from erase.adapters.methods import dmm, iau, s3t
from erase.adapters.run import Job, run
from erase.errors import EraseError
from tests.conftest import adapter_runs_side_by_side

FORGETS_CLASS_BUT_NOT_YET = {  # UA more than 10 points from retrain's (100), or TA more than 3 below the original's
    "iau": "UA 0: from the gradient-restricted original (trained first, official alpha 0.005), one Adam step at lr "
           "1e-3 (official) moves each weight by 1e-3; 10 such steps reach UA 41, 30 reach 100 with TA -6.9",
    "dmm": "UA 0: the last-layer influence of D_f (true labels) on the memorising original predicts class 3's logit "
           "to fall by ~1.6 (p ~ y, so the loss gradients are ~0), against a margin of ~16",
    "bad_teacher": "UA 0: one epoch (63 steps, Adam 1e-4, official) moves class 3 towards the random teacher "
                   "without flipping its argmax",
    "prune_ft": "UA 0: FT on the 95%-sparse model forgets no more than dense FT (UA 0)",
    "scrub": "UA 0: 2 max-step passes of 9 steps start at KL=0, a stationary point of a deterministic MLP (the "
             "anchors' ResNets leave it through BatchNorm's batch statistics); measured at width 128, the "
             "small-scale notebook's settings (Adam, wd 0.1, 3 of 10 epochs, batches 64/32) also leave UA 0",
}
FORGETS_CLASS_MACHINE_DEPENDENT = {  # non-strict xfails: they pass or fail depending on the processor
    "ssd": "machine-dependent: at seed 0 it passes on a 2-core AMD EPYC (TA +0.2 points of the original's) and fails "
           "on a 2-core Intel Xeon with AMX (UA 100, TA 92.8 against 96.3: -3.5). The original reaches the same "
           "TA (96.3) on both; SSD, which dampens the weights whose importance ratio crosses a threshold, does not "
           "give the same model",
}
# SSD is also seed-sensitive: seed 1 TA -10.4, seed 2 UA 91.2 (passes).
# Measured on a small BatchNorm CNN instead of the MLP, these stay unmet and RL, SalUn, LAF, S3T and ModHiFi-U fail
# too (erase/adapters/classifier says why the MLP stays).
MIA_NOT_YET = {  # mean |MIA-efficacy gap to retrain| on random:10% over seeds 0-4, against FT's mean (4.8)
    "salun": "mean gap 14.3 (seeds 0-4: 13.4, 14.9, 14.9, 10.4, 17.9) against FT's 4.8: 10 official epochs of random "
             "labels over-forget the 67 memorised samples (MIA-efficacy ~20 where retrain's is 3-9)",
    "l1_sparse": "machine-dependent: on session 7's 2-core machine its mean gap tied FT's, 4.8 (16 forget samples "
                 "over five seeds each); on an AMD EPYC one it is closer, 5.1 against 6.3 (the originals differ)",
}
MIA_MACHINE_DEPENDENT = {"l1_sparse"}  # a non-strict xfail: it passes or ties depending on the processor


RANDOM_SEEDS = range(5)  # 67 forget samples: one sample is 1.5 points of MIA-efficacy, so one seed decides little


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Every run the outcome tests read, side by side: class:3 with every method at seed 0; random:10% at seeds 0-4
    (the original, its split and every method re-drawn per seed)."""
    out = tmp_path_factory.mktemp("runs")
    done = adapter_runs_side_by_side({
        "class_3": Job(forget="class:3", methods=("all",), out=out, progress=False),
        **{seed: Job(forget="random:10%", methods=("ft", "salun", "l1_sparse"), out=out, seed=seed, progress=False)
           for seed in RANDOM_SEEDS}})
    return {"class_3": done["class_3"].metrics, "random_10": [done[seed].metrics for seed in RANDOM_SEEDS]}


@pytest.fixture(scope="module")
def class_3(runs) -> dict:
    return runs["class_3"]


@pytest.fixture(scope="module")
def random_10(runs) -> list[dict]:
    return runs["random_10"]


def test_the_original_remembers_and_retrain_forgets(class_3):
    assert class_3["before"]["erased"]["ua"] <= 5 and class_3["methods"]["retrain"]["erased"]["ua"] >= 95
    assert class_3["before"]["retained"]["ta"] >= 94


def test_a_one_off_preparation_is_timed_apart_from_the_unlearning_request(class_3):
    """IAU's gradient-restricted original and S3T's sharded sliced training happen once, before any request; SSD
    has nothing to prepare."""
    iau_times, s3t_times, ssd_times = (class_3["methods"][name] for name in ("iau", "s3t", "ssd"))
    assert iau_times["prep_s"] > iau_times["runtime_s"] and s3t_times["prep_s"] > s3t_times["runtime_s"]
    assert "prep_s" not in ssd_times


def test_s3t_asks_for_its_prepared_model():
    data = UnlearnData(*(DataLoader(TensorDataset(torch.rand(4, 64), torch.arange(4))) for _ in range(3)),
                       num_classes=4)
    with pytest.raises(EraseError, match="s3t.prepare"):
        s3t.unlearn(nn.Sequential(nn.Linear(64, 4)), data, s3t.S3TConfig(), Context())


def test_the_original_memorises_like_the_anchors(random_10):
    """Train accuracy 100% and a membership gap: retrain's unseen forget samples look like test samples, the
    original's like training samples (the digits split's reason, see erase/adapters/classifier)."""
    before, retrain = random_10[0]["before"], random_10[0]["methods"]["retrain"]
    assert before["retained"]["ra"] == 100.0 and before["erased"]["ua"] == 0.0
    assert retrain["erased"]["mia_efficacy"] >= before["erased"]["mia_efficacy"] + 3


@pytest.mark.parametrize("method", [
    pytest.param(m, marks=pytest.mark.xfail(strict=True, reason=FORGETS_CLASS_BUT_NOT_YET[m]))
    if m in FORGETS_CLASS_BUT_NOT_YET else
    pytest.param(m, marks=pytest.mark.xfail(strict=False, reason=FORGETS_CLASS_MACHINE_DEPENDENT[m]))
    if m in FORGETS_CLASS_MACHINE_DEPENDENT else m
    for m in ("rl", "scrub", "bad_teacher", "ssd", "l1_sparse", "prune_ft", "salun", "laf", "iau", "dmm", "acu",
              "s3t", "modhifi")])
def test_class_forgetting_reaches_retrain(class_3, method):
    result = class_3["methods"][method]
    assert abs(result["gap"]["erased"]["ua"]) <= 10
    assert result["retained"]["ta"] >= class_3["before"]["retained"]["ta"] - 3


@pytest.mark.parametrize("method", [
    pytest.param(m, marks=pytest.mark.xfail(strict=m not in MIA_MACHINE_DEPENDENT, reason=MIA_NOT_YET[m]))
    if m in MIA_NOT_YET else m
    for m in ("salun", "l1_sparse")])
def test_random_forgetting_mia_closer_to_retrain_than_ft(random_10, method):
    """The mean over seeds of |MIA-efficacy - retrain's| is smaller than FT's (summed gaps are whole samples:
    rounded so that float summation order cannot break a tie)."""
    gaps = {m: round(sum(abs(r["methods"][m]["gap"]["erased"]["mia_efficacy"]) for r in random_10), 6)
            for m in ("ft", method)}
    assert gaps[method] < gaps["ft"]


def test_a_methods_result_does_not_depend_on_the_methods_run_before_it(class_3, tmp_path):
    """The last method of `--compare all`, run after every other one, gives what it gives alone."""
    last = list(class_3["methods"])[-1]
    alone = run(Job(forget="class:3", methods=(last,), out=tmp_path, progress=False)).metrics["methods"][last]
    after = class_3["methods"][last]
    assert {k: v for k, v in alone.items() if k != "runtime_s"} == {k: v for k, v in after.items() if k != "runtime_s"}


def shuffled(x: torch.Tensor, y: torch.Tensor, seed: int) -> DataLoader:
    return DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(seed))


def toy_problem(seed: int = 0) -> tuple[nn.Module, UnlearnData, Context]:
    """A small MLP trained on 3 separable Gaussian blobs; the forget set is 10 samples of blob 0."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(60) % 3
    x = torch.randn(60, 4, generator=g) + 3 * nn.functional.one_hot(y, 4).float()
    forget = (y == 0) & (torch.arange(60) < 30)
    data = UnlearnData(retain=shuffled(x[~forget], y[~forget], seed), forget=shuffled(x[forget], y[forget], seed),
                       test=shuffled(x, y, seed), num_classes=3)
    ctx = Context(seed=seed, train=TrainConfig(epochs=20, lr=0.05, weight_decay=0.0), progress=False)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    return train_model(model, DataLoader(TensorDataset(x, y), batch_size=8), 3, ctx, "toy"), data, ctx


def test_dmm_attribution_predicts_lower_own_logits_once_the_forget_set_is_gone():
    model, data, ctx = toy_problem()
    xr, target_r, xf, target_f = dmm.predicted_outputs(model, data, dmm.DMMConfig().damping, ctx)
    logits_f, y_f = predict(model, data.forget)
    change = target_f - logits_f
    assert change.abs().max() > 1e-2  # the datamodel predicts a change (the ridge one predicted none)
    assert change.gather(1, y_f[:, None]).mean() < 0  # removing samples lowers their own true-class logit
    assert torch.equal(xf, data.forget.dataset.tensors[0]) and len(target_r) == len(xr)


def test_iau_gradient_restriction_adds_alpha_times_the_summed_gradient_norms():
    torch.manual_seed(0)
    model, x, y = nn.Linear(3, 2), torch.randn(5, 3), torch.tensor([0, 1, 0, 1, 1])
    def ce(m: nn.Module, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(m(a), b)

    grads = torch.autograd.grad(ce(model, x, y), list(model.parameters()))
    expected = ce(model, x, y) + 0.5 * (grads[0].norm() + grads[1].norm())
    assert iau.gradient_restricted(ce, 0.5)(model, x, y).item() == pytest.approx(expected.item(), rel=1e-6)
