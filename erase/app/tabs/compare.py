"""Compare: the base model and the erased run draw one prompt from the same noise, side by side, each
image with the run concept's detector score under it."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from erase import concepts
from erase.app.catalog import RunInfo, open_run_dir
from erase.app.sampling import sample_together, share_identical
from erase.app.shell import AppContext, Tab, shows_errors
from erase.concepts import Concept
from erase.errors import EraseError

logger = logging.getLogger(__name__)
MAX_PROMPT_CHARS = 300
MAX_STEPS = 100
MAX_GUIDANCE = 20.0
MAX_SEED = 2**31 - 1
EXAMPLE_SETS = (("explicit", "prompts"), ("paraphrase", "paraphrases"), ("implicit", "implicit"))


@dataclass(frozen=True)
class Comparison:
    concept: Concept
    detector: str  # the detector's name
    images: np.ndarray  # (2, H, W, 3) uint8: base, erased
    scores: np.ndarray  # (2,) detector scores in [0, 1]
    detected: np.ndarray  # (2,) the detector's verdicts
    seconds: float  # sampling and scoring, models already loaded
    shared: tuple[str, ...]  # components the two models share (equal weights)


def check_inputs(prompt: str, seed: float, steps: float, guidance: float) -> None:
    """One-line errors for values a user (or an API caller) can send, before any model loads."""
    if not prompt or not prompt.strip():
        raise EraseError("type a prompt (or pick an example prompt)")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise EraseError(f"the prompt is {len(prompt)} characters; at most {MAX_PROMPT_CHARS} are allowed")
    if seed is None or not 0 <= seed <= MAX_SEED or seed != int(seed):
        raise EraseError(f"seed must be an integer from 0 to {MAX_SEED}, got {seed}")
    if steps is None or not 1 <= steps <= MAX_STEPS or steps != int(steps):
        raise EraseError(f"steps must be an integer from 1 to {MAX_STEPS}, got {steps}")
    if guidance is None or not 0 <= guidance <= MAX_GUIDANCE:
        raise EraseError(f"guidance must be from 0 to {MAX_GUIDANCE}, got {guidance}")


def run_concept(run: RunInfo) -> Concept:
    return concepts.get(run.metrics["concept"])


def _check_pair(base, erased, base_name: str, run: RunInfo, prompt: str) -> None:
    shape = [(p.unet.config.in_channels, p.unet.config.sample_size, p.vae_scale_factor) for p in (base, erased)]
    if shape[0] != shape[1]:
        raise EraseError(f"base model {base_name} draws (channels, latent size, VAE factor) {shape[0]} but run "
                         f"{run.name} draws {shape[1]}; pick the run's own base ({run.metrics['model']})")
    for pipe in (base, erased):
        tokens, limit = len(pipe.tokenizer(prompt, verbose=False).input_ids), pipe.tokenizer.model_max_length
        if tokens > limit:
            raise EraseError(f"the prompt is {tokens} tokens; the model reads at most {limit}: shorten it")


def compare(ctx: AppContext, run_name: str, base_model: str, prompt: str, seed: float, steps: float,
            guidance: float) -> Comparison:
    """Draw `prompt` with the base model and the run's erased model (same seed) and score both."""
    # 1. Check inputs and the run.
    check_inputs(prompt, seed, steps, guidance)
    run = open_run_dir(ctx.runs_root, run_name)
    concept = run_concept(run)
    base_name = (base_model or "").strip() or ctx.base_model

    # 2. Load the models (kept between comparisons); what the erasure left unchanged is shared.
    base = ctx.models.pipeline(base_name)
    erased = ctx.models.pipeline(run.dir / "model")
    _check_pair(base, erased, base_name, run, prompt)
    shared = share_identical(base, erased)
    detector = ctx.models.detector(concept)

    # 3. Sample both in one loop, 4. score both.
    started = time.perf_counter()
    images = sample_together([base, erased], prompt, int(seed), int(steps), float(guidance))
    scores, detected = detector.scores(images), detector.detect(images)
    seconds = time.perf_counter() - started
    logger.info("compared %s with %s on %r in %.2f s", base_name, run.name, prompt, seconds)
    return Comparison(concept, detector.name, images, scores, detected, seconds, tuple(shared))


