/* The clinic console's only script (CSP: scripts from this site only, nothing inline).
 *  - the escalation queue refreshes its rows every 5 seconds without reloading the page (GET /queue/rows
 *    answers the <tbody>); a note being typed, and the focus, survive the refresh;
 *  - the patient card's "Print" button. */
(function () {
  "use strict";

  var REFRESH_MS = 5000;

  var printButton = document.getElementById("print-card");
  if (printButton) {
    printButton.addEventListener("click", function () {
      window.print();
    });
  }

  var rows = document.getElementById("queue-rows");
  if (!rows || !window.fetch || !("content" in document.createElement("template"))) {
    return;
  }
  var url = rows.getAttribute("data-refresh");
  var timer = null;
  var busy = false;

  function typing(tbody) {
    var active = document.activeElement;
    return active && tbody.contains(active) && active.tagName === "INPUT" && active.value !== "";
  }

  function swap(html) {
    var current = document.getElementById("queue-rows");
    if (!current || typing(current)) {
      return;
    }
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    var fresh = template.content.querySelector("tbody");
    if (!fresh) {
      return;
    }
    // Keep notes typed into rows that are still there, and the focus.
    var inputs = current.querySelectorAll("input[name=note]");
    for (var i = 0; i < inputs.length; i++) {
      if (inputs[i].value && inputs[i].id) {
        var twin = fresh.querySelector("#" + inputs[i].id);
        if (twin) {
          twin.value = inputs[i].value;
        }
      }
    }
    var active = document.activeElement;
    var focusId = active && current.contains(active) && active.id ? active.id : null;
    var focusAction = null;
    if (!focusId && active && current.contains(active) && active.form) {
      focusAction = active.form.getAttribute("action");
    }
    current.parentNode.replaceChild(fresh, current);
    if (focusId) {
      var again = document.getElementById(focusId);
      if (again) {
        again.focus();
      }
    } else if (focusAction) {
      var form = fresh.querySelector('form[action="' + focusAction + '"] button');
      if (form) {
        form.focus();
      }
    }
  }

  function refresh() {
    if (busy || document.hidden) {
      return;
    }
    busy = true;
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.redirected || response.status === 401 || response.status === 403) {
          // Signed out (the session expired): stop; the next click goes to the sign-in page.
          window.clearInterval(timer);
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html) {
          swap(html);
        }
      })
      .catch(function () {
        /* offline for a moment: try again at the next tick */
      })
      .then(function () {
        busy = false;
      });
  }

  timer = window.setInterval(refresh, REFRESH_MS);
})();
