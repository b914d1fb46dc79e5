/* Every form posts as plain HTML; this only shows that a submission is under way and stops a
   second click from sending it twice. Forms opt in with data-busy-label. */
"use strict";

(function () {
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (event.defaultPrevented || !form.dataset || !form.dataset.busyLabel) return;
    const button = form.querySelector("button[type=submit]");
    if (!button) return;
    if (form.dataset.submitting === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.submitting = "1";
    button.setAttribute("aria-disabled", "true");
    button.textContent = form.dataset.busyLabel;
  });
  /* Back to a page from the history cache: the form may be sent again. */
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitting]").forEach(function (form) {
      delete form.dataset.submitting;
    });
  });
})();
