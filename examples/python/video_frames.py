#!/usr/bin/env python3
"""Ask about a video and get answers tied to timestamps, through `smolvlm serve`'s `videos`
extension on chat messages: the server samples the video like transformers does (1 frame per
second, at most 64; --fps / --max-frames change that) and tells the model each frame's time
("Frame from 00:07:"), so it can answer with timestamps.

  python3 examples/python/video_frames.py clip.mp4 "What happens, and when?" [--model smolvlm2:500m]
  python3 examples/python/video_frames.py clip.mp4 --segments 10    # one answer per 10-second window

--segments asks about each window in turn (the server samples the frames of the whole clip, so each
question names its window) and prints "MM:SS-MM:SS  answer" lines."""
import argparse

from smolvlm_client import b64_file, chat, default_host


def mmss(s):
    return f"{int(s) // 60:02d}:{int(s) % 60:02d}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("video")
    ap.add_argument("prompt", nargs="?", default="Describe what happens in this video, with the time of each event.")
    ap.add_argument("--model", default="smolvlm2:256m")
    ap.add_argument("--host", default=default_host())
    ap.add_argument("--segments", type=float, help="seconds per window: one timestamped answer per window")
    ap.add_argument("--duration", type=float, default=60.0, help="with --segments: the clip's length in seconds")
    ap.add_argument("-n", "--num-predict", type=int, default=128)
    ap.add_argument("--temperature", type=float)
    a = ap.parse_args()
    host = a.host if "://" in a.host else "http://" + a.host
    options = {"num_predict": a.num_predict}
    if a.temperature is not None:
        options["temperature"] = a.temperature
    video = b64_file(a.video)
    if not a.segments:
        chat(host, a.model, [{"role": "user", "content": a.prompt, "videos": [video]}], options,
             on_text=lambda t: print(t, end="", flush=True))
        print()
        return
    t = 0.0
    while t < a.duration:
        end = min(t + a.segments, a.duration)
        q = f"What happens between {mmss(t)} and {mmss(end)}? Answer in one sentence."
        text, _ = chat(host, a.model, [{"role": "user", "content": q, "videos": [video]}], options, stream=False)
        print(f"{mmss(t)}-{mmss(end)}  {text.strip()}")
        t = end


if __name__ == "__main__":
    main()
