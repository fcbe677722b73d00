// The Network view: the network's load, models with supply and demand, the online workers and the kudos
// leaderboard, refreshed every few seconds while the view is open.
import { api, fmt, h } from "./lib.js";

const REFRESH_MS = 10_000;
const PAGE_SIZE = 25; // GET /users gives 25 a page
const $ = (id) => document.getElementById(id);
let timer = 0;
let page = 1;

export function showNetwork() {
  if (timer) return;
  refresh();
  timer = setInterval(() => {
    if (document.visibilityState === "visible") refresh();
  }, REFRESH_MS);
}

export function hideNetwork() {
  clearInterval(timer);
  timer = 0;
}

async function refresh() {
  const results = await Promise.allSettled([
    api("/status/performance").then(showStats),
    api("/status/models").then(showModels),
    api("/workers").then(showWorkers),
    showLeaders(),
  ]);
  const failed = results.find((r) => r.status === "rejected");
  $("network-updated").textContent = failed
    ? `Some figures could not be loaded: ${failed.reason.message}`
    : `Updated ${new Date().toLocaleTimeString()}`;
}

function showStats(p) {
  const stat = (label, value, unit = "") =>
    h(
      "div",
      { class: "stat card" },
      h("span", { class: "stat-value" }, value, unit && h("small", {}, unit)),
      h("span", { class: "stat-label" }, label),
    );
  $("stats").replaceChildren(
    stat("Workers online", fmt.whole(p.worker_count)),
    stat("Parallel slots", fmt.whole(p.thread_count)),
    stat("Images queued or running", fmt.whole(p.queued_requests)),
    stat("Work queued", fmt.number(p.queued_megapixelsteps), " MPS"),
    stat("Done in the past minute", fmt.number(p.past_minute_megapixelsteps), " MPS"),
  );
}

function showModels(models) {
  const body = $("models").tBodies[0];
  if (!models.length) {
    body.replaceChildren(emptyRow(7, "No models are offered yet."));
    return;
  }
  models.sort((a, b) => b.queued - a.queued || b.count - a.count || a.name.localeCompare(b.name));
  body.replaceChildren(
    ...models.map((m) => {
      const supply = m.performance / 1e6; // megapixel-steps per second the workers offering it manage
      const demand = m.queued / 1e6; // megapixel-steps waiting for it
      const clear = supply > 0 ? demand / supply : Infinity; // seconds to clear what waits
      const load = demand === 0 ? 0 : Math.min(1, clear / 120); // full: two minutes or more of waiting work
      let verdict = "idle";
      if (m.count === 0) verdict = demand > 0 || m.jobs > 0 ? "no workers" : "no workers yet";
      else if (demand > 0) verdict = clear < 30 ? "keeping up" : clear < 120 ? "busy" : "overloaded";
      return h(
        "tr",
        {},
        h("th", { scope: "row" }, m.name),
        h("td", {}, fmt.whole(m.count)),
        h("td", {}, `${fmt.number(supply)} MPS/s`),
        h("td", {}, `${fmt.number(demand)} MPS`),
        h("td", {}, fmt.whole(m.jobs)),
        h("td", {}, m.eta ? fmt.duration(m.eta) : "–"),
        h(
          "td",
          { class: "meter-col" },
          h(
            "span",
            { class: "meter", "data-verdict": verdict.replaceAll(" ", "-"), "aria-hidden": "true" },
            h("span", { style: `width: ${m.count === 0 && demand > 0 ? 100 : Math.round(load * 100)}%` }),
          ),
          h("span", { class: "meter-text" }, verdict),
        ),
      );
    }),
  );
}

function showWorkers(workers) {
  const list = $("workers");
  if (!workers.length) {
    const hint = "No worker is online. Start one with crowdiff worker, or point any AI Horde worker at this server.";
    list.replaceChildren(h("p", { class: "empty" }, hint));
    return;
  }
  workers.sort((a, b) => b.requests_fulfilled - a.requests_fulfilled || a.name.localeCompare(b.name));
  list.replaceChildren(
    ...workers.map((w) =>
      h(
        "article",
        { class: "worker card", "aria-label": `Worker ${w.name}` },
        h(
          "header",
          {},
          h("span", { class: "dot", "data-online": String(w.online && !w.maintenance_mode), "aria-hidden": "true" }),
          h("h3", {}, w.name),
          badge(w),
        ),
        h("p", { class: "chips" }, (w.models || []).map((m) => h("span", { class: "chip" }, m))),
        h(
          "dl",
          {},
          pair("Speed", w.performance.replace(" megapixelsteps per second", " MPS/s")),
          pair("Slots", fmt.whole(w.threads)),
          pair("Images made", fmt.whole(w.requests_fulfilled)),
          pair("Kudos earned", fmt.kudos(w.kudos_rewards)),
          pair("Uptime", fmt.duration(w.uptime)),
          w.device ? pair("Device", w.device) : null,
        ),
      ),
    ),
  );
}

function badge(w) {
  if (w.maintenance_mode) return h("span", { class: "badge", "data-state": "cancelled" }, "Maintenance");
  if (w.online) return h("span", { class: "badge", "data-state": "done" }, "Online");
  return h("span", { class: "badge", "data-state": "failed" }, "Offline");
}

function pair(term, value) {
  return h("div", {}, h("dt", {}, term), h("dd", {}, value));
}

async function showLeaders() {
  const users = await api(`/users?sort=kudos&page=${page}`);
  const body = $("leaders").tBodies[0];
  const first = (page - 1) * PAGE_SIZE;
  body.replaceChildren(
    ...(users.length
      ? users.map((u, i) =>
          h(
            "tr",
            {},
            h("td", {}, String(first + i + 1)),
            h("th", { scope: "row" }, u.username),
            h("td", {}, fmt.kudos(u.kudos)),
            h("td", {}, fmt.whole(u.worker_count)),
            h("td", {}, fmt.whole(u.records?.fulfillment?.image)),
          ),
        )
      : [emptyRow(5, page === 1 ? "No users yet." : "No more users.")]),
  );
  $("leaders-page").textContent = `Page ${page}`;
  $("leaders-prev").disabled = page === 1;
  $("leaders-next").disabled = users.length < PAGE_SIZE;
}

function emptyRow(columns, text) {
  return h("tr", {}, h("td", { colspan: String(columns), class: "empty" }, text));
}

$("leaders-prev").addEventListener("click", () => {
  page = Math.max(1, page - 1);
  showLeaders().catch(() => {});
});
$("leaders-next").addEventListener("click", () => {
  page += 1;
  showLeaders().catch(() => {});
});
