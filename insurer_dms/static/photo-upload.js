// Evidence photos on the contractor's close form: ask for a presigned URL, PUT the file straight to object
// storage with its Content-Type, then register it; progress and errors are shown per photo.
(function () {
  "use strict";
  var section = document.getElementById("photos");
  if (!section) return;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var msg = section.dataset;
  var allowed = ["image/jpeg", "image/png"];
  // Work-order evidence names each photo's kind; ticket photos (data-with-kind="false") have none.
  var withKind = msg.withKind !== "false";

  function body(kind, fields) {
    if (withKind) fields.kind = kind;
    return fields;
  }

  function apiPost(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body)
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (!resp.ok) throw new Error(describe(data) || msg.msgFailed);
        return data;
      });
    });
  }

  function describe(data) {
    if (!data || !data.message) return "";
    var details = [];
    Object.keys(data.errors || {}).forEach(function (field) { details = details.concat(data.errors[field]); });
    return details.length ? details.join(" ") : data.message;
  }

  function sameOrigin(url) {
    return new URL(url, window.location.href).origin === window.location.origin;
  }

  // XMLHttpRequest rather than fetch: it reports upload progress.
  function put(upload, file, progress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(upload.method || "PUT", upload.url);
      Object.keys(upload.headers || {}).forEach(function (name) { xhr.setRequestHeader(name, upload.headers[name]); });
      // Our own upload target sees the session cookie, so it wants the CSRF token; S3 must not get extra headers.
      if (sameOrigin(upload.url)) xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.upload.onprogress = function (e) { if (e.lengthComputable) progress.value = Math.round(90 * e.loaded / e.total); };
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) return resolve();
        var data = {};
        try { data = JSON.parse(xhr.responseText); } catch (err) { /* S3 answers XML */ }
        reject(new Error(describe(data) || msg.msgFailed + " (" + xhr.status + ")"));
      };
      xhr.onerror = function () { reject(new Error(msg.msgFailed)); };
      xhr.send(file);
    });
  }

  function show(kind, text, state) {
    var status = document.getElementById("photo-status-" + kind);
    status.textContent = text;
    status.className = "photo-status " + (state || "");
    status.dataset.done = state === "ok" ? "yes" : "no";
  }

  // Times come formatted by the server (Asia/Shanghai), so they read the same now and after a reload.
  function doneText(photo) {
    var text = msg.msgDone + (photo.uploaded_local ? " " + photo.uploaded_local : "");
    return text + " · " + (photo.captured_local ? msg.msgTaken + " " + photo.captured_local : msg.msgNoTime);
  }

  // The thumbnail, linking to the full-size photo, from the registration's answer (no reload).
  function showThumbnail(kind, photo) {
    var slot = document.getElementById("photo-thumb-" + kind);
    if (!slot || !photo.thumbnail_url) return;
    var link = document.createElement("a");
    link.href = photo.view_url;
    link.target = "_blank";
    link.rel = "noopener";
    link.className = "evidence-link";
    link.id = "evidence-link-" + photo.id;
    var img = document.createElement("img");
    img.src = photo.thumbnail_url;
    img.alt = "";
    img.className = "evidence-thumb";
    img.id = "evidence-thumb-" + photo.id;
    link.appendChild(img);
    slot.replaceChildren(link);
  }

  function upload(input) {
    var kind = input.dataset.kind;
    var file = input.files && input.files[0];
    var progress = document.getElementById("photo-progress-" + kind);
    if (!file) return;
    if (allowed.indexOf(file.type) < 0) return show(kind, msg.msgType, "error");
    if (file.size > Number(msg.maxBytes)) return show(kind, msg.msgTooBig, "error");
    progress.hidden = false;
    progress.value = 0;
    show(kind, msg.msgUploading, "busy");
    apiPost(msg.presignUrl, body(kind, { content_type: file.type, size: file.size }))
      .then(function (grant) {
        return put(grant, file, progress).then(function () {
          show(kind, msg.msgRegistering, "busy");
          return apiPost(msg.registerUrl, body(kind, { key: grant.key }));
        });
      })
      .then(function (photo) {
        progress.value = 100;
        show(kind, doneText(photo), "ok");
        showThumbnail(kind, photo);
      })
      .catch(function (err) {
        progress.hidden = true;
        show(kind, err.message, "error");
      });
  }

  Array.prototype.forEach.call(section.querySelectorAll("input.photo-input"), function (input) {
    input.addEventListener("change", function () { upload(input); });
  });
})();
