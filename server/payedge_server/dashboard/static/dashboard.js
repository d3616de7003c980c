/*
 * payedge staff dashboard (plain JavaScript, no build step, no dependency).
 *
 * Reads the /v1 API with the session cookie; every write sends the page's CSRF token
 * (X-CSRF-Token) and an Idempotency-Key. One WebSocket (/v1/stream, channel "*")
 * keeps every view live: the terminal queue ("terminals"), payments ("payment:<id>"),
 * parking sessions ("session:<id>") and the degraded mode ("system"). After every
 * (re)connection the views are read again, so nothing missed while offline stays missed.
 */
(function () {
  "use strict";

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var $ = function (id) { return document.getElementById(id); };
  var state = {
    payments: {},          // id -> payment (with version)
    paymentOrder: [],      // ids, newest first
    sessions: {},          // id -> session
    openSession: null,
    fallback: null,
    terminalsVersion: 0,
    ws: null,
    retryMs: 1000,
  };
  var MAX_PAYMENTS = 100;

  // -- helpers -----------------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name.indexOf("data-") === 0) node.setAttribute(name, String(value));
      else if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function randomKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return "dash-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  var announceTimer = null;

  function announce(text, isError) {
    var box = $("announce");
    box.textContent = text;
    box.className = "announce" + (isError ? " error" : "");
    box.dataset.at = String(Date.now());
    if (announceTimer !== null) clearTimeout(announceTimer);
    // Feedback, not a record: it goes after a while (errors stay longer).
    announceTimer = setTimeout(function () { box.textContent = ""; }, isError ? 15000 : 6000);
  }

  function api(method, path, body) {
    var headers = { Accept: "application/json" };
    if (method !== "GET") {
      headers["X-CSRF-Token"] = csrf;
      headers["Idempotency-Key"] = randomKey();
      headers["Content-Type"] = "application/json";
    }
    return fetch(path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    }).then(function (resp) {
      return resp.json().catch(function () { return null; }).then(function (data) {
        if (resp.status === 401) window.location.reload(); // the session ended: sign in again
        if (!resp.ok) {
          var error = (data && data.error) || { code: "http_" + resp.status, message: "HTTP " + resp.status };
          error.status = resp.status;
          throw error;
        }
        return data;
      });
    });
  }

  function failed(what) {
    return function (error) { announce(what + ": " + (error.message || error.code || error), true); };
  }

  function money(amount, currency) {
    try {
      var format = new Intl.NumberFormat(undefined, { style: "currency", currency: currency });
      var digits = format.resolvedOptions().maximumFractionDigits;
      return format.format(amount / Math.pow(10, digits));
    } catch (err) {
      return amount + " " + currency;
    }
  }

  function clock(seconds, withSeconds) {
    if (!seconds) return "";
    var options = { hour: "2-digit", minute: "2-digit" };
    if (withSeconds) options.second = "2-digit";
    return new Date(seconds * 1000).toLocaleTimeString([], options);
  }

  function shortId(id) {
    return id.length > 16 ? id.slice(0, 8) + "…" + id.slice(-6) : id;
  }

  var STATUS_TEXT = {
    requires_payment_method: "Awaiting payment",
    requires_confirmation: "Ready to confirm",
    processing: "Processing",
    succeeded: "Paid",
    failed: "Failed",
    canceled: "Canceled",
    partially_refunded: "Partly refunded",
    refunded: "Refunded",
  };

  // The audit trail's actions, as staff say them (unknown ones are shown as they are).
  var ACTIONS = {
    "session.opened": "Entered",
    "session.entry_repeated": "Entry seen again",
    "session.exit_detected": "At the exit",
    "session.exit_ignored": "Exit ignored",
    "session.payment_requested": "Payment asked",
    "session.exit_authorised": "Exit authorised",
    "session.override_repeated": "Override repeated",
    "session.closed": "Left",
    "session.flagged": "Flagged",
    "payment.status_changed": "Payment changed",
    "fallback_mode.on": "Degraded mode on",
    "fallback_mode.off": "Degraded mode off",
  };

  function badge(status) {
    return el("span", { class: "badge status-" + status, "data-status": status, text: STATUS_TEXT[status] || status });
  }

  function busy(button, promise) {
    button.disabled = true;
    return promise.then(
      function (v) { button.disabled = false; return v; },
      function (e) { button.disabled = false; throw e; }
    );
  }

  // -- views (tabs) ------------------------------------------------------------------------

  function showView(name) {
    var tabs = document.querySelectorAll('[role="tab"]');
    var found = false;
    tabs.forEach(function (tab) {
      var on = tab.dataset.view === name && !tab.hidden;
      found = found || on;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      $("view-" + tab.dataset.view).hidden = !on;
    });
    if (!found && name !== "terminals") showView("terminals");
  }

  function setupTabs() {
    document.querySelectorAll('[role="tab"]').forEach(function (tab) {
      tab.addEventListener("click", function () {
        history.replaceState(null, "", "#" + tab.dataset.view);
        showView(tab.dataset.view);
      });
    });
    window.addEventListener("hashchange", function () { showView(location.hash.slice(1)); });
    showView(location.hash.slice(1) || "terminals");
  }

  // -- terminals and queue -----------------------------------------------------------------

  function renderTerminals(view) {
    var version = view.version || 0;
    if (version && version < state.terminalsVersion) return;
    state.terminalsVersion = version || state.terminalsVersion;
    var list = $("terminal-list");
    list.textContent = "";
    Object.keys(view.terminals || {}).sort().forEach(function (id) {
      var lease = view.terminals[id];
      var actions = lease
        ? el("button", { type: "button", "data-action": "complete", "data-token": lease.token, text: "Payment done" })
        : el("button", { type: "button", "data-action": "allocate", "data-terminal": id, text: "Serve next" });
      var detail = lease
        ? el("p", { class: "lease" }, [
            el("span", { class: "who", text: lease.user_id }),
            " · ",
            el("code", { text: shortId(lease.payment_id), title: lease.payment_id }),
            el("span", { class: "until", text: " until " + clock(lease.expires_at) }),
          ])
        : el("p", { class: "lease idle", text: "Waiting for the next customer" });
      list.appendChild(
        el("li", { class: "card terminal " + (lease ? "busy" : "free"), "data-terminal": id, "data-state": lease ? "busy" : "free" }, [
          el("h3", {}, [id, " ", el("span", { class: "badge " + (lease ? "status-processing" : "status-succeeded"), text: lease ? "Busy" : "Free" })]),
          detail,
          actions,
        ])
      );
    });
    var queue = $("queue-list");
    queue.textContent = "";
    (view.queue || []).forEach(function (paymentId, index) {
      var known = state.payments[paymentId];
      queue.appendChild(
        el("li", { "data-payment-id": paymentId, "data-position": index + 1 }, [
          el("span", { class: "position", "aria-label": "position " + (index + 1), text: String(index + 1) }),
          el("span", { class: "grow" }, [
            known ? el("strong", { class: "num", text: money(known.amount, known.currency) + " " }) : null,
            el("code", { title: paymentId, text: known ? shortId(paymentId) : paymentId }),
          ]),
          el("button", { type: "button", class: "secondary", "data-action": "dequeue", "data-payment": paymentId, "aria-label": "Remove " + paymentId + " from the queue", text: "Remove" }),
        ])
      );
    });
    queue.dataset.version = String(state.terminalsVersion);
    $("queue-count").textContent = String((view.queue || []).length);
    $("queue-empty").hidden = (view.queue || []).length > 0;
  }

  function loadTerminals() {
    return api("GET", "/v1/terminals").then(renderTerminals, function (error) {
      if (error.code === "terminals_not_configured") {
        $("terminals-off").hidden = false;
        $("enqueue-form").hidden = true;
        $("queue-empty").hidden = true;
      } else {
        failed("Terminals")(error);
      }
    });
  }

  function setupTerminals() {
    $("terminal-list").addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      if (button.dataset.action === "allocate") {
        busy(button, api("POST", "/v1/terminals/" + encodeURIComponent(button.dataset.terminal) + "/allocate"))
          .then(function (r) { announce(r.lease ? r.terminal_id + " now serves " + r.lease.user_id : "Nobody is waiting"); }, failed("Serve next"));
      } else if (button.dataset.action === "complete") {
        busy(button, api("POST", "/v1/terminals/leases/" + button.dataset.token + "/complete"))
          .then(function () { announce("Terminal free"); }, failed("Payment done"));
      }
    });
    $("queue-list").addEventListener("click", function (event) {
      var button = event.target.closest("button[data-action=dequeue]");
      if (!button) return;
      busy(button, api("POST", "/v1/terminals/queue/" + encodeURIComponent(button.dataset.payment) + "/cancel"))
        .then(function () { announce("Removed from the queue"); }, failed("Remove"));
    });
    $("enqueue-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var form = event.target;
      var body = { payment_id: form.payment_id.value.trim(), user_id: form.user_id.value.trim() };
      busy(form.querySelector("button"), api("POST", "/v1/terminals/queue", body)).then(function (r) {
        announce(body.user_id + " is number " + r.position + " in the queue");
        form.reset();
      }, failed("Add to queue"));
    });
  }

  // -- payments ----------------------------------------------------------------------------

  function paymentRow(p) {
    var refundable = p.status === "succeeded" || p.status === "partially_refunded";
    var actions = el("td", { class: "actions" }, [
      refundable ? el("button", { type: "button", class: "secondary", "data-action": "refund", "data-payment": p.id, "aria-label": "Refund " + p.id, text: "Refund" }) : null,
    ]);
    var refunded = p.amount_refunded ? money(p.amount_refunded, p.currency) + " refunded" : null;
    var why = p.last_error && p.last_error.customer_message;
    return el("tr", { "data-payment-id": p.id, "data-status": p.status, "data-version": p.version }, [
      el("td", { class: "time", text: clock(p.created, true) }),
      el("td", { class: "id" }, [el("code", { title: p.id, text: shortId(p.id) })]),
      el("td", { class: "amount num" }, [
        money(p.amount, p.currency),
        refunded ? el("small", { class: "muted", text: " (" + refunded + ")" }) : null,
      ]),
      el("td", { class: "status" }, [badge(p.status), why ? el("small", { class: "why", text: why }) : null]),
      actions,
    ]);
  }

  function upsertPayment(p) {
    if (!p || !p.id) return;
    var known = state.payments[p.id];
    if (known && known.version >= p.version) return;
    state.payments[p.id] = p;
    var rows = $("payment-rows");
    var row = paymentRow(p);
    var old = rows.querySelector('tr[data-payment-id="' + p.id + '"]');
    if (old) {
      rows.replaceChild(row, old);
    } else {
      state.paymentOrder.unshift(p.id);
      rows.insertBefore(row, rows.firstChild);
      while (state.paymentOrder.length > MAX_PAYMENTS) {
        var gone = state.paymentOrder.pop();
        delete state.payments[gone];
        var last = rows.querySelector('tr[data-payment-id="' + gone + '"]');
        if (last) rows.removeChild(last);
      }
    }
    $("payments-empty").hidden = state.paymentOrder.length > 0;
  }

  function loadPayments() {
    return api("GET", "/v1/payments?limit=50").then(function (list) {
      list.data.slice().reverse().forEach(function (p) {
        if (state.payments[p.id]) upsertPayment(p);
        else {
          // oldest first, so that the newest ends on top
          upsertPayment(p);
        }
      });
    }, failed("Payments"));
  }

  function setupPayments() {
    $("payment-rows").addEventListener("click", function (event) {
      var button = event.target.closest("button[data-action=refund]");
      if (!button) return;
      var p = state.payments[button.dataset.payment];
      var left = p.amount_captured - p.amount_refunded;
      var answer = window.prompt("Refund how much of " + money(left, p.currency) + "? (leave empty for all of it)", "");
      if (answer === null) return;
      var body = {};
      if (answer.trim()) {
        var digits = new Intl.NumberFormat(undefined, { style: "currency", currency: p.currency }).resolvedOptions().maximumFractionDigits;
        var value = Math.round(parseFloat(answer.replace(",", ".")) * Math.pow(10, digits));
        if (!(value > 0)) { announce("Not an amount: " + answer, true); return; }
        body.amount = value;
      }
      busy(button, api("POST", "/v1/payments/" + p.id + "/refunds", body)).then(function (r) {
        announce("Refunded " + money(r.amount, r.currency));
        upsertPayment(r.payment);
      }, failed("Refund"));
    });
  }

  // -- parking -----------------------------------------------------------------------------

  function sessionRow(s) {
    return el("li", { "data-session-id": s.id, "data-state": s.state }, [
      el("button", { type: "button", class: "row-button", "data-action": "open-session", "data-session": s.id }, [
        el("strong", { class: "plate", text: s.plate || s.badge || s.id }),
        el("span", { class: "badge state-" + s.state, text: s.state }),
        el("span", { class: "muted", text: "entered " + clock(s.entry_ts || s.created_at) }),
        s.amount ? el("span", { class: "num", text: money(s.amount, s.currency) }) : null,
      ]),
    ]);
  }

  function upsertSession(s) {
    var id = s.id || s.session_id;
    if (!id) return;
    var known = state.sessions[id] || {};
    if (!known.id && !s.plate && !s.badge) {
      // A live event names the session only: read the whole of a session seen for the first time.
      state.sessions[id] = { id: id, version: s.version };
      api("GET", "/v1/parking/sessions/" + encodeURIComponent(id)).then(function (r) { upsertSession(r.session); }, failed("Session"));
      return;
    }
    if (known.version && s.version && known.version > s.version) return;
    var merged = Object.assign({}, known, s, { id: id });
    state.sessions[id] = merged;
    var list = $("session-list");
    var row = sessionRow(merged);
    var old = list.querySelector('li[data-session-id="' + id + '"]');
    if (old) list.replaceChild(row, old);
    else list.insertBefore(row, list.firstChild);
    if (state.openSession === id) openSession(id);
  }

  function loadSessions() {
    return api("GET", "/v1/parking/sessions?limit=50").then(function (list) {
      $("parking-off").hidden = true;
      list.data.slice().reverse().forEach(upsertSession);
    }, function (error) {
      if (error.status === 404) {
        $("parking-off").hidden = false;
      } else {
        failed("Parking")(error);
      }
    });
  }

  function openSession(id) {
    state.openSession = id;
    api("GET", "/v1/parking/sessions/" + encodeURIComponent(id)).then(function (r) {
      var s = r.session;
      $("session-detail").hidden = false;
      $("session-detail").dataset.session = s.id;
      $("detail-plate").textContent = s.plate || s.id;
      $("detail-state").textContent = s.state;
      $("detail-state").className = "badge state-" + s.state;
      $("override-form").hidden = s.state === "paid" || s.state === "closed";
      var timeline = $("detail-timeline");
      timeline.textContent = "";
      (r.timeline || []).forEach(function (entry) {
        var who = entry.actor ? " · " + entry.actor.replace(/^(operator|device):/, "") : "";
        var why = entry.reason ? " — " + entry.reason : "";
        var what = ACTIONS[entry.action] || entry.action;
        timeline.appendChild(el("li", { "data-action": entry.action }, [el("time", { text: clock(entry.at, true) }), " " + what + who + why]));
      });
    }, failed("Session"));
  }

  function setupParking() {
    $("session-list").addEventListener("click", function (event) {
      var button = event.target.closest("button[data-action=open-session]");
      if (button) openSession(button.dataset.session);
    });
    $("override-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var form = event.target;
      var id = $("session-detail").dataset.session;
      var body = { operator: form.operator.value.trim(), reason: form.reason.value.trim() };
      busy(form.querySelector("button"), api("POST", "/v1/parking/sessions/" + encodeURIComponent(id) + "/override", body))
        .then(function (r) { announce("Barrier opened for " + (r.session.plate || id)); upsertSession(r.session); form.reset(); }, failed("Override"));
    });
  }

  // -- degraded mode -----------------------------------------------------------------------

  function renderFallback(mode, announced) {
    state.fallback = mode;
    var banner = $("fallback-banner");
    var line = $("fallback-state");
    line.dataset.enabled = mode.enabled ? "true" : "false";
    document.body.dataset.fallback = mode.enabled ? "on" : "off";
    if (mode.enabled) {
      var text = "Degraded mode is ON since " + clock(mode.since) + " — " + (mode.who || "?") + ": " + (mode.why || "");
      banner.textContent = text;
      line.textContent = text;
      $("fallback-toggle").textContent = "Turn degraded mode off";
      $("fallback-toggle").className = "";
    } else {
      banner.textContent = ""; // the live region stays, empty (and without height)
      line.textContent = mode.since
        ? "Normal operation since " + clock(mode.since) + " (" + (mode.who || "?") + ": " + (mode.why || "") + ")."
        : "Normal operation.";
      $("fallback-toggle").textContent = "Turn degraded mode on";
      $("fallback-toggle").className = "danger";
    }
    if (announced) announce(mode.enabled ? "Degraded mode activated by " + mode.who : "Degraded mode ended by " + mode.who);
  }

  function loadFallback() {
    return api("GET", "/v1/admin/fallback-mode").then(function (m) { renderFallback(m, false); }, failed("Degraded mode"));
  }

  function setupFallback() {
    $("fallback-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var form = event.target;
      var enabled = !(state.fallback && state.fallback.enabled);
      var body = { enabled: enabled, who: form.who.value.trim(), why: form.why.value.trim() };
      busy(form.querySelector("button"), api("POST", "/v1/admin/fallback-mode", body))
        .then(function (m) { renderFallback(m, false); form.why.value = ""; }, failed("Degraded mode"));
    });
  }

  // -- gateways ----------------------------------------------------------------------------

  function renderGateways(items) {
    var list = $("gateway-list");
    list.textContent = "";
    items.forEach(function (g) {
      list.appendChild(el("li", { class: "card", "data-gateway": g.name, "data-ok": g.ok ? "true" : "false" }, [
        el("h3", {}, [g.name, " ", el("span", { class: "badge " + (g.ok ? "status-succeeded" : "status-failed"), text: g.ok ? "Up" : "Down" })]),
        g.detail ? el("p", { class: "muted", text: g.detail }) : null,
      ]));
    });
    // Health matters when there is a choice: the tab shows with several gateways.
    $("tab-gateways").hidden = items.length < 2;
  }

  function loadGateways() {
    // Two sources, each optional: the readiness probe says whether a gateway answers now;
    // /v1/gateways says what routing knows (its circuit, success rate: SPEC 5). Down in
    // either is down.
    var ready = fetch("/health/ready", { cache: "no-store" }).then(function (resp) {
      return resp.json();
    }).then(function (body) { return body.checks || {}; }, function () { return {}; });
    var routing = api("GET", "/v1/gateways").then(function (r) { return r.data || []; }, function () { return []; });
    return Promise.all([ready, routing]).then(function (both) {
      var checks = both[0], byName = {};
      Object.keys(checks).forEach(function (k) {
        if (k.indexOf("gateway:") === 0) byName[k.slice(8)] = { name: k.slice(8), ok: checks[k] === true, detail: "" };
      });
      both[1].forEach(function (g) {
        var item = byName[g.name] || { name: g.name, ok: true, detail: "" };
        var health = g.health || {};
        var scores = (health.success_rate || []).map(function (w) { return w.score; }).filter(function (x) { return typeof x === "number"; });
        if (health.circuit === "open") item.ok = false;
        item.detail = [
          health.circuit && health.circuit !== "closed" ? "circuit " + health.circuit.replace("_", "-") : "",
          scores.length ? "success " + Math.round(Math.min.apply(null, scores) * 100) + "%" : "",
        ].filter(Boolean).join(" · ");
        byName[g.name] = item;
      });
      renderGateways(Object.keys(byName).sort().map(function (k) { return byName[k]; }));
    });
  }

  // -- live --------------------------------------------------------------------------------

  function setLive(stateName, text) {
    var live = $("live");
    live.dataset.state = stateName;
    live.textContent = text;
  }

  function refreshAll() {
    return Promise.all([loadTerminals(), loadPayments(), loadSessions(), loadFallback(), loadGateways()]);
  }

  function onMessage(event) {
    var msg;
    try { msg = JSON.parse(event.data); } catch (err) { return; }
    if (msg.type === "subscribed") {
      setLive("live", "Live");
      state.retryMs = 1000;
      refreshAll();
      return;
    }
    if (msg.type !== "event" && msg.type !== "snapshot") return;
    var channel = msg.channel || "";
    var data = msg.data || {};
    if (channel === "terminals") renderTerminals(data);
    else if (channel.indexOf("payment:") === 0) upsertPayment(data.payment);
    else if (channel.indexOf("session:") === 0) upsertSession(data);
    else if (channel === "system" && data.type === "parking.fallback_mode") renderFallback(data, true);
  }

  function connect() {
    var url = location.origin.replace(/^http/, "ws") + "/v1/stream";
    var ws = new WebSocket(url);
    state.ws = ws;
    ws.onopen = function () { ws.send(JSON.stringify({ op: "subscribe", channels: ["*"] })); };
    ws.onmessage = onMessage;
    ws.onclose = function () {
      if (state.ws !== ws) return;
      setLive("offline", "Reconnecting…");
      setTimeout(connect, state.retryMs);
      state.retryMs = Math.min(state.retryMs * 2, 10000);
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupTabs();
    setupTerminals();
    setupPayments();
    setupParking();
    setupFallback();
    connect();
  });
})();
