from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from erase import hub
from erase.errors import EraseError
from erase.hub import check_model_folder, load_pretrained, resolve_model, toy_path


def test_missing_toy_model_names_the_build_command(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "TOY_WEIGHTS_DIR", tmp_path)
    with pytest.raises(EraseError, match=r"toy model 'toy-sd' is not built; run `python -m erase.toyworld "
                                         r"train toy-sd`"):
        resolve_model("toy-sd")
    (tmp_path / "toy-sd").mkdir()
    assert toy_path("toy-sd") == tmp_path / "toy-sd"
    with pytest.raises(EraseError, match="unknown toy model 'toy-sdxl'; known toy models: toy-sd"):
        resolve_model("toy-sdxl")


def test_resolve_local_paths_and_hub_ids(tmp_path):
    assert resolve_model(str(tmp_path)) == tmp_path
    assert resolve_model("CompVis/stable-diffusion-v1-4") == "CompVis/stable-diffusion-v1-4"
    with pytest.raises(EraseError, match="no model folder at"):
        resolve_model(str(tmp_path / "missing" / "model"))


def test_offline_hub_id_fails_fast_with_one_line(tmp_path, monkeypatch):
    from diffusers import StableDiffusionPipeline

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(EraseError) as info:  # an empty cache_dir: a cached copy cannot make this pass
        load_pretrained(StableDiffusionPipeline, "CompVis/stable-diffusion-v1-4", cache_dir=tmp_path)
    assert time.monotonic() - start < 10
    assert str(info.value) == (
        "could not load 'CompVis/stable-diffusion-v1-4' from the Hugging Face hub (offline?): pass a local model "
        "folder instead, or connect and unset HF_HUB_OFFLINE"
    )


def test_an_unreachable_hub_still_loads_a_cached_model(tmp_path):
    """A hub id cached locally (toy-sd under a made-up id) loads while the hub refuses connections, without
    diffusers' "Couldn't connect" warning, which `load_pretrained` holds back for the uncached case's one line."""
    revision = "0" * 40
    repo = tmp_path / "hub" / "models--someone--toy-sd"
    shutil.copytree(toy_path("toy-sd"), repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env.update(HF_HOME=str(tmp_path), HF_ENDPOINT="http://127.0.0.1:9")
    code = ("from diffusers import StableDiffusionPipeline; from erase.hub import load_pretrained;"
            "print(type(load_pretrained(StableDiffusionPipeline, 'someone/toy-sd')).__name__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "StableDiffusionPipeline"
    assert "Could not reach the Hub" in proc.stderr and "Couldn't connect to the Hub" not in proc.stderr


def write_json(folder, name, data):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(data))
    return folder


def test_wrong_folder_type_is_refused_before_loading(tmp_path):
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPModel, CLIPTextModel

    clip_config = {"architectures": ["CLIPModel"], "model_type": "clip"}
    clip = write_json(tmp_path / "clip", "config.json", clip_config)
    wrong = r"is not a StableDiffusionPipeline folder \(found config.json of CLIPModel\)"
    with pytest.raises(EraseError, match=wrong):
        load_pretrained(StableDiffusionPipeline, str(clip))
    xl = write_json(tmp_path / "xl", "model_index.json", {"_class_name": "StableDiffusionXLPipeline"})
    with pytest.raises(EraseError, match="found model_index.json of StableDiffusionXLPipeline"):
        load_pretrained(StableDiffusionPipeline, str(xl))
    with pytest.raises(EraseError, match="is not a CLIPModel folder"):
        load_pretrained(CLIPModel, str(xl))
    with pytest.raises(EraseError, match=r"is not a UNet2DConditionModel folder \(found no model_index"):
        load_pretrained(UNet2DConditionModel, str(tmp_path))
    # What fits passes the check (loading itself is not attempted here).
    sd = write_json(tmp_path / "sd", "model_index.json", {"_class_name": "StableDiffusionPipeline"})
    write_json(sd / "unet", "config.json", {"_class_name": "UNet2DConditionModel"})
    check_model_folder(sd, StableDiffusionPipeline)
    check_model_folder(sd / "unet", UNet2DConditionModel)
    check_model_folder(clip, CLIPTextModel)  # a CLIP folder holds a CLIP text model


def test_local_folder_loads_after_the_check(tmp_path):
    from transformers import CLIPTextConfig, CLIPTextModel

    config = CLIPTextConfig(vocab_size=32, hidden_size=8, intermediate_size=16, num_hidden_layers=1,
                            num_attention_heads=2, max_position_embeddings=8)
    CLIPTextModel(config).save_pretrained(tmp_path / "text")
    model = load_pretrained(CLIPTextModel, str(tmp_path / "text"))
    assert model.config.hidden_size == 8
