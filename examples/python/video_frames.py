#!/usr/bin/env python3
"""Ask about a video and get answers tied to timestamps, through `smolvlm serve`'s `videos`
extension on chat messages: the server samples the video like transformers does (1 frame per
second, at most 64; --fps / --max-frames change that) and tells the model each frame's time
("Frame from 00:07:"), so it can answer with timestamps.

  python3 examples/python/video_frames.py clip.mp4 "What happens, and when?" [--model smolvlm2:500m]
  python3 examples/python/video_frames.py clip.mp4 --segments 10    # one answer per 10-second window

--segments asks about each window in turn (the server samples the frames of the whole clip, so each
question names its window) and prints "MM:SS-MM:SS  answer" lines. The windows cover the clip's
real length, read from its header (MP4/MOV/M4V, MKV/WebM, AVI; ffprobe for anything else when it is
installed); --duration overrides it. Options may come before, between or after VIDEO and PROMPT."""
import argparse
import json
import os
import shutil
import struct
import subprocess

from smolvlm_client import b64_file, chat, default_host


def mmss(s):
    s = int(s + 0.5)  # to the nearest second: a 4.96 s clip ends at 00:05
    return f"{s // 60:02d}:{s % 60:02d}"


def _mp4_duration(f, size):
    """ISO BMFF (MP4, MOV, M4V): moov/mvhd holds the movie's duration in its timescale's units."""
    def boxes(start, end):
        pos = start
        while pos + 8 <= end:
            f.seek(pos)
            n, kind = struct.unpack(">I4s", f.read(8))
            head = 8
            if n == 1:
                n, head = struct.unpack(">Q", f.read(8))[0], 16
            elif n == 0:
                n = end - pos
            if n < head:
                return
            yield kind, pos + head, min(pos + n, end)
            pos += n
    for kind, start, end in boxes(0, size):
        if kind != b"moov":
            continue
        for sub, body, _ in boxes(start, end):
            if sub == b"mvhd":
                f.seek(body)
                version = f.read(4)[0]
                if version == 1:
                    timescale, duration = struct.unpack(">16xIQ", f.read(28))
                else:
                    timescale, duration = struct.unpack(">8xII", f.read(16))
                if timescale and duration and duration != (1 << (64 if version == 1 else 32)) - 1:
                    return duration / timescale
    return None


def _ebml_vint(f, keep_marker):
    first = f.read(1)
    if not first:
        raise EOFError
    b = first[0]
    n = 1
    while n <= 8 and not b & (0x80 >> (n - 1)):
        n += 1
    if n > 8:
        raise ValueError("bad EBML number")
    value = b if keep_marker else b & (0xFF >> n)
    for c in f.read(n - 1):
        value = (value << 8) | c
    unknown = not keep_marker and value == (1 << (7 * n)) - 1
    return value, unknown


def _mkv_duration(f, size):
    """Matroska / WebM: Segment > Info > Duration (a float) in TimestampScale nanoseconds."""
    def elements(start, end):
        pos = start
        while pos < end:
            f.seek(pos)
            try:
                ident, _ = _ebml_vint(f, True)
                n, unknown = _ebml_vint(f, False)
            except (EOFError, ValueError):
                return
            body = f.tell()
            stop = end if unknown else min(body + n, end)
            yield ident, body, stop
            pos = stop
    for ident, body, end in elements(0, size):
        if ident != 0x18538067:  # Segment
            continue
        for sub, sbody, send in elements(body, end):
            if sub != 0x1549A966:  # Info
                continue
            scale, duration = 1_000_000, None
            for el, ebody, eend in elements(sbody, send):
                f.seek(ebody)
                raw = f.read(eend - ebody)
                if el == 0x2AD7B1 and raw:  # TimestampScale
                    scale = int.from_bytes(raw, "big")
                elif el == 0x4489 and len(raw) in (4, 8):  # Duration
                    duration = struct.unpack(">f" if len(raw) == 4 else ">d", raw)[0]
            return duration * scale / 1e9 if duration else None
    return None


def _avi_duration(f, size):
    """AVI: the main header (avih) gives microseconds per frame and the frame count."""
    f.seek(12)
    head = f.read(4096)
    at = head.find(b"avih")
    if at < 0 or at + 32 > len(head):
        return None
    us_per_frame, = struct.unpack("<I", head[at + 8:at + 12])
    frames, = struct.unpack("<I", head[at + 24:at + 28])
    return us_per_frame * frames / 1e6 or None


def clip_duration(path):
    """The clip's length in seconds, from its container header, else ffprobe; None when unknown."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            magic = f.read(12)
            if magic[:4] == b"\x1a\x45\xdf\xa3":
                seconds = _mkv_duration(f, size)
            elif magic[:4] == b"RIFF" and magic[8:12] == b"AVI ":
                seconds = _avi_duration(f, size)
            else:
                seconds = _mp4_duration(f, size)
        if seconds:
            return seconds
    except (OSError, struct.error, IndexError, ValueError):
        pass
    if shutil.which("ffprobe"):
        try:
            out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", path],
                                 capture_output=True, text=True, timeout=60, check=True).stdout
            return float(json.loads(out)["format"]["duration"])
        except (OSError, subprocess.SubprocessError, KeyError, ValueError):
            pass
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("video")
    ap.add_argument("prompt", nargs="?", default="Describe what happens in this video, with the time of each event.")
    ap.add_argument("--model", default="smolvlm2:256m")
    ap.add_argument("--host", default=default_host())
    ap.add_argument("--segments", type=float, help="seconds per window: one timestamped answer per window")
    ap.add_argument("--duration", type=float,
                    help="with --segments: the clip's length in seconds (default: read from the file)")
    ap.add_argument("-n", "--num-predict", type=int, default=128)
    ap.add_argument("--temperature", type=float)
    a = ap.parse_intermixed_args()
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
    if a.segments < 0:
        ap.error("--segments: want a positive number of seconds")
    duration = a.duration or clip_duration(a.video)
    if not duration:
        ap.error(f"{a.video}: cannot tell the clip's length (not MP4/MOV, MKV/WebM or AVI, and no ffprobe): "
                 "pass --duration SECONDS")
    t = 0.0
    while t < duration:
        end = min(t + a.segments, duration)
        if duration - end < 0.5:  # no window for a last fraction of a second: the previous one takes it
            end = duration
        q = f"What happens between {mmss(t)} and {mmss(end)}? Answer in one sentence."
        text, _ = chat(host, a.model, [{"role": "user", "content": q, "videos": [video]}], options, stream=False)
        print(f"{mmss(t)}-{mmss(end)}  {text.strip()}")
        t = end


if __name__ == "__main__":
    main()
