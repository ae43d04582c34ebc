// The closing banner the gateway inserts into a service's pages. It listens to the gateway's
// events on the service's own host (next to this script), counts down inside the warning window,
// and covers the page with "closed, opens at ..." at closing time. No inline script or style:
// styles are set through the DOM, which a strict Content-Security-Policy allows.
(function () {
  "use strict";
  var banner = document.getElementById("auth-closing-banner");
  var script = document.currentScript;
  if (!banner || !script || !window.EventSource) {
    return;
  }
  var base = script.src.replace(/banner\.js(\?.*)?$/, "");
  var standing = null;
  var skew = 0;

  function css(element, rules) {
    Object.keys(rules).forEach(function (key) {
      element.style[key] = rules[key];
    });
  }
  css(banner, {
    position: "fixed", left: "0", right: "0", bottom: "0", zIndex: "2147483646",
    margin: "0", padding: "0.6em 1em", background: "#fff3cd", color: "#1f1a00",
    borderTop: "2px solid #8a6d00", font: "16px/1.4 system-ui, sans-serif", textAlign: "center"
  });

  function clock(iso) {
    var at = new Date(iso);
    return at.toLocaleString(document.documentElement.lang || undefined, {
      weekday: "long", hour: "2-digit", minute: "2-digit"
    });
  }

  function secondsLeft() {
    if (!standing || !standing.closes_at) {
      return null;
    }
    return Math.max(0, Math.round((new Date(standing.closes_at) - Date.now() - skew) / 1000));
  }

  function draw() {
    if (!standing || !standing.open || !standing.warning) {
      banner.hidden = true;
      return;
    }
    var left = secondsLeft();
    var minutes = Math.floor(left / 60);
    var seconds = String(left % 60).padStart(2, "0");
    banner.textContent = "The system closes in " + minutes + ":" + seconds +
      " (at " + clock(standing.closes_at) + "); save your work.";
    banner.hidden = false;
  }

  function overlay() {
    var existing = document.getElementById("auth-closed-overlay");
    if (standing && standing.open) {
      if (existing) {
        existing.remove();
      }
      return;
    }
    if (existing) {
      return;
    }
    var cover = document.createElement("div");
    cover.id = "auth-closed-overlay";
    cover.setAttribute("role", "alertdialog");
    cover.setAttribute("aria-modal", "true");
    cover.setAttribute("aria-labelledby", "auth-closed-heading");
    cover.tabIndex = -1;
    css(cover, {
      position: "fixed", top: "0", left: "0", right: "0", bottom: "0", zIndex: "2147483647",
      background: "#ffffff", color: "#111111", display: "flex", flexDirection: "column",
      alignItems: "center", justifyContent: "center", padding: "1em",
      font: "18px/1.5 system-ui, sans-serif", textAlign: "center"
    });
    var heading = document.createElement("h2");
    heading.id = "auth-closed-heading";
    heading.textContent = "Closed";
    var text = document.createElement("p");
    text.textContent = standing && standing.opens_at
      ? "The system is closed. It opens again " + clock(standing.opens_at) + "."
      : "The system is closed.";
    cover.appendChild(heading);
    cover.appendChild(text);
    document.body.appendChild(cover);
    cover.focus();
  }

  function update(event) {
    try {
      standing = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    if (standing.seconds_left !== null && standing.closes_at) {
      // The gateway's clock decides; this page counts from it.
      skew = new Date(standing.closes_at) - Date.now() - standing.seconds_left * 1000;
    }
    banner.dataset.state = event.type;
    draw();
    overlay();
  }

  var events = new EventSource(base + "events");
  ["state", "warning", "minute", "closed", "opened", "schedule"].forEach(function (name) {
    events.addEventListener(name, update);
  });
  window.setInterval(draw, 1000);
})();
