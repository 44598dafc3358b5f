// The developer panel's page script: plain browser JavaScript, no build step (see ../panel.router.ts).
// Everything it shows of the API comes from procedures.json; it calls the real tRPC endpoint with fetch.
// Results are written with textContent only: nothing the server returns is ever parsed as HTML.

const base = document.body.dataset.base ?? "";
const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "kuark-panel-token";

/** Edited inputs by procedure path, so switching procedures keeps what was typed. */
const drafts = new Map();
let description = { trpcPath: "/trpc", devTokens: false, procedures: [] };
let current;

function pretty(value) {
  return JSON.stringify(value, null, 2);
}

/**
 * Whether an object's property stays out of a starting input: an optional one its schema marks so (a create's
 * `idempotencyKey`, which has no placeholder a call would accept; server/contract/common.ts).
 */
const leftOut = (object, key, property) => property?.["x-not-in-examples"] === true && !(object.required ?? []).includes(key);

/** A starting input from a JSON Schema: defaults first, else a placeholder of the right type. */
function example(schema, depth = 0) {
  if (!schema || typeof schema !== "object" || depth > 8) return null;
  if ("default" in schema) return schema.default;
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  const variants = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(variants)) return example(variants.find((v) => v.type !== "null") ?? variants[0], depth + 1);
  if (Array.isArray(schema.allOf)) return Object.assign({}, ...schema.allOf.map((s) => example(s, depth + 1)));
  switch (Array.isArray(schema.type) ? schema.type[0] : schema.type) {
    case "object":
      return Object.fromEntries(
        Object.entries(schema.properties ?? {})
          .filter(([k, s]) => !leftOut(schema, k, s))
          .map(([k, s]) => [k, example(s, depth + 1)]),
      );
    case "array":
      return [];
    case "string":
      if (schema.format === "uuid") return "00000000-0000-4000-8000-000000000000";
      if (schema.format === "date-time") return new Date().toISOString();
      if (schema.format === "email") return "dev@example.com";
      return "";
    case "integer":
    case "number":
      return schema.minimum ?? 0;
    case "boolean":
      return false;
    default:
      return null;
  }
}

function exampleText(procedure) {
  // A subscription's every input is optional (lastEventId, filters): start with all of it.
  if (procedure.type === "subscription") return "{}";
  return procedure.input ? pretty(example(procedure.input)) : "";
}

function renderList() {
  const filter = $("filter").value.trim().toLowerCase();
  const list = $("procedures");
  list.replaceChildren();
  let group;
  for (const procedure of description.procedures) {
    if (filter && !procedure.path.toLowerCase().includes(filter)) continue;
    const dot = procedure.path.lastIndexOf(".");
    const namespace = dot === -1 ? "" : procedure.path.slice(0, dot);
    if (namespace !== group) {
      group = namespace;
      const heading = document.createElement("li");
      heading.className = "group";
      heading.textContent = namespace || "(root)";
      list.append(heading);
    }
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.path = procedure.path;
    button.setAttribute("aria-current", String(procedure === current));
    const badge = document.createElement("span");
    badge.className = `badge ${procedure.type}`;
    badge.textContent = procedure.type[0];
    badge.title = procedure.type;
    const name = document.createElement("code");
    name.textContent = procedure.path.slice(dot + 1);
    const role = document.createElement("span");
    role.className = "role-tag";
    role.textContent = roleTag(procedure);
    role.title = roleText(procedure);
    button.append(badge, name, role);
    button.addEventListener("click", () => select(procedure));
    item.append(button);
    list.append(item);
  }
}

/** The least role of a procedure, short: "viewer+", "member+ own"; "any" for one every valid token may call. */
function roleTag(procedure) {
  if (!procedure.access) return "any";
  return `${procedure.access.role}+${procedure.access.own ? " own" : ""}`;
}

function roleText(procedure) {
  if (!procedure.access) return "Any role: every caller with a valid token";
  return `Requires the role ${procedure.access.description}`;
}

