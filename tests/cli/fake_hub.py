#!/usr/bin/env python3
"""A tiny stand-in for the Hugging Face Hub for shell tests that pull (the HTTP routes the pull code
uses, as tests/unit/hub_fixture.cpp fakes them in C++):
  GET /api/models/ORG/REPO/tree/REV        the file listing (size, git oid, lfs sha256)
  GET /api/models/ORG/REPO/revision/REV    {"id", "sha"}
  GET|HEAD /ORG/REPO/resolve/REV/FILE      302 to /cdn/... with X-Linked-Etag / X-Linked-Size
  GET|HEAD /cdn/ORG/REPO/FILE              the bytes (Range honoured)
Usage: fake_hub.py PORT_FILE ORG/REPO=DIR...  (binds 127.0.0.1 on a free port, writes it to PORT_FILE)."""
import hashlib
import http.server
import json
import os
import re
import sys

REPOS = {}  # "org/repo" -> {file: (path, size, sha256, git oid)}


def load(spec):
    repo, folder = spec.split("=", 1)
    files = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        data = open(path, "rb").read()
        oid = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        files[name] = (path, len(data), hashlib.sha256(data).hexdigest(), oid)
    REPOS[repo] = files


class Hub(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body=b"", headers=(), ctype="application/json"):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(tree|revision)/([^/]+)", path)
        if m:
            files = REPOS.get(m.group(1))
            if files is None:
                return self.send(404, b'{"error":"Repository not found"}')
            if m.group(2) == "revision":
                return self.send(200, json.dumps({"id": m.group(1), "sha": "4f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"}).encode())
            listing = [{"type": "file", "path": n, "size": size, "oid": oid,
                        "lfs": {"oid": sha, "size": size, "pointerSize": 134}}
                       for n, (_, size, sha, oid) in files.items()]
            return self.send(200, json.dumps(listing).encode())
        m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/[^/]+/(.+)", path)
        if m:
            f = REPOS.get(m.group(1), {}).get(m.group(2))
            if f is None:
                return self.send(404, headers=[("X-Error-Code", "EntryNotFound")])
            return self.send(302, headers=[("Location", "/cdn/%s/%s" % (m.group(1), m.group(2))),
                                           ("X-Linked-Etag", '"%s"' % f[2]), ("X-Linked-Size", str(f[1])),
                                           ("ETag", '"%s"' % f[3])])
        m = re.fullmatch(r"/cdn/([^/]+/[^/]+)/(.+)", path)
        if m and m.group(2) in REPOS.get(m.group(1), {}):
            fpath, size, sha, _ = REPOS[m.group(1)][m.group(2)]
            data = open(fpath, "rb").read()
            headers = [("ETag", '"%s"' % sha), ("Accept-Ranges", "bytes")]
            r = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
            if r:
                start = int(r.group(1))
                end = int(r.group(2)) if r.group(2) else size - 1
                if start >= size:
                    return self.send(416, headers=[("Content-Range", "bytes */%d" % size)])
                end = min(end, size - 1)
                headers.append(("Content-Range", "bytes %d-%d/%d" % (start, end, size)))
                return self.send(206, data[start:end + 1], headers, "application/octet-stream")
            return self.send(200, data, headers, "application/octet-stream")
        self.send(404, b'{"error":"not found"}')


def main():
    for spec in sys.argv[2:]:
        load(spec)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
