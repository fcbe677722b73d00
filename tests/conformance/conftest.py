"""Starts a real `crowdiff core` for the conformance suite and points horde-sdk at its gateway.

horde-sdk reads its server URL once, when it is first imported, so the ports are chosen and AI_HORDE_URL is
set here, before any test module imports horde_sdk.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("CROWDIFF_BUILD_DIR", REPO / "build"))
CROWDIFF = BUILD / "apps" / "crowdiff" / "crowdiff"

NODE_PORT = _free_port()
HTTP_PORT = _free_port()
BASE = f"http://127.0.0.1:{HTTP_PORT}"
API = f"{BASE}/api/v2"

os.environ["AI_HORDE_URL"] = f"{BASE}/api/"  # the trailing slash matters: the SDK joins "v2/..." onto it
os.environ.pop("AI_HORDE_DEV_URL", None)
os.environ.pop("AI_HORDE_DEV_APIKEY", None)  # it would replace every key the tests pass


class Core:
    """A `crowdiff core` process with its HTTP gateway on loopback."""

    def __init__(self, http_port: int, node_port: int, extra_args: list[str]) -> None:
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="crowdiff-conformance-"))
        self.base = f"http://127.0.0.1:{http_port}"
        self.api = f"{self.base}/api/v2"
        self.log_path = self.dir / "core.log"
        args = [
            str(CROWDIFF), "core", f"--store.directory={self.dir / 'store'}", "--port", str(node_port),
            "--http-port", str(http_port), "--log-level", "warning", "--models=stable_diffusion,Deliberate",
            "--gateway.listen_host=127.0.0.1", "--gateway.test_user_endpoint=true",
        ] + extra_args
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"crowdiff core exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                if requests.get(f"{self.api}/status/heartbeat", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"crowdiff core did not answer its heartbeat in 30 s:\n{self.log_text()}")
            time.sleep(0.05)

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-20000:]

    def test_user(self) -> dict:
        r = requests.post(f"{self.api}/dev/test-user", timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="session")
def core():
    if not CROWDIFF.exists():
        pytest.exit(f"{CROWDIFF} is missing: build crowdiff first (or set CROWDIFF_BUILD_DIR)", returncode=2)
    c = Core(HTTP_PORT, NODE_PORT, ["--gateway.rate_limit_loopback=false"])
    yield c
    c.stop()
    if c.proc.returncode != 0:
        print(c.log_text())
        pytest.fail(f"crowdiff core exited with {c.proc.returncode} on SIGTERM")
    shutil.rmtree(c.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def strict_core():
    """A second core with a small body limit and rate limits on loopback, for the rules that need them."""
    c = Core(_free_port(), _free_port(), [
        "--gateway.rate_limit_loopback=true", "--gateway.requests_per_s_per_ip=2",
        "--gateway.requests_per_s_per_key=2", "--gateway.burst=5", "--gateway.max_body_bytes=4096",
    ])
    yield c
    c.stop()
    shutil.rmtree(c.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def requester(core) -> dict:
    """A registered requester (kudos from the test-user grant)."""
    return core.test_user()


@pytest.fixture(scope="session")
def worker_owner(core) -> dict:
    return core.test_user()


@pytest.fixture(scope="session")
def other_user(core) -> dict:
    return core.test_user()


@pytest.fixture(autouse=True)
def _core_log_on_failure(request, core):
    yield
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print("---- crowdiff core log (tail) ----")
        print(core.log_text()[-4000:])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