function select(procedure) {
  if (current) drafts.set(current.path, $("input").value);
  current = procedure;
  $("empty").hidden = true;
  $("procedure").hidden = false;
  $("proc-type").textContent = procedure.type;
  $("proc-type").className = `badge ${procedure.type}`;
  $("proc-path").textContent = procedure.path;
  $("proc-role").textContent = roleText(procedure);
  $("proc-note").hidden = !procedure.note;
  $("proc-note").textContent = procedure.note ?? "";
  $("input").hidden = !procedure.input;
  $("no-input").hidden = Boolean(procedure.input);
  $("example").hidden = !procedure.input;
  $("input").value = drafts.get(procedure.path) ?? exampleText(procedure);
  $("input-schema").textContent = procedure.input ? pretty(procedure.input) : "(none)";
  $("output-schema").textContent = procedure.output ? pretty(procedure.output) : "(not declared)";
  stopSubscription();
  $("run").disabled = false;
  $("run").textContent = procedure.type === "subscription" ? "Start" : "Run";
  $("run").title = procedure.type === "subscription" ? "Streams over SSE (EventSource) until you stop it; newest event first." : "";
  showResult({ state: "idle" });
  history.replaceState(null, "", `#${procedure.path}`);
  renderList();
}

function showResult({ state, status = "", ok, error, data }) {
  $("result-panel").dataset.state = state;
  $("status").textContent = status;
  $("status").className = ok === undefined ? "" : ok ? "ok" : "failed";
  $("error").hidden = !error;
  $("field-errors").replaceChildren();
  if (error) {
    $("error-code").textContent = error.data?.code ?? error.code ?? "ERROR";
    $("error-message").textContent = error.message ?? "";
    for (const [field, messages] of Object.entries(error.data?.fieldErrors ?? {})) {
      for (const message of messages) {
        const item = document.createElement("li");
        const name = document.createElement("code");
        name.textContent = field || "(input)";
        item.append(name, `: ${message}`);
        $("field-errors").append(item);
      }
    }
  }
  $("result").textContent = data === undefined ? "" : typeof data === "string" ? data : pretty(data);
}

/** The open subscription (an EventSource), if any: one at a time. */
let stream;

function stopSubscription(status) {
  if (!stream) return;
  stream.source.close();
  stream = undefined;
  $("run").textContent = current?.type === "subscription" ? "Start" : "Run";
  if (status) $("status").textContent = status;
}

/**
 * A subscription over tRPC's SSE protocol, with the browser's own EventSource: it cannot send headers, so the
 * token goes in `connectionParams` (the service never logs it). Events arrive as `message`s whose
 * `lastEventId` is the tracked id; tRPC's own events say connected, error and end.
 */
function startSubscription(procedure, input, token) {
  const params = new URLSearchParams();
  if (input !== undefined) params.set("input", JSON.stringify(input));
  if (token) params.set("connectionParams", JSON.stringify({ token }));
  const source = new EventSource(`${description.trpcPath}/${procedure.path}?${params}`);
  const events = [];
  stream = { source };
  $("run").textContent = "Stop";
  showResult({ state: "running", status: "connecting…" });
  source.addEventListener("connected", () => showResult({ state: "running", status: "subscribed · waiting for events", data: events }));
  source.addEventListener("message", (event) => {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      data = event.data;
    }
    events.unshift({ id: event.lastEventId || undefined, data });
    showResult({ state: "running", status: `subscribed · ${events.length} event${events.length === 1 ? "" : "s"}`, ok: true, data: events });
  });
  source.addEventListener("serialized-error", (event) => {
    let error;
    try {
      error = JSON.parse(event.data);
    } catch {
      error = { code: "ERROR", message: event.data };
    }
    stopSubscription();
    showResult({ state: "done", status: "ended with an error", ok: false, error, data: events });
  });
  source.addEventListener("return", () => {
    stopSubscription();
    showResult({ state: "done", status: "ended by the server", ok: true, data: events });
  });
}

