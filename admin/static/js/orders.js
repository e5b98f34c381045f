/* Orders: filter by status, user and dates; one order with every payment callback and its verdict; refund (the
   unused time is taken back); reconcile now; callbacks that named no order. */
(function () {
  "use strict";
  const CG = window.CG;
  const A = CG.admin;
  const t = CG.t;
  const panel = A.byId("order-panel");
  let cursor = null;
  let current = null;

  const statusBadge = (status) => A.badge(t("admin.orders.status." + status),
    { paid: "", pending: "warning", refunded: "muted", expired: "muted", failed: "danger" }[status]);
  const fields = (entry) => ({ value: Object.entries(entry.fields || {}).map(([name, value]) => name + "=" + value).join(" "), class: "cell-wrap mono" });

  function facts(order) {
    const pairs = [
      [t("admin.orders.user"), A.el("a", { href: "/users/" + order.user_id }, "#" + order.user_id)],
      [t("admin.users.plan"), order.plan_title + " (" + order.plan + ") · " + t("admin.cycle." + order.cycle) + " · " + t("admin.orders.days", { count: order.days })],
      [t("admin.orders.amount"), A.yuan(order.amount)], [t("admin.orders.status"), statusBadge(order.status)],
      [t("admin.orders.created"), A.time(order.created_at)], [t("admin.orders.expires"), A.time(order.expires_at)],
      [t("admin.orders.paid"), A.time(order.paid_at)], [t("admin.orders.transaction"), order.transaction_id || "—"],
      [t("admin.orders.mode"), order.mode ? t("admin.orders.mode." + order.mode) : "—"],
      [t("admin.orders.granted"), order.subscription ? A.time(order.subscription.starts_at) + " → " + A.time(order.subscription.ends_at) : "—"],
    ];
    if (order.refunded_at) pairs.push([t("admin.orders.refunded_at"), A.time(order.refunded_at) + " · " + t("admin.orders.taken_back", { days: (order.refunded_seconds / 86400).toFixed(1) })]);
    A.byId("order-facts").replaceChildren(...pairs.map(([label, value]) => A.el("div", {}, A.el("dt", {}, label), A.el("dd", {}, value))));
  }

  async function open(orderId) {
    try {
      const order = await CG.api("GET", "/api/orders/" + encodeURIComponent(orderId));
      current = order;
      A.byId("order-title").textContent = t("admin.orders.order", { id: order.order_id });
      facts(order);
      A.byId("order-refund").hidden = order.status !== "paid";
      A.byId("order-action-status").textContent = "";
      A.fillTable(A.byId("callbacks-table"), order.callbacks.slice().reverse(), [
        (c) => A.time(c.at), (c) => c.source, (c) => A.el("code", {}, c.verdict), (c) => c.ip || "—", fields,
      ], t("admin.orders.no_callbacks"));
      panel.hidden = false;
      panel.scrollIntoView({ block: "start" });
    } catch (error) {
      A.showStatus(A.byId("orders-status"), A.explain(error));
    }
  }

  async function load(append) {
    A.showStatus(A.byId("orders-status"), "");
    const params = { status: A.byId("order-status").value, user: A.byId("order-user").value.trim(), from: A.byId("order-from").value,
      to: A.byId("order-to").value, cursor: append ? cursor : "" };
    try {
      const page = await CG.api("GET", "/api/orders" + A.query(params));
      A.fillTable(A.byId("orders-table"), page.orders, [
        (o) => A.el("button", { type: "button", class: "link-button mono", onclick: () => open(o.order_id) }, o.order_id),
        (o) => A.el("a", { href: "/users/" + o.user_id }, "#" + o.user_id),
        (o) => o.plan_title + " · " + t("admin.cycle." + o.cycle),
        (o) => ({ value: A.yuan(o.amount), class: "num" }),
        (o) => statusBadge(o.status),
        (o) => A.time(o.created_at),
        (o) => A.time(o.paid_at),
      ], t("admin.orders.none"), append);
      cursor = page.next_cursor;
      A.byId("orders-more").hidden = !cursor;
    } catch (error) {
      A.showStatus(A.byId("orders-status"), A.explain(error));
    }
  }

  async function loadStray() {
    try {
      const data = await CG.api("GET", "/api/callbacks/unmatched");
      A.fillTable(A.byId("stray-table"), data.callbacks, [
        (c) => A.time(c.at), (c) => A.el("code", {}, c.verdict), (c) => c.ip || "—", fields,
      ], t("admin.orders.no_unmatched"));
    } catch (error) {
      A.showStatus(A.byId("orders-status"), A.explain(error));
    }
  }

  A.byId("order-refund").addEventListener("click", async () => {
    if (!current || !(await A.confirmAction(t("admin.orders.refund_confirm", { id: current.order_id, amount: A.yuan(current.amount) }), t("admin.orders.refund")))) return;
    try {
      const result = await CG.api("POST", "/api/orders/" + encodeURIComponent(current.order_id) + "/refund");
      await open(current.order_id);
      A.byId("order-action-status").textContent = t("admin.orders.refunded_now", { days: (result.seconds_taken_back / 86400).toFixed(1) });
      load(false);
    } catch (error) {
      A.byId("order-action-status").textContent = A.explain(error);
    }
  });
  A.byId("reconcile").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    CG.ui.setBusy(button, true);
    try {
      const done = await CG.api("POST", "/api/orders/reconcile");
      A.byId("reconcile-status").textContent = t("admin.orders.reconciled", { credited: done.credited.length, expired: done.expired.length, unanswered: done.unanswered.length });
      load(false);
    } catch (error) {
      A.byId("reconcile-status").textContent = A.explain(error);
    } finally {
      CG.ui.setBusy(button, false);
    }
  });
  A.byId("order-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    load(false);
  });
  A.byId("orders-more").addEventListener("click", () => load(true));
  A.byId("stray").addEventListener("toggle", () => { if (A.byId("stray").open) loadStray(); });
  const wanted = new URLSearchParams(window.location.search).get("id");
  load(false);
  if (wanted) open(wanted);
})();
