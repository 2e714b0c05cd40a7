"""The graph family: node-unlearning data, D2D's loss, the outcome bars on the SBM graph, and the CLI.

Bars (issue 7): D2D brings the forgotten nodes' accuracy and MIA-efficacy within 10 points of retrain's and
keeps retained accuracy within 3. Measured on sbm (seed 0), both forget kinds miss it: see the strict xfails.
"""

from __future__ import annotations

import json

import pytest
import torch

pytest.importorskip("torch_geometric", reason="the graph family needs torch-geometric: pip install 'erase[graph]'")

from erase.adapters import Context, parse_forget  # noqa: E402
from erase.adapters.__main__ import main  # noqa: E402
from erase.adapters.graph import TASK  # noqa: E402
from erase.adapters.graph.methods.d2d import d2d_loss  # noqa: E402
from erase.adapters.run import resolve_config  # noqa: E402
from erase.errors import EraseError  # noqa: E402


def build(dataset: str, forget: str, seed: int = 0):
    return TASK.datasets[dataset](parse_forget(forget, TASK.forget_kinds), seed)


def results(dataset: str, forget: str, methods: tuple[str, ...]) -> dict[str, dict]:
    """Every method's metrics (and the original's), as the CLI runs them: same seed before each."""
    prepared = build(dataset, forget)
    cfg = resolve_config(TASK, dataset, None, ())  # defaults and any preset, as the CLI runs them
    ctx = Context(seed=0, train=cfg.train, progress=False)
    torch.manual_seed(0)
    original = TASK.train(prepared.make_model(), prepared.data, ctx)
    out = {"original": TASK.evaluate(original, prepared.data, ctx)}
    for name in methods:
        torch.manual_seed(0)
        unlearned = TASK.methods[name].unlearn(original, prepared.data, getattr(cfg, name), ctx)
        out[name] = TASK.evaluate(unlearned, prepared.data, ctx)
    return out


@pytest.fixture(scope="module")
def random_nodes() -> dict[str, dict]:
    return results("sbm", "random:10%", ("retrain", "ft", "d2d"))


@pytest.fixture(scope="module")
def class_nodes() -> dict[str, dict]:
    return results("sbm", "class:2", ("retrain", "d2d"))


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
    student = torch.log(torch.tensor([[0.5, 0.5], [0.25, 0.75]]))
    preserver = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    destroyer = torch.tensor([[0.5, 0.5], [0.5, 0.5]])
    retain, forget = torch.tensor([True, False]), torch.tensor([False, True])
    # KL([1,0] || [.5,.5]) = log 2; KL([.5,.5] || [.25,.75]) = .5 log(.5/.25) + .5 log(.5/.75)
    kl_f = 0.5 * torch.log(torch.tensor(2.0)) + 0.5 * torch.log(torch.tensor(2 / 3))
    expected = 0.3 * torch.log(torch.tensor(2.0)) + 0.7 * kl_f
    assert torch.isclose(d2d_loss(student, preserver, destroyer, retain, forget, alpha=0.3), expected)


def test_sbm_forgetting_is_measurable(random_nodes) -> None:
    """The original fits its training nodes far better than retrain does, so the bars can fail."""
    assert gap(random_nodes, "original", "erased/forget_acc") > 20
    assert gap(random_nodes, "original", "erased/mia_efficacy") > 20
    assert gap(random_nodes, "ft", "erased/forget_acc") > 10  # fine-tuning alone does not forget


def test_d2d_forgets_the_nodes(random_nodes) -> None:
    """D2D removes what the original memorised: forgotten nodes fall well below the original's accuracy."""
    assert random_nodes["original"]["erased"]["forget_acc"] - random_nodes["d2d"]["erased"]["forget_acc"] > 40
    assert random_nodes["d2d"]["erased"]["mia_efficacy"] > random_nodes["original"]["erased"]["mia_efficacy"] + 40


@pytest.mark.xfail(strict=True, reason="measured: D2D overshoots random forgetting (forget acc 37 vs retrain 68, "
                                       "MIA 97 vs 43) and loses 6 points of RA")
def test_d2d_meets_the_bar_on_random_nodes(random_nodes) -> None:
    assert gap(random_nodes, "d2d", "erased/forget_acc") <= 10
    assert gap(random_nodes, "d2d", "erased/mia_efficacy") <= 10
    assert gap(random_nodes, "d2d", "retained/ra") <= 3


def test_d2d_forgets_a_class_like_retrain(class_nodes) -> None:
    assert gap(class_nodes, "d2d", "erased/forget_acc") <= 10
    assert gap(class_nodes, "d2d", "erased/mia_efficacy") <= 10
    assert gap(class_nodes, "d2d", "erased/forget_test_acc") <= 10


@pytest.mark.xfail(strict=True, reason="measured: after class forgetting D2D's RA is 91 vs retrain's 98")
def test_d2d_keeps_retained_accuracy_on_class_forgetting(class_nodes) -> None:
    assert gap(class_nodes, "d2d", "retained/ra") <= 3


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
