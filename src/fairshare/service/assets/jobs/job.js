/* fairshare: keep a job's page up to date by polling its status (no library, no CDN).
   Writes the same sentence the server writes into the role="status" line (announced by
   screen readers) and the <progress> bar; stops when the job has finished. */
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.getAttribute("data-finished") === "true" || !window.fetch) { return; }
  var url = box.getAttribute("data-status-url");
  var every = parseInt(box.getAttribute("data-poll-ms"), 10) || 2000;
  var wait = every;
  var line = document.getElementById("job-status-line");
  var bar = document.getElementById("job-progress");
  var errorBox = document.getElementById("job-error");
  var errorText = document.getElementById("job-error-text");
  var result = document.getElementById("job-result");
  var runId = document.getElementById("job-run-id");
  var started = document.getElementById("job-started");
  var ended = document.getElementById("job-ended");
  var cancel = document.getElementById("job-cancel");

  function when(iso) { return iso ? iso.slice(0, 19).replace("T", " ") + " UTC" : "not yet"; }

  function show(job) {
    if (line.textContent !== job.status_line) { line.textContent = job.status_line; }
    bar.value = job.percent;
    bar.textContent = job.percent + "%";
    if (job.error) { errorText.textContent = job.error; errorBox.hidden = false; }
    if (job.run_id) { runId.textContent = job.run_id; result.hidden = false; }
    if (job.started_at) { started.textContent = when(job.started_at); }
    if (job.finished_at) { ended.textContent = when(job.finished_at); }
    if (job.finished && cancel) { cancel.hidden = true; }
    box.setAttribute("data-finished", job.finished ? "true" : "false");
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (job) {
        wait = every;
        show(job);
        if (!job.finished) { window.setTimeout(poll, wait); }
      })
      .catch(function () {
        wait = Math.min(wait * 2, 60000);  /* the server is busy or restarting: ask less often */
        window.setTimeout(poll, wait);
      });
  }
  window.setTimeout(poll, every);
})();
