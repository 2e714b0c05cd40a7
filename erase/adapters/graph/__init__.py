"""Graph unlearning: a GCN on torch_geometric's KarateClub or a generated stochastic block model, forgetting
training nodes (their labels and edges).

`python -m erase.adapters --task graph --dataset sbm --forget random:10% --compare all`
"""

from erase.adapters.api import Task
from erase.adapters.graph import data, training
from erase.adapters.graph.methods import METHODS

TASK = Task(
    name="graph",
    datasets={"sbm": data.sbm, "karate": data.karate},
    methods=METHODS,
    train_config=training.GraphTrainConfig,
    train=training.train,
    evaluate=training.evaluate,
    forget_kinds=("class", "random", "indices"),
    default_forget="class:2",
    headline=("erased/forget_acc", "erased/mia_efficacy", "erased/forget_test_acc", "retained/ra", "retained/ta"),
)
