// The live status page (实时动态监控): every data-refresh-seconds, fetch the status from the
// API (same-origin session) and update the cards in place, without reloading the page.
// Text goes in with textContent only: names and reasons are never parsed as HTML.
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) return;
  var url = root.dataset.statusUrl;
  var seconds = parseInt(root.dataset.refreshSeconds, 10) || 30;
  var timeZone = root.dataset.timeZone || undefined;
  var errorNote = document.getElementById("refresh-error");

  function clock(iso, withSeconds) {
    var options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: timeZone };
    if (withSeconds) options.second = "2-digit";
    try {
      return new Intl.DateTimeFormat("en-GB", options).format(new Date(iso));
    } catch (e) {
      return iso;
    }
  }

  function setText(id, value) {
    var el = document.getElementById(id);
    if (el) el.textContent = String(value);
  }

  function completion(part) {
    var text = part.done + " / " + part.total;
    if (part.percent !== null && part.percent !== undefined) {
      text += " (" + Number(part.percent).toFixed(1) + "%)";
    }
    return text;
  }

  function span(text, className) {
    var el = document.createElement("span");
    if (className) el.className = className;
    el.textContent = text;
    return el;
  }

  function fillList(id, items, render) {
    var list = document.getElementById(id);
    if (!list) return;
    while (list.firstChild) list.removeChild(list.firstChild);
    if (!items.length) {
      var empty = document.createElement("li");
      empty.className = "help empty";
      empty.textContent = root.dataset.tNone;
      list.appendChild(empty);
      return;
    }
    items.forEach(function (item) {
      var li = document.createElement("li");
      render(li, item);
      list.appendChild(li);
    });
  }

  function renderAbnormal(li, item) {
    var symptoms = item.symptoms.length ? item.symptoms.join("、") : root.dataset.tSymptomsNone;
    li.appendChild(span(item.name + " · " + Number(item.temperature).toFixed(1) + "°C · " + symptoms));
    li.appendChild(span(clock(item.at, false), "help"));
  }

  function renderKey(li, item) {
    var who = span(item.name + " ");
    who.appendChild(span(item.color_label, "badge " + item.color));
    li.appendChild(who);
    li.appendChild(span(item.reason, "help"));
  }

  function update(data) {
    setText("count-employees", data.employees);
    setText("count-green", data.colors.green);
    setText("count-yellow", data.colors.yellow);
    setText("count-red", data.colors.red);
    setText("count-unlinked", data.colors.unlinked);
    setText("count-returned", data.returned_to_work);
    setText("checkin-completion", completion(data.checkin));
    setText("scan-completion", completion(data.scan));
    setText("abnormal-count", data.abnormal.count);
    setText("key-count", data.key_monitored.count);
    fillList("abnormal-list", data.abnormal.items, renderAbnormal);
    fillList("key-list", data.key_monitored.items, renderKey);
    setText("updated-at", clock(data.generated_at, true));
  }

  var busy = false;
  function refresh() {
    if (busy) return;
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (data) {
        update(data);
        if (errorNote) errorNote.hidden = true;
      })
      .catch(function () { if (errorNote) errorNote.hidden = false; })
      .then(function () { busy = false; });
  }

  // Exposed so a browser test can refresh at once instead of waiting 30 s.
  root.refreshStatus = refresh;
  setInterval(refresh, seconds * 1000);
})();
