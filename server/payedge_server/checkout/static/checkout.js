/*
 * payedge hosted checkout (plain JavaScript, no build step, nothing loaded from elsewhere).
 *
 * The page (server-rendered, in the customer's language) holds the order, the payment
 * and its client secret in data-* attributes of <main id="checkout">. This script:
 * - turns the sandbox's test card numbers into sandbox payment methods in the browser
 *   (no card number, expiry or code is ever sent), or reads a mobile-money number;
 * - posts {client_secret, payment_method} to /checkout/{order}/pay and follows the answer
 *   (the receipt, the provider's page, or a message to show);
 * - follows the payment live with payedge.js (WebSocket, long-poll fallback) using the
 *   client secret, and re-renders (reload) or goes to the receipt when it changes.
 */
(function () {
  "use strict";

  var TEST_CARDS = {
    "4242424242424242": "pm_sandbox_ok",
    "4000000000000002": "pm_sandbox_decline",
    "4000000000003220": "pm_sandbox_async",
    "4000000000000119": "pm_sandbox_unavailable",
  };

  function $(id) { return document.getElementById(id); }

  function showMessage(text) {
    var box = $("message");
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
  }

  function printButton() {
    var button = $("print-button");
    if (button) button.addEventListener("click", function () { window.print(); });
  }

  function methodFor(form) {
    var kind = form.dataset.kind;
    if (kind === "card") {
      var digits = $("card-number").value.replace(/[\s-]/g, "");
      var method = TEST_CARDS[digits] || null;
      $("card-error").hidden = method !== null;
      return method === null ? undefined : method;
    }
    if (kind === "phone") {
      var phone = $("phone").value.replace(/[\s+().-]/g, "");
      var ok = /^[0-9]{5,15}$/.test(phone);
      $("phone-error").hidden = ok;
      return ok ? "msisdn:" + phone : undefined;
    }
    if (kind === "hosted") return form.dataset.method;
    return null; // "confirm": the method the merchant attached
  }

  var paying = false; // a pay request is out: its answer decides where the page goes

  var KEPT = "payedge.checkout:";

  function keep(main) {
    try {
      window.sessionStorage.setItem(KEPT + main.dataset.payment, window.location.href);
    } catch (err) {
      /* storage refused (private mode): the return page then says the payment is being confirmed */
    }
  }

  function follow(main, answer) {
    if (answer.receipt_url) { window.location.assign(answer.receipt_url); return; }
    if (answer.redirect_url) {
      // The provider sends the payer back to /checkout/payments/<id>: remember, in this tab only,
      // which checkout that is (its address holds the client secret, which never goes to the provider).
      keep(main);
      window.location.assign(answer.redirect_url);
      return;
    }
    main.dataset.version = String(answer.version);
    main.dataset.status = answer.payment_status;
    showMessage(answer.message);
    if (answer.order_status !== "pending" || answer.payment_status === "processing") {
      // The form changes (canceled, waiting at the provider): the server renders it.
      window.location.reload();
    }
  }

  function pay(main, form) {
    var method = methodFor(form);
    if (method === undefined) return;
    var button = $("pay-button");
    button.disabled = true;
    paying = true;
    showMessage("");
    fetch(main.dataset.payUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ client_secret: main.dataset.secret, payment_method: method }),
      credentials: "same-origin",
      cache: "no-store",
    })
      .then(function (resp) { return resp.json(); })
      .then(function (answer) {
        button.disabled = false;
        paying = false;
        if (answer.error) { showMessage(answer.message || answer.error.message); return; }
        follow(main, answer);
      })
      .catch(function () {
        button.disabled = false;
        paying = false;
        window.location.reload();
      });
  }

  function watch(main) {
    if (typeof window.PayedgeStatus !== "function") return;
    var rendered = Number(main.dataset.version);
    var live = window.PayedgeStatus({ clientSecret: main.dataset.secret });
    live.watch(main.dataset.payment, function (status) {
      main.dataset.liveVersion = String(status.version);
      $("live-status").dataset.status = status.status;
      if (status.status === "succeeded") {
        window.location.assign(main.dataset.receiptUrl);
        return;
      }
      if (paying || status.version <= Math.max(rendered, Number(main.dataset.version))) return;
      rendered = status.version;
      if (status.status !== main.dataset.status) window.location.reload();
    });
  }

  function backFromProvider() {
    var back = $("returned");
    if (!back) return;
    var kept = null;
    try { kept = window.sessionStorage.getItem(KEPT + back.dataset.payment); } catch (err) { kept = null; }
    if (kept && kept.indexOf(window.location.origin + "/checkout/") === 0) {
      window.location.replace(kept);
    } else {
      $("returning").hidden = true;
      $("returned-text").hidden = false;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    printButton();
    backFromProvider();
    var main = $("checkout");
    if (!main) return;
    var link = $("redirect-link");
    if (link) link.addEventListener("click", function () { keep(main); });
    var form = $("pay-form");
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        pay(main, form);
      });
    }
    watch(main);
  });
})();
