#!/usr/bin/env python3
"""Reference outputs of Hugging Face transformers itself for the golden tiny SmolVLM2 checkpoints.

Needs torch, transformers (>= 4.50, with SmolVLM), Pillow and numpy (a machine with a GPU usually has
them). The model runs on the CPU in float32 with eager attention, so no TF32 or fused-kernel rounding
enters the reference. For each golden model (../shared/golden/tiny512, tiny384) it loads hf/ with
SmolVLMForConditionalGeneration + the slow (Pillow) SmolVLMProcessor and writes under OUT/<model>/
(default tests/data/hf):

  input_ids.npy        int32 [n]         ids for the golden image (inputs/image.png) and
                                         "Describe this image." (chat template + image expansion)
  post_ln.npy          float32 [2,P,C]   vision encoder output after post_layernorm, first and last tile
  image_embeds.npy     float32 [2,T,E]   connector output (pixel shuffle + projection), first and last tile
  logits_last.npy      float32 [V]       logits after the last prompt position
  greedy.npy           int32 [G]         24 greedy steps (argmax, no end-of-sequence stop)
  gen_logits.npy       float32 [G,V]     the logits each greedy step chose from
  text_<k>_logits.npy  float32 [V]       last-position logits of golden inputs/prompt_<k>.npy (text only)
  text_<k>_greedy.npy  int32 [16]        their greedy continuations
  multi_input_ids.npy  int32 [n]         two images interleaved with text in one user turn
  nosplit_input_ids.npy int32 [n]        image.png with do_image_splitting=False
  meta.json            versions, the prompts, per-tile sha256 of the processor's uint8 tiles (pixel
                       values mapped back exactly: u8 = (x * std + mean) / rescale), per-tile sums of
                       post_ln and image_embeds for every tile, and how far the fast (torchvision)
                       image processor lands from the slow one.

and OUT/preprocess.json: for every image of ../shared/golden/preprocess/images and each processor
config (2048/512 and 1536/384, split and not), the tile grid and each uint8 tile's sha256 as the slow
processor produces it.

usage: scripts/hf_reference.py [--shared ../shared] [--out tests/data/hf]
       scripts/hf_reference.py --checkpoint DIR --image IMG [--name NAME] [--out OUT]   (any checkpoint, the same dumps)
(Full tiles use identity vision position ids, spec §3.3, so none are stored.) tests/unit/test_hf_parity.cpp
compares our engine with these files. SmolVLMProcessor refuses to load without the num2words package,
which only video prompts call; where it is missing a stand-in for English cardinals 0..99 is used.
"""
import argparse
import glob
import hashlib
import json
import os
import sys
import tempfile
import traceback

import numpy as np
import torch
from PIL import Image


_NUM2WORDS_STAND_IN = """
_U = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
      "seventeen eighteen nineteen").split()
_T = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def num2words(n, lang="en", **_):
    n = int(n)
    if n < 20:
        return _U[n]
    if n < 100:
        return _T[n // 10] + ("" if n % 10 == 0 else "-" + _U[n % 10])
    raise ValueError("num2words stand-in: %d is out of range" % n)
"""

try:
    import num2words  # noqa: F401
except ImportError:  # a module file on sys.path, so importlib.util.find_spec sees it as transformers checks
    _dir = tempfile.mkdtemp(prefix="num2words-")
    with open(os.path.join(_dir, "num2words.py"), "w") as _f:
        _f.write(_NUM2WORDS_STAND_IN)
    sys.path.insert(0, _dir)

import transformers
from transformers import AutoProcessor, SmolVLMForConditionalGeneration

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
G_STEPS = 24
DEVICE = "cpu"  # --device: the model and its inputs (TF32 is off: float32 math on a GPU too)


