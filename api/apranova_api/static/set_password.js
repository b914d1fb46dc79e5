/* /set-password: say at once when the password is too short or the two differ; the form itself
   posts as plain HTML and the server checks everything again. */
"use strict";

(function () {
  const form = document.getElementById("set-password-form");
  const errorBox = document.getElementById("set-password-error");
  const minLength = Number(form.elements.password.getAttribute("minlength"));

  form.addEventListener("submit", function (event) {
    const password = form.elements.password.value;
    let problem = null;
    let field = null;
    if (password.length < minLength) {
      problem = "Use at least " + minLength + " characters.";
      field = form.elements.password;
    } else if (password !== form.elements.confirm.value) {
      problem = "The two passwords are different.";
      field = form.elements.confirm;
    }
    if (problem) {
      event.preventDefault();
      window.apranova.show(errorBox, problem, "error");
      field.focus();
    }
  }, true);
})();
