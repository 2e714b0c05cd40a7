"""Corrective mode on digits (fixed seed 0, the toy preset): the manipulation works on the original, retraining
without every manipulated sample removes it, and the table has a block of rows per known fraction."""

import json

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from erase.adapters.__main__ import main
from erase.adapters.corrective import known_split, manipulate, parse_known, parse_manipulation, with_trigger
from erase.adapters.run import Job
from tests.conftest import adapter_runs_side_by_side


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    # poison 8% = 54 of the 674 training digits; at 2% (13 samples) the 1-pixel backdoor reaches only ~40% ASR
    return adapter_runs_side_by_side({
        "poison": Job(corrective="poison:8%", known="1,0.1", methods=("ssd",), out=tmp_path_factory.mktemp("poison"),
                      progress=False),
        "confuse": Job(corrective="confuse:0.1", known="1", methods=("ft",), overrides=("ft.epochs=5",),
                       out=tmp_path_factory.mktemp("confuse"), progress=False)})


@pytest.fixture(scope="module")
def poison(runs):
    return runs["poison"]


@pytest.fixture(scope="module")
def confuse(runs) -> dict:
    return runs["confuse"].metrics


def test_poison_backdoors_the_original_and_full_retrain_removes_it(poison):
    m = poison.metrics
    before, clean = m["before"], m["methods"]["retrain@1"]
    assert before["erased"]["asr"] >= 80  # triggered test images go to class 0 (chance: ~10%)
    assert before["retained"]["acc_retain"] >= 95  # while clean images are classified as before
    assert clean["erased"]["asr"] <= 5 and clean["erased"]["acc_corr"] >= 90
    assert m["reference"] == "retrain@1" and m["methods"]["ssd@0.1"]["known"] == 0.1
    ssd_asr, reference_asr = m["methods"]["ssd@0.1"]["erased"]["asr"], clean["erased"]["asr"]
    assert m["methods"]["ssd@0.1"]["gap"]["erased"]["asr"] == pytest.approx(ssd_asr - reference_asr)


def test_poison_table_has_a_block_per_known_fraction(poison):
    rows = [line.split("|")[1].strip() for line in poison.table.splitlines()[2:]]
    assert rows == ["original", "retrain@0.1", "ssd@0.1", "retrain@1", "ssd@1"]
    assert poison.table.splitlines()[0].split("|")[2:6] == [" acc_corr ", " asr ", " manip_acc ", " acc_retain "]
    saved = json.loads((poison.run.dir / "metrics.json").read_text())
    assert saved["corrective"] == {"manipulation": "poison", "fraction": 0.08, "manipulated": 54, "known": [0.1, 1.0]}
    assert (poison.run.dir / "ssd@0.1.safetensors").is_file() and (poison.run.dir / "report.html").is_file()


def test_interclass_confusion_misleads_the_original_and_full_retrain_repairs_it(confuse):
    assert confuse["before"]["erased"]["asr"] >= 30  # 3s read as 5s and back (the two classes' test images)
    assert confuse["methods"]["retrain@1"]["erased"]["acc_corr"] >= 90
    assert confuse["methods"]["retrain@1"]["erased"]["asr"] <= 5


def test_trigger_is_the_scaled_bottom_right_square():
    flat = with_trigger(torch.zeros(2, 64), 1.0)  # 8x8 digits: official 3 of 32 -> 1 pixel
    assert flat.sum() == 2 and flat[:, 63].eq(1).all()
    images = with_trigger(torch.zeros(1, 3, 32, 32), 2.0)  # the official size on CIFAR: 3x3, every channel
    assert images[0, :, -3:, -3:].eq(2).all() and images.sum() == 2.0 * 27


def test_known_subsets_are_nested_and_forget_only_manipulated_samples():
    x, y = torch.rand(200, 64), torch.arange(200) % 10
    like = DataLoader(TensorDataset(x, y), batch_size=16)
    man = manipulate((x, y), (x[:20], y[:20]), parse_manipulation("poison:0.1"), like, seed=0)
    small, full = (known_split(man, k, like, 10, 0) for k in parse_known("0.5,1"))
    small_x, full_x = small.forget.dataset.tensors[0], full.forget.dataset.tensors[0]
    assert len(small_x) == 10 and len(full_x) == 20 and len(full.retain.dataset) == 180
    assert all((full_x == row).all(1).any() for row in small_x)
    assert full.forget.dataset.tensors[1].eq(0).all() and full_x[:, 63].eq(full_x.max()).all()


@pytest.mark.parametrize("argv, fix", [
    (["--corrective", "noise:0.1"], "bad --corrective 'noise:0.1': expected poison:F or confuse:F"),
    (["--corrective", "poison:2"], "bad --corrective 'poison:2'"),
    (["--corrective", "poison:2%", "--known", "0"], "bad --known '0': expected fractions in (0, 1]"),
    (["--corrective", "poison:2%", "--task", "regression"], "--corrective serves --task classifier only"),
    (["--corrective", "poison:2%", "--klom", "3"], "--klom is not available with --corrective"),
])
def test_bad_corrective_input_is_one_line_naming_the_fix(argv, fix, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fix in err and err.count("\n") == 1
    assert not any(tmp_path.iterdir())

