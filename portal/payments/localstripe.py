"""Running localstripe, the fake Stripe server used by the demo and the tests.

localstripe (GPL-3, from the `demo` extra) is started as a separate process and never
imported: it is a development peer, not part of the portal.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the fake server ends when whatever started it ends, even if killed outright."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalStripe:
    process: subprocess.Popen
    base_url: str

    @classmethod
    def start(cls, port: int | None = None, timeout: float = 20) -> LocalStripe:
        port = port or free_port()
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no user input
            [sys.executable, "-m", "localstripe", "--from-scratch", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )  # noqa: PLW1509
        server = cls(process, f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return server
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    server.stop()
                    raise RuntimeError("localstripe did not start") from None
                time.sleep(0.05)

    def _post(self, path: str, data: dict | None = None, method: str = "POST") -> None:
        body = urlencode(data or {}, doseq=True).encode()
        request = urllib.request.Request(self.base_url + path, data=body, method=method)  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own local server
            response.read()

    def register_webhook(self, url: str, secret: str, name: str = "portal") -> None:
        self._post(f"/_config/webhooks/{name}", {"url": url, "secret": secret})

    def flush(self) -> None:
        """Forget every object (between tests)."""
        self._post("/_config/data", method="DELETE")

    def get(self, path: str) -> dict:
        request = urllib.request.Request(  # noqa: S310 - our own local server
            self.base_url + path,
            headers={"Authorization": "Bearer sk_test_local"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
