/* /payment/success while the account is on its way: ask the API every 3 s; once the answer is
   no longer "202 pending", reload so the server shows the welcome (or what went wrong). */
"use strict";

(function () {
  const RETRY_MS = 3000;
  const PATIENCE_ATTEMPTS = 10;
  const sessionId = document.getElementById("verify").dataset.sessionId;
  const waitingText = document.getElementById("verify-waiting-text");
  let attempts = 0;

  async function check() {
    let result;
    try {
      result = await window.apranova.getJson(
        "/api/payments/verify-checkout-session/?session_id=" + encodeURIComponent(sessionId),
      );
    } catch (error) {
      waitingText.textContent = "We could not reach the server; trying again…";
      window.setTimeout(check, RETRY_MS);
      return;
    }
    if (result.status === 202 || result.status >= 500) {
      attempts += 1;
      if (result.status >= 500) {
        waitingText.textContent = "The server had a problem; trying again…";
      } else if (attempts === PATIENCE_ATTEMPTS) {
        waitingText.textContent =
          "This is taking longer than usual; we keep checking. If you left the checkout " +
          "before paying, choose a track again.";
      }
      window.setTimeout(check, RETRY_MS);
      return;
    }
    window.location.reload();
  }

  window.setTimeout(check, RETRY_MS);
})();
