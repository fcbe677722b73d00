// One submitted request on the Create view: its queue position and progress, live over Server-Sent Events
// (polling /generate/check when the stream cannot be used), then its images with a download button each.
import { api, fmt, h, reachableUrl } from "./lib.js";

const POLL_MS = 2000;

export class JobCard {
  /** reply: the 202 of /generate/async ({id, kudos, message}); body: the request that was sent. */
  constructor(reply, body) {
    this.id = reply.id;
    this.params = body.params;
    this.prompt = body.prompt.split("###")[0];
    this.started = Date.now();
    this.check = null;
    this.steps = []; // per image: {step, total}
    this.shown = new Set(); // generation ids already on the page
    this.indexOf = new Map(); // generation id -> image index, from `image` events
    this.ending = false; // the request is over; its last images are being fetched
    this.ended = false;

    const { n, width, height } = this.params;
    this.badge = h("span", { class: "badge", "data-state": "queued" }, "Queued");
    this.status = h("p", { class: "status", role: "status" }, "Waiting for a worker…");
    this.bar = h("progress", { max: 1, value: 0, "aria-label": "Progress of this request" });
    this.cancelButton = h("button", { type: "button", class: "ghost", onclick: () => this.cancel() }, "Cancel");
    this.tiles = Array.from({ length: n }, (_, i) =>
      h(
        "div",
        { class: "tile pending", style: `aspect-ratio: ${width} / ${height}` },
        h("span", { class: "tile-label" }, n > 1 ? `Image ${i + 1} · waiting` : "Waiting"),
      ),
    );
    this.el = h(
      "article",
      { class: "card job", "aria-label": `Request: ${this.prompt.slice(0, 80)}`, "data-job": this.id },
      h("header", { class: "job-head" }, h("p", { class: "prompt" }, this.prompt), this.badge),
      h(
        "p",
        { class: "meta" },
        `${n} × ${width}×${height} · ${this.params.steps} steps · ${this.params.sampler_name}` +
          ` · ≈ ${fmt.kudos(reply.kudos)} kudos`,
      ),
      reply.message ? h("p", { class: "warn" }, reply.message) : null,
      this.status,
      this.bar,
      h("div", { class: "images" }, this.tiles),
      h("div", { class: "job-actions" }, this.cancelButton),
    );
  }

  /** Follows the request until it ends: Server-Sent Events, or polling when they are unavailable. */
  watch() {
    if (!("EventSource" in window)) return this.poll();
    const es = new EventSource(`/api/v2/generate/events/${encodeURIComponent(this.id)}`);
    this.source = es;
    const on = (name, fn) =>
      es.addEventListener(name, (e) => {
        try {
          fn(JSON.parse(e.data));
        } catch (err) {
          console.warn("crowdiff: bad event", name, err);
        }
      });
    on("state", (d) => this.update(d));
    on("progress", (d) => {
      this.steps[d.image] = { step: d.step, total: d.total_steps };
      this.update(d);
    });
    on("image", (d) => {
      this.indexOf.set(d.id, d.image);
      this.steps[d.image] = { step: 1, total: 1 };
      this.update(d);
    });
    on("generation", (g) => this.show(g));
    es.addEventListener("error", (e) => {
      es.close();
      if (this.ended || this.ending) return;
      if (e.data) {
        // The server's own error event: the request cannot be followed (unknown or expired).
        let message = "This request cannot be followed.";
        try {
          message = JSON.parse(e.data).message || message;
        } catch {
          /* keep the default */
        }
        this.finish(message, "failed");
        return;
      }
      this.poll(); // the stream broke (a proxy, a lost connection): ask every few seconds instead
    });
  }

