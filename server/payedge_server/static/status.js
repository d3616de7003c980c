/* The live-status demo page (status.html?payment=<id>&client_secret=<its client secret>). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var params = new URLSearchParams(window.location.search);
    var paymentId = params.get("payment") || "";
    var el = document.getElementById("status");
    document.getElementById("payment").textContent = paymentId;
    if (!paymentId) {
      el.textContent = "add ?payment=<id>&client_secret=<its client secret> to the address";
      return;
    }
    var live = window.PayedgeStatus({ baseUrl: window.location.origin, clientSecret: params.get("client_secret") || "" });
    live.watch(paymentId, function (status, info) {
      el.textContent = status.status;
      el.className = status.status;
      el.dataset.status = status.status;
      el.dataset.version = String(status.version);
      document.getElementById("version").textContent = String(status.version);
      document.getElementById("transport").textContent = info.transport;
    });
  });
})();
