/* /set-password?token=...: the one-time link from the welcome (or reset) email. */
"use strict";

(function () {
  const form = document.getElementById("set-password-form");
  const errorBox = document.getElementById("set-password-error");
  const newLink = document.getElementById("new-link");
  const minLength = Number(form.elements.password.getAttribute("minlength"));

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const password = form.elements.password.value;
    if (password.length < minLength) {
      window.apranova.show(errorBox, "Use at least " + minLength + " characters.", "error");
      form.elements.password.focus();
      return;
    }
    if (password !== form.elements.confirm.value) {
      window.apranova.show(errorBox, "The two passwords are different.", "error");
      form.elements.confirm.focus();
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    errorBox.textContent = "";
    try {
      const result = await window.apranova.postJson("/api/accounts/set-password/", {
        token: form.dataset.token,
        password: password,
      });
      if (result.ok) {
        window.location.assign("/login?password_set=1");
        return;
      }
      window.apranova.show(
        errorBox,
        window.apranova.errorMessage(result.body, "This link cannot be used. Ask for a new one below."),
        "error",
      );
      if (result.status === 400 || result.status === 410) {
        /* The token itself is refused: only a new link helps. */
        form.hidden = true;
        newLink.hidden = false;
        document.getElementById("reset-email").focus();
        return;
      }
    } catch (error) {
      window.apranova.show(errorBox, "We could not reach the server. Please try again.", "error");
    }
    button.disabled = false;
  });
})();
