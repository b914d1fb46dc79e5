/* "Send me a link": asks the API to email a new set-password link. */
"use strict";

(function () {
  const form = document.getElementById("reset-form");
  const message = document.getElementById("reset-message");

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const email = form.elements.email.value.trim();
    if (!email) {
      window.apranova.show(message, "Enter the email you enrolled with.", "error");
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const result = await window.apranova.postJson("/api/accounts/password-reset/", { email: email });
      if (result.ok) {
        window.apranova.show(
          message,
          "If an account exists for " + email + ", a new link is on its way. Check your inbox.",
          "ok",
        );
      } else {
        window.apranova.show(
          message,
          window.apranova.errorMessage(result.body, "We could not send a link. Please try again."),
          "error",
        );
      }
    } catch (error) {
      window.apranova.show(message, "We could not reach the server. Please try again.", "error");
    }
    button.disabled = false;
  });
})();
