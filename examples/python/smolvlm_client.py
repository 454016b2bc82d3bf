"""A few lines of Python's standard library for the Ollama REST API that `smolvlm serve` speaks
(the same calls work against Ollama itself). Used by the examples beside this file; no packages
needed: our users may not have ollama-python."""
import base64
import json
import os
import urllib.error
import urllib.request


def default_host():
    """OLLAMA_HOST as Ollama reads it (host[:port], optionally with a scheme); 127.0.0.1:11434."""
    host = os.environ.get("SMOLVLM_HOST") or os.environ.get("OLLAMA_HOST") or "127.0.0.1:11434"
    if "://" not in host:
        host = "http://" + host
    if host.count(":") < 2:
        host += ":11434"
    return host.rstrip("/")


def b64_file(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode("ascii")


def post(host, path, body, stream=False):
    """POST JSON; returns the decoded answer, or (stream=True) yields each NDJSON object."""
    req = urllib.request.Request(host + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        resp = urllib.request.urlopen(req, timeout=600)
    except urllib.error.HTTPError as e:
        detail = e.read().decode(errors="replace")
        try:
            detail = json.loads(detail).get("error", detail)
        except ValueError:
            pass
        raise SystemExit(f"{path}: HTTP {e.code}: {detail}")
    except urllib.error.URLError as e:
        raise SystemExit(f"cannot reach {host} ({e.reason}): start the server with `smolvlm serve`")
    if not stream:
        with resp:
            return json.loads(resp.read())
    return _lines(resp)


def _lines(resp):
    with resp:
        for raw in resp:
            if raw.strip():
                obj = json.loads(raw)
                if "error" in obj:
                    raise SystemExit("server: " + str(obj["error"]))
                yield obj


def chat(host, model, messages, options=None, stream=True, on_text=None, fmt=None):
    """One /api/chat call; streams the reply to on_text; returns (text, final object)."""
    body = {"model": model, "messages": messages, "stream": stream}
    if options:
        body["options"] = options
    if fmt:
        body["format"] = fmt
    if not stream:
        out = post(host, "/api/chat", body)
        text = out["message"]["content"]
        if on_text:
            on_text(text)
        return text, out
    text, last = "", {}
    for part in post(host, "/api/chat", body, stream=True):
        piece = part.get("message", {}).get("content", "")
        text += piece
        if on_text and piece:
            on_text(piece)
        if part.get("done"):
            last = part
    return text, last
