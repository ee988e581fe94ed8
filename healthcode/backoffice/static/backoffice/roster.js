// The roster page's background export: poll the job's progress from the API (same-origin
// back-office session) until it is done or failed, move the progress bar, and then show the
// download link. Text goes in with textContent only.
(function () {
  "use strict";
  var root = document.getElementById("job");
  var bar = document.getElementById("job-progress");
  if (!root || !bar) return;
  var url = root.dataset.statusUrl;
  var statusText = document.getElementById("job-status");
  var counts = document.getElementById("job-counts");
  var link = document.getElementById("job-download");
  var delay = 1000;

  function show(job) {
    bar.value = job.percent;
    bar.textContent = job.percent + "%";
    bar.dataset.status = job.status;
    var text = root.dataset.tRunning;
    if (job.status === "done") text = root.dataset.tDone;
    if (job.status === "failed") text = root.dataset.tFailed + (job.error || "");
    statusText.firstChild.textContent = text + " ";
    counts.textContent = job.done + " / " + job.total;
    if (job.status === "done" && job.has_file) link.hidden = false;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        show(data.job);
        if (data.job.status !== "done" && data.job.status !== "failed") {
          window.setTimeout(poll, delay);
        }
      })
      .catch(function () {
        // A network hiccup: try again, more slowly.
        delay = Math.min(delay * 2, 10000);
        window.setTimeout(poll, delay);
      });
  }

  if (bar.dataset.status !== "done" && bar.dataset.status !== "failed") poll();
})();
