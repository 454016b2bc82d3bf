#!/usr/bin/env python3
"""Ask a SmolVLM2 model about one or more images through `smolvlm serve` (or Ollama).

  python3 examples/python/analyze_image.py photo.jpg "What is in this picture?" [--model smolvlm2:256m]
                                           [--image second.png] [--max-tiles 4] [--json]

Options may come before, between or after IMAGE and PROMPT. Prints the answer as it streams, then
the timings on stderr (--verbose)."""
import argparse
import sys

from smolvlm_client import b64_file, chat, default_host


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("image", help="the first image")
    ap.add_argument("prompt", nargs="?", default="Describe this image.", help="the question (default: %(default)s)")
    ap.add_argument("--image", dest="more", action="append", default=[], help="another image (repeatable)")
    ap.add_argument("--model", default="smolvlm2:256m")
    ap.add_argument("--host", default=default_host())
    ap.add_argument("--max-tiles", type=int, help="resolution control: at most this many tiles per image")
    ap.add_argument("--temperature", type=float)
    ap.add_argument("-n", "--num-predict", type=int)
    ap.add_argument("--json", action="store_true", help="ask for one JSON value (constrained decoding)")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_intermixed_args()  # options anywhere: `photo.jpg --model m "question"` too
    options = {k: v for k, v in {"max_tiles": a.max_tiles, "temperature": a.temperature,
                                 "num_predict": a.num_predict}.items() if v is not None}
    images = [b64_file(p) for p in [a.image] + a.more]
    messages = [{"role": "user", "content": a.prompt, "images": images}]
    _, last = chat(a.host if "://" in a.host else "http://" + a.host, a.model, messages, options,
                   on_text=lambda t: print(t, end="", flush=True), fmt="json" if a.json else None)
    print()
    if a.verbose:
        ns = 1e9
        print(f"prompt: {last.get('prompt_eval_count', 0)} tokens in {last.get('prompt_eval_duration', 0) / ns:.2f} s; "
              f"reply: {last.get('eval_count', 0)} tokens in {last.get('eval_duration', 0) / ns:.2f} s; "
              f"total {last.get('total_duration', 0) / ns:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
