"""The recommender family's literal METHODS registry: `--method` value -> (unlearn, config)."""

from erase.adapters.api import Method
from erase.adapters.recommender.methods import ft, retrain, unlearnrec

METHODS: dict[str, Method] = {
    "retrain": Method(retrain.unlearn, retrain.RetrainConfig),
    "ft": Method(ft.unlearn, ft.FTConfig),
    "unlearnrec": Method(unlearnrec.unlearn, unlearnrec.UnlearnRecConfig),
}
