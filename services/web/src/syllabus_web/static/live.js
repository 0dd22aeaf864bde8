// Live updates: listen to the person's stream (relayed by the web at /live) and, when an
// event concerns this page, fetch the page again and swap its <main> in place. The page
// says what it shows in <main data-live="…">: "home" (My courses), "course:<id>" or
// "post:<course id>:<post id>". Without this script the page is the same, only static.
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
    if (type === "progress") return page.kind === "home" || data.course_id === page.course;
    if (type === "grade") {
      if (page.kind === "post") return data.post_id === page.post;
      return true; // My courses, a course page and grades show scores
    }
    return false;
  }

  function refresh(consistency) {
    if (running) { pending = consistency || pending || ""; return; }
    running = true;
    var headers = { "X-Fragment": "main" };
    if (consistency) headers["Syllabus-Consistency"] = consistency;
    fetch(window.location.href, { headers: headers, credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var focused = document.activeElement && document.activeElement.id;
        main.innerHTML = html;
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
    ["progress", "grade", "reset"].forEach(listen);
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
