/* /dashboard: the server renders everything, one part per track held; this keeps each track's
   tool cards fresh while tools start and marks steps done without reloading the page, keeping
   focus on the next step of the same track. */
"use strict";

(function () {
  const POLL_MS = 3000;
  const api = window.apranova;
  const errorBox = document.getElementById("dashboard-error");
  const announcer = document.getElementById("progress-announcer");

  function toLogin() {
    window.location.assign("/login?next=" + encodeURIComponent("/dashboard"));
  }

  /* One server-rendered part of this page, as a document to take elements from. */
  async function fetchPart(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (response.status === 401) {
      toLogin();
      throw new Error("not logged in");
    }
    if (!response.ok) throw new Error("Loading the page failed; please reload it.");
    return new DOMParser().parseFromString(await response.text(), "text/html");
  }

  function swap(id, part) {
    const fresh = document.adoptNode(part.getElementById(id));
    document.getElementById(id).replaceWith(fresh);
    return fresh;
  }

  /* Refresh one track's tool cards (the grid with this id) until all its tools are ready. */
  function pollTools(id) {
    const grid = document.getElementById(id);
    if (!grid || grid.dataset.allReady === "true") return;
    window.setTimeout(async function () {
      try {
        const tools = swap(id, await fetchPart(grid.dataset.toolsPart));
        const allReady = tools.dataset.allReady === "true";
        api.show(document.getElementById(tools.dataset.statusId), tools.dataset.status, allReady ? "ok" : "wait");
      } catch (error) {
        if (error.message === "not logged in") return;
      }
      pollTools(id);
    }, POLL_MS);
  }

  async function markDone(form) {
    const button = form.querySelector("button");
    const panel = form.closest("[data-curriculum-part]");
    button.disabled = true;
    errorBox.textContent = "";
    const result = await api.postJson(
      "/api/progress/steps/" + encodeURIComponent(form.dataset.step) + "/complete",
    );
    if (result.status === 401) return toLogin();
    if (!result.ok) {
      api.show(errorBox, api.errorMessage(result.body, "Saving your progress failed."), "error");
      button.disabled = false;
      button.focus();
      return;
    }
    const fresh = swap(panel.id, await fetchPart(panel.dataset.curriculumPart));
    announcer.textContent = "“" + form.dataset.stepTitle + "” is done.";
    const next = fresh.querySelector("[data-current-project] form.mark-done button");
    (next || fresh.querySelector("[data-project-title]")).focus();
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.classList || !form.classList.contains("mark-done")) return;
    event.preventDefault();
    markDone(form).catch(function (error) {
      if (error.message !== "not logged in") api.show(errorBox, error.message, "error");
    });
  });

  document.querySelectorAll("[data-tools-part]").forEach(function (grid) {
    pollTools(grid.id);
  });
})();
