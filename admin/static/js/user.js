/* One user: profile, plan and subscription timeline, usage, orders, sessions, invitees and bound channels, and the
   operator's actions (block, grant a plan, add reset chances, sign out everywhere, delete). */
(function () {
  "use strict";
  const CG = window.CG;
  const A = CG.admin;
  const t = CG.t;
  const page = A.byId("user-page");
  const userId = page.dataset.userId;
  const path = "/api/users/" + userId;
  const actionStatus = A.byId("action-status");
  let current = null;

  function facts(list, pairs) {
    list.replaceChildren(...pairs.map(([label, value]) => A.el("div", {}, A.el("dt", {}, label), A.el("dd", {}, value || "—"))));
  }

  function render(detail) {
    current = detail;
    const user = detail.user;
    A.byId("user-title").textContent = A.account(user) + " (#" + user.id + ")";
    A.byId("user-state").replaceChildren(user.blocked ? A.badge(t("admin.users.blocked"), "danger") : A.badge(t("admin.users.active")));
    facts(A.byId("user-facts"), [
      [t("field.email"), user.email], [t("field.phone"), user.phone], [t("field.name"), user.name],
      [t("admin.user.role"), user.role], [t("admin.users.created"), A.time(user.created_at)],
      [t("admin.user.last_login"), A.time(user.last_login_at)], [t("admin.users.last_active"), A.time(detail.last_active_at)],
      [t("field.invite_code"), user.invite_code], [t("admin.user.inviter"), user.inviter_id ? "#" + user.inviter_id : ""],
      [t("admin.user.chances"), String(user.reset_chances)], [t("admin.user.api_keys"), String(detail.api_keys)],
    ]);
    A.byId("block-toggle").textContent = user.blocked ? t("admin.user.unblock") : t("admin.user.block");
    const ends = detail.plan.ends_at ? t("admin.user.until", { date: A.date(detail.plan.ends_at) }) : "";
    A.byId("plan-now").textContent = t("admin.user.on_plan", { plan: detail.plan.title + " (" + detail.plan.name + ")" }) + ends;
    A.fillTable(A.byId("subs-table"), detail.subscriptions.slice().reverse(), [
      (s) => s.plan, (s) => A.time(s.starts_at), (s) => A.time(s.ends_at), (s) => s.order_id || "—",
    ], t("admin.user.no_subs"));
    A.fillTable(A.byId("usage-table"), detail.usage.slice().reverse(), [
      (r) => r.date, (r) => r.model, (r) => ({ value: r.requests, class: "num" }),
      (r) => ({ value: r.prompt_tokens, class: "num" }), (r) => ({ value: r.completion_tokens, class: "num" }),
    ], t("admin.user.no_usage"));
    A.fillTable(A.byId("user-orders-table"), detail.orders, [
      (o) => A.el("a", { href: "/orders?id=" + encodeURIComponent(o.order_id) }, o.order_id), (o) => o.plan + " · " + o.cycle,
      (o) => ({ value: A.yuan(o.amount), class: "num" }), (o) => t("admin.orders.status." + o.status), (o) => A.time(o.created_at),
    ], t("admin.user.no_orders"));
    A.fillTable(A.byId("sessions-table"), detail.sessions, [
      (s) => s.app, (s) => A.time(s.seen_at), (s) => s.ip, (s) => ({ value: s.agent, class: "cell-wrap" }),
    ], t("admin.user.no_sessions"));
    A.fillTable(A.byId("invitees-table"), detail.invitees, [
      (i) => A.el("a", { href: "/users/" + i.id }, "#" + i.id), (i) => i.email || i.phone || i.name || "—", (i) => A.time(i.joined_at),
    ], t("admin.user.no_invitees"));
    const channels = Object.entries(detail.channels);
    const bound = A.el("dl", { class: "facts" });
    facts(bound, channels.map(([name, id]) => [t("admin.channel." + name), id]));
    A.byId("channels-list").replaceChildren(channels.length ? bound : A.el("p", { class: "muted" }, t("admin.user.no_channels")));
    A.byId("user-detail").hidden = false;
  }

  async function load() {
    try {
      render(await CG.api("GET", path));
    } catch (error) {
      A.showStatus(A.byId("user-status"), A.explain(error));
    }
  }

  async function loadPlans() {
    const select = A.byId("grant-plan");
    try {
      const data = await CG.api("GET", "/api/plans");
      const paid = data.plans.filter((plan) => plan.name !== "free");
      select.replaceChildren(...paid.map((plan) => A.el("option", { value: plan.name }, plan.title + " (" + plan.name + ")")));
    } catch (error) {
      A.showStatus(A.byId("grant-status"), A.explain(error));
    }
  }

  async function act(action) {
    A.showStatus(actionStatus, "");
    try {
      const message = await action();
      await load();
      actionStatus.textContent = message;
    } catch (error) {
      actionStatus.textContent = A.explain(error);
    }
  }

  A.byId("block-toggle").addEventListener("click", async () => {
    const blocked = !current.user.blocked;
    if (blocked && !(await A.confirmAction(t("admin.user.block_confirm"), t("admin.user.block")))) return;
    act(async () => {
      await CG.api("POST", path + "/block", { blocked: blocked });
      return blocked ? t("admin.user.blocked_now") : t("admin.user.unblocked_now");
    });
  });
  A.byId("revoke-sessions").addEventListener("click", () => act(async () => {
    const result = await CG.api("POST", path + "/revoke-sessions");
    return t("admin.user.revoked", { count: result.revoked });
  }));
  A.byId("delete-user").addEventListener("click", async () => {
    if (!(await A.confirmAction(t("admin.user.delete_confirm", { who: A.account(current.user) }), t("admin.user.delete")))) return;
    try {
      await CG.api("DELETE", path);
      window.location.assign("/users");
    } catch (error) {
      actionStatus.textContent = A.explain(error);
    }
  });

  const grantForm = A.byId("grant-form");
  grantForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const days = Number(A.byId("grant-days").value);
    if (!Number.isInteger(days) || days < 1 || days > 3660) {
      CG.ui.setFieldError(A.byId("grant-days"), t("admin.user.days_range"));
      return;
    }
    A.submit(grantForm, async () => {
      const result = await CG.api("POST", path + "/grant", { plan: A.byId("grant-plan").value, days: days });
      await load();
      A.showStatus(A.byId("grant-status"), t("admin.user.granted", { date: A.date(result.subscription.ends_at) }), "success");
    });
  });

  const chancesForm = A.byId("chances-form");
  chancesForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const add = Number(A.byId("chances-add").value);
    if (!Number.isInteger(add) || add < 1 || add > 1000) {
      CG.ui.setFieldError(A.byId("chances-add"), t("admin.user.chances_range"));
      return;
    }
    A.submit(chancesForm, async () => {
      const result = await CG.api("POST", path + "/reset-chances", { add: add });
      await load();
      A.showStatus(A.byId("chances-status"), t("admin.user.chances_now", { count: result.reset_chances }), "success");
    });
  });

  load();
  loadPlans();
})();
