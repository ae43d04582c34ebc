// ServiceD's login page: counts down the code's life and follows the challenge through
// /login/status, so the page says when the phone has scanned it and offers a new code when it
// expires. The page works without it: the PIN form does the rest.
(function () {
  "use strict";
  var qr = document.getElementById("qr");
  if (!qr) { return; }
  var timeLeft = document.getElementById("time-left");
  var status = document.getElementById("status");
  var expiresAt = Number(qr.getAttribute("data-expires-at"));
  var said = status.textContent;

  function say(text) {
    if (text !== said) { status.textContent = text; said = text; }
  }

  function tick() {
    var seconds = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
    timeLeft.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
  }

  function poll() {
    fetch("/login/status", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        var state = body && body.status;
        if (state === "scanned") {
          say("Your phone scanned the code. Type the PIN it shows.");
          document.getElementById("pin").focus();
        } else if (state === "expired" || state === "none") {
          say("This code has expired. Choose \u201cShow a new code\u201d.");
          return;
        } else if (state === "used") {
          return;
        }
        setTimeout(poll, 1500);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }

  tick();
  setInterval(tick, 1000);
  setTimeout(poll, 1000);
}());
