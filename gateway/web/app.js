// The page shell (views, the API key) and the Create view's form: options, the kudos quote, submitting.
import { ANONYMOUS_KEY, api, apiKey, debounce, fmt, h, saveApiKey } from "./lib.js";
import { JobCard } from "./job.js";
import { showNetwork, hideNetwork } from "./network.js";

const $ = (id) => document.getElementById(id);
const form = $("gen-form");
let models = []; // from /status/models

// -- views --------------------------------------------------------------------------------------------

function route() {
  const view = location.hash === "#network" ? "network" : "create";
  for (const panel of document.querySelectorAll("[data-panel]")) panel.hidden = panel.dataset.panel !== view;
  for (const link of document.querySelectorAll("nav [data-view]")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (view === "network") showNetwork();
  else hideNetwork();
}

// -- the API key --------------------------------------------------------------------------------------

async function showAccount() {
  const label = $("account-label");
  const status = $("key-status");
  const account = $("account");
  if (apiKey() === ANONYMOUS_KEY) {
    label.textContent = "Anonymous";
    account.dataset.state = "anonymous";
    return;
  }
  try {
    const user = await api("/find_user");
    label.textContent = `${user.username} · ${fmt.kudos(user.kudos)} kudos`;
    account.dataset.state = "ok";
    status.textContent = `Signed in as ${user.username}.`;
  } catch (e) {
    label.textContent = "Key not accepted";
    account.dataset.state = "error";
    status.textContent = e.status === 401 ? "This key is not known to this network." : e.message;
  }
}

$("key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  saveApiKey($("api-key").value.trim());
  $("api-key").value = "";
  $("key-status").textContent = "Saved.";
  showAccount().then(updateQuote);
});
$("key-clear").addEventListener("click", () => {
  saveApiKey("");
  $("api-key").value = "";
  $("key-status").textContent = "You create as the anonymous user now.";
  showAccount().then(updateQuote);
});

// -- models -------------------------------------------------------------------------------------------

async function loadModels() {
  try {
    models = await api("/status/models");
  } catch {
    return; // the default option stays; the quote line reports a network problem
  }
  if (!models.length) return;
  const select = $("model");
  const chosen = select.value;
  models.sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
  select.replaceChildren(
    ...models.map((m) =>
      h("option", { value: m.name }, `${m.name} · ${m.count} ${m.count === 1 ? "worker" : "workers"}`),
    ),
  );
  if (models.some((m) => m.name === chosen)) select.value = chosen;
}

// The samplers this server runs, with their display names: from its Swagger document, so the page never
// lists one the server would refuse.
async function loadSamplers() {
  let field;
  try {
    const res = await fetch("/api/swagger.json");
    field = (await res.json()).definitions.ModelGenerationInputStable.properties.sampler_name;
  } catch {
    return; // no list: requests name no sampler and get the server's default
  }
  const names = field["x-display-names"] || {};
  $("sampler").replaceChildren(...field.enum.map((s) => h("option", { value: s }, names[s] || s)));
  $("sampler").value = field.default;
}

// -- the request --------------------------------------------------------------------------------------

function size() {
  const v = $("size").value;
  if (v === "custom") return [Number($("width").value), Number($("height").value)];
  return v.split("x").map(Number);
}

/** The AI Horde request the form describes. */
function request() {
  const prompt = $("prompt").value.trim();
  const negative = $("negative").value.trim();
  const [width, height] = size();
  const params = {
    sampler_name: $("sampler").value || undefined, // none listed yet: the server's default
    cfg_scale: Number($("cfg").value),
    steps: Number($("steps").value),
    width,
    height,
    n: Number($("n").value),
    karras: $("karras").checked,
  };
  const seed = $("seed").value.trim();
  if (seed) params.seed = seed;
  return {
    prompt: negative ? `${prompt}###${negative}` : prompt,
    params,
    models: [$("model").value],
    r2: true,
  };
}

