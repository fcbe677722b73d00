"""The web page in a real browser against a real core.

Starts `crowdiff core` with its HTTP gateway, runs a fake AI Horde HTTP worker in a thread (pop, then submit
a small PNG made here, by R2 upload or inline base64), and drives Debian's Chromium (headless, through
Playwright) through the page: save an API key, see the kudos quote, generate, watch the images arrive over
Server-Sent Events (and again with the event stream blocked, through polling), download one, look at the
network view, and check that a 360 px wide phone screen has no horizontal scrolling. Screenshots go to
$CROWDIFF_BROWSER_ARTIFACTS (default <build>/browser-test/), with the core's log.

Environment: CROWDIFF_BUILD_DIR (default build/), CHROMIUM (default /usr/bin/chromium),
CROWDIFF_BROWSER_ARTIFACTS.
"""

import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("CROWDIFF_BUILD_DIR", REPO / "build"))
if not BUILD.is_absolute():
    BUILD = REPO / BUILD
BINARY = BUILD / "apps" / "crowdiff" / "crowdiff"
FAKE_NODE = BUILD / "tests" / "cluster" / "fake_worker_node"  # a worker node that reports every step
ARTIFACTS = Path(os.environ.get("CROWDIFF_BROWSER_ARTIFACTS", BUILD / "browser-test"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
WORKER_NAME = "browser-test-worker"
TIMEOUT_MS = 30_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_png(width, height, seed):
    """An RGB PNG: a gradient tinted by the seed, so each image looks different."""
    r0, g0, b0 = (seed * 67) % 256, (seed * 151) % 256, (seed * 29) % 256
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            rows += bytes(((r0 + 4 * x) % 256, (g0 + 4 * y) % 256, b0))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(rows))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


class Http:
    """JSON over HTTP to the gateway."""

    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, key=None, raw=None, timeout=30):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path if path.startswith("/") else path, data=data, method=method)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if key:
            req.add_header("apikey", key)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as res:
                text = res.read()
                return res.status, json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, {"message": text[:200].decode(errors="replace")}


class FakeWorker(threading.Thread):
    """An AI Horde HTTP worker that "generates" a gradient PNG per job; uploads to R2 and inlines base64 in turn."""

    def __init__(self, http, key):
        super().__init__(daemon=True)
        self.http, self.key = http, key
        self.stop = threading.Event()
        self.popped = threading.Event()  # the first pop answered: the worker is known to the core
        self.done = 0
        self.errors = []

    def run(self):
        pop = {
            "name": WORKER_NAME,
            "models": ["stable_diffusion"],
            "max_pixels": 1024 * 1024,
            "threads": 1,
            "bridge_agent": "crowdiff-browser-test:1:https://example.invalid",
        }
        while not self.stop.is_set():
            try:
                status, job = self.http.call("POST", "/api/v2/generate/pop", pop, self.key)
                self.popped.set()
                if status != 200:
                    self.errors.append(f"pop: {status} {job}")
                    time.sleep(0.5)
                    continue
                if not job.get("id"):
                    continue
                self.deliver(job)
            except OSError as e:  # the core went away (the end of the test)
                self.errors.append(f"worker: {e}")
                time.sleep(0.2)

    def deliver(self, job):
        seed = int(job["payload"]["seed"])
        # The job's size: results are decoded and checked before they are paid.
        png = tiny_png(int(job["payload"]["width"]), int(job["payload"]["height"]), seed)
        time.sleep(0.6)  # long enough for the page to show the request running
        submit = {"id": job["id"], "seed": seed, "state": "ok"}
        if self.done % 2 == 0:
            status, reply = self.http.call("PUT", job["r2_upload"], raw=png)
            if status != 200:
                self.errors.append(f"upload: {status} {reply}")
                return
            submit["generation"] = "R2"
        else:
            submit["generation"] = base64.b64encode(png).decode()
        status, reply = self.http.call("POST", "/api/v2/generate/submit", submit, self.key)
        if status != 200:
            self.errors.append(f"submit: {status} {reply}")
            return
        self.done += 1


class WebPageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Class cleanups run even when this fails half-way, so nothing started here outlives the test.
        if not BINARY.exists():
            raise unittest.SkipTest(f"no crowdiff binary at {BINARY}; build first or set CROWDIFF_BUILD_DIR")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        cls.tmp = Path(tempfile.mkdtemp(prefix="crowdiff-browser-"))
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.start_core()
        cls.worker_user = cls.make_test_user()
        cls.page_user = cls.make_test_user()
        cls.worker = FakeWorker(cls.http, cls.worker_user["api_key"])
        cls.worker.start()
        cls.addClassCleanup(cls.worker.join, 5)
        cls.addClassCleanup(cls.worker.stop.set)
        if not cls.worker.popped.wait(30):
            raise AssertionError("the fake worker's first pop never returned")
        cls.pw = sync_playwright().start()
        cls.addClassCleanup(cls.pw.stop)
        args = ["--disable-dev-shm-usage"]  # containers often have a tiny /dev/shm
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        cls.browser = cls.pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        cls.addClassCleanup(cls.browser.close)

    @classmethod
    def start_core(cls):
        cls.http_port, cls.core_port = free_port(), free_port()
        log_path = cls.tmp / "core.log"
        log = open(log_path, "wb")
        # Top-level repeated fields have no --flag form: the model the page asks for comes from a config file.
        config = cls.tmp / "core.textproto"
        config.write_text('models: "stable_diffusion"\n')
        cls.core = subprocess.Popen(
            [str(BINARY), "core", "--config", str(config), "--store", str(cls.tmp / "store"),
             "--port", str(cls.core_port), "--http-port", str(cls.http_port),
             "--gateway.test_user_endpoint=true", "--log-level", "info"],
            stdout=log, stderr=subprocess.STDOUT)

        def stop():
            cls.core.terminate()
            try:
                cls.core.wait(20)
            except subprocess.TimeoutExpired:
                cls.core.kill()
                cls.core.wait()
            log.close()
            shutil.copy(log_path, ARTIFACTS / "core.log")

        cls.addClassCleanup(stop)
        cls.http = Http(f"http://127.0.0.1:{cls.http_port}")
        cls.base = cls.http.base
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if cls.core.poll() is not None:
                tail = log_path.read_text()[-3000:]
                raise AssertionError(f"crowdiff core exited with {cls.core.returncode}:\n{tail}")
            try:
                if cls.http.call("GET", "/api/v2/status/heartbeat", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError("the gateway never answered its heartbeat")

    @classmethod
    def make_test_user(cls):
        status, user = cls.http.call("POST", "/api/v2/dev/test-user", {})
        assert status == 200, (status, user)
        return user

    # -- helpers -------------------------------------------------------------------------------------------

    def new_page(self, expected_failures="", **context_args):
        """A fresh browser context on the page; the test fails if the page reports an error, other than a
        failed load of a URL containing `expected_failures` (when given)."""
        context = self.browser.new_context(**context_args)
        self.addCleanup(context.close)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        problems = []

        def on_console(message):
            url = message.location.get("url", "")
            if message.type == "error" and not (expected_failures and expected_failures in url):
                problems.append(f"console: {message.text} ({url})")

        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("console", on_console)
        self.addCleanup(lambda: self.assertEqual(problems, [], "the page reported errors"))
        page.goto(self.base + "/")
        return page

    def save_key(self, page):
        page.locator("#account summary").click()
        page.fill("#api-key", self.page_user["api_key"])
        page.locator("#key-form button[type=submit]").click()
        expect(page.locator("#account-label")).to_contain_text(self.page_user["username"])
        page.locator("#account summary").click()  # close it again

    def generate(self, page, prompt, n):
        page.fill("#prompt", prompt)
        page.fill("#n", str(n))
        page.fill("#steps", "8")
        expect(page.locator("#quote")).to_contain_text("kudos")
        page.locator("#generate").click()
        job = page.locator("article.job").first
        expect(job.locator(".prompt")).to_have_text(prompt)
        expect(job.locator(".badge")).to_have_text("Done", timeout=60_000)
        expect(job.locator(".tile.shown img")).to_have_count(n)
        page.wait_for_function(
            """n => [...document.querySelectorAll('article.job:first-of-type .tile.shown img')]
                     .filter(i => i.complete && i.naturalWidth >= 64).length === n""",
            arg=n)
        return job

    def screenshot(self, page, name):
        page.evaluate("() => window.scrollTo(0, 0)")  # a sticky header is drawn where the page was scrolled
        page.screenshot(path=str(ARTIFACTS / name), full_page=True)

    def assert_no_horizontal_scroll(self, page, what):
        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        self.assertLessEqual(overflow, 0, f"{what} scrolls sideways by {overflow}px at 360px wide")

    # -- the tests -----------------------------------------------------------------------------------------

    def test_generate_over_server_sent_events(self):
        page = self.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        events = []
        page.on("request", lambda r: "/api/v2/generate/events/" in r.url and events.append(r.url))
        expect(page.locator("#model option[value=stable_diffusion]")).to_contain_text("1 worker")
        # The samplers come from the server's sampler table (through Swagger), with A1111's names.
        expect(page.locator("#sampler option")).to_have_count(11)
        expect(page.locator("#sampler option[value=k_dpmpp_2m]")).to_have_text("DPM++ 2M")
        self.assertEqual(page.locator("#sampler").input_value(), "k_euler_a")
        page.select_option("#sampler", "k_dpmpp_2m")
        self.save_key(page)
        self.assertEqual(page.evaluate("() => localStorage.getItem('crowdiff.apiKey')"), self.page_user["api_key"])

        job = self.generate(page, "a lighthouse at dusk, oil painting", 2)
        self.assertTrue(events, "the page did not open the event stream")
        expect(job.locator(".status")).to_contain_text("Done")
        self.screenshot(page, "create.png")

        with page.expect_download() as download:
            job.locator(".tile.shown button", has_text="Download").first.click()
        self.assertTrue(download.value.suggested_filename.endswith(".png"), download.value.suggested_filename)
        self.assertTrue(Path(download.value.path()).read_bytes().startswith(b"\x89PNG"))

        page.get_by_role("link", name="Network").click()
        expect(page.locator("#workers .worker h3", has_text=WORKER_NAME)).to_be_visible()
        expect(page.locator("#models tbody th", has_text="stable_diffusion")).to_be_visible()
        expect(page.locator("#leaders tbody tr th", has_text=self.page_user["username"])).to_be_visible()
        expect(page.locator("#stats .stat")).to_have_count(5)
        self.screenshot(page, "network.png")

    def test_bad_option_is_reported_on_its_field(self):
        page = self.new_page("/api/v2/generate/async", viewport={"width": 1280, "height": 900})
        page.fill("#steps", "0")
        expect(page.locator("#quote")).to_contain_text("steps must be from 1 to 500")
        expect(page.locator("#steps")).to_have_attribute("aria-invalid", "true")
        page.fill("#steps", "20")
        expect(page.locator("#quote")).to_contain_text("kudos")
        expect(page.locator("#steps")).not_to_have_attribute("aria-invalid", "true")
        page.locator("#generate").click()  # with no prompt
        expect(page.locator("#form-error")).to_have_text("Write a prompt first.")
        expect(page.locator("#prompt")).to_be_focused()

    def test_polling_when_the_event_stream_fails(self):
        page = self.new_page("/api/v2/generate/events/", viewport={"width": 1024, "height": 800})
        page.route("**/api/v2/generate/events/**", lambda route: route.abort())
        polled = []
        page.on("request", lambda r: "/api/v2/generate/check/" in r.url and polled.append(r.url))
        self.generate(page, "a red fox in the snow, anonymous", 1)
        self.assertTrue(polled, "the page did not fall back to polling")

    def test_phone_screen(self):
        phone = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True,
                 "has_touch": True, "color_scheme": "dark"}
        page = self.new_page(**phone)
        expect(page.locator("#generate")).to_be_visible()
        self.assert_no_horizontal_scroll(page, "the create view")
        self.generate(page, "a very long prompt " + "with many_words_that_do_not_break " * 8, 1)
        self.assert_no_horizontal_scroll(page, "the create view with an image")
        self.screenshot(page, "phone-create.png")
        page.locator("#account summary").click()
        self.assert_no_horizontal_scroll(page, "the open API key form")
        page.locator("#account summary").click()
        page.get_by_role("link", name="Network").click()
        expect(page.locator("#workers .worker")).not_to_have_count(0)
        expect(page.locator("#leaders tbody tr")).not_to_have_count(0)
        self.assert_no_horizontal_scroll(page, "the network view")
        self.screenshot(page, "phone-network.png")
        dark = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        light = self.new_page(viewport={"width": 360, "height": 740}, color_scheme="light")
        self.assertNotEqual(dark, light.evaluate("() => getComputedStyle(document.body).backgroundColor"),
                            "the page ignores prefers-color-scheme")

    def test_progress_of_a_worker_node(self):
        if not FAKE_NODE.exists():
            self.skipTest(f"no {FAKE_NODE} (the cluster tests' worker node) in this build")
        node = subprocess.Popen(
            [str(FAKE_NODE), "--core", f"127.0.0.1:{self.core_port}", "--key", self.worker_user["api_key"],
             "--name", "progress-node", "--model", "progress_model", "--step-us", "300000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def stop_node():
            node.terminate()
            node.wait(10)

        self.addCleanup(stop_node)
        deadline = time.monotonic() + 30
        while not any(m["name"] == "progress_model" and m["count"] > 0
                      for m in self.http.call("GET", "/api/v2/status/models")[1]):
            self.assertLess(time.monotonic(), deadline, "the worker node never joined")
            time.sleep(0.2)
        # Its images are placeholders, not pictures: only the live steps and the end are checked.
        page = self.new_page(viewport={"width": 1024, "height": 800})
        expect(page.locator("#model option[value=progress_model]")).to_have_count(1)
        page.select_option("#model", "progress_model")
        page.fill("#prompt", "steps, one by one")
        page.fill("#steps", "8")
        page.locator("#generate").click()
        job = page.locator("article.job").first
        expect(job.locator(".badge")).to_have_text("Generating")
        expect(job.locator(".status")).to_contain_text(re.compile(r"step [1-7] of 8"))
        expect(job.locator(".tile.running .tile-label")).to_contain_text(re.compile(r"step [1-7] of 8"))
        self.screenshot(page, "progress.png")
        self.assertGreater(job.locator("progress").evaluate("p => p.value"), 0)
        expect(job.locator(".badge")).to_have_text("Done")
        expect(job.locator(".tile.shown img")).to_have_count(1)

    def test_worker_had_no_errors(self):
        # Runs last (alphabetical order): by then every image went through the fake worker.
        self.assertEqual([e for e in self.worker.errors if not e.startswith("worker:")], [])


if __name__ == "__main__":
    unittest.main(verbosity=2, argv=[sys.argv[0]] + sys.argv[1:])
