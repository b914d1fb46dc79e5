/* /payment/success while the payment is pending or processing: ask the API again when its
   answer says (retryAfterSeconds); once the state differs from the one on the page, reload so
   the server shows the new state (README, "Verify states"). */
"use strict";

(function () {
  const DEFAULT_RETRY_SECONDS = 3;
  const PATIENCE_ATTEMPTS = 10;
  const root = document.getElementById("verify");
  const sessionId = root.dataset.sessionId;
  const shownState = root.dataset.state;
  const waitingText = document.getElementById("verify-waiting-text");
  let attempts = 0;

  function say(text) {
    if (waitingText) waitingText.textContent = text;
  }

  function retryLater(body) {
    const seconds = (body && body.retryAfterSeconds) || DEFAULT_RETRY_SECONDS;
    window.setTimeout(check, seconds * 1000);
  }

  async function check() {
    let result;
    try {
      result = await window.apranova.getJson(
        "/api/payments/verify-checkout-session/?session_id=" + encodeURIComponent(sessionId),
      );
    } catch (error) {
      say("We could not reach the server; trying again…");
      retryLater(null);
      return;
    }
    const state = result.body && result.body.status;
    if (result.status >= 500) {
      say("The server had a problem; trying again…");
      retryLater(null);
      return;
    }
    if (state === shownState) {
      attempts += 1;
      if (attempts === PATIENCE_ATTEMPTS) {
        say(
          "This is taking longer than usual; we keep checking. Once your payment is " +
            "confirmed you will also get an email from ApraNova.",
        );
      }
      retryLater(result.body);
      return;
    }
    window.location.reload();
  }

  retryLater(null);
})();
