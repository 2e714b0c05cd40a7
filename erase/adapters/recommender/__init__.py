"""Recommender unlearning: LightGCN on MovieLens-100K (RecBole's bundled copy), forgetting interactions.

`python -m erase.adapters --task recommender --dataset ml-100k --forget users:5 --compare all`
"""

from erase.adapters.api import Task
from erase.adapters.recommender import data, training
from erase.adapters.recommender.methods import METHODS

TASK = Task(
    name="recommender",
    datasets={"ml-100k": data.ml100k},
    methods=METHODS,
    train_config=training.RecTrainConfig,
    train=training.train,
    evaluate=training.evaluate,
    forget_kinds=("user", "users", "random", "indices"),
    default_forget="users:5",
    headline=("erased/forget_recall@20", "erased/forget_ndcg@20", "retained/test_recall@20",
              "retained/test_ndcg@20", "retained/retain_recall@20"),
)
