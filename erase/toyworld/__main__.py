"""`python -m erase.toyworld`: draw the world, sample the toy SD, train and evaluate the toy models."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from erase.errors import EraseError, cli_main

TOY_MODELS = ("toy-detector", "toy-clip", "toy-sd")
DEMO_PROMPTS = ("a photo of a person wearing glasses", "a photo of a smiling person with blond hair",
                "a sketch of a house", "pixel art of a car", "a watercolor painting of a tree",
                "a photo of a boat at the beach", "a photo of a person in a hat in the forest", "a photo of Ada")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m erase.toyworld", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    render = sub.add_parser("render", help="draw a labelled grid of random scenes")
    render.add_argument("--n", type=int, default=64, help="number of scenes (1-1024)")
    render.add_argument("--out", type=Path, default=Path("grid.png"), help="PNG to write")
    render.add_argument("--seed", type=int, default=0)
    sample = sub.add_parser("sample", help="draw a grid from the toy SD: one row per prompt, the detector's verdict")
    sample.add_argument("--prompt", action="append", help="a prompt (repeatable; default: a demo set)")
    sample.add_argument("--n", type=int, default=8, help="images per prompt (1-64)")
    sample.add_argument("--model", default="toy-sd", help="toy-sd or a local diffusers folder")
    sample.add_argument("--out", type=Path, default=Path("toy-sd-demo.png"), help="PNG to write")
    sample.add_argument("--seed", type=int, default=0)
    train = sub.add_parser("train", help="train a toy model in a new run directory")
    train.add_argument("name", help=", ".join(TOY_MODELS))
    train.add_argument("--out", type=Path, default=Path("runs/toyworld"), help="root of run directories")
    train.add_argument("--resume", type=Path, help="continue the run in this directory from its last checkpoint")
    train.add_argument("--install", action="store_true", help="copy the result into the shipped weights")
    train.add_argument("--init", action="store_true",
                       help="start from the shipped weights and run only the last stage (toy-clip: twin "
                            "hard negatives; toy-sd: UNet fine-tune on the current toy-clip text tower)")
    evaluate = sub.add_parser("evaluate", help="measure a shipped toy model against its bars; write its card")
    evaluate.add_argument("name", help=", ".join(TOY_MODELS))
    return parser


def _check_name(name: str) -> None:
    if name not in TOY_MODELS:
        raise EraseError(f"unknown toy model {name!r}; choose one of {', '.join(TOY_MODELS)}")


def _write(path: Path, write) -> None:
    try:
        write(path)
    except OSError as exc:
        raise EraseError(f"cannot write --out {path}: {exc.strerror or exc}; choose a writable path") from None


@cli_main
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "render":
        from erase.toyworld.grid import write_grid

        if not 1 <= args.n <= 1024:
            raise EraseError(f"--n must be between 1 and 1024, got {args.n}")
        _write(args.out, lambda p: write_grid(p, args.n, args.seed))
    elif args.command == "sample":
        from erase.toyworld.grid import write_samples

        if not 1 <= args.n <= 64:
            raise EraseError(f"--n must be between 1 and 64, got {args.n}")
        prompts = args.prompt or list(DEMO_PROMPTS)
        _write(args.out, lambda p: write_samples(p, args.model, prompts, args.n, args.seed))
    elif args.command == "train":
        import yaml

        from erase.runs import create_run, open_run
        from erase.toyworld.build import build

        _check_name(args.name)
        config = {"name": args.name, "init": args.init}
        if args.resume:
            run = open_run(args.resume)
            config = yaml.safe_load((run.dir / "config.yaml").read_text())
        else:
            run = create_run(args.out, args.name, config, argv, 0)
        args.out = build(config["name"], run, args.install, config.get("init", False))
    else:
        from erase.hub import toy_path
        from erase.toyworld.cards import measure, write_card

        _check_name(args.name)
        folder = toy_path(args.name)
        measured = measure(args.name, folder)
        seconds = folder / "train_seconds.txt"
        write_card(args.name, folder, measured, float(seconds.read_text()) if seconds.is_file() else None)
        for key, value in measured.items():
            print(f"{key}: {value:.3f}")
        args.out = folder / "card.md"
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
