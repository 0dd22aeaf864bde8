// Drag and drop for the teaching pages' ordered lists (a course's outline, a module's
// posts): <ol class="reorder" data-reorder="<url>"> of <li class="reorder-item" data-id>.
// Without this script the "Move up" / "Move down" buttons do the same, one step at a time.
//
// Each item gets a handle (a button): drag it with a mouse, a pen or a finger; or focus it,
// press Space (or Enter) to pick the item up, the arrow keys to move it, Space again to drop
// it and Escape to put it back. On a drop that changed the order, the whole order is POSTed
// to the list's data-reorder URL (the web's form route, which calls the API's PUT with every
// id), the page's <main> is fetched again and swapped in, and focus returns to the handle.
(function () {
  "use strict";
  var main = document.getElementById("main");
  if (!main || !window.fetch || !window.URLSearchParams) return;
  var status = document.createElement("div"); // said by screen readers; outside <main>
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  document.body.appendChild(status);
  var help = document.createElement("p");
  help.id = "reorder-help";
  help.className = "visually-hidden";
  help.textContent = "Press Space to pick the item up, the arrow keys to move it, " +
    "Space to drop it, Escape to put it back.";
  document.body.appendChild(help);

  function say(text) { status.textContent = ""; setTimeout(function () { status.textContent = text; }, 30); }
  function items(list) { return Array.prototype.filter.call(list.children, function (el) { return el.classList.contains("reorder-item"); }); }
  function ids(list) { return items(list).map(function (el) { return el.getAttribute("data-id"); }); }
  function titleOf(item) { var t = item.querySelector(".item-title"); return t ? t.textContent.trim() : "item"; }
  function place(list, item) { return "position " + (items(list).indexOf(item) + 1) + " of " + items(list).length; }
  function restore(list, order) {
    var byId = {};
    items(list).forEach(function (el) { byId[el.getAttribute("data-id")] = el; });
    order.forEach(function (id) { if (byId[id]) list.appendChild(byId[id]); });
  }

  function commit(list, item, focusAfter) {
    var body = new URLSearchParams();
    var token = document.querySelector('input[name="csrf_token"]');
    body.append("csrf_token", token ? token.value : "");
    ids(list).forEach(function (id) { body.append("order", id); });
    var movedId = item.getAttribute("data-id");
    var title = titleOf(item);
    var where = place(list, item);
    list.setAttribute("aria-busy", "true");
    fetch(list.getAttribute("data-reorder"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Fragment": "main" }, // kept on the redirect: the page's <main> comes back
    })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { window.location.reload(); return; }
        main.innerHTML = html;
        enhanceAll();
        main.dispatchEvent(new CustomEvent("syllabus:updated", { bubbles: true }));
        say("Moved " + title + " to " + where + ".");
        if (focusAfter) {
          var again = main.querySelector('.reorder-item[data-id="' + movedId + '"] .drag-handle');
          if (again) again.focus();
        }
      })
      .catch(function () { window.location.reload(); });
  }

  function enhance(list) {
    if (list.getAttribute("data-enhanced")) return;
    list.setAttribute("data-enhanced", "true");
    list.classList.add("reorder-enhanced");
    items(list).forEach(function (item) {
      var handle = document.createElement("button");
      handle.type = "button";
      handle.className = "drag-handle";
      handle.setAttribute("aria-label", "Reorder " + titleOf(item));
      handle.setAttribute("aria-describedby", "reorder-help");
      handle.setAttribute("aria-pressed", "false");
      handle.innerHTML = '<span aria-hidden="true">⠿</span>';
      item.insertBefore(handle, item.firstChild);
      keyboard(list, item, handle);
      pointer(list, item, handle);
    });
  }

  function keyboard(list, item, handle) {
    var before = null; // the order when the item was picked up
    function drop(keep) {
      if (before === null) return;
      var was = before;
      before = null;
      item.classList.remove("dragging");
      handle.setAttribute("aria-pressed", "false");
      if (!keep) { restore(list, was); handle.focus(); say(titleOf(item) + " put back at " + place(list, item) + "."); return; }
      if (ids(list).join() !== was.join()) commit(list, item, true);
      else say(titleOf(item) + " dropped where it was.");
    }
    handle.addEventListener("keydown", function (event) {
      var key = event.key;
      if (key === " " || key === "Enter") {
        event.preventDefault();
        if (list.getAttribute("aria-busy")) return; // the last move is still being saved
        if (before === null) {
          before = ids(list);
          item.classList.add("dragging");
          handle.setAttribute("aria-pressed", "true");
          say("Picked up " + titleOf(item) + ", " + place(list, item) + ". Arrow keys move it, Space drops it, Escape puts it back.");
        } else {
          drop(true);
        }
      } else if (before !== null && (key === "ArrowUp" || key === "ArrowDown")) {
        event.preventDefault();
        var all = items(list);
        var at = all.indexOf(item);
        if (key === "ArrowUp" && at > 0) list.insertBefore(item, all[at - 1]);
        else if (key === "ArrowDown" && at < all.length - 1) list.insertBefore(item, all[at + 1].nextSibling);
        else return;
        handle.focus();
        say(titleOf(item) + ", " + place(list, item) + ".");
      } else if (before !== null && key === "Escape") {
        event.preventDefault();
        drop(false);
      }
    });
    handle.addEventListener("blur", function () {
      // Moving the item in the list can blur its handle for a moment: only a real leave drops.
      setTimeout(function () { if (document.activeElement !== handle) drop(true); }, 0);
    });
  }

  function pointer(list, item, handle) {
    // Moving the item in the list releases a pointer capture, so the drag follows the
    // pointer on the whole document until it is released.
    var before = null;
    function move(event) {
      var y = event.clientY;
      var others = items(list).filter(function (el) { return el !== item; });
      var target = null;
      for (var i = 0; i < others.length; i++) {
        var box = others[i].getBoundingClientRect();
        if (y < box.top + box.height / 2) { target = others[i]; break; }
      }
      if (target === null) { if (list.lastElementChild !== item) list.appendChild(item); }
      else if (item.nextElementSibling !== target) list.insertBefore(item, target);
    }
    function finish(keep) {
      document.removeEventListener("pointermove", move);
      document.removeEventListener("pointerup", up);
      document.removeEventListener("pointercancel", cancel);
      if (before === null) return;
      var was = before;
      before = null;
      item.classList.remove("dragging");
      if (!keep) { restore(list, was); return; }
      if (ids(list).join() !== was.join()) commit(list, item, false);
    }
    function up() { finish(true); }
    function cancel() { finish(false); }
    handle.addEventListener("pointerdown", function (event) {
      if (event.button !== 0 || list.getAttribute("aria-busy") || before !== null) return;
      event.preventDefault();
      before = ids(list);
      item.classList.add("dragging");
      document.addEventListener("pointermove", move);
      document.addEventListener("pointerup", up);
      document.addEventListener("pointercancel", cancel);
    });
  }

  function enhanceAll() {
    Array.prototype.forEach.call(main.querySelectorAll("ol.reorder[data-reorder]"), enhance);
  }
  enhanceAll();
})();
