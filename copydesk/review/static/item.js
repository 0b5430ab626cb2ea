// Copydesk review: while an item is being regenerated, ask the server every few seconds
// whether the new text is back, show where it is, and reload the page when it is done.
// Loaded only on an item page in that state; no inline code (CSP).
(function () {
  "use strict";

  var notice = document.getElementById("regenerating");
  if (!notice || !window.fetch) return;
  var url = notice.getAttribute("data-progress");
  var words = document.getElementById("progress-words");
  var status = document.getElementById("item-status");
  var INTERVAL_MS = 2000;
  var tries = 0;

  function poll() {
    tries += 1;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) {
          window.location.reload(); // signed out: the page sends the editor to sign in
          return null;
        }
        return response.ok ? response.json() : null;
      })
      .then(function (state) {
        if (state && !state.in_progress) {
          window.location.reload();
          return;
        }
        if (state && state.status) {
          if (words) words.textContent = state.status;
          if (status) status.textContent = state.status;
        }
        // slower after the first minute, so a forgotten tab asks little of the server
        window.setTimeout(poll, tries < 30 ? INTERVAL_MS : INTERVAL_MS * 5);
      })
      .catch(function () {
        window.setTimeout(poll, INTERVAL_MS * 5);
      });
  }

  window.setTimeout(poll, INTERVAL_MS);
})();
