/*
 * payedge live status client (plain JavaScript, no build step).
 *
 *   const live = PayedgeStatus({ clientSecret: "<the payment's client_secret>" });
 *   const handle = live.watch("pay_123", (status, info) => { ... });
 *   handle.stop();
 *
 * A browser holds a payment's client secret (from the payment's or its order's create
 * response, SPEC 8), never an API key: the secret reads that one payment and nothing
 * else. Pages served by payedge to a signed-in dashboard session need neither (the
 * session cookie goes with every request). `baseUrl` defaults to the page's origin.
 *
 * onStatus(status, {transport: "websocket" | "poll", kind: "snapshot" | "event" | "poll"})
 * is called with the payment's public status object whenever its `version` grows.
 * The WebSocket (/v1/stream) reconnects every 3 s; while it is down, the client
 * long-polls /v1/payments/{id}/status (wait=30 s), so a status change is never
 * missed for longer than a poll round. Protocol: docs/live.md.
 */
(function (root) {
  "use strict";

  var RECONNECT_MS = 3000;
  var POLL_WAIT_S = 30;
  var POLL_RETRY_MS = 3000;

  function PayedgeStatus(options) {
    options = options || {};
    var baseUrl = (options.baseUrl || (root.location ? root.location.origin : "")).replace(/\/+$/, "");
    var clientSecret = options.clientSecret || "";
    // Deprecated: an API key in an address ends up in proxy logs. Kept for old callers.
    var token = options.token || "";
    var reconnectMs = options.reconnectMs || RECONNECT_MS;
    var pollWait = options.pollWaitSeconds || POLL_WAIT_S;
    var useWebSocket = options.webSocket !== false && typeof root.WebSocket === "function";

    function credential() {
      if (clientSecret) return "client_secret=" + encodeURIComponent(clientSecret);
      return token ? "token=" + encodeURIComponent(token) : "";
    }

    function wsUrl() {
      var url = baseUrl.replace(/^http/, "ws") + "/v1/stream";
      var cred = credential();
      return cred ? url + "?" + cred : url;
    }

    function watch(paymentId, onStatus) {
      var channel = "payment:" + paymentId;
      var version = -1;
      var stopped = false;
      var ws = null;
      var wsOpen = false;
      var reconnectTimer = null;
      var polling = false;
      var pollAbort = null;
      var pollTimer = null;

      function deliver(status, info) {
        if (!status || typeof status.version !== "number" || status.version <= version) return;
        version = status.version;
        try {
          onStatus(status, info);
        } catch (err) {
          if (root.console) root.console.error("payedge: onStatus failed", err);
        }
      }

      function connect() {
        reconnectTimer = null;
        if (stopped || !useWebSocket) return;
        var socket;
        try {
          socket = new root.WebSocket(wsUrl());
        } catch (err) {
          scheduleReconnect();
          startPolling();
          return;
        }
        ws = socket;
        socket.onopen = function () {
          wsOpen = true;
          stopPolling();
          socket.send(JSON.stringify({ op: "subscribe", channels: [channel] }));
        };
        socket.onmessage = function (msg) {
          var data;
          try {
            data = JSON.parse(msg.data);
          } catch (err) {
            return;
          }
          if ((data.type === "snapshot" || data.type === "event") && data.channel === channel && data.data) {
            // payment channels carry {"type": "payment.updated", "version", "payment": {...}}
            deliver(data.data.payment || data.data, { transport: "websocket", kind: data.type });
          }
        };
        socket.onclose = function () {
          if (ws === socket) ws = null;
          wsOpen = false;
          if (stopped) return;
          startPolling();
          scheduleReconnect();
        };
        socket.onerror = function () {
          /* onclose follows and handles it */
        };
      }

      function scheduleReconnect() {
        if (stopped || reconnectTimer !== null || !useWebSocket) return;
        reconnectTimer = root.setTimeout(connect, reconnectMs);
      }

      function startPolling() {
        if (polling || stopped) return;
        polling = true;
        poll();
      }

      function stopPolling() {
        polling = false;
        if (pollAbort) pollAbort.abort();
        pollAbort = null;
        if (pollTimer !== null) root.clearTimeout(pollTimer);
        pollTimer = null;
      }

      function poll() {
        pollTimer = null;
        if (!polling || stopped) return;
        var controller = typeof root.AbortController === "function" ? new root.AbortController() : null;
        pollAbort = controller;
        var url =
          baseUrl + "/v1/payments/" + encodeURIComponent(paymentId) + "/status?wait=" + pollWait +
          "&since=" + Math.max(version, 0) + (clientSecret ? "&" + credential() : "");
        var headers = token && !clientSecret ? { Authorization: "Bearer " + token } : {};
        root
          .fetch(url, {
            headers: headers,
            signal: controller ? controller.signal : undefined,
            cache: "no-store",
            credentials: "same-origin",
          })
          .then(function (resp) {
            if (!resp.ok) throw new Error("HTTP " + resp.status);
            return resp.json();
          })
          .then(function (status) {
            deliver(status, { transport: "poll", kind: "poll" });
            if (polling && !stopped) pollTimer = root.setTimeout(poll, 0);
          })
          .catch(function () {
            if (polling && !stopped) pollTimer = root.setTimeout(poll, POLL_RETRY_MS);
          });
      }

      if (useWebSocket) {
        connect();
      } else {
        startPolling();
      }

      return {
        stop: function () {
          stopped = true;
          stopPolling();
          if (reconnectTimer !== null) root.clearTimeout(reconnectTimer);
          if (ws) ws.close(1000, "stopped");
        },
        get connected() {
          return wsOpen;
        },
        get polling() {
          return polling;
        },
      };
    }

    return { watch: watch };
  }

  root.PayedgeStatus = PayedgeStatus;
})(typeof window !== "undefined" ? window : this);