def verdict(side: str, c: Comparison, i: int) -> str:
    found = "detected" if c.detected[i] else "not detected"
    return f"**{side}** · {c.concept.name} score {c.scores[i]:.3f} · {found} ({c.detector})"


def run_summary(ctx: AppContext, run_name: str) -> tuple[str, dict]:
    """The selected run in one line and its concept's example prompts (or the reason it cannot be used)."""
    import gradio as gr

    try:
        run = open_run_dir(ctx.runs_root, run_name)
        concept = run_concept(run)
    except EraseError as exc:
        return f"⚠ {exc}", gr.update(choices=[], value=None)
    examples = [(f"{kind}: {p}", p) for kind, key in EXAMPLE_SETS for p in getattr(concept, key)]
    erased = run.metrics["after"]["erased"].get("detection_rate")
    before = run.metrics["before"]["erased"].get("detection_rate")
    rates = f"; detected on explicit prompts {before:.0%} → {erased:.0%}" if None not in (before, erased) else ""
    text = f"**{concept.name}** erased by **{run.metrics['method']}** from {run.metrics['model']}{rates}"
    return text, gr.update(choices=examples, value=None)


def build(ctx: AppContext) -> None:
    import gradio as gr

    about = gr.Markdown(elem_id="run-summary")
    with gr.Row():
        base_model = gr.Dropdown(["toy-sd"], value=ctx.base_model, allow_custom_value=True, scale=2,
                                 label="Base model (toy-sd, or a local diffusers folder)")
        examples = gr.Dropdown(label="Example prompts of the run's concept", choices=[], scale=3)
    prompt = gr.Textbox(label="Prompt", max_length=MAX_PROMPT_CHARS, elem_id="prompt",
                        placeholder="type a prompt, or pick an example above")
    with gr.Row():
        seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED)
        steps = gr.Slider(1, MAX_STEPS, value=25, step=1, label="DDIM steps")
        guidance = gr.Slider(0, MAX_GUIDANCE, value=5.0, step=0.5, label="Guidance")
    go = gr.Button("Compare", variant="primary", elem_id="compare")
    with gr.Row():
        with gr.Column():
            base_image = gr.Image(label="base model", type="numpy", format="png", interactive=False,
                                  height=224, elem_id="base-image")
            base_verdict = gr.Markdown(elem_id="base-verdict")
        with gr.Column():
            erased_image = gr.Image(label="erased run", type="numpy", format="png", interactive=False,
                                    height=224, elem_id="erased-image")
            erased_verdict = gr.Markdown(elem_id="erased-verdict")
    timing = gr.Markdown(elem_id="timing")

    @shows_errors
    def on_compare(run_name, base, text, seed_, steps_, guidance_):
        c = compare(ctx, run_name, base, text, seed_, steps_, guidance_)
        shared = f"; shared: {', '.join(c.shared)}" if c.shared else ""
        return (c.images[0], c.images[1], verdict("base", c, 0), verdict("erased", c, 1),
                f"both drawn and scored in {c.seconds:.2f} s{shared}")

    inputs = [ctx.run, base_model, prompt, seed, steps, guidance]
    outputs = [base_image, erased_image, base_verdict, erased_verdict, timing]
    go.click(on_compare, inputs=inputs, outputs=outputs, api_name="compare", concurrency_id="generate")
    prompt.submit(on_compare, inputs=inputs, outputs=outputs, api_name=False, concurrency_id="generate")
    ctx.run.change(lambda name: run_summary(ctx, name), inputs=ctx.run, outputs=[about, examples], api_name=False)
    examples.input(lambda p: p, inputs=examples, outputs=prompt, api_name=False)


TAB = Tab("Compare", build)
