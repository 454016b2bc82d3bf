#!/usr/bin/env python3
"""Ask the same question about every image (and video) in folders, through `smolvlm serve`; one JSON
line per file in the output (resumable: files already answered are skipped).

  python3 examples/python/batch_process.py photos/ --prompt "Describe this image." --output answers.jsonl
                                           [--model smolvlm2:256m] [--workers 4]

Inputs are picked like `smolvlm batch` picks them: folders are searched recursively for
.jpg .jpeg .png .webp .gif .bmp images and .mp4 .mkv .webm .mov .avi .m4v videos (by extension,
any case); files and folders whose name starts with '.' are skipped (a hidden folder is not
searched); the files run in path order; a file named on the command line runs whatever its name.
Options may come before, between or after the paths.

With OLLAMA_NUM_PARALLEL=4 on the server, --workers 4 lets its decode steps run batched. (The
`smolvlm batch` command does the same in one process, without a server.)"""
import argparse
import concurrent.futures
import json
import os
import sys
import time

from smolvlm_client import b64_file, default_host, post

IMAGES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"}
VIDEOS = {".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v"}


def hidden(name):
    return name.startswith(".") and name not in (".", "..")


def folder_media(folder):
    """The media files under a folder, hidden names skipped (hidden folders not searched), sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not hidden(d)]  # os.walk does not descend into what is removed
        found += [os.path.join(root, f) for f in files
                  if not hidden(f) and os.path.splitext(f)[1].lower() in IMAGES | VIDEOS]
    return sorted(found, key=os.fsencode)  # byte order, as `smolvlm batch` sorts


def inputs(paths):
    """The files to ask about, each once (a path named twice, or also found in a folder, runs once)."""
    seen = set()
    for p in paths:
        for f in folder_media(p) if os.path.isdir(p) else [p]:
            if os.path.normpath(f) not in seen:
                seen.add(os.path.normpath(f))
                yield f


def done_files(output):
    if not output or not os.path.exists(output):
        return set()
    with open(output) as f:
        return {json.loads(line)["file"] for line in f if line.strip() and "answer" in json.loads(line)}


def ask(host, model, prompt, path, options):
    t0 = time.time()
    try:
        media = "videos" if os.path.splitext(path)[1].lower() in VIDEOS else "images"
        out = post(host, "/api/chat", {"model": model, "stream": False, "options": options,
                                       "messages": [{"role": "user", "content": prompt, media: [b64_file(path)]}]})
        return {"file": path, "answer": out["message"]["content"].strip(), "prompt_tokens": out.get("prompt_eval_count"),
                "eval_tokens": out.get("eval_count"), "seconds": round(time.time() - t0, 3)}
    except (OSError, SystemExit) as e:  # unreadable file, or the server's error for it
        return {"file": path, "error": str(e), "seconds": round(time.time() - t0, 3)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", metavar="PATH", help="a folder (searched recursively) or a file")
    ap.add_argument("--prompt", default="Describe this image.")
    ap.add_argument("--output", help="JSONL file (default: stdout)")
    ap.add_argument("--model", default="smolvlm2:256m")
    ap.add_argument("--host", default=default_host())
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("-n", "--num-predict", type=int, default=128)
    ap.add_argument("--temperature", type=float)
    a = ap.parse_intermixed_args()
    host = a.host if "://" in a.host else "http://" + a.host
    options = {"num_predict": a.num_predict}
    if a.temperature is not None:
        options["temperature"] = a.temperature
    skip = done_files(a.output)
    todo = [p for p in inputs(a.paths) if p not in skip]
    out = open(a.output, "a") if a.output else sys.stdout
    ok = failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.workers) as pool:
        for rec in pool.map(lambda p: ask(host, a.model, a.prompt, p, options), todo):
            out.write(json.dumps(rec) + "\n")
            out.flush()
            ok, failed = ok + ("answer" in rec), failed + ("error" in rec)
            print(f"\r{ok + failed}/{len(todo)} done", end="", file=sys.stderr, flush=True)
    print(f"\n{ok} answered, {failed} failed, {len(skip)} skipped (already in the output)", file=sys.stderr)


if __name__ == "__main__":
    main()
