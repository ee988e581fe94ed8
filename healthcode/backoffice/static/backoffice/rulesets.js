// The rule-set page: follow the background jobs (a dry run, the re-derivation of every code)
// by polling GET /api/v1/admin/rulesets/jobs/<id> (same-origin session), updating the progress
// bar in place; a finished dry run reloads the page, which then shows its counts. Editing the
// data after a dry run disables "publish": only exactly the dry-run data may be published.
(function () {
  "use strict";

  function follow(bar) {
    var url = bar.dataset.jobUrl;
    var status = document.getElementById(bar.dataset.statusTarget);
    var reload = bar.dataset.reloadWhenDone === "1";

    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (job) {
          bar.max = job.total || 1;
          bar.value = job.done;
          if (status) {
            var text = job.done + " / " + job.total + " (" + job.percent + "%)";
            if (job.status === "failed") text += " · " + job.error;
            if (job.status === "done" && job.result && job.result.changed !== undefined &&
                bar.dataset.tChanged) {
              text += " · " + bar.dataset.tChanged.replace("%s", String(job.result.changed));
            }
            status.textContent = text;
          }
          if (job.status === "done" || job.status === "failed") {
            if (reload) window.location.reload();
            return;
          }
          window.setTimeout(tick, 1000);
        })
        .catch(function () {
          window.setTimeout(tick, 5000);
        });
    }

    tick();
  }

  var bars = document.querySelectorAll("progress[data-job-url]");
  for (var i = 0; i < bars.length; i++) follow(bars[i]);

  var data = document.getElementById("id_data");
  var publish = document.getElementById("publish");
  var edited = document.getElementById("publish-edited");
  if (data && publish) {
    var original = data.value;
    var allowed = !publish.disabled;
    data.addEventListener("input", function () {
      var changed = data.value !== original;
      publish.disabled = changed || !allowed;
      if (edited) edited.hidden = !changed;
    });
  }
})();
