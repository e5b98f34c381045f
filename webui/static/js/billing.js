/* The account page's billing sections: the subscription timeline, orders, redeeming a code and the codes
   redeemed, and the invitation rewards and commission ledger. Each section loads and fails on its own. */
(function () {
  "use strict";
  const CG = window.CG;
  const ui = CG.ui;
  const t = CG.t;
  const byId = (id) => document.getElementById(id);
  const dateTime = new Intl.DateTimeFormat(CG.lang, { dateStyle: "medium", timeStyle: "short" });

  function utcDate(seconds) {
    return seconds ? new Date(Number(seconds) * 1000).toISOString().slice(0, 10) : "—";
  }

  function yuan(fen) {
    const value = Number(fen || 0);
    return "¥" + (value % 100 === 0 ? String(value / 100) : (value / 100).toFixed(2));
  }

  const element = CG.account.element; // account.js, loaded first

  function fail(statusElement, error) {
    if (!(error instanceof CG.ApiError)) throw error;
    if (error.code === "not_authenticated") {
      window.location.assign("/login?next=" + encodeURIComponent("/account"));
      return;
    }
    ui.showStatus(statusElement, error.message);
  }

  function fillTable(table, rows, columns, emptyText) {
    const body = table.querySelector("tbody");
    if (rows.length) {
      body.replaceChildren(...rows);
      return;
    }
    const row = element("tr");
    const cell = element("td", "muted", emptyText);
    cell.colSpan = columns;
    row.append(cell);
    body.replaceChildren(row);
  }

  // --- plan and timeline ------------------------------------------------------------------------------------
  function howText(sub) {
    const source = sub.source || (sub.order_id ? "order" : "grant");
    let text = t("plan.how." + (["order", "code", "invite"].includes(source) ? source : "grant"));
    if (sub.mode === "extend") text += " · " + t("plan.mode.extend");
    if (sub.mode === "downgrade") text += " · " + t("plan.mode.downgrade");
    if (sub.mode === "upgrade") {
      text += " · " + t("plan.mode.upgrade", { days: (Number(sub.bonus_seconds || 0) / 86400).toFixed(1) });
    }
    if (sub.upgraded_at) text += " · " + t("plan.upgraded");
    return text;
  }

  async function loadTimeline() {
    try {
      const data = await CG.api("GET", "/api/subscriptions");
      byId("plan-name").textContent = data.plan_title || data.plan;
      byId("plan-until").textContent = data.plan_expires_at ? data.plan_expires_at.slice(0, 10) : t("plan.free_forever");
      const rows = (data.subscriptions || []).slice().reverse().map((sub) => {
        const row = element("tr");
        row.append(element("td", "", sub.plan_title || sub.plan), element("td", "", utcDate(sub.starts_at)),
          element("td", "", utcDate(sub.ends_at)), element("td", "", howText(sub)));
        return row;
      });
      fillTable(byId("timeline-table"), rows, 4, t("plan.empty"));
    } catch (error) {
      fillTable(byId("timeline-table"), [], 4, "—");
      fail(byId("plan-status"), error);
    }
  }

  // --- orders -----------------------------------------------------------------------------------------------
  function orderRow(order) {
    const row = element("tr");
    const plan = (order.plan_title || order.plan) + " · " + t("pricing.cycle." + order.cycle);
    const status = element("td");
    status.append(element("span", "status-badge is-" + order.status, t("orders.status." + order.status)));
    if (order.status === "pending") {
      const link = element("a", "", t("orders.check"));
      link.href = "/pay/return?order=" + encodeURIComponent(order.order_id);
      status.append(" ", link);
    }
    row.append(element("td", "", dateTime.format(new Date(Number(order.created_at) * 1000))), element("td", "", plan),
      element("td", "num", yuan(order.amount)), status);
    row.dataset.orderId = order.order_id;
    return row;
  }

  async function loadOrders() {
    try {
      const data = await CG.api("GET", "/api/orders");
      fillTable(byId("orders-table"), (data.orders || []).map(orderRow), 4, t("orders.empty"));
    } catch (error) {
      fillTable(byId("orders-table"), [], 4, "—");
      fail(byId("orders-status"), error);
    }
  }

  // --- redemption codes -------------------------------------------------------------------------------------
  function redemptionText(item) {
    if (item.kind === "reset_chances") return t("redeem.item_chances", { count: item.reset_chances });
    return t("redeem.item_plan", { plan: item.plan_title || item.plan, days: item.days });
  }

  async function loadRedemptions() {
    const list = byId("redemption-list");
    try {
      const data = await CG.api("GET", "/api/redemptions");
      const items = (data.redemptions || []).map((item) => {
        const li = element("li");
        const main = element("div", "item-main");
        main.append(element("div", "item-title", redemptionText(item)),
          element("div", "item-meta mono", item.code_hint + " · " + dateTime.format(new Date(item.redeemed_at * 1000))));
        li.append(main);
        return li;
      });
      list.replaceChildren(...(items.length ? items : [element("li", "muted", t("redeem.empty"))]));
    } catch (error) {
      list.replaceChildren();
      fail(byId("redeem-status"), error);
    }
    list.setAttribute("aria-busy", "false");
  }

  const redeemForm = byId("redeem-form");
  redeemForm.addEventListener("submit", (event) => {
    event.preventDefault();
    ui.clearErrors(redeemForm);
    ui.showStatus(byId("redeem-status"), "");
    const input = byId("redeem-code");
    if (!input.value.trim()) {
      ui.setFieldError(input, t("validate.required"));
      input.focus();
      return;
    }
    ui.submitting(redeemForm, async () => {
      const added = await CG.api("POST", "/api/redeem", { code: input.value.trim() });
      const message = added.kind === "reset_chances"
        ? t("redeem.added_chances", { count: added.reset_chances, total: added.reset_chances_after })
        : t("redeem.added_plan", { plan: added.plan_title || added.plan, days: added.days, date: utcDate(added.ends_at) });
      redeemForm.reset();
      ui.showStatus(byId("redeem-status"), message, "success");
      if (added.kind === "reset_chances" && byId("reset-chances")) byId("reset-chances").textContent = added.reset_chances_after;
      await Promise.all([loadRedemptions(), loadTimeline()]);
    }, { invalid_redemption_code: ["redeem_code"], invalid_input: ["redeem_code"], too_many_attempts: ["redeem_code"] });
  });

  // --- invitations and commission ---------------------------------------------------------------------------
  async function loadInvites() {
    if (!byId("commission")) return;
    const list = byId("commission-list");
    try {
      const data = await CG.api("GET", "/api/account/invites");
      const commission = data.commission || {};
      byId("commission-total").textContent = yuan(commission.total);
      const items = (commission.entries || []).map((entry) => {
        const li = element("li");
        const main = element("div", "item-main");
        main.append(element("div", "item-title", yuan(entry.commission)),
          element("div", "item-meta", t("invite.commission_item", { percent: entry.percent, amount: yuan(entry.amount).slice(1) })
            + " · " + dateTime.format(new Date(entry.at * 1000))));
        li.append(main);
        return li;
      });
      list.replaceChildren(...(items.length ? items : [element("li", "muted", t("invite.commission_empty"))]));
    } catch (error) {
      list.replaceChildren();
      if (!(error instanceof CG.ApiError)) throw error;
    }
    list.setAttribute("aria-busy", "false");
  }

  loadTimeline();
  loadOrders();
  loadRedemptions();
  loadInvites();
})();
