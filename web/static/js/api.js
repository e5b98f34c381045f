/* The fetch wrapper every page uses: JSON in and out, the CSRF header, and errors turned into translated text.
   Also the translator `CG.t(key, params)` over the catalogue the page embeds in <script id="cg-i18n">. */
(function () {
  "use strict";

  const block = document.getElementById("cg-i18n");
  const catalogue = block ? JSON.parse(block.textContent || "{}") : {};
  const messages = catalogue.messages || {};
  const has = (key) => Object.prototype.hasOwnProperty.call(messages, key);

  /** Translate `key`, filling `{name}` placeholders from `params`. */
  function t(key, params) {
    const text = has(key) ? messages[key] : key;
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
  }

  /** The user-facing text of an error code: our translation, else the server's message, else a generic one. */
  function errorMessage(code, serverMessage) {
    if (has("error." + code)) return t("error." + code);
    return serverMessage || t("error.internal_error");
  }

  class ApiError extends Error {
    constructor(code, message, status, data, detail) {
      super(message);
      this.name = "ApiError";
      this.code = code;
      this.status = status;
      this.data = data || {};
      this.detail = detail || ""; // the server's own words (English), e.g. which field and why
    }
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  async function readJson(response) {
    const type = response.headers.get("Content-Type") || "";
    if (!type.includes("application/json")) return null;
    try {
      return await response.json();
    } catch (_ignored) {
      return null;
    }
  }

  /** Call the JSON API; resolve with the parsed body, reject with an ApiError carrying a translated message. */
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const init = { method: method, headers: headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const token = csrfToken();
    if (token) headers["X-CSRF-Token"] = token;
    let response;
    try {
      response = await fetch(path, init);
    } catch (_network) {
      throw new ApiError("network_error", t("error.network_error"), 0, {});
    }
    const data = await readJson(response);
    if (response.ok) return data || {};
    const error = (data && data.error) || {};
    const code = error.code || (response.status === 404 ? "not_found" : "http_error");
    const extra = Object.assign({}, error);
    delete extra.code;
    delete extra.message;
    throw new ApiError(code, errorMessage(code, error.message), response.status, extra, error.message);
  }

  window.CG = Object.assign(window.CG || {}, {
    lang: catalogue.lang || document.documentElement.lang || "zh-CN",
    t: t,
    errorMessage: errorMessage,
    ApiError: ApiError,
    api: api,
  });
})();
