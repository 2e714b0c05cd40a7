"""`python -m erase.adapters --task classifier --dataset digits --forget class:3 --method ssd`: forget training
data from a model with one method, or compare several (`--compare all`) against retraining in one table."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from erase.errors import cli_main


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m erase.adapters", description=__doc__)
    p.add_argument("--task", default="classifier", help="classifier (default), regression, graph or recommender")
    p.add_argument("--dataset", help="the task's dataset (default: its first; classifier: digits)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--forget", help="what to forget: class:3, random:10%%, indices:FILE, range:LOW-HIGH "
                      "(regression), users:5 (recommender); default: class:3, or the task's own (graph class:2, "
                      "regression range:25-100, recommender users:5)")
    what.add_argument("--corrective", metavar="KIND:FRACTION",
                      help="corrective mode (classifier): manipulate a fraction of the training set, poison:2%% "
                           "(trigger patch, label 0) or confuse:0.1 (swap labels of classes 3 and 5), train on it, "
                           "unlearn the known part (--known)")
    p.add_argument("--known", default="1", metavar="FRACTIONS",
                   help="with --corrective: fractions of the manipulated samples known, e.g. 0.1,0.5,1 (default 1)")
    p.add_argument("--klom", type=int, default=0, metavar="N",
                   help="classifier: KLoM against retrain over N seeds of every model (costs N runs; default off)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--method", help="one method (default ssd for classifiers); retrain runs too, as reference")
    group.add_argument("--compare", metavar="METHODS", help="'all' or comma-separated methods, one table")
    p.add_argument("--config", type=Path, help="YAML file layered over the toy preset")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config value, e.g. --set ssd.alpha=5 or --set train.epochs=20 (repeatable)")
    p.add_argument("--out", type=Path, default=Path("runs"), help="root of run directories")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", help="cpu (default) or cuda")
    p.add_argument("-v", "--verbose", action="store_true", help="log each step and its time")
    return p


@cli_main
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    from erase.adapters.run import Job, run

    if args.compare:
        methods = ("all",) if args.compare == "all" else tuple(m.strip() for m in args.compare.split(",") if m.strip())
    else:
        methods = (args.method or ("ssd" if args.task == "classifier" else "retrain"),)
    outcome = run(Job(task=args.task, dataset=args.dataset, forget=args.forget, methods=methods, out=args.out,
                      config_file=args.config, overrides=tuple(args.set), seed=args.seed, device=args.device,
                      verbose=args.verbose, argv=tuple(sys.argv[1:] if argv is None else argv),
                      corrective=args.corrective, known=args.known, klom=args.klom))
    print(outcome.table)
    print(f"report: {outcome.run.dir / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
