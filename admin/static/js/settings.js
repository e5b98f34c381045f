/* Site settings: title, WeChat account name, who may register, default language, invitation reward; and which
   secrets the environment sets (names only: their values never reach the browser). */
(function () {
  "use strict";
  const CG = window.CG;
  const A = CG.admin;
  const t = CG.t;
  const form = A.byId("settings-form");
  const TEXT = { title: "set-title", wechat_oa: "set-oa", registration: "set-registration", default_language: "set-lang",
    invite_bonus_plan: "set-bonus-plan" };
  const NUMBERS = { invite_reset_chances: "set-reward", invite_rewards_per_day: "set-per-day", invite_bonus_days: "set-bonus-days",
    invite_commission_percent: "set-commission", invite_commission_days: "set-commission-days", order_expire_minutes: "set-expiry" };

  function show(data) {
    const plan = A.byId("set-bonus-plan");
    const wanted = data.settings.invite_bonus_plan;
    if (wanted && !Array.from(plan.options).some((option) => option.value === wanted)) plan.append(A.el("option", { value: wanted }, wanted));
    for (const [name, id] of Object.entries({ ...TEXT, ...NUMBERS })) A.byId(id).value = data.settings[name];
    A.byId("secret-list").replaceChildren(...data.secrets.map((secret) => A.el("li", {},
      A.el("code", {}, secret.name), " ", secret.set ? A.badge(t("admin.settings.set")) : A.badge(t("admin.settings.not_set"), "muted"))));
  }

  async function loadPlans() {
    try {
      const data = await CG.api("GET", "/api/plans");
      const select = A.byId("set-bonus-plan");
      for (const plan of data.plans.filter((p) => p.name !== "free")) {
        if (!Array.from(select.options).some((option) => option.value === plan.name)) select.append(A.el("option", { value: plan.name }, plan.title + " (" + plan.name + ")"));
      }
    } catch (error) {
      A.showStatus(A.byId("settings-status"), A.explain(error));
    }
  }

  async function load() {
    try {
      show(await CG.api("GET", "/api/settings"));
    } catch (error) {
      A.showStatus(A.byId("settings-status"), A.explain(error));
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    CG.ui.clearErrors(form);
    const body = {};
    for (const [name, id] of Object.entries(TEXT)) body[name] = A.byId(id).value.trim();
    let bad = null;
    for (const [name, id] of Object.entries(NUMBERS)) {
      const input = A.byId(id);
      const value = Number(input.value);
      const low = Number(input.dataset.min || 0);
      if (input.value.trim() === "" || !Number.isInteger(value) || value < low || value > Number(input.dataset.max)) {
        CG.ui.setFieldError(input, t("admin.settings.number_range", { min: low, max: input.dataset.max }));
        bad = bad || input;
      }
      body[name] = value;
    }
    if (!body.title) {
      CG.ui.setFieldError(A.byId("set-title"), t("validate.required"));
      bad = bad || A.byId("set-title");
    }
    if (bad) {
      bad.focus();
      return;
    }
    A.submit(form, async () => {
      show(await CG.api("PUT", "/api/settings", body));
      A.showStatus(A.byId("settings-status"), t("admin.saved"), "success");
    });
  });
  loadPlans().then(load);
})();