def to_u8_tiles(pixel_values, mean, std, rescale):
    """[F,3,S,S] normalized floats -> ([F,S,S,3] uint8, max |x - normalize(u8)|)."""
    x = pixel_values.detach().cpu().double().numpy()
    m = np.array(mean).reshape(1, 3, 1, 1)
    s = np.array(std).reshape(1, 3, 1, 1)
    u = np.rint((x * s + m) / rescale)
    err = float(np.max(np.abs(x - (u * rescale - m) / s))) if x.size else 0.0
    u8 = np.clip(u, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(u8), err


def tile_hashes(u8):
    return [hashlib.sha256(t.tobytes()).hexdigest() for t in u8]


def first_and_last(t):
    return torch.stack([t[0], t[-1]]) if t.shape[0] > 1 else t


def find_module(model, suffix):
    hits = [m for n, m in model.named_modules() if n.endswith(suffix)]
    if not hits:
        raise RuntimeError("no module named *" + suffix)
    return hits[0]


def image_processor_args(proc):
    ip = proc.image_processor
    return ip.image_mean, ip.image_std, ip.rescale_factor


def greedy_steps(model, embeds, steps):
    """Argmax continuation from prompt embeddings [1,n,E]; returns (ids, logits per step)."""
    emb_layer = model.get_input_embeddings()
    ids, logits = [], []
    cur = embeds
    with torch.no_grad():
        for _ in range(steps):
            out = model(inputs_embeds=cur, attention_mask=torch.ones(cur.shape[:2], dtype=torch.long, device=DEVICE))
            last = out.logits[0, -1].float().cpu()
            tok = int(torch.argmax(last))
            ids.append(tok)
            logits.append(last.numpy())
            cur = torch.cat([cur, emb_layer(torch.tensor([[tok]], device=DEVICE))], dim=1)
    return np.array(ids, np.int32), np.stack(logits).astype(np.float32)


def run_model(model_dir, image_path, second_image, shared, out_dir, meta):
    proc = AutoProcessor.from_pretrained(model_dir, use_fast=False)
    meta["image_processor"] = type(proc.image_processor).__name__
    model = SmolVLMForConditionalGeneration.from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation="eager").eval().to(DEVICE)
    os.makedirs(out_dir, exist_ok=True)

    def save(name, arr):
        np.save(os.path.join(out_dir, name), arr)

    mean, std, rescale = image_processor_args(proc)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe this image."}]}]
    text = proc.apply_chat_template(messages, add_generation_prompt=True)
    image = Image.open(image_path).convert("RGB")
    inputs = proc(text=text, images=[[image]], return_tensors="pt")
    dev_inputs = {k: v.to(DEVICE) for k, v in inputs.items()}
    ids = inputs["input_ids"][0]
    save("input_ids.npy", ids.numpy().astype(np.int32))
    pv = inputs["pixel_values"][0]  # [F,3,S,S]: one image
    u8, err = to_u8_tiles(pv, mean, std, rescale)
    meta["prompt"] = text
    meta["tiles"] = {"count": int(pv.shape[0]), "size": int(pv.shape[-1]), "sha256": tile_hashes(u8),
                     "float_vs_u8_max_abs": err}
    if "pixel_attention_mask" in inputs:
        meta["tiles"]["pixel_attention_mask_all_ones"] = bool(inputs["pixel_attention_mask"].all())

    captured = {}
    find_module(model, "post_layernorm").register_forward_hook(lambda m, i, o: captured.__setitem__("post_ln", o))
    find_module(model, "connector").register_forward_hook(lambda m, i, o: captured.__setitem__("connector", o))
    with torch.no_grad():
        out = model(**dev_inputs)
    post_ln = captured["post_ln"].cpu()  # [F,P,C]
    emb = captured["connector"].cpu()  # [F,T,E]
    save("post_ln.npy", first_and_last(post_ln).numpy().astype(np.float32))
    save("image_embeds.npy", first_and_last(emb).numpy().astype(np.float32))
    save("logits_last.npy", out.logits[0, -1].cpu().numpy().astype(np.float32))
    stats = lambda t: [[float(x.double().sum()), float(x.double().abs().sum()), float(x.abs().max())] for x in t]
    meta["post_ln_stats"] = stats(post_ln)
    meta["image_embeds_stats"] = stats(emb)

    # Greedy from the same prompt: embeddings with the connector's rows at <image> positions.
    with torch.no_grad():
        embeds = model.get_input_embeddings()(dev_inputs["input_ids"]).clone()
        image_id = model.config.image_token_id
        pos = (dev_inputs["input_ids"][0] == image_id).nonzero().flatten()
        embeds[0, pos] = emb.reshape(-1, emb.shape[-1]).to(embeds.dtype).to(DEVICE)
        check = model(inputs_embeds=embeds, attention_mask=dev_inputs["attention_mask"]).logits[0, -1]
    meta["spliced_vs_forward_max_abs"] = float((check - out.logits[0, -1]).abs().max())
    g, gl = greedy_steps(model, embeds, G_STEPS)
    save("greedy.npy", g)
    save("gen_logits.npy", gl)

    # Text-only prompts (the golden token ids).
    for k in range(4):
        p = os.path.join(os.path.dirname(image_path), "prompt_%d.npy" % k)
        if not os.path.exists(p):
            continue
        pid = torch.tensor(np.load(p).astype(np.int64), device=DEVICE).reshape(1, -1)
        with torch.no_grad():
            e = model.get_input_embeddings()(pid)
            lg = model(inputs_embeds=e, attention_mask=torch.ones_like(pid)).logits[0, -1]
        save("text_%d_logits.npy" % k, lg.cpu().numpy().astype(np.float32))
        save("text_%d_greedy.npy" % k, greedy_steps(model, e, 16)[0])

    # Two images interleaved with text; and no splitting.
    try:
        msgs = [{"role": "user", "content": [{"type": "text", "text": "Compare"}, {"type": "image"},
                                             {"type": "text", "text": "with"}, {"type": "image"},
                                             {"type": "text", "text": "please."}]}]
        t2 = proc.apply_chat_template(msgs, add_generation_prompt=True)
        im2 = Image.open(second_image).convert("RGB")
        i2 = proc(text=t2, images=[[image, im2]], return_tensors="pt")
        save("multi_input_ids.npy", i2["input_ids"][0].numpy().astype(np.int32))
        meta["multi_prompt"] = t2
        meta["multi_second_image"] = os.path.basename(second_image)
        u8b, _ = to_u8_tiles(i2["pixel_values"][0].reshape(-1, *i2["pixel_values"].shape[-3:]), mean, std, rescale)
        meta["multi_tile_sha256"] = tile_hashes(u8b)
        with torch.no_grad():
            meta["multi_logits_last_argmax"] = int(model(**i2.to(DEVICE)).logits[0, -1].argmax())
    except Exception:
        meta["multi_error"] = traceback.format_exc()
    try:
        i3 = proc(text=text, images=[[image]], return_tensors="pt", do_image_splitting=False)
        save("nosplit_input_ids.npy", i3["input_ids"][0].numpy().astype(np.int32))
        meta["nosplit_tile_sha256"] = tile_hashes(to_u8_tiles(i3["pixel_values"][0], mean, std, rescale)[0])
    except Exception:
        meta["nosplit_error"] = traceback.format_exc()

    # How far the default fast (torchvision) processor lands from the slow one: information only.
    try:
        fast = AutoProcessor.from_pretrained(model_dir, use_fast=True)
        fpv = fast(text=text, images=[[image]], return_tensors="pt")["pixel_values"][0]
        fu8, _ = to_u8_tiles(fpv, mean, std, rescale)
        meta["fast_processor"] = {
            "class": type(fast.image_processor).__name__, "tiles": int(fpv.shape[0]),
            "same_tiles_as_slow": [a == b for a, b in zip(tile_hashes(fu8), meta["tiles"]["sha256"])],
            "max_abs_u8_diff": int(np.max(np.abs(fu8.astype(int) - u8.astype(int)))) if fu8.shape == u8.shape else None,
        }
    except Exception:
        meta["fast_processor_error"] = traceback.format_exc()


