#!/usr/bin/env python3
"""Reference outputs of Hugging Face transformers itself for the golden tiny SmolVLM2 checkpoints.

Needs torch, transformers (>= 4.50, with SmolVLM) and numpy, e.g. on a machine with a GPU; runs on CPU
too. For each golden model (../shared/golden/tiny512, tiny384) it loads hf/ with
SmolVLMForConditionalGeneration + SmolVLMProcessor, runs the golden image (inputs/image.png) with the
prompt "Describe this image." through the processor and the model in float32, and writes small .npy
files under OUT/<model>/ (default tests/data/hf):

  input_ids.npy        int32 [n]          the processor's ids (chat template + image expansion)
  pixel_values.npy     float32 [F,3,S,S]  the processor's tiles (bit-exact target of our preprocessing)
  vision_post_ln.npy   float32 [F,P,C]    encoder output after post_layernorm
  image_embeds.npy     float32 [F,T,E]    connector output (pixel shuffle + projection)
  logits_last.npy      float32 [V]        logits after the last prompt position
  greedy.npy           int32 [24]         greedy continuation (do_sample=False)

usage: scripts/hf_reference.py [--shared ../shared] [--out tests/data/hf] [--device cpu|cuda]
(Full tiles use identity vision position ids, spec §3.3, so none are stored.) Parity tests against these
files are to be added once they exist (no machine with transformers was available when this was written).
"""
import argparse
import json
import os

import numpy as np
import torch
from PIL import Image
from transformers import AutoProcessor, SmolVLMForConditionalGeneration


def run(model_dir, image_path, out_dir, device):
    processor = AutoProcessor.from_pretrained(model_dir)
    model = SmolVLMForConditionalGeneration.from_pretrained(model_dir, torch_dtype=torch.float32).to(device).eval()
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe this image."}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    image = Image.open(image_path).convert("RGB")
    inputs = processor(text=text, images=[image], return_tensors="pt").to(device)
    os.makedirs(out_dir, exist_ok=True)
    save = lambda name, t, dt: np.save(os.path.join(out_dir, name), t.detach().cpu().numpy().astype(dt))

    pixel_values = inputs["pixel_values"][0]  # [F, 3, S, S] (batch of one image)
    save("input_ids.npy", inputs["input_ids"][0], np.int32)
    save("pixel_values.npy", pixel_values, np.float32)

    captured = {}
    model.model.vision_model.post_layernorm.register_forward_hook(lambda m, i, o: captured.__setitem__("post_ln", o))
    with torch.no_grad():
        out = model(**inputs)
        image_embeds = model.model.get_image_features(inputs["pixel_values"], inputs.get("pixel_attention_mask"))
    save("vision_post_ln.npy", captured["post_ln"], np.float32)
    save("image_embeds.npy", image_embeds, np.float32)
    save("logits_last.npy", out.logits[0, -1], np.float32)
    with torch.no_grad():
        gen = model.generate(**inputs, do_sample=False, max_new_tokens=24)
    save("greedy.npy", gen[0, inputs["input_ids"].shape[1]:], np.int32)
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump({"transformers": __import__("transformers").__version__, "torch": torch.__version__,
                   "device": device, "prompt": text}, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--shared", default=os.path.join(here, "..", "..", "shared"))
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "data", "hf"))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    for name in ("tiny512", "tiny384"):
        g = os.path.join(a.shared, "golden", name)
        run(os.path.join(g, "hf"), os.path.join(g, "inputs", "image.png"), os.path.join(a.out, name), a.device)
        print("wrote", os.path.join(a.out, name))


if __name__ == "__main__":
    main()
