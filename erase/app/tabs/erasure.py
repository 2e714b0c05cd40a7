"""Erase: a toy-world erasure started from the app, through the CLI's own `erase.diffusion.run.run`, with
its tqdm bars as the progress; the new run is then selected for Compare and Report."""

from __future__ import annotations

import logging
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from erase import concepts
from erase.app.shell import AppContext, Tab, shows_errors
from erase.diffusion.run import METHODS, Job, run
from erase.errors import EraseError
from erase.runs import Run

logger = logging.getLogger(__name__)
TOY_MODEL = "toy-sd"

# Presets are `--set` overrides over the method's toy preset. "toy": the toy preset and its full evaluation
# (3-6 minutes on 2 cores). "quick": the same erasure, measured on a small evaluation (8 samples per prompt set,
# 4 per retained concept, no FID, no attack); on nudity, 2 busy cores: DoCo 151 s on its former 600-step preset
# (100% -> 0%) and 500 s on the official 2000 steps (a slower 2-core machine, 2026-12-07; its 1250-step preset
# trains in 183 s there), AdvUnlearn 225 s (100% -> 12%); ESD at its official 1000 iterations 191 s on 2 quiet
# cores (100% -> 0% on 8 samples).
PRESETS: dict[str, tuple[str, ...]] = {
    "quick": ("eval.samples=8", "eval.retain_samples=4", "eval.clip_samples=8", "eval.fid_samples=0",
              "eval.attack_prompts=0"),
    "toy": (),
}


@dataclass(frozen=True)
class Erasure:
    name: str  # the run's path under the runs root, as the run picker holds it
    run: Run
    metrics: dict[str, Any]  # concept -> its metrics.json
    argv: list[str]

    def summary(self) -> str:
        lines = []
        for concept, m in self.metrics.items():
            b, a = m["before"]["erased"].get("detection_rate"), m["after"]["erased"].get("detection_rate")
            lines.append(f"**{concept}** by {m['method']} in {m['runtime_s']} s: detected on explicit prompts "
                         f"{b:.0%} → {a:.0%}")
        lines.append(f"Run `{self.name}` is selected above: open **Compare** or **Report**. The same erasure from "
                     f"a shell:\n```\npython -m erase.diffusion {shlex.join(self.argv)}\n```")
        return "\n\n".join(lines)


def erase_argv(root: Path, concept: str, method: str, preset: str, seed: float) -> list[str]:
    """The `python -m erase.diffusion` arguments of this erasure (recorded in its manifest, shown in the app)."""
    toy = [name for name, c in concepts.CONCEPTS.items() if c.world == "toy"]
    if concept not in toy:
        raise EraseError(f"the app erases toy-world concepts ({', '.join(toy)}); got {concept!r}")
    if preset not in PRESETS or method not in METHODS:
        raise EraseError(f"unknown preset {preset!r} or method {method!r}; presets: {', '.join(PRESETS)}, "
                         f"methods: {', '.join(METHODS)}")
    if seed is None or seed < 0 or seed != int(seed):
        raise EraseError(f"seed must be an integer >= 0, got {seed}")
    overrides = [arg for value in PRESETS[preset] for arg in ("--set", value)]
    return ["--concept", concept, "--method", method, "--model", TOY_MODEL, "--out", str(root),
            "--seed", str(int(seed)), *overrides]


def start_erasure(root: Path, concept: str, method: str, preset: str, seed: float = 0) -> Erasure:
    """Run the main job on the toy SD, as `python -m erase.diffusion` with `erase_argv`'s arguments does."""
    argv = erase_argv(root, concept, method, preset, seed)
    logger.info("erasing: python -m erase.diffusion %s", shlex.join(argv))
    job = Job(concepts=[concepts.get(concept)], method=method, model=TOY_MODEL, out=Path(root),
              overrides=PRESETS[preset], seed=int(seed), argv=tuple(argv))
    run_, metrics = run(job)
    return Erasure(run_.dir.resolve().relative_to(Path(root).resolve()).as_posix(), run_, metrics, argv)


def build(ctx: AppContext) -> None:
    import gradio as gr

    toy = [name for name, c in concepts.CONCEPTS.items() if c.world == "toy"]
    gr.Markdown(f"Erase a concept from the toy Stable Diffusion ({TOY_MODEL}); the run is written under "
                f"`{ctx.runs_root}` like any `python -m erase.diffusion` run.")
    with gr.Row():
        concept = gr.Dropdown(toy, value="nudity", label="Concept")
        method = gr.Dropdown(list(METHODS), value="advunlearn", label="Method")
        preset = gr.Radio(list(PRESETS), value="quick", label="Preset",
                          info="quick: the toy preset's erasure, a small evaluation; toy: the full evaluation")
        seed = gr.Number(0, label="Seed", precision=0, minimum=0)
    go = gr.Button("Erase", variant="primary", elem_id="erase")
    status = gr.Markdown(elem_id="erase-status", min_height=120)  # room for the progress bars

    @shows_errors
    def on_erase(concept_, method_, preset_, seed_, progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (gradio's way)
        done = start_erasure(ctx.runs_root, concept_, method_, preset_, seed_)
        return done.summary(), ctx.run_choices(select=done.name)

    go.click(on_erase, inputs=[concept, method, preset, seed], outputs=[status, ctx.run], api_name="erase",
             show_progress_on=status)


TAB = Tab("Erase", build)
