"""The recommender family: ranking metrics by hand, the forget specs, LightGCN's propagation, the outcome bar
on ml-100k and the CLI.

Bar (issue 7): after forgetting users' interactions, UnlearnRec's Recall@20 on the forgotten interactions is
within 0.05 of retrain's while the overall (test) Recall@20 stays within 5% of the original's.
"""

from __future__ import annotations

import importlib.util
import json
import math

import pytest
import torch

if importlib.util.find_spec("recbole") is None:
    pytest.skip("the recommender reads RecBole's bundled ml-100k: pip install 'erase[recommender]'",
                allow_module_level=True)

from erase.adapters import Context, parse_forget  # noqa: E402
from erase.adapters.__main__ import main  # noqa: E402
from erase.adapters.recommender import TASK  # noqa: E402
from erase.adapters.recommender.methods.unlearnrec import dependency_matrix  # noqa: E402
from erase.adapters.recommender.metrics import recall_ndcg  # noqa: E402
from erase.adapters.recommender.model import normalized_adjacency, symmetric_matmul  # noqa: E402
from erase.adapters.run import resolve_config  # noqa: E402
from erase.errors import EraseError  # noqa: E402


def build(forget: str, seed: int = 0):
    return TASK.datasets["ml-100k"](parse_forget(forget, TASK.forget_kinds), seed)


def test_recall_and_ndcg_match_hand_computation() -> None:
    scores = torch.tensor([[0.9, 0.8, 0.1, 0.5], [0.1, 0.2, 0.3, 0.4], [1.0, 0.0, 0.0, 0.0]])
    truth = torch.tensor([[False, True, True, False], [True, False, False, False], [False] * 4])
    exclude = torch.tensor([[True, False, False, False], [False] * 4, [False] * 4])
    # user 0: item 0 excluded; top-2 = items 1, 3 -> 1 hit of 2; DCG = 1/log2(2) = 1, IDCG = 1 + 1/log2(3)
    # user 1: top-2 = items 3, 2 -> 0 hits; user 2 has no truth and is skipped
    recall, ndcg = recall_ndcg(scores, truth, exclude, k=2)
    assert recall == pytest.approx((0.5 + 0.0) / 2)
    assert ndcg == pytest.approx((1 / (1 + 1 / math.log2(3)) + 0.0) / 2)
    assert recall_ndcg(scores, torch.zeros_like(truth), exclude, k=2) == (0.0, 0.0)


def test_forget_specs_pick_the_right_interactions(tmp_path) -> None:
    data = build("user:1,2").data
    assert data.forget[:, 0].unique().tolist() == [0, 1]  # raw ids 1, 2 are the first two users
    assert not torch.isin(data.retain[:, 0], torch.tensor([0, 1])).any()
    assert len(data.retain) + len(data.forget) + len(data.test) == 100_000
    users = build("users:5", seed=3).data
    assert users.forget[:, 0].unique().numel() == 5
    assert len(build("random:1%").data.forget) == round(0.01 * (len(data.retain) + len(data.forget)))
    with pytest.raises(EraseError, match="no user 9999"):
        build("user:9999")
    with pytest.raises(EraseError, match="users:N"):
        build("users:0")
    listed = tmp_path / "rows.txt"
    listed.write_text("0 5 10")
    assert len(build(f"indices:{listed}").data.forget) == 3


def test_symmetric_matmul_gradient_matches_torch() -> None:
    pairs = torch.tensor([[0, 0], [0, 2], [1, 1], [2, 2]])
    adjacency = normalized_adjacency(pairs, num_users=3, num_items=3)
    dense = adjacency.to_dense()
    assert torch.allclose(dense, dense.t())
    h = torch.randn(6, 4, requires_grad=True)
    (symmetric_matmul(adjacency, h) ** 2).sum().backward()
    expected = 2 * dense.t() @ (dense @ h.detach())
    assert torch.allclose(h.grad, expected, atol=1e-6)


def test_dependency_matrix_covers_the_request() -> None:
    a_d, nodes = dependency_matrix(torch.tensor([[0, 1], [0, 2]]), num_users=2, num_nodes=6)
    assert nodes.nonzero().flatten().tolist() == [0, 3, 4]  # user 0, items 1 and 2 (offset by 2 users)
    dense = a_d.to_dense()
    assert torch.allclose(dense, dense.t()) and dense[1].abs().sum() == 0
    # user 0 has degree 3 (two items + self-loop), each item 2: entry (0, 3) = 1 / sqrt(3 * 2)
    assert dense[0, 3] == pytest.approx(1 / math.sqrt(6))


@pytest.fixture(scope="module")
def users_forgotten() -> dict[str, dict]:
    prepared = build("users:5")
    cfg = resolve_config(TASK, "ml-100k", None, ())  # the toy preset, as the CLI runs it
    ctx = Context(seed=0, train=cfg.train, progress=False)
    torch.manual_seed(0)
    original = TASK.train(prepared.make_model(), prepared.data, ctx)
    out = {"original": TASK.evaluate(original, prepared.data, ctx)}
    for name, method in TASK.methods.items():
        torch.manual_seed(0)
        unlearned = method.unlearn(original, prepared.data, getattr(cfg, name), ctx)
        out[name] = TASK.evaluate(unlearned, prepared.data, ctx)
    return out


def forget_gap(r: dict[str, dict], method: str) -> float:
    return abs(r[method]["erased"]["forget_recall@20"] - r["retrain"]["erased"]["forget_recall@20"])


def test_forgetting_users_is_measurable(users_forgotten) -> None:
    """The original and plain fine-tuning still recommend the forgotten items: the bar can fail."""
    assert forget_gap(users_forgotten, "original") > 0.1
    assert forget_gap(users_forgotten, "ft") > 0.05


def test_unlearnrec_meets_the_bar(users_forgotten) -> None:
    assert forget_gap(users_forgotten, "unlearnrec") <= 0.05
    test_recall = users_forgotten["unlearnrec"]["retained"]["test_recall@20"]
    assert test_recall >= 0.95 * users_forgotten["original"]["retained"]["test_recall@20"]


def test_cli_compare_all_writes_the_report(tmp_path, capsys) -> None:
    argv = ["--task", "recommender", "--forget", "user:1", "--compare", "all", "--out", str(tmp_path),
            "--set", "train.epochs=1", "--set", "unlearnrec.pretrain_steps=2", "--set", "unlearnrec.finetune_steps=1"]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert all(f"| {name} |" in table for name in ("original", "retrain", "ft", "unlearnrec"))
    (run_dir,) = tmp_path.iterdir()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["methods"]) == {"retrain", "ft", "unlearnrec"}
    assert metrics["samples"] == len(build("user:1").data.forget)
    assert (run_dir / "report.html").is_file() and (run_dir / "unlearnrec.safetensors").is_file()
