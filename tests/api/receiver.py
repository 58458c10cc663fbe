"""A real HTTP server on 127.0.0.1 standing in for a lender's webhook endpoint.

It can answer 200, 500, a redirect, or hang past the worker's timeout; it checks every
signature and records what arrived, and how many requests for one event were in flight
at the same moment.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from portal.outbox.delivery import SIGNATURE_HEADER, verify


class Receiver:
    def __init__(self, secret: str | None = None, host: str = "127.0.0.1", port: int = 0, tls=None):
        self.secret = secret
        self.hosts: list[str] = []  # the Host header of each request
        self.mode = "ok"  # ok | error | slow | redirect
        self.slow_seconds = 1.0
        self.hold_seconds = 0.0  # delay even successful answers (to expose overlaps)
        self.received: list[dict] = []  # every request body, in arrival order
        self.bad_signatures = 0
        self.in_flight: Counter = Counter()
        self.max_in_flight: Counter = Counter()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.hosts.append(self.headers["Host"])
                event = json.loads(body)
                with receiver._lock:
                    receiver.in_flight[event["id"]] += 1
                    receiver.max_in_flight[event["id"]] = max(
                        receiver.max_in_flight[event["id"]], receiver.in_flight[event["id"]]
                    )
                try:
                    if receiver.mode == "slow":
                        time.sleep(receiver.slow_seconds)
                    if receiver.hold_seconds:
                        time.sleep(receiver.hold_seconds)
                    if receiver.mode == "error":
                        self.send_response(500)
                    elif receiver.mode == "redirect":
                        self.send_response(302)
                        self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                    else:
                        if receiver.secret and not verify(receiver.secret, self.headers[SIGNATURE_HEADER], body):
                            receiver.bad_signatures += 1
                        with receiver._lock:
                            receiver.received.append(event)
                        self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the worker gave up waiting (timeout): that is the point
                finally:
                    with receiver._lock:
                        receiver.in_flight[event["id"]] -= 1

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        if tls is not None:  # an ssl.SSLContext with the receiver's certificate
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_port
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def unique(self) -> dict[str, dict]:
        """What a receiver keeps after de-duplicating on the event id."""
        seen = {}
        for event in self.received:
            seen.setdefault(event["id"], event)
        return seen

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
