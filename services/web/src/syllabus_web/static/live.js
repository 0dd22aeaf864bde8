// Live updates: listen to the person's stream (relayed by the web at /live) and, when an
// event concerns this page, fetch the page again and swap its <main> in place. The page
// says what it shows in <main data-live="…">: "home" (My courses), "course:<id>",
// "post:<course id>:<post id>", and for a course's teachers "roster:<course id>" (its
// students, its gradebook) or "grading:<course id>" (its grading queue). Without this
// script the page is the same, only static.
(function () {
  "use strict";
  var main = document.getElementById("main");
  if (!main || !window.EventSource || !window.fetch) return;
  var parts = (main.getAttribute("data-live") || "").split(":");
  var page = { kind: parts[0], course: parts[1] || null, post: parts[2] || null };
  var source = null;
  var retry = 1000;
  var pending = null; // a refresh asked for while one is running
  var running = false;

  function concerns(type, data) {
    if (type === "reset") return true;
    if (page.kind === "roster" || page.kind === "grading") {
      // A row of the course's roster or gradebook changed (a grade given elsewhere too);
      // new work waits for a grade in one of the courses it names.
      if (type === "roster") return data.course_id === page.course;
      if (type === "submission") {
        return page.kind === "grading" && (data.course_ids || []).indexOf(page.course) >= 0;
      }
      return false;
    }
    if (type === "progress") return page.kind === "home" || data.course_id === page.course;
    if (type === "grade") {
      if (page.kind === "post") return data.post_id === page.post;
      return true; // My courses, a course page and grades show scores
    }
    return false;
  }

  // What the person typed into the page's fields (by id): kept across a swap, so an
  // update never loses it. A field the server filled from a refused form (data-typed)
  // counts as typed too.
  function typedValues() {
    var kept = {};
    var fields = main.querySelectorAll("input[id], textarea[id], select[id]");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.type === "hidden" || f.type === "checkbox" || f.type === "radio") continue;
      var changed = f.tagName === "SELECT" ? f.selectedIndex >= 0 && !f.options[f.selectedIndex].defaultSelected
        : f.value !== f.defaultValue;
      if (changed || f.hasAttribute("data-typed")) kept[f.id] = f.value;
    }
    return kept;
  }

  function restore(kept) {
    for (var id in kept) {
      var f = document.getElementById(id);
      if (f && main.contains(f)) f.value = kept[id];
    }
  }

  function refresh(consistency) {
    // A page showing a form's problems waits: the person is correcting it, and the
    // problems would go with the swap. The next page they load is up to date.
    if (main.querySelector(".error-summary")) return;
    if (running) { pending = consistency || pending || ""; return; }
    running = true;
    var headers = { "X-Fragment": "main" };
    if (consistency) headers["Syllabus-Consistency"] = consistency;
    fetch(window.location.href, { headers: headers, credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var focused = document.activeElement && document.activeElement.id;
        var kept = typedValues();
        main.innerHTML = html;
        restore(kept);
        if (focused) {
          var again = document.getElementById(focused);
          if (again) again.focus();
        }
        main.dispatchEvent(new CustomEvent("syllabus:updated", { bubbles: true }));
      })
      .catch(function () {})
      .then(function () {
        running = false;
        if (pending !== null) { var next = pending; pending = null; refresh(next); }
      });
  }

  function listen(type) {
    source.addEventListener(type, function (event) {
      var data = {};
      try { data = JSON.parse(event.data || "{}"); } catch (e) { data = {}; }
      if (concerns(type, data)) refresh(data.consistency);
    });
  }

  function connect() {
    source = new EventSource("/live");
    ["progress", "grade", "roster", "submission", "reset"].forEach(listen);
    source.addEventListener("ready", function () {
      retry = 1000;
      main.setAttribute("data-live-state", "listening"); // for people's tools and tests
    });
    source.onerror = function () {
      // The browser reconnects by itself while the stream only dropped; when the relay
      // refused (signed out, too many streams, not there yet), try again later, slower.
      main.setAttribute("data-live-state", "reconnecting");
      if (source.readyState === EventSource.CLOSED) {
        source = null;
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 60000);
      }
    };
  }

  connect();
})();
