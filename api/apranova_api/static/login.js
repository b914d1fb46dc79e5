/* /login: exchange email and password for the session cookie, then go to the dashboard. */
"use strict";

(function () {
  const form = document.getElementById("login-form");
  const errorBox = document.getElementById("login-error");

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const email = form.elements.email.value.trim();
    const password = form.elements.password.value;
    if (!email || !password) {
      window.apranova.show(errorBox, "Enter your email and your password.", "error");
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    errorBox.textContent = "";
    try {
      const result = await window.apranova.postJson("/api/accounts/login/", {
        email: email,
        password: password,
      });
      if (result.ok) {
        window.location.assign(form.dataset.next);
        return;
      }
      const fallback = result.status === 401 || result.status === 400
        ? "That email and password do not match an account."
        : "Logging in failed. Please try again.";
      window.apranova.show(errorBox, window.apranova.errorMessage(result.body, fallback), "error");
      form.elements.password.focus();
    } catch (error) {
      window.apranova.show(errorBox, "We could not reach the server. Please try again.", "error");
    }
    button.disabled = false;
  });
})();
