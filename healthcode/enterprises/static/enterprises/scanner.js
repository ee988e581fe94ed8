// The scanner page (一码通城 扫一扫). Three ways in — the camera, a photo of the code, a
// pasted payload — all end in the same found() → verify() path: POST /api/v1/scans with the
// enterprise, then, with temperature and symptoms, record health attendance. Decoding is
// done here in the browser by the vendored jsQR; the server only verifies and records.
(function () {
  "use strict";
  var root = document.getElementById("scanner");
  if (!root || typeof window.jsQR !== "function") return;

  var t = root.dataset; // translated texts (data-t-*) and the endpoints
  var enterprise = parseInt(root.dataset.enterprise, 10);
  var $ = function (id) { return document.getElementById(id); };
  var video = $("camera-view"), canvas = $("qr-canvas");
  var ctx = canvas.getContext("2d", { willReadFrequently: true });
  var payloadField = $("payload");
  var result = $("scan-result"), form = $("record-form"), attendanceResult = $("attendance-result");
  var current = null; // the payload last verified successfully

  function text(key) { return t["t" + key.charAt(0).toUpperCase() + key.slice(1)] || ""; }
  function status(id, message) { $(id).textContent = message || ""; }
  function show(el, yes) { el.hidden = !yes; }

  // --- talking to the API ---------------------------------------------------------------------

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function post(body) {
    return fetch(root.dataset.scanUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  // The messages of an error answer: {"errors": {field: [..]}} or {"error", "detail"}.
  function messages(data) {
    if (data && data.errors) {
      var out = [];
      Object.keys(data.errors).forEach(function (field) {
        data.errors[field].forEach(function (m) { out.push(m); });
      });
      return out;
    }
    return [(data && data.detail) || text("failed")];
  }

  function fillList(el, items) {
    el.textContent = "";
    (items || []).forEach(function (item) {
      var li = document.createElement("li");
      li.textContent = item.text + (item.from_date ? " (" + item.from_date + ")" : "");
      if (item.rule) li.dataset.rule = item.rule;
      el.appendChild(li);
    });
  }

  // --- showing an answer ----------------------------------------------------------------------

  function showError(message) {
    show(result, true);
    show($("scan-ok"), false);
    $("scan-error").textContent = message;
    show($("scan-error"), true);
    show(form, false);
  }

  function showAnswer(answer) {
    if (!answer.valid) {
      current = null;
      showError(answer.detail || answer.error || text("failed"));
      return;
    }
    show(result, true);
    show($("scan-error"), false);
    var badge = $("scan-color");
    badge.className = "badge " + answer.color;
    badge.textContent = text("color" + answer.color.charAt(0).toUpperCase() + answer.color.slice(1)) || answer.color;
    badge.dataset.color = answer.color;
    $("scan-name").textContent = answer.name || "";
    var employee = $("scan-employee");
    employee.textContent = answer.employee_here
      ? text("employeeYes") + (answer.department ? " · " + answer.department : "")
      : text("employeeNo");
    employee.dataset.employee = answer.employee_here ? "yes" : "no";
    $("scan-checkin").textContent = answer.checked_in_today ? text("checkedIn") : text("notCheckedIn");
    var verdict = $("verdict");
    verdict.textContent = answer.verdict_text || "";
    verdict.dataset.verdict = answer.verdict || "";
    verdict.className = "color-" + answer.color;
    var why = answer.color !== "green";
    fillList($("scan-reasons"), why ? answer.reasons : []);
    fillList($("scan-path"), why ? (answer.path_to_green || []).filter(function (s) { return !s.done; }) : []);
    show($("scan-why"), why);
    show($("scan-ok"), true);
    show(form, true);
  }

  function showAttendance(record) {
    attendanceResult.textContent = "";
    var head = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = text("recorded") + " · " + record.name + " · " + record.verdict_text;
    head.appendChild(strong);
    var details = document.createElement("p");
    details.textContent = text("temperature") + " " + record.temperature.toFixed(1) + " °C" +
      (record.abnormal_temperature ? " (" + text("abnormal") + ")" : "") + " · " +
      text("symptoms") + " " + (record.symptoms.length ? symptomLabels(record.symptoms).join("、") : text("none")) +
      " · " + new Date(record.at).toLocaleTimeString();
    attendanceResult.appendChild(head);
    attendanceResult.appendChild(details);
    attendanceResult.dataset.attendance = String(record.id);
    attendanceResult.dataset.verdict = record.verdict;
    show(attendanceResult, true);
  }

  function symptomLabels(codes) {
    return codes.map(function (code) {
      var box = document.getElementById("symptom-" + code);
      return box && box.parentNode ? box.parentNode.textContent.trim() : code;
    });
  }

  // --- verify, then record --------------------------------------------------------------------

  function verify(payload) {
    payload = (payload || "").trim();
    show(attendanceResult, false);
    show($("record-errors"), false);
    if (!payload) { showError(text("empty")); return; }
    post({ payload: payload, enterprise: enterprise }).then(function (r) {
      if (!r.ok) { current = null; showError(messages(r.data).join(" ")); return; }
      current = r.data.valid ? payload : null;
      showAnswer(r.data);
      status("decode-status", "");
    }).catch(function () { showError(text("failed")); });
  }

  function found(data) {
    payloadField.value = data;
    status("decode-status", text("decoded"));
    verify(data);
  }

  function record(event) {
    event.preventDefault();
    var errors = $("record-errors");
    show(errors, false);
    if (!current) { showError(text("empty")); return; }
    var symptoms = Array.prototype.map.call(
      form.querySelectorAll("input[name=symptoms]:checked"), function (box) { return box.value; }
    );
    var raw = $("temperature").value.trim();
    var button = $("record");
    button.disabled = true;
    post({ payload: current, enterprise: enterprise, temperature: raw === "" ? null : raw, symptoms: symptoms })
      .then(function (r) {
        if (!r.ok || !r.data.valid) {
          errors.textContent = "";
          (r.ok ? [r.data.detail || r.data.error] : messages(r.data)).forEach(function (m) {
            var li = document.createElement("li");
            li.textContent = m;
            errors.appendChild(li);
          });
          show(errors, true);
          return;
        }
        showAnswer(r.data); // the colour and verdict after this check-in
        showAttendance(r.data.attendance);
        form.reset();
      })
      .catch(function () { errors.textContent = text("failed"); show(errors, true); })
      .then(function () { button.disabled = false; });
  }

  // --- decoding pixels with jsQR --------------------------------------------------------------

  // Draw the source at most `max` pixels on its long side and look for a QR code.
  function decodeAt(source, width, height, max, inversion) {
    var scale = Math.min(1, max / Math.max(width, height));
    var w = Math.max(1, Math.round(width * scale)), h = Math.max(1, Math.round(height * scale));
    canvas.width = w;
    canvas.height = h;
    ctx.drawImage(source, 0, 0, w, h);
    var pixels = ctx.getImageData(0, 0, w, h);
    var code = window.jsQR(pixels.data, w, h, { inversionAttempts: inversion });
    return code && code.data ? code.data : null;
  }

  // Photos vary: try a moderate size first (fast, and smooths sensor noise), then larger.
  function decodeImage(image) {
    var width = image.naturalWidth || image.width, height = image.naturalHeight || image.height;
    var tried = {};
    var sizes = [1024, 1600, 640, 2400];
    for (var i = 0; i < sizes.length; i++) {
      var side = Math.min(sizes[i], Math.max(width, height));
      if (tried[side]) continue;
      tried[side] = true;
      var data = decodeAt(image, width, height, side, "attemptBoth");
      if (data) return data;
    }
    return null;
  }

  function onImage() {
    var file = this.files && this.files[0];
    if (!file) return;
    status("decode-status", text("decoding"));
    var url = URL.createObjectURL(file);
    var image = new Image();
    image.onload = function () {
      URL.revokeObjectURL(url);
      var data = decodeImage(image);
      if (data) found(data); else status("decode-status", text("notFound"));
    };
    image.onerror = function () { URL.revokeObjectURL(url); status("decode-status", text("badImage")); };
    image.src = url;
  }

  // --- the camera -----------------------------------------------------------------------------

  var stream = null;

  function stopCamera() {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.srcObject = null;
    show(video, false);
    show($("stop-camera-box"), false);
    show($("start-camera-box"), true);
    status("camera-status", "");
  }

  function frame() {
    if (!stream) return;
    if (video.readyState >= video.HAVE_ENOUGH_DATA && video.videoWidth) {
      var data = decodeAt(video, video.videoWidth, video.videoHeight, 640, "dontInvert");
      if (data) { stopCamera(); found(data); return; }
    }
    window.requestAnimationFrame(frame);
  }

  function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      status("camera-status", text("cameraUnavailable"));
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        show(video, true);
        show($("start-camera-box"), false);
        show($("stop-camera-box"), true);
        status("camera-status", text("cameraScanning"));
        return video.play();
      })
      .then(function () { window.requestAnimationFrame(frame); })
      .catch(function () { stopCamera(); status("camera-status", text("cameraUnavailable")); });
  }

  $("start-camera").addEventListener("click", startCamera);
  $("stop-camera").addEventListener("click", stopCamera);
  $("qr-image").addEventListener("change", onImage);
  $("verify").addEventListener("click", function () { verify(payloadField.value); });
  form.addEventListener("submit", record);
  window.addEventListener("pagehide", stopCamera);
})();
