/* /get-started: "Enroll in <Track>" starts a checkout and follows the URL it returns. */
"use strict";

(function () {
  const errorBox = document.getElementById("checkout-error");
  const buttons = document.querySelectorAll("button.enroll");

  function setBusy(busy) {
    buttons.forEach(function (button) { button.disabled = busy; });
  }

  async function enroll(button) {
    const origin = window.location.origin;
    setBusy(true);
    const label = button.textContent;
    button.textContent = "Starting checkout…";
    errorBox.textContent = "";
    try {
      const result = await window.apranova.postJson("/api/payments/create-simple-checkout/", {
        track: button.dataset.track,
        success_url: origin + "/payment/success?session_id={CHECKOUT_SESSION_ID}",
        cancel_url: origin + "/payment/cancel",
      });
      if (result.ok && result.body && result.body.url) {
        window.location.assign(result.body.url);
        return;
      }
      window.apranova.show(
        errorBox,
        window.apranova.errorMessage(result.body, "Checkout could not start. Please try again."),
        "error",
      );
    } catch (error) {
      window.apranova.show(errorBox, "We could not reach the server. Please try again.", "error");
    }
    button.textContent = label;
    setBusy(false);
  }

  buttons.forEach(function (button) {
    button.addEventListener("click", function () { enroll(button); });
  });
})();
