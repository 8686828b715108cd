"""A recording HTTP proxy between standin and the emulator: it forwards every request
unchanged and counts them by AWS API action, so a benchmark can say how many round trips a
command takes. (Issue 6's fault injection is meant to grow here.)

    python harness/proxy.py UPSTREAM          # prints `READY http://127.0.0.1:PORT`
    GET /__proxy/counts                       # the counts so far, as JSON
"""

import http.client
import json
import re
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


def action_of(method, path, headers, body):
    """`service:Action` for JSON and query protocols; `service METHOD /path` (ids elided) for REST."""
    scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", headers.get("Authorization", ""))
    service = scope.group(1) if scope else "?"
    target = headers.get("X-Amz-Target")
    if target:
        return f"{service}:{target.split('.')[-1]}"
    if body and b"Action=" in body:
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", ["?"])[0]
        return f"{service}:{action}"
    route = re.sub(r"/(hostedzone|change)/[A-Z0-9]+", r"/\1/{id}", urlsplit(path).path)
    return f"{service} {method} {route}"


def start_proxy(upstream, host="127.0.0.1"):
    """Starts the proxy in a thread; returns (server, address, counts)."""
    target = urlsplit(upstream)
    counts = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _forward(self):
            if self.path == "/__proxy/counts":
                with lock:
                    data = json.dumps(dict(counts)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with lock:
                counts[action_of(self.command, self.path, self.headers, body)] += 1
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    server = ThreadingHTTPServer((host, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}", counts


if __name__ == "__main__":
    _, address, _ = start_proxy(sys.argv[1])
    print(f"READY {address}", flush=True)
    threading.Event().wait()
