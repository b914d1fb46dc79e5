/* /payment/success: ask the API where this payment stands and show one text per verify state
   (README, "Verify states"). 202 answers carry retryAfterSeconds; the page polls again then. */
"use strict";

(function () {
  const DEFAULT_RETRY_SECONDS = 3;
  const PATIENCE_ATTEMPTS = 10;
  const root = document.getElementById("verify");
  const sessionId = root.dataset.sessionId;
  const waiting = document.getElementById("verify-waiting");
  const waitingText = document.getElementById("verify-waiting-text");
  const welcome = document.getElementById("verify-welcome");
  const processing = document.getElementById("verify-processing");
  const problem = document.getElementById("verify-problem");
  let attempts = 0;
  let shown = null;

  function showOnly(section) {
    [waiting, welcome, processing, problem].forEach(function (item) {
      item.hidden = item !== section;
    });
    shown = section;
  }

  function retryLater(body) {
    const seconds = (body && body.retryAfterSeconds) || DEFAULT_RETRY_SECONDS;
    window.setTimeout(check, seconds * 1000);
  }

  function showWelcome(body) {
    document.getElementById("welcome-email").textContent = body.email;
    if (body.track) document.getElementById("welcome-track").textContent = " for the " + body.track + " track";
    if (body.discordInvite) document.getElementById("discord-link").href = body.discordInvite;
    showOnly(welcome);
    document.getElementById("welcome-title").focus();
  }

  function showProcessing(body) {
    document.getElementById("processing-text").textContent = body.detail;
    if (shown !== processing) {
      showOnly(processing);
      document.getElementById("processing-title").focus();
    }
  }

  /* action: {text, href} for the button, or null for none. */
  function showProblem(title, text, action, withReference) {
    document.getElementById("problem-title").textContent = title;
    document.getElementById("problem-text").textContent = text;
    document.getElementById("problem-reference").hidden = !withReference;
    const actions = document.getElementById("problem-actions");
    actions.hidden = !action;
    if (action) {
      const link = document.getElementById("problem-action");
      link.textContent = action.text;
      link.href = action.href;
    }
    showOnly(problem);
    document.getElementById("problem-title").focus();
  }

  function showState(result) {
    const body = result.body || {};
    const detail = window.apranova.errorMessage(body, "");
    switch (body.status) {
      case "pending":
        attempts += 1;
        if (attempts === PATIENCE_ATTEMPTS) {
          waitingText.textContent =
            "This is taking longer than usual; we keep checking. Once your payment is " +
            "confirmed you will also get an email from ApraNova.";
        }
        return retryLater(body);
      case "processing":
        showProcessing(body);
        return retryLater(body);
      case "enrolled":
        return showWelcome(body);
      case "failed":
        return showProblem(
          "Your payment did not go through",
          detail + " Nothing was charged. You can try again, with another payment method if you like.",
          { text: "Try again", href: "/get-started" },
          false,
        );
      case "expired":
        return showProblem(
          "This checkout has expired",
          detail + " Choose a track to start a new one.",
          { text: "Back to the tracks", href: "/get-started" },
          false,
        );
      case "rejected":
        return showProblem(
          "We cannot set up your enrollment",
          detail + " " + (body.money || ""),
          null,
          true,
        );
      case "refunded_duplicate":
        return showProblem(
          "You already hold this track",
          detail || "This payment was refunded in full.",
          { text: "Go to Login Page", href: "/login" },
          true,
        );
      default:
        return null;
    }
  }

  async function check() {
    let result;
    try {
      result = await window.apranova.getJson(
        "/api/payments/verify-checkout-session/?session_id=" + encodeURIComponent(sessionId),
      );
    } catch (error) {
      waitingText.textContent = "We could not reach the server; trying again…";
      retryLater(null);
      return;
    }
    if (result.status === 404) {
      showProblem(
        "We could not find this checkout",
        "This payment link is unknown. If you paid, check your email for the message from " +
          "ApraNova; otherwise choose a track to start again.",
        { text: "Back to the tracks", href: "/get-started" },
        false,
      );
    } else if (result.status >= 500) {
      waitingText.textContent = "The server had a problem; trying again…";
      retryLater(null);
    } else if (!result.body || !result.body.status) {
      showProblem(
        "We could not check this payment",
        window.apranova.errorMessage(result.body, "The server did not understand the request.") +
          " If you paid, check your email for the message from ApraNova.",
        { text: "Back to the tracks", href: "/get-started" },
        true,
      );
    } else {
      showState(result);
    }
  }

  check();
})();
