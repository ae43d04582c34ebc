// The login page: counts down the QR code's life and follows its state, so the person knows when
// the phone has scanned it and when to ask for a new code. Works without it, too.
(function () {
  "use strict";
  var qr = document.getElementById("qr");
  if (!qr) { return; }
  var timeLeft = document.getElementById("time-left");
  var status = document.getElementById("status");
  var expiresAt = Number(qr.getAttribute("data-expires-at"));
  var statusUrl = qr.getAttribute("data-status-url");
  var last = "";

  function tick() {
    var seconds = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
    timeLeft.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
  }

  function say(text) {
    if (text !== last) { status.textContent = text; last = text; }
  }

  function poll() {
    fetch(statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        var state = body && body.data && body.data.status;
        if (state === "scanned") { say("Your phone scanned the code. Type the PIN it shows."); document.getElementById("pin").focus(); }
        else if (state === "expired") { say("This code has expired. Choose \u201cShow a new code\u201d."); return; }
        else if (state === "used") { return; }
        setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }

  tick();
  setInterval(tick, 1000);
  setTimeout(poll, 2000);
}());
