/* The audit log: every change made through the dashboard, who made it and when, with the value before and after;
   filtered by administrator and action, page by page. */
(function () {
  "use strict";
  const CG = window.CG;
  const A = CG.admin;
  const t = CG.t;
  const form = A.byId("audit-filter");
  let cursor = null;

  function change(entry) {
    const pretty = (value) => (value === null || value === undefined ? "—" : JSON.stringify(value, null, 2));
    return A.el("details", { class: "change" },
      A.el("summary", {}, t("admin.audit.show_change")),
      A.el("div", { class: "change-grid" },
        A.el("div", {}, A.el("p", { class: "item-meta" }, t("admin.audit.before")), A.el("pre", {}, pretty(entry.before))),
        A.el("div", {}, A.el("p", { class: "item-meta" }, t("admin.audit.after")), A.el("pre", {}, pretty(entry.after)))));
  }

  async function load(append) {
    A.showStatus(A.byId("audit-status"), "");
    const params = { actor: A.byId("audit-actor").value.trim(), action: A.byId("audit-action").value, cursor: append ? cursor : "" };
    try {
      const page = await CG.api("GET", "/api/audit" + A.query(params));
      A.fillTable(A.byId("audit-table"), page.entries, [
        (e) => A.time(e.time),
        (e) => A.el("span", {}, e.actor, " ", A.el("span", { class: "item-meta" }, "#" + e.actor_id)),
        (e) => A.el("code", {}, e.action),
        (e) => (e.target.startsWith("user:") ? A.el("a", { href: "/users/" + e.target.slice(5) }, e.target) : e.target),
        change,
      ], t("admin.audit.none"), append);
      cursor = page.next_cursor;
      A.byId("audit-more").hidden = !cursor;
    } catch (error) {
      A.showStatus(A.byId("audit-status"), A.explain(error));
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load(false);
  });
  A.byId("audit-action").addEventListener("change", () => load(false));
  A.byId("audit-more").addEventListener("click", () => load(true));
  load(false);
})();
