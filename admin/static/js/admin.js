/* The dashboard's shared helpers (CG.admin): building DOM without innerHTML, formatting money and times, tables,
   the confirmation dialog, and error messages that keep the server's detail. Each section's script uses them. */
(function () {
  "use strict";
  const CG = window.CG;
  const t = CG.t;
  const dateTime = new Intl.DateTimeFormat(CG.lang, { dateStyle: "medium", timeStyle: "short" });
  const dateOnly = new Intl.DateTimeFormat(CG.lang, { dateStyle: "medium" });
  const DETAILED = ["invalid_input", "already_exists", "in_use", "not_found", "forbidden", "upstream_error"];

  /** Make an element: `attrs` may hold class, text, dataset, any attribute, and on<event> handlers. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = String(value);
      else if (name === "dataset") Object.assign(node.dataset, value);
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const byId = (id) => document.getElementById(id);
  const time = (seconds) => (seconds ? dateTime.format(new Date(Number(seconds) * 1000)) : "—");
  const date = (seconds) => (seconds ? dateOnly.format(new Date(Number(seconds) * 1000)) : "—");
  const yuan = (fen) => "¥" + (Number(fen || 0) / 100).toFixed(2);

  /** Parse a yuan amount typed in a form ("29.9", "29.90") into integer fen; NaN when it is not one. */
  function fen(text) {
    const value = String(text).trim();
    if (!/^\d{1,7}(\.\d{1,2})?$/.test(value)) return NaN;
    const [whole, part] = value.split(".");
    return Number(whole) * 100 + Number((part || "").padEnd(2, "0"));
  }

  /** The message of a failed call: translated, plus the server's own detail where it names what is wrong. */
  function explain(error) {
    if (!(error instanceof CG.ApiError)) return String(error);
    if (error.code === "not_authenticated") {
      window.location.assign("/login");
      return error.message;
    }
    if (error.detail && error.detail !== error.message && DETAILED.includes(error.code)) {
      return error.message + " " + error.detail;
    }
    return error.message;
  }

  function showStatus(node, message, kind) {
    CG.ui.showStatus(node, message, kind);
  }

  /** Put a failed call's message next to its field (error.data.field) or in the form's status. */
  function formError(form, error) {
    if (!(error instanceof CG.ApiError)) throw error;
    const copy = new CG.ApiError(error.code, explain(error), error.status, error.data, error.detail);
    CG.ui.showError(form, copy);
  }

  /** Run a form's action with its button busy; a failure lands in the form. */
  function submit(form, action) {
    CG.ui.clearErrors(form);
    const button = form.querySelector('[type="submit"]');
    CG.ui.setBusy(button, true);
    return Promise.resolve()
      .then(action)
      .catch((error) => formError(form, error))
      .finally(() => CG.ui.setBusy(button, false));
  }

  /** Fill a table body: `columns` are functions row -> cell content (or {value, class}). */
  function fillTable(table, rows, columns, emptyText, append) {
    const body = table.tBodies[0];
    const lines = rows.map((row) =>
      el("tr", {}, columns.map((column) => {
        const cell = column(row);
        if (cell && typeof cell === "object" && !(cell instanceof Node) && "value" in cell) {
          return el("td", { class: cell.class }, cell.value);
        }
        return el("td", {}, cell);
      }))
    );
    if (!append) body.replaceChildren();
    if (!lines.length && !append) {
      body.append(el("tr", {}, el("td", { class: "muted", colspan: table.tHead.rows[0].cells.length }, emptyText || t("admin.empty"))));
      return;
    }
    body.append(...lines);
  }

  /** Ask for confirmation in the page's dialog; resolve true when confirmed. */
  function confirmAction(message, label) {
    const dialog = byId("confirm-dialog");
    byId("confirm-text").textContent = message;
    byId("confirm-ok").textContent = label || t("admin.confirm");
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      dialog.returnValue = "";
      dialog.showModal();
    });
  }

  const badge = (text, kind) => el("span", { class: "badge" + (kind ? " badge-" + kind : "") }, text);
  const query = (params) => {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== "") search.set(name, value);
    const text = search.toString();
    return text ? "?" + text : "";
  };
  const account = (user) => user.email || user.phone || (user.name ? user.name : "#" + user.id);

  /** On narrow screens the menu scrolls sideways: bring the current section into view. */
  function revealCurrentSection() {
    const active = document.querySelector(".admin-nav a.is-active");
    const list = active && active.closest("ul");
    if (!list || list.scrollWidth <= list.clientWidth) return;
    const item = active.getBoundingClientRect();
    const box = list.getBoundingClientRect();
    list.scrollLeft += item.left - box.left - (box.width - item.width) / 2;
  }
  revealCurrentSection();

  CG.admin = { el, byId, time, date, yuan, fen, explain, showStatus, formError, submit, fillTable, confirmAction, badge, query, account };
})();
