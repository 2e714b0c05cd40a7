"""The graph family's literal METHODS registry: `--method` value -> (unlearn, config)."""

from erase.adapters.api import Method
from erase.adapters.graph.methods import d2d, ft, ga, retrain

METHODS: dict[str, Method] = {
    "retrain": Method(retrain.unlearn, retrain.RetrainConfig),
    "ft": Method(ft.unlearn, ft.FTConfig),
    "ga": Method(ga.unlearn, ga.GAConfig),
    "d2d": Method(d2d.unlearn, d2d.D2DConfig),
}
