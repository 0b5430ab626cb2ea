// Copydesk review: keyboard shortcuts on the item page and "select all" on the queue.
// Our own small script, no dependencies; loaded with `defer`, no inline code (CSP).
(function () {
  "use strict";

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function byId(id) {
    return document.getElementById(id);
  }

  function focusField(id, detailsId) {
    if (detailsId && byId(detailsId)) byId(detailsId).open = true;
    var field = byId(id);
    if (!field) return false;
    field.scrollIntoView({ block: "center" });
    field.focus();
    return true;
  }

  function toggleHelp() {
    var help = byId("shortcut-help");
    if (help) help.hidden = !help.hidden;
  }

  function approve() {
    var button = byId("approve-button");
    if (!button) return false;
    if (button.disabled) {
      var why = byId("approve-blocked");
      if (why) why.classList.add("flash-blocked");
      return true;
    }
    var form = byId("approve-form");
    if (form.requestSubmit) form.requestSubmit(button);
    else form.submit();
    return true;
  }

  function next() {
    var link = byId("next-link");
    if (!link) return false;
    window.location.assign(link.href);
    return true;
  }

  function firstEditBox() {
    var box = document.querySelector(".edit-box");
    return box ? box.id : null;
  }

  var actions = {
    a: approve,
    r: function () { return focusField("reject-reason"); },
    e: function () { var id = firstEditBox(); return id ? focusField(id, "edit-details") : false; },
    g: function () { return focusField("regenerate-notes"); },
    n: next,
    j: next,
    "?": function () { toggleHelp(); return true; }
  };

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && typing(event.target)) {
      event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (typing(event.target)) return;
    if (!document.body.classList.contains("page-item")) return;
    var action = actions[event.key];
    if (action && action()) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var all = byId("select-all");
    if (all) {
      all.addEventListener("change", function () {
        document.querySelectorAll("input.pick").forEach(function (box) {
          if (!box.disabled) box.checked = all.checked;
        });
      });
    }
  });
})();
