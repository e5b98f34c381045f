/* Paying: say in plain words what happened to an order (and, once paid, what the account has now), and watch an
   order until it settles. On the return page (/pay/return?order=...) it watches the order the page names. */
(function () {
  "use strict";
  const CG = window.CG;
  const t = CG.t;
  const FINAL = ["paid", "expired", "failed", "refunded"];

  function utcDate(seconds) {
    return new Date(Number(seconds) * 1000).toISOString().slice(0, 10);
  }

  function yuan(fen) {
    const value = Number(fen || 0);
    return value % 100 === 0 ? String(value / 100) : (value / 100).toFixed(2);
  }

  /** "Pro · Monthly: ¥29 to pay" */
  function summary(order) {
    return t("pay.summary", {
      plan: order.plan_title || order.plan,
      cycle: t("pricing.cycle." + order.cycle),
      amount: yuan(order.amount),
    });
  }

  /** The sentence for an order's status; for a paid order, the plan it gave and until when. */
  function describe(order) {
    const title = order.plan_title || order.plan;
    const sub = order.subscription;
    if (order.status === "paid") {
      if (sub && sub.mode === "downgrade") {
        return t("pay.paid_queued", { plan: title, start: utcDate(sub.starts_at), date: utcDate(sub.ends_at) });
      }
      const current = order.current || {};
      const ends = sub ? utcDate(sub.ends_at) : String(current.plan_expires_at || "").slice(0, 10);
      return t("pay.paid", { plan: title, date: ends });
    }
    if (order.status === "expired") return t("pay.expired");
    if (order.status === "failed") return t("pay.failed");
    if (order.status === "refunded") return t("pay.refunded");
    return t("pay.waiting");
  }

  /** Poll the order every `every` ms until it settles (or `stop()`); `onUpdate(order)` on every answer and
      `onError(apiError)` when the order cannot be read (signed out, not yours). */
  function watch(orderId, onUpdate, onError, every) {
    let stopped = false;
    let timer = 0;
    const started = Date.now();
    async function tick() {
      if (stopped) return;
      try {
        const order = await CG.api("GET", "/api/orders/" + encodeURIComponent(orderId));
        if (stopped) return;
        onUpdate(order);
        if (FINAL.includes(order.status)) return;
      } catch (error) {
        if (!(error instanceof CG.ApiError)) throw error;
        if (error.status === 401 || error.status === 404) {
          onError(error);
          return;
        }
      }
      const slow = Date.now() - started > 120000;  // after two minutes, ask less often
      timer = setTimeout(tick, slow ? 5000 : every || 2000);
    }
    tick();
    return { stop: () => { stopped = true; clearTimeout(timer); } };
  }

  CG.pay = { utcDate: utcDate, yuan: yuan, summary: summary, describe: describe, watch: watch, FINAL: FINAL };

  // --- the return page ----------------------------------------------------------------------------------------
  const page = document.getElementById("pay-return");
  if (!page) return;
  const statusLine = document.getElementById("pay-status");
  const summaryLine = document.getElementById("pay-summary");
  const done = document.getElementById("pay-done");
  let checks = 0;
  watch(page.dataset.orderId, (order) => {
    checks += 1;
    summaryLine.textContent = summary(order);
    statusLine.textContent = order.status === "pending" && checks > 1 ? t("pay.still_pending") : describe(order);
    statusLine.classList.toggle("is-paid", order.status === "paid");
    done.hidden = order.status !== "paid";
    page.dataset.status = order.status;
  }, (error) => {
    if (error.status === 401) {
      window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
      return;
    }
    statusLine.textContent = error.message;
    page.dataset.status = "unknown";
  });
})();
