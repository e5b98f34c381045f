/* Users: search (email, phone, name, id or invitation-code prefix) or browse newest / recently active, page by page. */
(function () {
  "use strict";
  const CG = window.CG;
  const A = CG.admin;
  const t = CG.t;
  const form = A.byId("user-search");
  const table = A.byId("users-table");
  const more = A.byId("users-more");
  const status = A.byId("users-status");
  let cursor = null;

  function state(user) {
    if (user.blocked) return A.badge(t("admin.users.blocked"), "danger");
    return user.role === "admin" ? A.badge(t("admin.users.admin")) : A.badge(t("admin.users.active"), "muted");
  }

  const columns = [
    (u) => A.el("a", { href: "/users/" + u.id }, "#" + u.id),
    (u) => A.el("a", { href: "/users/" + u.id }, u.email || u.phone || "—"),
    (u) => u.name || "—",
    (u) => u.plan,
    (u) => A.date(u.created_at),
    (u) => A.time(u.last_active_at),
    state,
  ];

  async function load(append) {
    A.showStatus(status, "");
    const params = { q: A.byId("user-q").value.trim(), sort: A.byId("user-sort").value, cursor: append ? cursor : "" };
    try {
      const page = await CG.api("GET", "/api/users" + A.query(params));
      A.fillTable(table, page.users, columns, t("admin.users.none"), append);
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      A.showStatus(status, A.explain(error));
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load(false);
  });
  A.byId("user-sort").addEventListener("change", () => load(false));
  more.addEventListener("click", () => load(true));
  load(false);
})();
