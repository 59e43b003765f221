// trio-tracker operator dashboard: polls the guarded admin routes every 2 s and renders them.
// The admin token lives in this tab's sessionStorage only and travels in the Authorization header of the page's
// own fetch calls: never in a URL, a cookie or the page. No framework, no build step.
"use strict";

(() => {
  const TOKEN_KEY = "trio-tracker.admin-token";
  const OPERATOR_KEY = "trio-tracker.operator-id";
  const REFRESH_MS = 2000;
  const PAGE_SIZE = 10;
  const LEDGER_PAGE = 20;
  const QUEUE_LIMIT = 500;
  const DASH = "–";

  const $ = (id) => document.getElementById(id);
  const state = {
    timer: null,
    running: false,
    generation: 0,
    pages: {},
    rendered: {},
    ledgerBefore: null, // null: the newest page; else the page of entries with seq < ledgerBefore
    ledgerHistory: [], // the ledgerBefore values of the newer pages, for "Newer"
    ledgerNextBefore: null,
    summary: null,
  };

  class Unauthorized extends Error {}

  // ---- session -------------------------------------------------------------------------------------------

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function operatorId() {
    return $("operator-id").value.trim();
  }

  // Header values are bytes: send the operator id as UTF-8 (the server decodes it so).
  function headerSafe(text) {
    return Array.from(new TextEncoder().encode(text), (byte) => String.fromCharCode(byte)).join("");
  }

  async function api(path, options = {}) {
    const method = options.method || "GET";
    const headers = { Authorization: "Bearer " + token(), Accept: "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (options.operator) headers["X-Operator-Id"] = headerSafe(operatorId());
    const response = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: "no-store",
      credentials: "omit",
      redirect: "error",
      referrerPolicy: "no-referrer",
    });
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (error) {
      data = { error: text.trim() };
    }
    if (response.status === 401) throw new Unauthorized("the admin token was refused (401)");
    return { status: response.status, ok: response.ok, data };
  }

  function errorText(result) {
    const message = result.data && typeof result.data === "object" && result.data.error;
    return `HTTP ${result.status}${message ? ": " + message : ""}`;
  }

  async function getJson(path) {
    const result = await api(path);
    if (!result.ok) throw new Error(`${path}: ${errorText(result)}`);
    return result.data;
  }

  // An optional route (RPC listener, broker): null when this tracker does not serve it.
  async function getOptional(path) {
    const result = await api(path);
    if (result.status === 404 || result.status === 405 || result.status === 501) return null;
    if (!result.ok) throw new Error(`${path}: ${errorText(result)}`);
    return result.data;
  }

  function showLogin(message) {
    stopPolling();
    sessionStorage.removeItem(TOKEN_KEY);
    state.rendered = {};
    $("board").hidden = true;
    $("session-bar").hidden = true;
    $("login").hidden = false;
    $("token").value = "";
    const error = $("login-error");
    error.hidden = !message;
    error.textContent = message || "";
    $("token").focus();
  }

  function showBoard() {
    $("login").hidden = true;
    $("login-error").hidden = true;
    $("board").hidden = false;
    $("session-bar").hidden = false;
  }

  async function signIn(candidate) {
    sessionStorage.setItem(TOKEN_KEY, candidate);
    try {
      await getJson("/dashboard/api/summary"); // the first data call decides
    } catch (error) {
      if (error instanceof Unauthorized) {
        showLogin("Sign-in refused: " + error.message + ".");
      } else {
        showLogin("Sign-in failed: " + error.message);
      }
      return;
    }
    showBoard();
    startPolling();
  }

  // ---- polling -------------------------------------------------------------------------------------------

  function startPolling() {
    stopPolling();
    state.running = true;
    const generation = ++state.generation;
    const tick = async () => {
      if (!state.running || generation !== state.generation) return;
      await refresh();
      if (state.running && generation === state.generation) state.timer = setTimeout(tick, REFRESH_MS);
    };
    tick();
  }

  function stopPolling() {
    state.running = false;
    state.generation++;
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = null;
  }

  async function refresh() {
    const ledgerPath =
      `/dashboard/api/ledger?limit=${LEDGER_PAGE}` + (state.ledgerBefore ? `&before=${state.ledgerBefore}` : "");
    const calls = [
      getJson("/dashboard/api/summary"),
      getJson(`/dashboard/api/queue?limit=${QUEUE_LIMIT}`),
      getJson("/admission/peers/blocklist"),
      getJson(ledgerPath),
      getOptional("/peers"),
      getOptional("/broker/inflight"),
      getOptional("/broker/reservations"),
    ];
    const results = await Promise.allSettled(calls);
    const refused = results.find((result) => result.status === "rejected" && result.reason instanceof Unauthorized);
    if (refused) {
      showLogin("Signed out: " + refused.reason.message + ".");
      return;
    }
    const value = (index) => (results[index].status === "fulfilled" ? results[index].value : undefined);
    const failures = results.filter((result) => result.status === "rejected").map((result) => result.reason.message);
    if (value(0) !== undefined) renderSummary(value(0));
    if (value(1) !== undefined) renderQueue(value(1));
    if (value(2) !== undefined) renderBlocklist(value(2) || []);
    if (value(3) !== undefined) renderLedger(value(3));
    if (value(4) !== undefined) await renderPeers(value(4));
    if (value(5) !== undefined && value(6) !== undefined) await renderBroker(value(5), value(6));
    const stamp = new Date().toLocaleTimeString();
    $("refresh-state").textContent = failures.length
      ? `Refresh ${stamp}: ${failures.length} failed (${failures[0]})`
      : `Updated ${stamp}`;
  }

  // ---- formatting ----------------------------------------------------------------------------------------

  function num(value, digits = 3) {
    if (value === null || value === undefined) return DASH;
    return Number.isInteger(value) ? String(value) : value.toFixed(digits);
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return DASH;
    if (seconds < 120) return `${num(seconds, 1)} s`;
    if (seconds < 7200) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
    return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  }

  function bytes(count) {
    if (count === null || count === undefined) return DASH;
    if (count < 1024) return `${count} B`;
    const units = ["KiB", "MiB", "GiB", "TiB"];
    let scaled = count / 1024;
    let unit = 0;
    while (scaled >= 1024 && unit < units.length - 1) {
      scaled /= 1024;
      unit++;
    }
    return `${scaled.toFixed(1)} ${units[unit]} (${count} B)`;
  }

  function localTime(value) {
    if (value === null || value === undefined || value === "") return DASH;
    const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
  }

  function setField(key, text, className) {
    for (const element of document.querySelectorAll(`[data-k="${key}"]`)) {
      element.textContent = text;
      if (className !== undefined) element.className = className;
    }
  }

  function element(tag, text, attributes = {}) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    return node;
  }

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (error) {
      const area = element("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
  }

  // A shortened id with the full value on hover (title) and a copy button.
  function idCell(hex) {
    const cell = element("td");
    if (!hex) {
      cell.textContent = DASH;
      return cell;
    }
    const short = hex.length > 16 ? `${hex.slice(0, 8)}…${hex.slice(-6)}` : hex;
    cell.appendChild(element("span", short, { class: "id", title: hex, "data-full": hex }));
    const button = element("button", "copy", { type: "button", class: "copy", "aria-label": `Copy ${hex}` });
    button.addEventListener("click", async () => {
      await copyText(hex);
      button.textContent = "copied";
      setTimeout(() => (button.textContent = "copy"), 1200);
    });
    cell.appendChild(button);
    return cell;
  }

  function textCell(text, numeric = false) {
    return element("td", text, numeric ? { class: "num" } : {});
  }

  function actionCell(label, handler) {
    const cell = element("td");
    const button = element("button", label, { type: "button" });
    button.addEventListener("click", handler);
    cell.appendChild(button);
    return cell;
  }

  // Re-render a table only when its data changed (keeps keyboard focus on a steady table), one page at a time.
  function renderTable(tableId, items, makeRow, key) {
    const signature = JSON.stringify([key !== undefined ? key : items, state.pages[tableId] || 0]);
    if (state.rendered[tableId] === signature) return;
    state.rendered[tableId] = signature;
    const pages = Math.max(1, Math.ceil(items.length / PAGE_SIZE));
    const page = Math.min(state.pages[tableId] || 0, pages - 1);
    state.pages[tableId] = page;
    const body = $(tableId).querySelector("tbody");
    body.replaceChildren(...items.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE).map(makeRow));
    const empty = document.querySelector(`[data-empty="${tableId}"]`);
    if (empty) empty.hidden = items.length > 0;
    const pager = document.querySelector(`[data-pager="${tableId}"]`);
    if (!pager) return;
    if (pages <= 1) {
      pager.replaceChildren();
      return;
    }
    const previous = element("button", "Previous", { type: "button" });
    previous.disabled = page === 0;
    previous.addEventListener("click", () => {
      state.pages[tableId] = page - 1;
      renderTable(tableId, items, makeRow, key);
    });
    const next = element("button", "Next", { type: "button" });
    next.disabled = page >= pages - 1;
    next.addEventListener("click", () => {
      state.pages[tableId] = page + 1;
      renderTable(tableId, items, makeRow, key);
    });
    pager.replaceChildren(previous, element("span", `Page ${page + 1} of ${pages} (${items.length})`, { class: "muted" }), next);
  }

  function row(cells) {
    const tr = element("tr");
    tr.append(...cells);
    return tr;
  }

  // ---- panels --------------------------------------------------------------------------------------------

  function renderSummary(summary) {
    state.summary = summary;
    const admission = summary.admission;
    setField("pressure", num(admission.pressure));
    setField("admit_threshold", num(admission.thresholds.admit));
    setField("reject_threshold", num(admission.thresholds.reject));
    setField("queue_depth", num(summary.queue.depth));
    setField("oldest_wait", duration(summary.queue.oldest_wait_s));
    setField("supply_total_headroom", num(admission.supply_total_headroom));
    const rates = summary.decisions_per_s;
    for (const outcome of ["admit", "queue", "reject"]) setField(`rate_${outcome}`, rates ? num(rates[outcome]) : DASH);
    const persistence = summary.persistence;
    setField("degraded", persistence.degraded ? "DEGRADED (no usable snapshot at start-up)" : "normal",
      persistence.degraded ? "status-bad" : "status-good");
    setField("behind", persistence.behind ? "behind (catching up)" : "up to date",
      persistence.behind ? "status-bad" : "status-good");
    setField("snapshot_age", persistence.last_snapshot_age_s === null ? "none since start" : `${duration(persistence.last_snapshot_age_s)} ago`);
    setField("tlog_bytes", bytes(persistence.tlog_bytes));
    setField("fsync_recent", persistence.fsync_mean_ms_recent === null ? DASH : `${num(persistence.fsync_mean_ms_recent)} ms`);
    setField("fsync_mean", persistence.fsync_mean_ms === null ? DASH : `${num(persistence.fsync_mean_ms)} ms (${persistence.fsyncs} fsyncs)`);
    setField("tip_seq", summary.ledger.tip_seq === null ? "empty chain" : `#${summary.ledger.tip_seq}`);
    const tipHash = document.querySelector('[data-k="tip_hash"]');
    tipHash.textContent = summary.ledger.tip_hash ? `${summary.ledger.tip_hash.slice(0, 12)}…` : "";
    tipHash.title = summary.ledger.tip_hash || "";
    const samples = summary.pressure_history.samples;
    setField("history_samples", String(samples.length));
    drawSparkline(samples, admission.thresholds, summary.pressure_history.window_s, summary.time);
    const models = Object.entries(summary.supply_per_model).sort((a, b) => a[0].localeCompare(b[0]));
    renderTable("supply-table", models, ([model, headroom]) => row([textCell(model), textCell(num(headroom), true)]));
  }

  function drawSparkline(samples, thresholds, windowS, now) {
    const svg = $("sparkline");
    const ns = "http://www.w3.org/2000/svg";
    const width = 300;
    const height = 60;
    const top = Math.max(1, thresholds.reject * 1.15, ...samples.map((sample) => sample.pressure));
    const x = (t) => width - ((now - t) / windowS) * width;
    const y = (value) => height - 2 - (Math.max(0, value) / top) * (height - 4);
    const nodes = [];
    for (const [value, colour] of [[thresholds.admit, "#176b2c"], [thresholds.reject, "#a3161a"]]) {
      const line = document.createElementNS(ns, "line");
      for (const [name, v] of Object.entries({ x1: 0, x2: width, y1: y(value), y2: y(value), stroke: colour, "stroke-dasharray": "4 3", "stroke-width": 1 })) line.setAttribute(name, v);
      nodes.push(line);
    }
    if (samples.length > 0) {
      const path = document.createElementNS(ns, "polyline");
      const points = samples.map((sample) => `${x(sample.t).toFixed(1)},${y(sample.pressure).toFixed(1)}`);
      if (samples.length === 1) points.unshift(`${(x(samples[0].t) - 2).toFixed(1)},${y(samples[0].pressure).toFixed(1)}`);
      path.setAttribute("points", points.join(" "));
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", "#0b5cad");
      path.setAttribute("stroke-width", "2");
      path.setAttribute("vector-effect", "non-scaling-stroke");
      nodes.push(path);
    }
    svg.replaceChildren(...nodes);
  }

  function renderQueue(listing) {
    const items = listing.items;
    const key = [listing.total, items.map((item) => [item.request_id, item.effective_priority, item.score, Math.round(item.wait_s)])];
    renderTable("queue-table", items, (item) => {
      const tr = row([
        idCell(item.request_id),
        idCell(item.consumer_id),
        textCell(num(item.effective_priority), true),
        textCell(num(item.score), true),
        textCell(duration(item.wait_s)),
        actionCell("Eject", () => operatorAction(`Eject queue entry ${item.request_id}?`, `/admission/queue/eject/${item.request_id}`, { method: "POST" })),
      ]);
      tr.dataset.request = item.request_id;
      return tr;
    }, key);
    $("queue-truncated").hidden = listing.total <= items.length;
    $("queue-truncated").textContent = `Showing the first ${items.length} of ${listing.total} entries.`;
  }

  function renderBlocklist(ids) {
    renderTable("block-table", ids, (id) => row([
      idCell(id),
      actionCell("Unblock", () => operatorAction(`Remove peer ${id} from the blocklist?`, `/admission/peers/blocklist/${id}`, { method: "DELETE" })),
    ]));
  }

  function renderLedger(page) {
    state.ledgerNextBefore = page.next_before;
    $("ledger-older").disabled = !page.next_before;
    $("ledger-newer").disabled = state.ledgerBefore === null;
    const entries = page.entries;
    $("ledger-page").textContent = entries.length
      ? `#${entries[entries.length - 1].seq}–#${entries[0].seq} of ${page.tip_seq}`
      : "";
    const body = $("ledger-table").querySelector("tbody");
    const signature = JSON.stringify(entries.map((entry) => [entry.hash, entry.countersigned]));
    if (state.rendered["ledger-table"] === signature) return;
    state.rendered["ledger-table"] = signature;
    body.replaceChildren(...entries.map((entry) => {
      const tr = row([
        textCell(String(entry.seq), true),
        textCell(entry.kind + (entry.model ? ` · ${entry.model}` : "")),
        textCell(String(entry.cost_credits), true),
        idCell(entry.consumer_id),
        idCell(entry.seeder_id || entry.recipient_id),
        textCell(entry.countersigned === null ? DASH : entry.countersigned ? "yes" : "no"),
        textCell(localTime(entry.timestamp)),
      ]);
      tr.dataset.seq = String(entry.seq);
      tr.dataset.kind = entry.kind;
      return tr;
    }));
    document.querySelector('[data-empty="ledger-table"]').hidden = entries.length > 0;
  }

  async function seederDetails(peers) {
    // Models, headroom and load come from the registry (GET /identity/<id>: any peer that advertised), for the
    // visible page only.
    const page = state.pages["peers-table"] || 0;
    const visible = peers.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
    const details = await Promise.all(visible.map(async (peer) => {
      const result = await api(`/identity/${peer.canonical_id}`);
      return [peer.canonical_id, result.ok && result.data.seeder ? result.data.seeder : null];
    }));
    return Object.fromEntries(details);
  }

  async function renderPeers(listing) {
    $("peers-unavailable").hidden = listing !== null;
    $("peers-table").closest(".table-wrap").hidden = listing === null;
    if (listing === null) {
      setField("peer_count", "");
      document.querySelector('[data-empty="peers-table"]').hidden = true;
      return;
    }
    const peers = listing.peers || [];
    setField("peer_count", `(${listing.count})`);
    const seeders = await seederDetails(peers);
    renderTable("peers-table", peers, (peer) => {
      const seeder = seeders[peer.canonical_id];
      const tr = row([
        idCell(peer.canonical_id),
        textCell((peer.roles || []).join(", ") || DASH),
        textCell(peer.address || DASH),
        textCell(localTime(peer.connected_since)),
        textCell(localTime(peer.last_heartbeat)),
        textCell(seeder && seeder.models ? seeder.models.join(", ") : DASH),
        textCell(seeder ? num(seeder.headroom_estimate) : DASH, true),
        textCell(seeder ? String(seeder.load) : DASH, true),
        actionCell("Block", () => operatorAction(`Add peer ${peer.canonical_id} to the blocklist?`, `/admission/peers/blocklist/${peer.canonical_id}`, { method: "POST" })),
      ]);
      tr.dataset.peer = peer.canonical_id;
      return tr;
    }, [peers, seeders]);
  }

  async function renderBroker(inflight, reservations) {
    const available = inflight !== null && reservations !== null;
    $("broker-unavailable").hidden = available;
    $("broker-tables").hidden = !available;
    if (!available) return;
    const page = state.pages["inflight-table"] || 0;
    const visible = inflight.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
    const details = Object.fromEntries(await Promise.all(visible.map(async (item) => {
      const result = await api(`/broker/inflight/${item.request_id}`);
      return [item.request_id, result.ok ? result.data : null];
    })));
    const ordered = [...inflight].sort((a, b) => b.age_seconds - a.age_seconds);
    renderTable("inflight-table", ordered, (item) => {
      const detail = details[item.request_id];
      return row([
        idCell(item.request_id),
        textCell(item.state),
        textCell(duration(item.age_seconds)),
        idCell(item.consumer_id),
        idCell(detail ? detail.seeder_id : ""),
        textCell(detail && detail.reservation_amount !== undefined ? String(detail.reservation_amount) : DASH, true),
        actionCell("Fail", () => operatorAction(`Force-fail inflight request ${item.request_id}?`, `/broker/inflight/fail/${item.request_id}`, { method: "POST" })),
      ]);
    }, [inflight.map((item) => [item.request_id, item.state, Math.round(item.age_seconds)]), details]);
    const now = Date.now() / 1000;
    const slots = reservations.flatMap((reservation) => (reservation.slots || []).map((slot) => ({ consumer_id: reservation.consumer_id, ...slot })));
    renderTable("reservations-table", slots, (slot) => row([
      idCell(slot.request_id),
      textCell(slot.expires_at > now ? "held" : "expired"),
      textCell(`expires in ${duration(Math.max(0, slot.expires_at - now))}`),
      idCell(slot.consumer_id),
      textCell(DASH),
      textCell(String(slot.amount), true),
      actionCell("Release", () => operatorAction(`Release the reservation of request ${slot.request_id}?`, `/broker/reservations/release/${slot.request_id}`, { method: "POST" })),
    ]));
  }

  // ---- operator actions ----------------------------------------------------------------------------------

  function confirmAction(text) {
    const dialog = $("confirm");
    $("confirm-text").textContent = text;
    $("confirm-operator").textContent = operatorId();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      dialog.returnValue = "cancel";
      dialog.showModal();
      $("confirm-ok").focus();
    });
  }

  function showResult(ok, text) {
    const box = $("action-result");
    box.hidden = false;
    box.className = `result ${ok ? "ok" : "fail"}`;
    box.textContent = text;
  }

  async function operatorAction(question, path, options) {
    if (!operatorId()) {
      showResult(false, "Fill in your operator id (top of the page) first: every action is recorded under it.");
      $("operator-id").focus();
      return;
    }
    if (!(await confirmAction(question))) return;
    try {
      const result = await api(path, { ...options, operator: true });
      const detail = result.data === null ? "" : JSON.stringify(result.data);
      showResult(result.ok, `${options.method} ${path} → ${result.ok ? "" : "failed, "}HTTP ${result.status} ${detail}`);
    } catch (error) {
      if (error instanceof Unauthorized) {
        showLogin("Signed out: " + error.message + ".");
        return;
      }
      showResult(false, `${options.method} ${path} failed: ${error.message}`);
    }
    state.rendered = {};
    if (state.running) await refresh();
  }

  // ---- wiring --------------------------------------------------------------------------------------------

  function init() {
    const operator = $("operator-id");
    operator.value = localStorage.getItem(OPERATOR_KEY) || "";
    operator.addEventListener("change", () => localStorage.setItem(OPERATOR_KEY, operator.value.trim()));

    $("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const candidate = $("token").value;
      $("token").value = "";
      if (candidate) signIn(candidate);
    });
    $("logout").addEventListener("click", () => showLogin(""));

    $("drain-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const count = Number.parseInt($("drain-n").value, 10);
      if (!Number.isInteger(count) || count < 0) {
        showResult(false, "Drain: enter a whole number of entries (0 or more).");
        return;
      }
      operatorAction(`Drain ${count} entr${count === 1 ? "y" : "ies"} from the head of the admission queue?`, "/admission/queue/drain", { method: "POST", body: { n: count } });
    });
    $("block-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const id = $("block-id").value.trim();
      if (!/^[0-9a-fA-F]{64}$/.test(id)) {
        showResult(false, "Block: a peer id is 64 hex characters.");
        return;
      }
      operatorAction(`Add peer ${id} to the blocklist?`, `/admission/peers/blocklist/${id}`, { method: "POST" });
    });
    for (const button of document.querySelectorAll('[data-action="snapshot"]')) {
      button.addEventListener("click", () => operatorAction("Write an admission snapshot now?", "/admission/snapshot", { method: "POST" }));
    }
    $("ledger-older").addEventListener("click", () => {
      if (!state.ledgerNextBefore) return;
      state.ledgerHistory.push(state.ledgerBefore);
      state.ledgerBefore = state.ledgerNextBefore;
      refresh();
    });
    $("ledger-newer").addEventListener("click", () => {
      state.ledgerBefore = state.ledgerHistory.length ? state.ledgerHistory.pop() : null;
      refresh();
    });

    if (token()) {
      signIn(token());
    } else {
      showLogin("");
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
