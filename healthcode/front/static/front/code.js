// The code page: a live clock, and a fresh signed QR before the current one expires.
(function () {
  "use strict";
  var root = document.getElementById("code");
  if (!root) return;
  var clock = document.getElementById("clock");
  var frame = document.getElementById("qr-frame");
  var label = document.getElementById("color-label");
  var expiresAt = new Date(root.dataset.expiresAt);
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };

  function tick() {
    var now = new Date();
    clock.textContent = now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate()) +
      " " + pad(now.getHours()) + ":" + pad(now.getMinutes()) + ":" + pad(now.getSeconds());
    if (expiresAt - now < 30000) refresh();
  }

  var busy = false;
  function refresh() {
    if (busy) return;
    busy = true;
    fetch(root.dataset.qrUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        frame.innerHTML = data.svg;
        frame.dataset.payload = data.payload;
        frame.className = "frame " + data.color;
        label.className = "badge " + data.color;
        label.textContent = data.color_label;
        expiresAt = new Date(data.expires_at);
        // The electronic work certificate holds only while the code is green.
        var certificate = document.getElementById("e-certificate");
        if (certificate) certificate.hidden = data.color !== "green";
      })
      .catch(function () { /* keep the current code; retry on the next tick */ })
      .then(function () { busy = false; });
  }

  tick();
  setInterval(tick, 1000);
  setInterval(refresh, 60000);
})();
