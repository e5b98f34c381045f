/* The pricing page: a buy button opens an order; phones go to the gateway's page, desktops get the QR code in a
   dialog that watches the order and says when it is paid and what the account has now. */
(function () {
  "use strict";
  const CG = window.CG;
  const t = CG.t;
  const byId = (id) => document.getElementById(id);
  const dialog = byId("pay-dialog");
  const pageStatus = byId("pricing-status");
  let watcher = null;
  let paid = false;

  function closeDialog() {
    if (watcher) watcher.stop();
    watcher = null;
    if (dialog.open) dialog.close();
    if (paid) window.location.reload();  // the page then shows the new plan and end date
  }

  function showOrder(order) {
    const settled = CG.pay.FINAL.includes(order.status);
    byId("pay-status").textContent = CG.pay.describe(order);
    byId("pay-status").classList.toggle("is-paid", order.status === "paid");
    byId("pay-qr-box").hidden = settled;
    byId("pay-hint").hidden = settled;
    byId("pay-done").hidden = order.status !== "paid";
    dialog.dataset.status = order.status;
    if (order.status === "paid") {
      paid = true;
      byId("pay-done").focus();
    }
  }

  function openDialog(order) {
    paid = false;
    byId("pay-summary").textContent = CG.pay.summary(order);
    byId("pay-order").textContent = t("pay.order_id", { id: order.order_id });
    byId("pay-qr").src = "/api/orders/" + encodeURIComponent(order.order_id) + "/qr";
    showOrder(order);
    dialog.showModal();
    watcher = CG.pay.watch(order.order_id, showOrder, (error) => {
      byId("pay-status").textContent = error.message;
    });
  }

  async function buy(button) {
    CG.ui.showStatus(pageStatus, "");
    CG.ui.setBusy(button, true);
    try {
      const order = await CG.api("POST", "/api/orders", { plan: button.dataset.plan, cycle: button.dataset.cycle });
      if (order.wap && order.pay_url) {
        CG.ui.showStatus(pageStatus, t("pay.redirecting"), "success");
        window.location.assign(order.pay_url);
        return;
      }
      openDialog(order);
    } catch (error) {
      if (!(error instanceof CG.ApiError)) throw error;
      if (error.code === "not_authenticated") {
        window.location.assign("/login?next=" + encodeURIComponent("/pricing"));
        return;
      }
      CG.ui.showStatus(pageStatus, error.message);
    } finally {
      CG.ui.setBusy(button, false);
    }
  }

  document.querySelectorAll("[data-buy]").forEach((button) => {
    button.addEventListener("click", () => buy(button));
  });
  byId("pay-close").addEventListener("click", closeDialog);
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    closeDialog();
  });
  document.body.classList.add("is-ready");
})();
