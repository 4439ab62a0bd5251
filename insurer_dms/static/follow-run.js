// Follow a background run (a statement's reconciliation, an audit): poll the element's data-url every 2 s while it
// is queued or running, move its progress bar if it has one, and reload the page when the run has ended.
(function () {
  "use strict";
  var box = document.querySelector("[data-follow-run]");
  if (!box) return;
  var bar = document.getElementById(box.dataset.progressBar || "");
  var text = document.getElementById(box.dataset.progressText || "");

  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (run) {
        if (!run) { setTimeout(poll, 5000); return; }
        if (bar && run.progress != null) { bar.value = run.progress; }
        if (text && run.progress != null) { text.textContent = run.progress + "%"; }
        if (run.status !== "queued" && run.status !== "running") { location.reload(); return; }
        setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
