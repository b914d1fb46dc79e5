/* Small helpers shared by the pages: JSON calls to the API with the session cookie. */
"use strict";

window.apranova = (function () {
  async function readBody(response) {
    const text = await response.text();
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch (error) {
      return { detail: text };
    }
  }

  /* FastAPI errors carry `detail` as a string or as a list of validation errors. */
  function errorMessage(body, fallback) {
    if (!body || body.detail === undefined || body.detail === null) return fallback;
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) {
      return body.detail.map(function (item) { return item.msg || String(item); }).join("; ");
    }
    return fallback;
  }

  async function call(method, url, payload) {
    const options = {
      method: method,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    };
    if (payload !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload);
    }
    const response = await fetch(url, options);
    return { status: response.status, ok: response.ok, body: await readBody(response) };
  }

  function show(element, message, kind) {
    element.textContent = message;
    element.className = "notice notice--" + kind;
  }

  return {
    getJson: function (url) { return call("GET", url); },
    postJson: function (url, payload) { return call("POST", url, payload || {}); },
    errorMessage: errorMessage,
    show: show,
  };
})();