def preprocess_hashes(shared, model_dirs):
    """The slow processor's tiles for every golden preprocessing image and config."""
    images = sorted(p for p in glob.glob(os.path.join(shared, "golden", "preprocess", "images", "*"))
                    if not p.endswith(".decoded.png"))
    result = {}
    for name, model_dir in model_dirs:
        ip = AutoProcessor.from_pretrained(model_dir, use_fast=False).image_processor
        for split in (True, False):
            key = "%s_%s" % (name, "split" if split else "nosplit")
            result[key] = {}
            for path in images:
                try:
                    im = Image.open(path).convert("RGB")
                    r = ip(images=[[im]], do_image_splitting=split, return_tensors="np")
                    pv = torch.from_numpy(np.asarray(r["pixel_values"][0]))
                    u8, err = to_u8_tiles(pv, ip.image_mean, ip.image_std, ip.rescale_factor)
                    entry = {"tiles": int(pv.shape[0]), "size": int(pv.shape[-1]), "sha256": tile_hashes(u8),
                             "float_vs_u8_max_abs": err}
                    for k in ("rows", "cols"):
                        if k in r:
                            entry[k] = int(np.asarray(r[k]).reshape(-1)[0])
                    result[key][os.path.basename(path)] = entry
                except Exception as e:
                    result[key][os.path.basename(path)] = {"error": repr(e)}
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--shared", default=os.path.join(here, "..", "..", "shared"))
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "data", "hf"))
    ap.add_argument("--checkpoint", help="instead of the golden tiny models: this SmolVLM checkpoint folder "
                    "(e.g. a real-shape one from golden/tools/make_tiny_model.py), with --image")
    ap.add_argument("--image", help="with --checkpoint: the image asked about")
    ap.add_argument("--name", default="checkpoint", help="with --checkpoint: the output sub-folder")
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda (float32 without TF32)")
    a = ap.parse_args()
    global DEVICE
    DEVICE = a.device
    torch.manual_seed(0)
    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    os.makedirs(a.out, exist_ok=True)
    second = os.path.join(a.shared, "golden", "preprocess", "images", "synth_300x200.png")
    if a.checkpoint:
        meta = {"transformers": transformers.__version__, "torch": torch.__version__, "device": a.device,
                "dtype": "float32", "attn_implementation": "eager", "checkpoint": a.checkpoint}
        try:
            run_model(a.checkpoint, a.image, second, a.shared, os.path.join(a.out, a.name), meta)
        except Exception:
            meta["error"] = traceback.format_exc()
            print(meta["error"])
        os.makedirs(os.path.join(a.out, a.name), exist_ok=True)
        with open(os.path.join(a.out, a.name, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        print("wrote", os.path.join(a.out, a.name), flush=True)
        return
    dirs = []
    for name in ("tiny512", "tiny384"):
        g = os.path.join(a.shared, "golden", name)
        dirs.append((name, os.path.join(g, "hf")))
        meta = {"transformers": transformers.__version__, "torch": torch.__version__, "device": "cpu",
                "dtype": "float32", "attn_implementation": "eager"}
        try:
            run_model(os.path.join(g, "hf"), os.path.join(g, "inputs", "image.png"), second, a.shared,
                      os.path.join(a.out, name), meta)
        except Exception:
            meta["error"] = traceback.format_exc()
            print(meta["error"])
        os.makedirs(os.path.join(a.out, name), exist_ok=True)
        with open(os.path.join(a.out, name, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        print("wrote", os.path.join(a.out, name), flush=True)
    with open(os.path.join(a.out, "preprocess.json"), "w") as f:
        json.dump({"transformers": transformers.__version__, "configs": preprocess_hashes(a.shared, dirs)}, f, indent=1)
    print("wrote", os.path.join(a.out, "preprocess.json"), flush=True)


if __name__ == "__main__":
    main()
