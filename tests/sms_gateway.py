"""A real HTTP server on 127.0.0.1 standing in for an SMS gateway: records what it is sent and
answers 200 (with a gateway id), 500, a redirect, or too late."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SmsGateway:
    def __init__(self):
        self.mode = "ok"  # ok | error | redirect | slow
        self.slow_seconds = 2.0
        self.received: list[dict] = []  # {"body": ..., "headers": ...} in arrival order
        self.redirect_target_hits = 0
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path == "/elsewhere":
                    gateway.redirect_target_hits += 1
                    self._answer(200, b"{}")
                    return
                gateway.received.append({"body": json.loads(body), "headers": dict(self.headers)})
                try:
                    if gateway.mode == "slow":
                        time.sleep(gateway.slow_seconds)
                    if gateway.mode == "error":
                        self._answer(500, b'{"error": "down"}')
                    elif gateway.mode == "redirect":
                        self.send_response(307)
                        self.send_header("Location", f"http://127.0.0.1:{gateway.port}/elsewhere")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                    else:
                        self._answer(200, json.dumps({"id": f"gw-{len(gateway.received)}"}).encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender stopped waiting (timeout): that is the point

            def _answer(self, status: int, body: bytes):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/v1/messages"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