// Field names in the server's errors to the inputs that hold them.
const fieldOf = {
  prompt: "prompt",
  "params.steps": "steps",
  "params.width": "width",
  "params.height": "height",
  "params.n": "n",
  "params.cfg_scale": "cfg",
  "params.seed": "seed",
  "params.sampler_name": "sampler",
  models: "model",
};

function markInvalid(errors = {}) {
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  for (const key of Object.keys(errors)) {
    const id = fieldOf[key];
    if (!id) continue;
    $(id).setAttribute("aria-invalid", "true");
    if (id === "width" || id === "height") {
      $("size").value = "custom";
      showCustomSize();
    }
  }
}

let quoteRun = 0;
async function updateQuote() {
  const quote = $("quote");
  const run = ++quoteRun;
  const body = request();
  if (!body.prompt) body.prompt = "a quote"; // the price does not depend on the words
  const model = models.find((m) => m.name === $("model").value);
  try {
    const [price, load] = await Promise.all([
      api("/generate/async", { method: "POST", body: { ...body, dry_run: true } }),
      api("/status/performance").catch(() => null),
    ]);
    if (run !== quoteRun) return;
    markInvalid();
    const parts = [h("strong", {}, `≈ ${fmt.kudos(price.kudos)} kudos`)];
    if (load) parts.push(` · ${fmt.whole(load.worker_count)} online · ${fmt.whole(load.queued_requests)} queued`);
    if (model && model.count === 0) parts.push(h("span", { class: "warn" }, ` · no worker offers ${model.name} now`));
    quote.replaceChildren(...parts);
    quote.classList.remove("error");
  } catch (e) {
    if (run !== quoteRun) return;
    markInvalid(e.errors);
    quote.textContent = e.message || "The network cannot be reached.";
    quote.classList.add("error");
  }
}
const updateQuoteSoon = debounce(updateQuote, 350);

function showCustomSize() {
  const custom = $("size").value === "custom";
  for (const el of form.querySelectorAll("[data-custom]")) el.hidden = !custom;
}

form.addEventListener("input", (e) => {
  if (e.target.id === "size") showCustomSize();
  if (e.target.id !== "prompt" && e.target.id !== "negative") updateQuoteSoon();
});
form.addEventListener("change", (e) => {
  if (e.target.id === "size") showCustomSize();
});

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const error = $("form-error");
  error.hidden = true;
  if (!$("prompt").value.trim()) {
    $("prompt").setAttribute("aria-invalid", "true");
    error.textContent = "Write a prompt first.";
    error.hidden = false;
    $("prompt").focus();
    return;
  }
  const button = $("generate");
  button.disabled = true;
  button.textContent = "Sending…";
  const body = request();
  try {
    const reply = await api("/generate/async", { method: "POST", body });
    markInvalid();
    $("jobs-empty").hidden = true;
    const card = new JobCard(reply, body);
    $("jobs").prepend(card.el);
    card.watch();
    // On one column the request lands below the form: bring it into view.
    if (card.el.getBoundingClientRect().top > innerHeight) {
      const smooth = !matchMedia("(prefers-reduced-motion: reduce)").matches;
      card.el.scrollIntoView({ behavior: smooth ? "smooth" : "auto", block: "start" });
    }
    showAccount();
    updateQuote(); // the queue just grew
  } catch (err) {
    markInvalid(err.errors);
    error.textContent = err.message || "The network cannot be reached.";
    error.hidden = false;
  } finally {
    button.disabled = false;
    button.textContent = "Generate";
  }
});

// Ctrl/Cmd+Enter in the prompt submits.
$("prompt").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) form.requestSubmit();
});

// A finished request changed the balance (and the queue).
document.addEventListener("crowdiff:job-ended", () => {
  showAccount();
  updateQuoteSoon();
});

window.addEventListener("hashchange", route);
route();
showCustomSize();
showAccount();
loadSamplers();
loadModels().then(updateQuote);
