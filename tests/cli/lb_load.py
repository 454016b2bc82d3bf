#!/usr/bin/env python3
"""Bounded client load through a balancer (tests/cli/lb_*.sh): THREADS clients send a mix of text,
image and streamed requests to URL for SECONDS, one at a time each, and record every outcome.
A failure is "begun" when the reply had started (status line or stream lines received) before it
broke: only the replica that was killed can cause those. Prints a JSON summary; standard library only.
usage: lb_load.py URL SECONDS THREADS IMAGE.png OUT.json"""
import base64
import http.client
import json
import sys
import threading
import time
import urllib.parse

url, secs, threads, image, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
u = urllib.parse.urlparse(url)
img = base64.b64encode(open(image, "rb").read()).decode()
lock = threading.Lock()
stats = {"ok": 0, "failed": [], "by_kind": {}}


def one(kind, k):
    body = {"model": "tiny", "prompt": "Say something about %d." % k, "options": {"num_predict": 16, "temperature": 0}}
    if kind == "image":
        body["images"] = [img]
    body["stream"] = kind == "stream"
    began = False
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        c.request("POST", "/api/generate", json.dumps(body), {"Content-Type": "application/json"})
        r = c.getresponse()
        began = True
        if r.status != 200:
            return "HTTP %d: %s" % (r.status, r.read()[:200]), began
        if kind == "stream":
            last = None
            for line in r:
                if line.strip():
                    last = json.loads(line)
            if not last or not last.get("done") or "error" in last:
                return "stream ended without done: %r" % (last,), began
        else:
            j = json.loads(r.read())
            if not j.get("done"):
                return "no done: %r" % (j,), began
        return None, began
    except Exception as e:  # noqa: BLE001 - every failure is recorded
        return "%s: %s" % (type(e).__name__, e), began


def client(i):
    end = time.time() + secs
    k = 0
    while time.time() < end:
        kind = ("text", "image", "stream")[(i + k) % 3]
        err, began = one(kind, k)
        with lock:
            s = stats["by_kind"].setdefault(kind, {"ok": 0, "failed": 0})
            if err is None:
                stats["ok"] += 1
                s["ok"] += 1
            else:
                s["failed"] += 1
                stats["failed"].append({"kind": kind, "began": began, "error": err, "at": time.time()})
        k += 1


ts = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
json.dump(stats, open(out, "w"), indent=1)
print(json.dumps({"ok": stats["ok"], "failed": len(stats["failed"]), "by_kind": stats["by_kind"]}))
