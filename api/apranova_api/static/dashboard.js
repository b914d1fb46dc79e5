/* /dashboard: every track the student holds: tool cards with live readiness, projects and
   progress. The first track fills the page's main sections; each other track gets its own
   section below (data-enrollment); a suspended track says why. */
"use strict";

(function () {
  const POLL_MS = 3000;
  const api = window.apranova;
  const errorBox = document.getElementById("dashboard-error");
  const trackTools = JSON.parse(document.getElementById("dashboard").dataset.trackTools || "{}");
  let expectedTools = [];

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function toLogin() {
    window.location.assign("/login?next=" + encodeURIComponent("/dashboard"));
  }

  /* One GET; a 401 means the session is gone, so the student logs in again. */
  async function load(url) {
    const result = await api.getJson(url);
    if (result.status === 401) {
      toLogin();
      throw new Error("not logged in");
    }
    if (!result.ok) throw new Error(api.errorMessage(result.body, "Loading " + url + " failed."));
    return result.body;
  }

  let otherTracks = [];

  function suspensionText(enrollment) {
    return "This track is suspended" + (enrollment.suspension_reason ? ": " + enrollment.suspension_reason : "") +
      ". Its tools are stopped and your work is kept.";
  }

  function renderMe(me) {
    const firstName = (me.name || me.email || "").split(" ")[0];
    document.getElementById("welcome-title").textContent = "Welcome, " + firstName + "!";
    const enrollments = me.enrollments || [];
    const first = enrollments[0] || { track: me.track, track_name: me.track_name };
    document.getElementById("track-name").textContent = first.track_name || first.track;
    expectedTools = trackTools[first.track] || [];
    if (first.suspended) api.show(document.getElementById("track-suspended"), suspensionText(first), "error");
    otherTracks = enrollments.slice(1);
    if (enrollments.length > 1) {
      const list = document.getElementById("track-list");
      list.replaceChildren.apply(
        list,
        enrollments.map(function (enrollment) {
          const item = element("li", { "data-track": enrollment.track });
          item.appendChild(element("span", { class: "step-list__title" }, enrollment.track_name));
          item.appendChild(
            element(
              "span",
              { class: "status " + (enrollment.suspended ? "status--locked" : "status--ready") },
              enrollment.suspended ? "Suspended" : "Active",
            ),
          );
          return item;
        }),
      );
      list.hidden = false;
    }
    const container = document.getElementById("other-tracks");
    container.replaceChildren.apply(container, otherTracks.map(trackSection));
  }

  /* The section of one more track: its state, tools, progress and projects. */
  function trackSection(enrollment) {
    const section = element("section", { class: "section", "data-enrollment": enrollment.enrollment });
    section.appendChild(element("h2", {}, enrollment.track_name));
    if (enrollment.suspended) {
      section.appendChild(element("p", { class: "notice notice--error", role: "status" }, suspensionText(enrollment)));
    }
    section.appendChild(element("p", { class: "notice notice--wait", "data-tools-status": "" }, "Checking your tools…"));
    section.appendChild(element("div", { class: "grid", "data-tools": "" }));
    section.appendChild(element("p", { "data-progress": "" }));
    section.appendChild(element("ol", { class: "curriculum section", "data-curriculum": "" }));
    return section;
  }

  function sectionOf(enrollment) {
    return document.querySelector('[data-enrollment="' + enrollment + '"]');
  }

  /* Tool cards and status line of another track; true when all its tools are ready. */
  function renderOtherTools(enrollment) {
    const section = sectionOf(enrollment.enrollment);
    if (!section) return true;
    const expected = trackTools[enrollment.track] || [];
    const byName = {};
    (enrollment.tools || []).forEach(function (tool) { byName[tool.name] = tool; });
    const tools = expected.map(function (tool) {
      return Object.assign({ ready: false, url: null }, byName[tool.name] || {}, tool);
    });
    const grid = section.querySelector("[data-tools]");
    grid.replaceChildren.apply(grid, tools.map(toolCard));
    const readyCount = tools.filter(function (tool) { return tool.ready; }).length;
    const allReady = tools.length > 0 && readyCount === tools.length;
    section.querySelector("[data-tools-status]").textContent = allReady
      ? "All your tools are ready."
      : readyCount + " of " + tools.length + " tools ready; the rest are starting…";
    return allReady;
  }

  async function renderOtherCurriculum(enrollment) {
    const section = sectionOf(enrollment.enrollment);
    const curriculum = await load("/api/curriculum/?track=" + encodeURIComponent(enrollment.track));
    const progress = curriculum.progress || { done: 0, total: 0 };
    section.querySelector("[data-progress]").textContent =
      progress.done + " of " + progress.total + " steps done";
    const list = section.querySelector("[data-curriculum]");
    list.replaceChildren.apply(
      list,
      (curriculum.projects || []).map(function (project) {
        const item = element("li", { class: "card" });
        item.appendChild(projectBlock(project, "h3"));
        return item;
      }),
    );
  }

  function toolCard(tool) {
    const card = element("section", { class: "card tool", "data-tool": tool.name });
    const head = element("div", { class: "tool__head" });
    const title = tool.label || tool.name;
    head.appendChild(element("h3", {}, title));
    head.appendChild(
      element(
        "span",
        { class: "status " + (tool.ready ? "status--ready" : "status--waiting"), "data-status": "" },
        tool.ready ? "Ready" : "Getting ready…",
      ),
    );
    card.appendChild(head);
    if (tool.message && !tool.ready) card.appendChild(element("p", { class: "hint" }, tool.message));
    if (tool.ready && tool.url) {
      card.appendChild(
        element("a", { class: "button", href: tool.url, target: "_blank", rel: "noopener" }, "Open " + title),
      );
    } else {
      card.appendChild(element("button", { class: "button", type: "button", disabled: "" }, "Open " + title));
    }
    return card;
  }

  /* Every tool of the track, in the track's order, with what the status says so far. */
  function mergeTools(reported) {
    const byName = {};
    reported.forEach(function (tool) { byName[tool.name] = tool; });
    const merged = expectedTools.map(function (expected) {
      return Object.assign({ ready: false, url: null }, byName[expected.name] || {}, expected);
    });
    const known = expectedTools.map(function (expected) { return expected.name; });
    return merged.concat(reported.filter(function (tool) { return known.indexOf(tool.name) < 0; }));
  }

  function renderTools(payload) {
    const tools = mergeTools(payload.tools || []);
    const container = document.getElementById("tools");
    container.replaceChildren.apply(container, tools.map(toolCard));
    const status = document.getElementById("tools-status");
    const readyCount = tools.filter(function (tool) { return tool.ready; }).length;
    const allReady = tools.length > 0 && readyCount === tools.length;
    if (allReady) {
      api.show(status, "All your tools are ready.", "ok");
    } else if (tools.length === 0) {
      api.show(status, "Your environment is being created…", "wait");
    } else {
      api.show(status, readyCount + " of " + tools.length + " tools ready; the rest are starting…", "wait");
    }
    if (payload.discord_invite) document.getElementById("discord-link").href = payload.discord_invite;
    const othersReady = (payload.enrollments || []).slice(1).map(renderOtherTools);
    return allReady && othersReady.every(Boolean);
  }

  async function pollTools() {
    let allReady = false;
    try {
      allReady = renderTools(await load("/api/accounts/tools/"));
    } catch (error) {
      if (error.message === "not logged in") return;
      api.show(
        document.getElementById("tools-status"),
        "Your environment's status is not available yet; checking again…",
        "wait",
      );
    }
    if (!allReady) window.setTimeout(pollTools, POLL_MS);
  }

  const STEP_STATES = {
    done: { label: "Done", css: "status--done" },
    unlocked: { label: "Unlocked", css: "status--ready" },
    locked: { label: "Locked", css: "status--locked" },
  };

  function stepItem(step) {
    const item = element("li", { "data-step": step.id });
    item.appendChild(element("span", { class: "step-list__title" }, step.title));
    const state = STEP_STATES[step.status] || STEP_STATES.locked;
    const right = element("span", { class: "step-list__state" });
    right.appendChild(element("span", { class: "status " + state.css }, state.label));
    if (step.status === "unlocked") {
      const done = element(
        "button",
        { class: "button button--secondary button--small", type: "button" },
        "Mark done",
      );
      done.setAttribute("aria-label", "Mark “" + step.title + "” done");
      done.addEventListener("click", function () { completeStep(step.id); });
      right.appendChild(done);
    }
    item.appendChild(right);
    return item;
  }

  function projectBlock(project, headingTag) {
    const block = element("div", { "data-project": project.id });
    block.appendChild(element(headingTag, {}, project.title));
    if (project.description) block.appendChild(element("p", {}, project.description));
    const steps = element("ol", { class: "step-list" });
    project.steps.forEach(function (step) { steps.appendChild(stepItem(step)); });
    block.appendChild(steps);
    return block;
  }

  function renderCurriculum(curriculum) {
    if (curriculum.title) document.getElementById("track-name").textContent = curriculum.title;
    const projects = curriculum.projects || [];
    const progress = curriculum.progress || { done: 0, total: 0 };
    const percent = progress.total ? Math.round((100 * progress.done) / progress.total) : 0;
    document.getElementById("progress-text").textContent =
      progress.done + " of " + progress.total + " steps done (" + percent + "%)";
    document.getElementById("progress").setAttribute("aria-valuenow", String(percent));
    document.getElementById("progress-bar").style.width = percent + "%";

    const first =
      projects.find(function (project) { return project.status === "unlocked"; }) ||
      projects.find(function (project) { return project.status !== "done"; }) ||
      projects[0];
    const firstBox = document.getElementById("first-project");
    firstBox.replaceChildren();
    if (first) firstBox.appendChild(projectBlock(first, "h3"));
    document.getElementById("project-title").textContent =
      first === projects[0] ? "Your first project" : "Your current project";

    const list = document.getElementById("curriculum");
    list.replaceChildren.apply(
      list,
      projects.map(function (project) {
        const item = element("li", { class: "card" });
        item.appendChild(projectBlock(project, "h3"));
        return item;
      }),
    );
  }

  async function refreshCurriculum() {
    renderCurriculum(await load("/api/curriculum/"));
    await Promise.all(otherTracks.map(renderOtherCurriculum));
  }

  async function completeStep(stepId) {
    const result = await api.postJson("/api/progress/steps/" + encodeURIComponent(stepId) + "/complete");
    if (result.status === 401) return toLogin();
    if (!result.ok) {
      api.show(errorBox, api.errorMessage(result.body, "Saving your progress failed."), "error");
      return;
    }
    await refreshCurriculum();
  }

  document.getElementById("logout").addEventListener("click", async function () {
    await api.postJson("/api/accounts/logout/");
    window.location.assign("/login");
  });

  async function start() {
    try {
      renderMe(await load("/api/accounts/me/"));
      await refreshCurriculum();
    } catch (error) {
      if (error.message === "not logged in") return;
      document.getElementById("dashboard-loading").hidden = true;
      api.show(errorBox, error.message, "error");
      return;
    }
    document.getElementById("dashboard-loading").hidden = true;
    document.getElementById("dashboard-body").hidden = false;
    pollTools();
  }

  start();
})();
