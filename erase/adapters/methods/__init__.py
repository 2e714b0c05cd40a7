"""The classifier and regression methods, one file each; the registries are literal.

The key is the `--method` value, the file name and the config section name. Adding a method: its file (a frozen
config dataclass with cited defaults + `unlearn(model, data, cfg, ctx) -> model`), one line here, a section in
the toy preset under `configs/adapters/` if its schedule is scaled, and a test.
"""

from erase.adapters.api import Method
from erase.adapters.methods import (
    acu,
    bad_teacher,
    blindspot,
    dmm,
    ft,
    ga,
    iau,
    l1_sparse,
    laf,
    modhifi,
    prune_ft,
    retrain,
    rl,
    s3t,
    salun,
    scrub,
    ssd,
)

CLASSIFIER_METHODS: dict[str, Method] = {
    "retrain": Method(retrain.unlearn, retrain.RetrainConfig),
    "ft": Method(ft.unlearn, ft.FTConfig),
    "ga": Method(ga.unlearn, ga.GAConfig),
    "rl": Method(rl.unlearn, rl.RLConfig),
    "scrub": Method(scrub.unlearn, scrub.SCRUBConfig),
    "bad_teacher": Method(bad_teacher.unlearn, bad_teacher.BadTeacherConfig),
    "ssd": Method(ssd.unlearn, ssd.SSDConfig),
    "l1_sparse": Method(l1_sparse.unlearn, l1_sparse.L1SparseConfig),
    "prune_ft": Method(prune_ft.unlearn, prune_ft.PruneFTConfig),
    "salun": Method(salun.unlearn, salun.SalUnConfig),
    "laf": Method(laf.unlearn, laf.LAFConfig),
    "iau": Method(iau.unlearn, iau.IAUConfig, iau.prepare),
    "dmm": Method(dmm.unlearn, dmm.DMMConfig),
    "acu": Method(acu.unlearn, acu.ACUConfig),
    "s3t": Method(s3t.unlearn, s3t.S3TConfig, s3t.prepare),
    "modhifi": Method(modhifi.unlearn, modhifi.ModHiFiConfig),
}

REGRESSION_METHODS: dict[str, Method] = {
    "retrain": Method(retrain.unlearn, retrain.RetrainConfig),
    "ft": Method(ft.unlearn, ft.FTConfig),
    "ga": Method(ga.unlearn, ga.GAConfig),
    "blindspot": Method(blindspot.unlearn, blindspot.BlindspotConfig),
}