async function run() {
  const procedure = current;
  if (procedure.type === "subscription" && stream) {
    stopSubscription("stopped");
    return;
  }
  const text = $("input").value.trim();
  let input;
  if (procedure.input && text !== "") {
    try {
      input = JSON.parse(text);
    } catch (e) {
      showResult({ state: "done", status: "not sent", ok: false, error: { code: "INVALID_JSON", message: e.message } });
      return;
    }
  }
  const headers = {};
  const token = $("token").value.trim();
  if (procedure.type === "subscription") {
    startSubscription(procedure, input, token);
    return;
  }
  if (token) headers.authorization = `Bearer ${token}`;
  let url = `${description.trpcPath}/${procedure.path}`;
  const init = { headers };
  if (procedure.type === "query") {
    if (input !== undefined) url += `?input=${encodeURIComponent(JSON.stringify(input))}`;
  } else {
    init.method = "POST";
    headers["content-type"] = "application/json";
    if (input !== undefined) init.body = JSON.stringify(input);
  }
  showResult({ state: "running", status: "running…" });
  $("run").disabled = true;
  const started = performance.now();
  try {
    const response = await fetch(url, init);
    const ms = Math.round(performance.now() - started);
    const raw = await response.text();
    let body;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const status = `${response.status} ${response.statusText} · ${ms} ms`;
    if (body?.error) showResult({ state: "done", status, ok: false, error: body.error, data: body });
    else if (body && "result" in body) showResult({ state: "done", status, ok: response.ok, data: body.result.data });
    else showResult({ state: "done", status, ok: false, error: { code: "UNEXPECTED", message: "not a tRPC answer" }, data: raw });
  } catch (e) {
    showResult({ state: "done", status: "network error", ok: false, error: { code: "NETWORK", message: e.message } });
  } finally {
    $("run").disabled = false;
  }
}

async function getDevToken() {
  $("token-info").textContent = "…";
  const response = await fetch(`${base}/dev-token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sub: $("dev-sub").value, organizationId: $("dev-org").value, ...($("dev-role").value && { role: $("dev-role").value }) }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const fields = Object.entries(body.fieldErrors ?? {}).map(([k, v]) => `${k} ${v.join(", ")}`);
    $("token-info").textContent = `refused: ${[body.error, ...fields].filter(Boolean).join("; ")}`;
    return;
  }
  $("token").value = body.token;
  sessionStorage.setItem(TOKEN_KEY, body.token);
  $("token-info").textContent = `dev token for ${body.sub} @ ${body.organizationId} as ${body.role ?? "(no role: the default)"}, until ${new Date(body.expiresAt).toLocaleTimeString()}`;
}

async function load() {
  $("token").value = sessionStorage.getItem(TOKEN_KEY) ?? "";
  $("token").addEventListener("input", () => {
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token-info").textContent = "";
  });
  $("token-form").addEventListener("submit", (event) => event.preventDefault());
  $("filter").addEventListener("input", renderList);
  $("run").addEventListener("click", run);
  $("input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !$("run").disabled) void run();
  });
  $("example").addEventListener("click", () => {
    $("input").value = exampleText(current);
  });
  $("dev-token").addEventListener("click", () => void getDevToken());

  const response = await fetch(`${base}/procedures.json`);
  if (!response.ok) {
    $("load-state").textContent = `Could not load procedures: ${response.status}`;
    return;
  }
  description = await response.json();
  $("dev-token-box").hidden = !description.devTokens;
  $("load-state").textContent = `${description.procedures.length} procedures. Pick one on the left. (Ctrl+Enter runs.)`;
  renderList();
  const wanted = description.procedures.find((p) => p.path === decodeURIComponent(location.hash.slice(1)));
  if (wanted) select(wanted);
}

void load();
