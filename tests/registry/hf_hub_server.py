#!/usr/bin/env python3
"""A loopback stand-in for the Hugging Face hub, for tests of `loam models pull`.

Serves the repositories under --root (ROOT/<owner>/<name>/<files>) in the
hub's URL layout:

  GET /api/models/<owner>/<name>/revision/<rev>?blobs=true
      {"id", "sha", "siblings": [{"rfilename", "size", "blobId",
       "lfs": {"sha256", "size", "pointerSize"}}]}   (lfs for *.safetensors)
  GET /<owner>/<name>/resolve/<rev>/<file>
      small files directly; *.safetensors by a 302 to /lfs/<owner>/<name>/<file>,
      as the hub sends LFS files to its CDN. Range: bytes=N- gives 206.

Misbehaviour on request, to exercise the client's error paths:
  --drop FILE        the first full GET of FILE sends the headers (full
                     Content-Length) and half the bytes, then closes the connection
  --wrong-sha FILE   the listing gives FILE a wrong sha256
  --missing FILE     FILE is listed but its download answers 404
  --ignore-range F   answers a Range request for F with the whole file (200)
  --token TOKEN      every request needs "Authorization: Bearer TOKEN" (401 otherwise)

Binds 127.0.0.1 on a port the OS picks and writes it to --port-file; logs one
line per request ("METHOD PATH range=... auth=yes|no") to --log. Written for
tests/registry/hf_pull_test.cpp; uses only the standard library.
"""
import argparse
import hashlib
import http.server
import json
import os
import threading
import urllib.parse

REVISION_SHA = "0123456789abcdef0123456789abcdef01234567"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--drop", action="append", default=[])
    ap.add_argument("--wrong-sha", action="append", default=[])
    ap.add_argument("--missing", action="append", default=[])
    ap.add_argument("--ignore-range", action="append", default=[])
    ap.add_argument("--token", default="")
    args = ap.parse_args()
    lock = threading.Lock()
    dropped = set()

    def repo_dir(owner, name):
        d = os.path.join(args.root, owner, name)
        return d if os.path.isdir(d) else None

    def sibling(path, rel):
        data = open(path, "rb").read()
        entry = {"rfilename": rel, "size": len(data),
                 "blobId": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()}
        if rel.endswith(".safetensors"):
            sha = hashlib.sha256(data).hexdigest()
            if rel in args.wrong_sha:
                sha = hashlib.sha256(b"not the file").hexdigest()
            entry["blobId"] = hashlib.sha1(b"pointer " + rel.encode()).hexdigest()
            entry["lfs"] = {"sha256": sha, "size": len(data), "pointerSize": 134}
        return entry

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def record(self):
            auth = self.headers.get("Authorization", "")
            with lock, open(args.log, "a") as f:
                f.write("%s %s range=%s auth=%s\n" % (self.command, self.path, self.headers.get("Range", "-"),
                                                      "yes" if auth else "no"))

        def reply(self, code, body=b"", ctype="application/json", headers=()):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def error(self, code, msg):
            self.reply(code, json.dumps({"error": msg}).encode())

        def do_GET(self):
            self.record()
            if args.token and self.headers.get("Authorization", "") != "Bearer " + args.token:
                return self.error(401, "Invalid credentials in Authorization header")
            url = urllib.parse.urlparse(self.path)
            parts = [urllib.parse.unquote(p) for p in url.path.split("/")[1:]]
            if len(parts) == 6 and parts[:2] == ["api", "models"] and parts[4] == "revision":
                return self.listing(parts[2], parts[3], url.query)
            if len(parts) == 5 and parts[2] == "resolve":
                return self.resolve(parts[0], parts[1], parts[4])
            if len(parts) == 4 and parts[0] == "lfs":
                return self.send_file(parts[1], parts[2], parts[3])
            return self.error(404, "no such route")

        def listing(self, owner, name, query):
            d = repo_dir(owner, name)
            if d is None:
                return self.error(404, "Repository not found")
            if "blobs=true" not in query:
                return self.error(400, "this test server only answers ?blobs=true")
            siblings = []
            for base, _, files in os.walk(d):
                for fn in sorted(files):
                    path = os.path.join(base, fn)
                    siblings.append(sibling(path, os.path.relpath(path, d)))
            body = {"id": owner + "/" + name, "sha": REVISION_SHA, "siblings": siblings}
            self.reply(200, json.dumps(body).encode())

        def resolve(self, owner, name, rel):
            if repo_dir(owner, name) is None:
                return self.error(404, "Repository not found")
            if rel.endswith(".safetensors") and rel not in args.missing:
                return self.reply(302, b"", headers=[("Location", "/lfs/%s/%s/%s" % (owner, name, rel))])
            return self.send_file(owner, name, rel)

        def send_file(self, owner, name, rel):
            d = repo_dir(owner, name)
            path = os.path.join(d, rel) if d else None
            if path is None or rel in args.missing or not os.path.isfile(path):
                return self.error(404, "Entry not found")
            data = open(path, "rb").read()
            rng = self.headers.get("Range")
            if rng and rel not in args.ignore_range:
                start = int(rng.split("=")[1].split("-")[0])
                if start >= len(data):
                    return self.reply(416, b"", headers=[("Content-Range", "bytes */%d" % len(data))])
                return self.reply(206, data[start:], "application/octet-stream",
                                  [("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))])
            with lock:
                drop = rel in args.drop and rel not in dropped
                dropped.add(rel)
            if drop:
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.reply(200, data, "application/octet-stream")

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):
            pass  # a client that cancels mid-transfer resets the connection: expected

    server = Server(("127.0.0.1", 0), Handler)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
