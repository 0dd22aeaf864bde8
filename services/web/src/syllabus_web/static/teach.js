// The New post form: show only the fields the chosen kind uses (a text post's body, a
// video's URL, ...). Without this script every field shows, each hint saying which kind
// it is for, and the API ignores nothing: the page sends only the chosen kind's fields.
(function () {
  "use strict";
  function fit(form) {
    if (form.getAttribute("data-kind-fitted")) return;
    form.setAttribute("data-kind-fitted", "true");
    var kind = form.querySelector('select[name="kind"]');
    if (!kind) return;
    function apply() {
      Array.prototype.forEach.call(form.querySelectorAll("[data-kinds]"), function (part) {
        part.hidden = part.getAttribute("data-kinds").split(" ").indexOf(kind.value) < 0;
      });
    }
    kind.addEventListener("change", apply);
    apply();
  }
  function fitAll() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-kind-form]"), fit);
  }
  document.addEventListener("syllabus:updated", fitAll); // <main> swapped (reorder.js)
  fitAll();
})();