  async poll() {
    while (!this.ending) {
      try {
        const check = await api(`/generate/check/${encodeURIComponent(this.id)}`);
        this.update(check);
        if (check.finished > this.shown.size && !check.done) await this.reconcile();
      } catch (e) {
        if (e.status === 404) return this.finish("This request is no longer known (it may have expired).", "failed");
        this.status.textContent = `Reconnecting… (${e.message})`;
      }
      if (!this.ending) await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Applies an AI Horde status check (from an event or a poll). */
  update(check) {
    if (this.ended) return;
    this.check = check;
    const n = this.params.n;
    const running = Math.min(n, check.processing || 0);
    let done = 0;
    for (let i = 0; i < n; ++i) {
      const s = this.steps[i];
      if (s && s.total) done += Math.min(1, s.step / s.total);
    }
    done = Math.max(done, check.finished || 0);
    this.bar.value = done / n;
    this.tiles.forEach((tile, i) => {
      if (!tile.classList.contains("pending")) return;
      const s = this.steps[i];
      const label = tile.querySelector(".tile-label");
      const prefix = n > 1 ? `Image ${i + 1} · ` : "";
      if (s && s.step >= s.total && s.total) label.textContent = prefix + "finishing…";
      else if (s) label.textContent = prefix + `step ${s.step} of ${s.total}`;
      tile.classList.toggle("running", !!s);
    });
    if (check.done) {
      if (this.ending) return;
      this.ending = true;
      this.source?.close(); // before the server closes it, so the browser does not reconnect
      this.reconcile().then(() => this.finish());
      return;
    }
    if (running > 0 || check.finished > 0) {
      this.setBadge("running", "Generating");
      const active = this.steps.findIndex((s, i) => s && s.step < s.total && !this.tiles[i].matches(".shown"));
      let text = `${fmt.whole(check.finished)} of ${n} done`;
      if (active >= 0) {
        const s = this.steps[active];
        text = `Image ${active + 1} of ${n}: step ${s.step} of ${s.total}`;
      }
      if (check.wait_time > 0) text += ` · about ${fmt.duration(check.wait_time)} left`;
      this.status.textContent = text;
    } else {
      this.setBadge("queued", "Queued");
      let text = "Waiting for a worker";
      if (check.queue_position > 0) text = `Queue position ${fmt.whole(check.queue_position)}`;
      if (check.wait_time > 0) text += ` · about ${fmt.duration(check.wait_time)}`;
      if (check.is_possible === false) text += " · no online worker can run this yet";
      this.status.textContent = text;
    }
  }

  /** Shows every delivered image the page has not shown yet (from the full status). */
  async reconcile() {
    try {
      const full = await api(`/generate/status/${encodeURIComponent(this.id)}`);
      for (const g of full.generations || []) this.show(g);
      this.check = full;
    } catch {
      /* the events already showed what they could; the status line tells the rest */
    }
  }

  /** Puts one AI Horde generation ({img, seed, id, worker_name, model}) into its tile. */
  show(g) {
    if (this.shown.has(g.id)) return;
    this.shown.add(g.id);
    let index = this.indexOf.get(g.id);
    if (index === undefined || !this.tiles[index]?.classList.contains("pending"))
      index = this.tiles.findIndex((t) => t.classList.contains("pending"));
    if (index < 0) return;
    const n = this.params.n;
    const url = reachableUrl(g.img);
    const alt = `${n > 1 ? `Image ${index + 1} of ${n}: ` : ""}${this.prompt.slice(0, 200)}`;
    const tile = this.tiles[index];
    tile.className = "tile shown";
    tile.replaceChildren(
      h(
        "a",
        { href: url, target: "_blank", rel: "noopener", class: "open" },
        h("img", { src: url, alt, decoding: "async" }),
      ),
      h(
        "div",
        { class: "caption" },
        h("span", {}, `seed ${g.seed}`, g.worker_name ? ` · ${g.worker_name}` : ""),
        h(
          "button",
          { type: "button", class: "ghost small", onclick: (e) => this.download(url, index, g.seed, e.currentTarget) },
          "Download",
        ),
      ),
    );
  }

  async download(url, index, seed, button) {
    button.disabled = true;
    try {
      const res = await fetch(url);
      if (!res.ok) throw new Error(res.status === 403 ? "the link has expired" : `the server answered ${res.status}`);
      const blob = await res.blob();
      const ext = blob.type === "image/png" ? "png" : "webp";
      const name = `crowdiff-${this.id.slice(0, 8)}-${index + 1}-${seed}.${ext}`;
      const link = h("a", { href: URL.createObjectURL(blob), download: name });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (e) {
      this.status.textContent = `Download failed: ${e.message}`;
    } finally {
      button.disabled = false;
    }
  }

  async cancel() {
    this.cancelButton.disabled = true;
    try {
      const st = await api(`/generate/status/${encodeURIComponent(this.id)}`, { method: "DELETE" });
      for (const g of st.generations || []) this.show(g);
      this.update(st);
    } catch (e) {
      this.status.textContent = `Could not cancel: ${e.message}`;
      this.cancelButton.disabled = false;
    }
  }

  /** Ends watching: a final status line from the last check, or `message` when given. */
  finish(message, state) {
    if (this.ended) return;
    this.ended = true;
    this.source?.close();
    this.cancelButton.remove();
    const c = this.check || {};
    const took = fmt.duration((Date.now() - this.started) / 1000);
    const n = this.params.n;
    const delivered = this.shown.size;
    for (const tile of this.tiles)
      if (tile.classList.contains("pending")) {
        tile.classList.remove("running");
        tile.classList.add("missing");
        tile.querySelector(".tile-label").textContent = "Not made";
      }
    if (message || state === "failed" || c.faulted) {
      this.setBadge("failed", "Failed");
      this.status.textContent =
        message || `Failed after ${took}: ${delivered} of ${n} images were made; failed images cost nothing.`;
    } else if (delivered < n) {
      this.setBadge("cancelled", "Cancelled");
      this.status.textContent = `Cancelled: ${delivered} of ${n} images were made.`;
    } else {
      this.setBadge("done", "Done");
      this.bar.value = 1;
      this.status.textContent = `Done in ${took} · ${fmt.kudos(c.kudos)} kudos`;
    }
    document.dispatchEvent(new CustomEvent("crowdiff:job-ended", { detail: { id: this.id } }));
  }

  setBadge(state, text) {
    this.badge.dataset.state = state;
    this.badge.textContent = text;
  }
}
