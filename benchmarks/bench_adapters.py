"""Speed of the classifier methods relative to retraining, measured in one run on digits (class 3, toy preset).

    OMP_NUM_THREADS=1 python benchmarks/bench_adapters.py [--repeats 5]

Trains the original once, then times each method's `unlearn` (median of `--repeats` runs, each from a fresh copy
of the original) and prints seconds and the speed-up over retrain. The issue's bar: SSD and IAU >= 10x. A method
with a one-off `prepare` (IAU: training the gradient-restricted original it steps from, erase/adapters/methods/
iau.py) is prepared once, timed, and printed in its own column; the speed-up compares unlearning requests.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time


def main() -> None:
    import torch

    from erase.adapters.api import Context, parse_forget
    from erase.adapters.run import prepared_start, resolve_config
    from erase.adapters.tasks import get_task

    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--methods", default="retrain,ssd,iau,acu,modhifi,ft,salun")
    args = p.parse_args()
    task = get_task("classifier")
    cfg = resolve_config(task, "digits", None, ())
    prepared = task.datasets["digits"](parse_forget("class:3"), 0)
    ctx = Context(seed=0, train=cfg.train, progress=False)
    torch.manual_seed(0)
    original = task.train(prepared.make_model(), prepared.data, ctx)
    seconds, prep = {}, {}
    for name in args.methods.split(","):
        method, method_cfg = task.methods[name], getattr(cfg, name)
        start_from, prep_seconds = prepared_start(method, copy.deepcopy(original), prepared.data, method_cfg, ctx)
        if prep_seconds is not None:
            prep[name] = prep_seconds
        times = []
        for _ in range(args.repeats):
            model = copy.deepcopy(start_from)
            start = time.perf_counter()
            method.unlearn(model, prepared.data, method_cfg, ctx)
            times.append(time.perf_counter() - start)
        seconds[name] = statistics.median(times)
    print(f"{'method':<10} {'seconds':>9} {'x faster than retrain':>22} {'one-off prepare (s)':>20}")
    for name, s in seconds.items():
        once = f"{prep[name]:.2f}" if name in prep else ""
        print(f"{name:<10} {s:>9.4f} {seconds['retrain'] / s:>22.1f} {once:>20}")


if __name__ == "__main__":
    main()
