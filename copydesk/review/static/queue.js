// Copydesk review queue: ask before approving the ticked items, saying how many.
// Our own small script, no dependencies; loaded with `defer`, no inline code (CSP).
// Without it the form still works (no question asked); the server still skips items that
// are no longer waiting for review or have failing checks.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("bulk-form");
    if (!form || !document.getElementById("bulk-approve")) return;
    form.addEventListener("submit", function (event) {
      var count = form.querySelectorAll("input.pick:checked").length;
      if (count === 0) return; // the server asks the editor to select items first
      var question = "Approve " + count + (count === 1 ? " item?" : " items?");
      if (!window.confirm(question)) event.preventDefault();
    });
  });
})();
