/* Plans: the list, and a form with prices in yuan (sent as integer fen), per-model limits with checked windows,
   hide / order, and a live preview of the pricing-page card. The API shape is `chatgate plans import`'s. */
(function () {
  "use strict";
  const CG = window.CG;
  const A = CG.admin;
  const t = CG.t;
  const CYCLES = ["monthly", "quarterly", "yearly"];
  const WINDOW = /^([1-9]\d{0,5})\s*([smhdw])$/i;
  const editor = A.byId("plan-editor");
  const form = A.byId("plan-form");
  const rows = A.byId("limit-rows");
  let models = [];
  let editing = null; // the plan being edited, or null for a new one

  function windowWords(window) {
    const match = WINDOW.exec(window || "");
    if (!match) return window || "";
    const n = Number(match[1]);
    const unit = match[2].toLowerCase();
    return n === 1 ? t("admin.every." + unit + ".one") : t("admin.every." + unit + ".many", { n: n });
  }

  const limitWords = (limit) => t("admin.plans.limit_words", { count: limit.limit, window: windowWords(limit.window) });

  function priceText(prices) {
    const sold = CYCLES.filter((cycle) => cycle in prices);
    return sold.length ? sold.map((cycle) => A.yuan(prices[cycle]) + " / " + t("admin.cycle_short." + cycle)).join(" · ") : t("admin.plans.free_price");
  }

  async function load() {
    try {
      const [plans, catalogue] = await Promise.all([CG.api("GET", "/api/plans"), CG.api("GET", "/api/models")]);
      models = catalogue.models.map((model) => model.id);
      A.fillTable(A.byId("plans-table"), plans.plans, [
        (p) => A.el("code", {}, p.name),
        (p) => p.title,
        (p) => priceText(p.prices),
        (p) => ({ value: Object.entries(p.limits).map(([model, limit]) => model + ": " + limitWords(limit)).join("; ") || "—", class: "cell-wrap" }),
        (p) => ({ value: p.position, class: "num" }),
        (p) => ({ value: p.subscribers, class: "num" }),
        (p) => (p.hidden ? A.badge(t("admin.plans.hidden"), "muted") : A.badge(t("admin.plans.visible"))),
        (p) => A.el("div", { class: "row-actions" },
          A.el("button", { type: "button", class: "btn btn-secondary btn-small", onclick: () => open(p) }, t("admin.edit")),
          p.name === "free" ? null : A.el("button", { type: "button", class: "btn btn-danger btn-small", onclick: () => remove(p) }, t("common.delete"))),
      ]);
    } catch (error) {
      A.showStatus(A.byId("plans-status"), A.explain(error));
    }
  }

  function limitRow(model, limit) {
    const choices = Array.from(new Set([...models, model].filter(Boolean)));
    const index = rows.children.length;
    const select = A.el("select", { "aria-label": t("admin.plans.model"), "data-part": "model", id: "limit-model-" + index },
      choices.map((id) => A.el("option", { value: id, selected: id === model }, id)));
    const count = A.el("input", { type: "number", min: 1, max: 1000000, value: limit ? limit.limit : 10, "aria-label": t("admin.plans.count"), "data-part": "limit", id: "limit-count-" + index });
    const windowInput = A.el("input", { type: "text", value: limit ? limit.window : "3h", maxlength: 8, "aria-label": t("admin.plans.window"), "data-part": "window", id: "limit-window-" + index, placeholder: "3h" });
    const row = A.el("div", { class: "limit-row" }, select, count, windowInput,
      A.el("button", { type: "button", class: "btn btn-ghost btn-small", onclick: () => { row.remove(); preview(); } }, t("admin.remove")));
    row.addEventListener("input", preview);
    rows.append(row);
  }

  /** Read the form into the API shape; return [plan, problems] where problems are [input, message] pairs. */
  function read() {
    const problems = [];
    const prices = {};
    for (const cycle of CYCLES) {
      const input = A.byId("price-" + cycle);
      if (!input.value.trim()) continue;
      const value = A.fen(input.value);
      if (Number.isNaN(value)) problems.push([input, t("admin.plans.bad_price")]);
      else prices[cycle] = value;
    }
    const limits = {};
    for (const row of rows.children) {
      const [model, count, windowInput] = ["model", "limit", "window"].map((part) => row.querySelector('[data-part="' + part + '"]'));
      const n = Number(count.value);
      if (!Number.isInteger(n) || n < 1 || n > 1000000) problems.push([count, t("admin.plans.bad_count")]);
      if (!WINDOW.test(windowInput.value.trim())) problems.push([windowInput, t("admin.plans.bad_window")]);
      if (model.value in limits) problems.push([model, t("admin.plans.model_twice")]);
      limits[model.value] = { limit: n, window: windowInput.value.trim().toLowerCase().replace(/\s+/g, "") };
    }
    const plan = { name: A.byId("plan-name").value.trim(), title: A.byId("plan-title").value.trim(), prices: prices, limits: limits,
      hidden: A.byId("plan-hidden").checked, position: Number(A.byId("plan-position").value || 0) };
    const daily = A.byId("plan-daily").value.trim();
    if (daily) plan.daily_tokens = Number(daily);
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/.test(plan.name)) problems.push([A.byId("plan-name"), t("admin.plans.bad_name")]);
    if (!plan.title) problems.push([A.byId("plan-title"), t("validate.required")]);
    return [plan, problems];
  }

  function preview() {
    const [plan] = read();
    const card = A.byId("plan-preview");
    const limits = Object.entries(plan.limits);
    const buttons = CYCLES.filter((cycle) => cycle in plan.prices).map((cycle) =>
      A.el("span", { class: "btn btn-primary btn-small plan-card-buy", "aria-hidden": "true" }, t("admin.plans.buy", { cycle: t("admin.cycle." + cycle) })));
    const parts = [
      A.el("h4", { class: "plan-card-title" }, plan.title || t("admin.plans.title")),
      A.el("p", { class: "plan-card-price" }, priceText(plan.prices)),
      A.el("ul", { class: "plan-card-limits" }, limits.length ? limits.map(([model, limit]) => A.el("li", {}, model + " — " + limitWords(limit))) : A.el("li", { class: "muted" }, t("admin.plans.no_models"))),
      plan.daily_tokens ? A.el("p", { class: "muted" }, t("admin.plans.daily_words", { count: plan.daily_tokens })) : null,
      plan.hidden ? A.el("p", { class: "notice notice-warning" }, t("admin.plans.hidden_note")) : null,
      buttons.length ? A.el("div", { class: "plan-card-actions" }, buttons) : null,
    ];
    card.replaceChildren(...parts.filter(Boolean));
  }

  function open(plan) {
    editing = plan;
    CG.ui.clearErrors(form);
    A.byId("plan-form-title").textContent = plan ? t("admin.plans.edit", { name: plan.name }) : t("admin.plans.new");
    A.byId("plan-name").value = plan ? plan.name : "";
    A.byId("plan-name").readOnly = Boolean(plan);
    A.byId("plan-title").value = plan ? plan.title : "";
    for (const cycle of CYCLES) A.byId("price-" + cycle).value = plan && cycle in plan.prices ? (plan.prices[cycle] / 100).toFixed(2) : "";
    A.byId("plan-daily").value = plan && plan.daily_tokens ? plan.daily_tokens : "";
    A.byId("plan-position").value = plan ? plan.position : 0;
    A.byId("plan-hidden").checked = plan ? plan.hidden : false;
    rows.replaceChildren();
    if (plan) for (const [model, limit] of Object.entries(plan.limits)) limitRow(model, limit);
    else if (models.length) limitRow(models[0]);
    editor.hidden = false;
    preview();
    A.byId(plan ? "plan-title" : "plan-name").focus();
  }

  async function remove(plan) {
    if (!(await A.confirmAction(t("admin.plans.delete_confirm", { name: plan.name }), t("common.delete")))) return;
    try {
      await CG.api("DELETE", "/api/plans/" + encodeURIComponent(plan.name));
      A.showStatus(A.byId("plans-status"), t("admin.plans.deleted", { name: plan.name }), "success");
      load();
    } catch (error) {
      A.showStatus(A.byId("plans-status"), A.explain(error));
    }
  }

  form.addEventListener("input", preview);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    CG.ui.clearErrors(form);
    const [plan, problems] = read();
    if (problems.length) {
      problems.forEach(([input, message]) => (input.id.startsWith("limit-") ? A.showStatus(A.byId("plan-form-status"), message) : CG.ui.setFieldError(input, message)));
      problems[0][0].focus();
      return;
    }
    A.submit(form, async () => {
      if (editing) await CG.api("PUT", "/api/plans/" + encodeURIComponent(editing.name), plan);
      else await CG.api("POST", "/api/plans", plan);
      editor.hidden = true;
      A.showStatus(A.byId("plans-status"), t("admin.plans.saved", { name: plan.name }), "success");
      load();
    });
  });
  A.byId("plan-new").addEventListener("click", () => open(null));
  A.byId("plan-cancel").addEventListener("click", () => { editor.hidden = true; });
  A.byId("limit-add").addEventListener("click", () => { limitRow(models[0] || ""); preview(); });
  load();
})();
