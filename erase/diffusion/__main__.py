"""`python -m erase.diffusion --concept nudity`: erase concepts from Stable Diffusion, prove it in a report."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from erase.errors import cli_main


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m erase.diffusion", description=__doc__)
    p.add_argument("--concept", default="nudity",
                   help="concept name or YAML file; several, comma-separated, are erased one after another")
    p.add_argument("--method", default="advunlearn", help="advunlearn (default), doco or esd")
    p.add_argument("--model", default="toy-sd", help="toy-sd, a local diffusers folder, or a hub id")
    p.add_argument("--config", type=Path, help="YAML file layered over the method's preset")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config value, e.g. --set method.iterations=100 (repeatable)")
    p.add_argument("--out", type=Path, default=Path("runs"), help="root of run directories")
    p.add_argument("--resume", type=Path, help="continue a killed run from its last checkpoint")
    p.add_argument("--seed", type=int, default=0,
                   help="the training's seed (method.seed, and torch's generator); evaluation seeds stay fixed")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    return p


@cli_main
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    from erase import concepts

    chosen = [concepts.get(c.strip()) for c in args.concept.split(",")]  # before torch loads: a typo fails at once
    from erase.diffusion.run import Job, run
    from erase.parallel import is_main_process

    job = Job(concepts=chosen, method=args.method, model=args.model, out=args.out, config_file=args.config,
              overrides=tuple(args.set), resume=args.resume, seed=args.seed, device=args.device,
              argv=tuple(sys.argv[1:] if argv is None else argv))
    run_, metrics = run(job)
    if not is_main_process():  # under `accelerate launch`, the first process reports
        return 0
    for name, m in metrics.items():
        before, after = m["before"]["erased"], m["after"]["erased"]
        kept_b, kept_a = m["before"]["retained"], m["after"]["retained"]
        line = f"{name}: detected {before.get('detection_rate', 0):.0%} -> {after.get('detection_rate', 0):.0%}"
        if "implicit_detection_rate" in after:  # concepts with implicit prompts
            line += f", implicit {before['implicit_detection_rate']:.0%} -> {after['implicit_detection_rate']:.0%}"
        if "attack_success_rate" in after:
            line += f", attack success {after['attack_success_rate']:.0%}"
        if "detection_rate" in kept_a:
            line += f"; retained {kept_b['detection_rate']:.0%} -> {kept_a['detection_rate']:.0%}"
        print(line)
    print(f"model: {run_.dir / 'model'}")
    print(f"report: {run_.dir / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
