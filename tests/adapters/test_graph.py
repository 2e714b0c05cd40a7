"""The graph family: node-unlearning data, D2D's losses, the outcome bars on SBM and KarateClub, and the CLI.

Bars (issue 7): D2D brings the forgotten nodes' accuracy and MIA-efficacy within 10 points of retrain's and
keeps retained accuracy within 3. Measured (seed 0) for both of D2D's kinds of knowledge: only KarateClub's class
forgetting meets it; every other setting misses (strict xfails, each with its numbers).
"""

from __future__ import annotations

import dataclasses
import functools
import json

import pytest
import torch

pytest.importorskip("torch_geometric", reason="the graph family needs torch-geometric: pip install 'erase[graph]'")

from erase.adapters import Context, parse_forget  # noqa: E402
from erase.adapters.__main__ import main  # noqa: E402
from erase.adapters.graph import TASK  # noqa: E402
from erase.adapters.graph.methods.d2d import D2DConfig, d2d_loss  # noqa: E402
from erase.adapters.run import resolve_config  # noqa: E402
from erase.errors import EraseError  # noqa: E402


def build(dataset: str, forget: str, seed: int = 0):
    return TASK.datasets[dataset](parse_forget(forget, TASK.forget_kinds), seed)


def results(dataset: str, forget: str, methods: tuple[str, ...]) -> dict[str, dict]:
    """Every method's metrics (and the original's), as the CLI runs them: same seed before each. A method
    `d2d:feature` is D2D with `knowledge="feature"`."""
    prepared = build(dataset, forget)
    cfg = resolve_config(TASK, dataset, None, ())  # defaults and any preset, as the CLI runs them
    ctx = Context(seed=0, train=cfg.train, progress=False)
    torch.manual_seed(0)
    original = TASK.train(prepared.make_model(), prepared.data, ctx)
    out = {"original": TASK.evaluate(original, prepared.data, ctx)}
    for name in methods:
        key, _, knowledge = name.partition(":")
        method_cfg = getattr(cfg, key)
        if knowledge:
            method_cfg = dataclasses.replace(method_cfg, knowledge=knowledge)
        torch.manual_seed(0)
        unlearned = TASK.methods[key].unlearn(original, prepared.data, method_cfg, ctx)
        out[name] = TASK.evaluate(unlearned, prepared.data, ctx)
    return out


@functools.cache
def measured(dataset: str, forget: str) -> dict[str, dict]:
    return results(dataset, forget, ("retrain", "ft", "d2d", "d2d:feature"))


@pytest.fixture(scope="module")
def random_nodes() -> dict[str, dict]:
    return measured("sbm", "random:10%")


@pytest.fixture(scope="module")
def class_nodes() -> dict[str, dict]:
    return measured("sbm", "class:2")


def gap(r: dict[str, dict], method: str, key: str) -> float:
    group, name = key.split("/")
    return abs(r[method][group][name] - r["retrain"][group][name])


def test_node_deletion_drops_labels_and_edges() -> None:
    data = build("sbm", "random:10%").data
    assert int(data.forget.sum()) == round(0.1 * int(data.train.sum()))
    assert not (data.retain & data.forget).any() and not (data.train & data.test).any()
    touched = data.forget[data.retain_edge_index[0]] | data.forget[data.retain_edge_index[1]]
    assert not touched.any()
    dropped = data.edge_index.size(1) - data.retain_edge_index.size(1)
    assert dropped == int((data.forget[data.edge_index[0]] | data.forget[data.edge_index[1]]).sum()) > 0


def test_forget_specs_are_checked(tmp_path) -> None:
    data = build("karate", "class:3").data
    assert bool((data.y[data.forget] == 3).all()) and not bool((data.y[data.retain] == 3).any())
    assert bool(data.test_forget.any()) and not bool((data.y[data.test] == 3).any())
    listed = tmp_path / "nodes.txt"
    listed.write_text(f"{int(data.train.nonzero()[0])}\n{int(data.test.nonzero()[0])}\n")
    with pytest.raises(EraseError, match="not training nodes"):
        build("karate", f"indices:{listed}")
    with pytest.raises(EraseError, match="classes run 0..3"):
        build("karate", "class:7")


def test_d2d_loss_matches_hand_computation() -> None:
    student = [torch.log(torch.tensor([[0.5, 0.5], [0.25, 0.75]]))]
    preserver = [torch.tensor([[1.0, 0.0], [0.5, 0.5]])]
    destroyer = [torch.tensor([[0.5, 0.5], [0.5, 0.5]])]
    retain, forget = torch.tensor([True, False]), torch.tensor([False, True])
    # KL([1,0] || [.5,.5]) = log 2; KL([.5,.5] || [.25,.75]) = .5 log(.5/.25) + .5 log(.5/.75)
    kl_f = 0.5 * torch.log(torch.tensor(2.0)) + 0.5 * torch.log(torch.tensor(2 / 3))
    expected = 0.3 * torch.log(torch.tensor(2.0)) + 0.7 * kl_f
    loss = d2d_loss(student, preserver, destroyer, retain, forget, alpha=0.3, kind="response")
    assert torch.isclose(loss, expected)


