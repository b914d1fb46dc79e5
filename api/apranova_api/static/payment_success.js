/* /payment/success: ask the API whether the account exists yet; 202 means "retry in 3 s". */
"use strict";

(function () {
  const RETRY_MS = 3000;
  const PATIENCE_ATTEMPTS = 10;
  const root = document.getElementById("verify");
  const sessionId = root.dataset.sessionId;
  const waiting = document.getElementById("verify-waiting");
  const waitingText = document.getElementById("verify-waiting-text");
  const welcome = document.getElementById("verify-welcome");
  const problem = document.getElementById("verify-problem");
  const duplicate = document.getElementById("verify-duplicate");
  let attempts = 0;

  function showOnly(section) {
    [waiting, welcome, problem, duplicate].forEach(function (item) { item.hidden = item !== section; });
  }

  function showWelcome(body) {
    document.getElementById("welcome-email").textContent = body.email;
    if (body.track) document.getElementById("welcome-track").textContent = " for the " + body.track + " track";
    if (body.discordInvite) document.getElementById("discord-link").href = body.discordInvite;
    showOnly(welcome);
    document.getElementById("welcome-title").focus();
  }

  /* The student already held the track: this payment went back (status refunded_duplicate). */
  function showDuplicate(body) {
    document.getElementById("duplicate-track").textContent = body.track;
    document.getElementById("duplicate-email").textContent = body.email;
    showOnly(duplicate);
    document.getElementById("duplicate-title").focus();
  }

  function showProblem(title, text) {
    document.getElementById("problem-title").textContent = title;
    document.getElementById("problem-text").textContent = text;
    showOnly(problem);
    document.getElementById("problem-title").focus();
  }

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
    if (result.status === 202) {
      attempts += 1;
      if (attempts === PATIENCE_ATTEMPTS) {
        waitingText.textContent =
          "This is taking longer than usual; we keep checking. If you left the checkout " +
          "before paying, choose a track again.";
      }
      window.setTimeout(check, RETRY_MS);
    } else if (result.status === 200 && result.body && result.body.status === "refunded_duplicate") {
      showDuplicate(result.body);
    } else if (result.status === 200 && result.body && result.body.email) {
      showWelcome(result.body);
    } else if (result.status === 404) {
      showProblem(
        "We could not find this checkout",
        "This payment link is unknown. If you paid, check your email for the message from " +
          "ApraNova; otherwise choose a track to start again.",
      );
    } else if (result.status >= 500) {
      waitingText.textContent = "The server had a problem; trying again…";
      window.setTimeout(check, RETRY_MS);
    } else {
      showProblem(
        "Your payment did not go through",
        window.apranova.errorMessage(result.body, "The payment was not completed.") +
          " You can choose a track and try again.",
      );
    }
  }

  check();
})();
