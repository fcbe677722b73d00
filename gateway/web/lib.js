// Shared by the views: calling the API with the saved key, building DOM safely, formatting numbers.

const KEY_STORAGE = "crowdiff.apiKey";
export const ANONYMOUS_KEY = "0000000000";

/** The saved API key, or the anonymous one. */
export function apiKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) || ANONYMOUS_KEY;
  } catch {
    return ANONYMOUS_KEY; // storage can be blocked (private modes); the page still works anonymously
  }
}

export function saveApiKey(key) {
  try {
    if (key && key !== ANONYMOUS_KEY) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    /* not stored: the key lasts until the page is reloaded */
  }
}

/** An API error with the server's message, return code and per-field errors. */
export class ApiError extends Error {
  constructor(status, body) {
    super(describeError(status, body));
    this.status = status;
    this.rc = body?.rc ?? "";
    this.errors = body?.errors ?? {};
  }
}

function describeError(status, body) {
  if (status === 429) return "Too many requests right now; wait a few seconds and try again.";
  let text = body?.message || `The server answered ${status}.`;
  const fields = Object.entries(body?.errors ?? {});
  if (fields.length) text += ": " + fields.map(([k, v]) => `${k.replace(/^params\./, "")} ${v}`).join("; ");
  return text;
}

/** Calls /api/v2 and returns the parsed JSON; throws ApiError (HTTP errors) or TypeError (network). */
export async function api(path, { method = "GET", body, signal } = {}) {
  const headers = { apikey: apiKey(), "Client-Agent": "crowdiff-web:1:crowdiff" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch("/api/v2" + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text.slice(0, 200) };
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/**
 * Image links carry the gateway's public URL. When that names loopback but the page was opened through
 * another address (a phone on the LAN), the same path on this page's origin is the one that reaches it.
 */
export function reachableUrl(url) {
  try {
    const u = new URL(url, location.href);
    const loopback = ["127.0.0.1", "localhost", "[::1]"];
    if (loopback.includes(u.hostname) && !loopback.includes(location.hostname))
      return location.origin + u.pathname + u.search;
    return u.href;
  } catch {
    return url;
  }
}

/** Makes an element: h("p", { class: "x", onclick: fn }, "text", child). Text is never parsed as HTML. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  el.append(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
  return el;
}

const numbers = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

export const fmt = {
  number: (n) => numbers.format(Number(n) || 0),
  whole: (n) => whole.format(Number(n) || 0),
  kudos: (n) => whole.format(Math.round(Number(n) || 0)),
  /** Seconds as "12 s", "4 min", "2 h 5 min". */
  duration(s) {
    s = Math.max(0, Math.round(Number(s) || 0));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.round(s / 60)} min`;
    const hours = Math.floor(s / 3600);
    if (hours >= 48) return `${Math.floor(hours / 24)} d`;
    return `${hours} h ${Math.round((s % 3600) / 60)} min`;
  },
};

/** Runs fn at most once per `ms`, after the last call. */
export function debounce(fn, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