def test_d2d_feature_loss_matches_hand_computation() -> None:
    """Squared error summed over every layer, node and dimension; retained nodes against the preserver."""
    student = [torch.tensor([[1.0, 2.0], [0.0, 0.0], [3.0, 3.0]]), torch.tensor([[1.0], [1.0], [2.0]])]
    preserver = [torch.tensor([[0.0, 2.0], [9.0, 9.0], [3.0, 1.0]]), torch.tensor([[1.0], [9.0], [0.0]])]
    destroyer = [torch.tensor([[9.0, 9.0], [1.0, -1.0], [9.0, 9.0]]), torch.tensor([[9.0], [4.0], [9.0]])]
    retain, forget = torch.tensor([True, False, True]), torch.tensor([False, True, False])
    keep = (1 + 4) + (0 + 4)  # nodes 0 and 2: layer 1, then layer 2
    drop = 2 + 9  # node 1: layer 1, then layer 2
    loss = d2d_loss(student, preserver, destroyer, retain, forget, alpha=0.25, kind="feature")
    assert torch.isclose(loss, torch.tensor(0.25 * keep + 0.75 * drop))


def test_gcn_embeddings_end_in_the_logits() -> None:
    data = build("karate", "class:3").data
    model = build("karate", "class:3").make_model().eval()
    hidden, logits = model.embeddings(data.x, data.edge_index)
    assert hidden.shape == (34, 64) and (hidden < 0).any()  # before the ReLU
    assert torch.equal(logits, model(data.x, data.edge_index)) and logits.shape == (34, 4)


def test_d2d_config_is_checked() -> None:
    with pytest.raises(EraseError, match="d2d.knowledge must be one of"):
        D2DConfig(knowledge="logits")


def test_sbm_forgetting_is_measurable(random_nodes) -> None:
    """The original fits its training nodes far better than retrain does, so the bars can fail."""
    assert gap(random_nodes, "original", "erased/forget_acc") > 20
    assert gap(random_nodes, "original", "erased/mia_efficacy") > 20
    assert gap(random_nodes, "ft", "erased/forget_acc") > 10  # fine-tuning alone does not forget


def test_d2d_forgets_the_nodes(random_nodes) -> None:
    """D2D removes what the original memorised: forgotten nodes fall well below the original's accuracy."""
    assert random_nodes["original"]["erased"]["forget_acc"] - random_nodes["d2d"]["erased"]["forget_acc"] > 40
    assert random_nodes["d2d"]["erased"]["mia_efficacy"] > random_nodes["original"]["erased"]["mia_efficacy"] + 40


def test_d2d_forgets_a_class_like_retrain(class_nodes) -> None:
    assert gap(class_nodes, "d2d", "erased/forget_acc") <= 10
    assert gap(class_nodes, "d2d", "erased/mia_efficacy") <= 10
    assert gap(class_nodes, "d2d", "erased/forget_test_acc") <= 10


BAR_MISSES = {  # measured, seed 0 (retrain's value second); the reason of each strict xfail
    ("sbm", "random:10%", "d2d"): "forget acc 37 vs 68, MIA 97 vs 43, RA 91 vs 97: the random destroyer drives the "
                                  "forgotten nodes to chance, where retrain generalises to them",
    ("sbm", "random:10%", "d2d:feature"): "forget acc 87 vs 68, MIA 16 vs 43 (RA 96 vs 97 holds): the summed MSE "
                                          "over 675 retained against 75 forgotten nodes lets the preserver win",
    ("sbm", "class:2", "d2d"): "the class is forgotten like retrain's (acc 7 vs 0, MIA 100 vs 100) but RA 91 vs 98",
    ("sbm", "class:2", "d2d:feature"): "forget acc 44 vs 0, MIA 83 vs 100, RA 94 vs 98",
    ("karate", "random:10%", "d2d"): "2 forgotten nodes: forget acc 50 vs 100, MIA 100 vs 0",
    ("karate", "random:10%", "d2d:feature"): "2 forgotten nodes: MIA 50 vs 0 (forget acc and RA hold)",
}


def bar_case(dataset: str, forget: str, method: str):
    reason = BAR_MISSES.get((dataset, forget, method))
    marks = [pytest.mark.xfail(strict=True, reason=f"measured: {reason}")] if reason else []
    return pytest.param(dataset, forget, method, marks=marks, id=f"{dataset}-{forget}-{method}")


@pytest.mark.parametrize(("dataset", "forget", "method"), [
    bar_case(dataset, forget, method)
    for dataset, forget in (("sbm", "random:10%"), ("sbm", "class:2"), ("karate", "random:10%"), ("karate", "class:3"))
    for method in ("d2d", "d2d:feature")])
def test_d2d_meets_the_bar(dataset: str, forget: str, method: str) -> None:
    """Issue 7: forgotten nodes' accuracy and MIA-efficacy within 10 points of retrain's, RA within 3."""
    r = measured(dataset, forget)
    assert gap(r, method, "erased/forget_acc") <= 10
    assert gap(r, method, "erased/mia_efficacy") <= 10
    assert gap(r, method, "retained/ra") <= 3


def test_cli_compare_all_on_karate(tmp_path, capsys) -> None:
    assert main(["--task", "graph", "--dataset", "karate", "--forget", "random:10%", "--compare", "all",
                 "--out", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert all(f"| {name} |" in table for name in ("original", "retrain", "ft", "ga", "d2d"))
    (run_dir,) = tmp_path.iterdir()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["methods"]) == {"retrain", "ft", "ga", "d2d"} and metrics["samples"] == 2
    assert (run_dir / "report.html").is_file()


def test_cli_rejects_an_unknown_forget_kind(tmp_path, capsys) -> None:
    assert main(["--task", "graph", "--forget", "users:3", "--out", str(tmp_path)]) == 2
    assert "this task forgets by class, random, indices" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
