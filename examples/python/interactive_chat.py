#!/usr/bin/env python3
"""A chat with a SmolVLM2 model through `smolvlm serve`, keeping the conversation. Type a message;
`/image PATH` (or `/video PATH`) attaches media to the next message, `/clear` forgets the
conversation, `/bye` or end of input quits. Works with a pipe too:

  printf '/image cat.jpg\\nWhat animal is this?\\nWhat color is it?\\n' | python3 examples/python/interactive_chat.py"""
import argparse
import sys

from smolvlm_client import b64_file, chat, default_host


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smolvlm2:256m")
    ap.add_argument("--host", default=default_host())
    ap.add_argument("--system", help="system message")
    ap.add_argument("-n", "--num-predict", type=int)
    ap.add_argument("--temperature", type=float)
    a = ap.parse_args()
    host = a.host if "://" in a.host else "http://" + a.host
    options = {k: v for k, v in {"num_predict": a.num_predict, "temperature": a.temperature}.items() if v is not None}
    history = [{"role": "system", "content": a.system}] if a.system else []
    pending = {"images": [], "videos": []}
    tty = sys.stdin.isatty()
    while True:
        if tty:
            print(">>> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line or line.strip() == "/bye":
            break
        line = line.strip()
        if not line:
            continue
        if line.startswith("/image ") or line.startswith("/video "):
            kind, path = line.split(" ", 1)
            pending["images" if kind == "/image" else "videos"].append(b64_file(path.strip()))
            print(f"attached {path.strip()}", file=sys.stderr)
            continue
        if line == "/clear":
            history = history[:1] if a.system else []
            print("Cleared session context", file=sys.stderr)
            continue
        msg = {"role": "user", "content": line, **{k: v for k, v in pending.items() if v}}
        pending = {"images": [], "videos": []}
        reply, _ = chat(host, a.model, history + [msg], options, on_text=lambda t: print(t, end="", flush=True))
        print("\n")
        history += [msg, {"role": "assistant", "content": reply.strip()}]


if __name__ == "__main__":
    main()
