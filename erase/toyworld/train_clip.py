"""Train toy-clip: a transformers `CLIPModel` with a BPE tokenizer learned from the world's captions,
trained with CLIP's symmetric contrastive loss on fresh renders and one random true caption each."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import (
    CLIPConfig,
    CLIPImageProcessor,
    CLIPModel,
    CLIPTextConfig,
    CLIPTokenizer,
    CLIPVisionConfig,
)

from erase.runs import Run
from erase.toyworld.data import Batch
from erase.toyworld.training import Schedule, train
from erase.toyworld.world import caption, sample_scenes

SCHEDULE = Schedule(steps=3000, batch_size=128, lr=1e-3, weight_decay=0.1)
# Stage 2: half of each batch are counterfactual twins (`world.counterfactual`: smile or beard
# flipped, identity broken or made), hard negatives for the small attributes: stage 1 leaves smile near chance
# (0.51) and identity at 0.84; twins of smile and identity alone cost the beard (1.00 -> 0.89 zero-shot).
TWIN_SCHEDULE = Schedule(steps=1500, batch_size=128, lr=3e-4, warmup=100, weight_decay=0.1, seed=1, twins=True)
WIDTH = 128  # text and vision hidden size; also toy-sd's cross-attention dim
MAX_LENGTH = 77  # SD pipelines pad prompts to 77 tokens


def build_tokenizer(n_captions: int = 20000, seed: int = 0) -> CLIPTokenizer:
    """A CLIP BPE tokenizer whose merges make every word of the world one token; unknown words
    fall back to byte-level characters, so any prompt tokenizes. The `tokenizers` trainer breaks ties
    between equally frequent pairs in no fixed order, so a rebuilt tokenizer can differ: the shipped
    one is saved with toy-clip and always loaded from there."""
    rng = np.random.default_rng(seed)
    corpus = [caption(s, rng) for s in sample_scenes(seed, n_captions)]
    bpe = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    bpe.normalizer = normalizers.Lowercase()
    bpe.pre_tokenizer = pre_tokenizers.Whitespace()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(
        vocab_size=2000, initial_alphabet=alphabet, end_of_word_suffix="</w>", show_progress=False))
    learned = json.loads(bpe.to_str())["model"]
    vocab = dict(learned["vocab"])
    for token in [c + "</w>" for c in sorted(alphabet)] + ["<|startoftext|>", "<|endoftext|>"]:
        vocab.setdefault(token, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[tuple(m) for m in learned["merges"]], model_max_length=MAX_LENGTH)


def build_clip(tokenizer: CLIPTokenizer) -> CLIPModel:
    text = CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=WIDTH, intermediate_size=4 * WIDTH, num_hidden_layers=3,
        num_attention_heads=4, max_position_embeddings=MAX_LENGTH, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, projection_dim=WIDTH)
    vision = CLIPVisionConfig(
        image_size=32, patch_size=4, hidden_size=WIDTH, intermediate_size=4 * WIDTH, num_hidden_layers=3,
        num_attention_heads=4, projection_dim=WIDTH)
    config = CLIPConfig(text_config=text.to_dict(), vision_config=vision.to_dict(), projection_dim=WIDTH)
    return CLIPModel(config)


def image_processor() -> CLIPImageProcessor:
    """Maps 32x32 RGB to [-1, 1], the range the toy world's tensors use."""
    return CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32},
                              image_mean=[0.5] * 3, image_std=[0.5] * 3, do_convert_rgb=True)


def train_clip(run: Run, init: Path | None = None) -> tuple[CLIPModel, CLIPTokenizer]:
    """Stage 1 from scratch (skipped when `init` names a stage-1 model to start from), then stage 2."""
    if init is None:
        torch.manual_seed(SCHEDULE.seed)
        tokenizer = build_tokenizer(seed=SCHEDULE.seed)
        model = build_clip(tokenizer)
        _train_contrastive(model, tokenizer, SCHEDULE, Run(run.dir / "base"), "toy-clip")
    else:
        model, tokenizer = CLIPModel.from_pretrained(init), CLIPTokenizer.from_pretrained(init)
    _train_contrastive(model, tokenizer, TWIN_SCHEDULE, Run(run.dir / "twins"), "toy-clip twins")
    return model, tokenizer


def _train_contrastive(model: CLIPModel, tokenizer: CLIPTokenizer, schedule: Schedule, run: Run, desc: str) -> None:
    def loss_fn(batch: Batch, step: int):
        tokens = tokenizer(batch.captions, padding=True, return_tensors="pt")
        out = model(input_ids=tokens.input_ids, attention_mask=tokens.attention_mask,
                    pixel_values=batch.images, return_loss=True)
        return out.loss, {"scale": model.logit_scale.exp().item()}

    train({"clip": model}, loss_fn, schedule, run, desc=desc)


def save_clip(model: CLIPModel, tokenizer: CLIPTokenizer, path: Path) -> None:
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    image_processor().save_pretrained(path)
