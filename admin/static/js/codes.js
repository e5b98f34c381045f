/* Redemption codes: generate a batch (a plan for some days, or reset chances), download its codes as CSV (they are
   shown only once: the store keeps their digests), see each batch's codes and who redeemed them, disable a batch. */
(function () {
  "use strict";
  const CG = window.CG;
  const A = CG.admin;
  const t = CG.t;
  const form = A.byId("batch-form");
  let csvUrl = null;

  function kind() {
    return A.byId("kind-chances").checked ? "reset_chances" : "plan";
  }

  function syncKind() {
    document.querySelectorAll("[data-kind]").forEach((field) => { field.hidden = field.dataset.kind !== kind(); });
  }

  const gives = (b) => (b.kind === "plan" ? t("admin.codes.gives_plan", { plan: b.plan, days: b.days }) : t("admin.codes.gives_chances", { count: b.reset_chances }));

  function csv(batch, codes) {
    const iso = (s) => (s ? new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, "Z") : "");
    const lines = [["code", "batch", "kind", "plan", "days", "reset_chances", "expires_at"].join(",")];
    for (const code of codes) lines.push([code, batch.id, batch.kind, batch.plan || "", batch.days || "", batch.reset_chances || "", iso(batch.expires_at)].join(","));
    return lines.join("\n") + "\n";
  }

  async function loadPlans() {
    try {
      const data = await CG.api("GET", "/api/plans");
      A.byId("batch-plan").replaceChildren(...data.plans.filter((p) => p.name !== "free").map((p) => A.el("option", { value: p.name }, p.title + " (" + p.name + ")")));
    } catch (error) {
      A.showStatus(A.byId("batch-status"), A.explain(error));
    }
  }

  async function openBatch(batch) {
    try {
      const data = await CG.api("GET", "/api/codes" + A.query({ batch: batch.id }));
      A.byId("batch-title").textContent = t("admin.codes.batch_title", { id: batch.id, gives: gives(data.batch) });
      A.fillTable(A.byId("batch-codes-table"), data.codes, [
        (c) => A.el("code", {}, c.hint),
        (c) => A.badge(t("admin.codes.status." + c.status), c.status === "used" ? "" : "muted"),
        (c) => (c.used_by ? A.el("a", { href: "/users/" + c.used_by }, "#" + c.used_by) : "—"),
        (c) => A.time(c.used_at),
      ]);
      A.byId("batch-panel").hidden = false;
    } catch (error) {
      A.showStatus(A.byId("batches-status"), A.explain(error));
    }
  }

  async function disable(batch) {
    if (!(await A.confirmAction(t("admin.codes.disable_confirm", { id: batch.id }), t("admin.codes.disable")))) return;
    try {
      const result = await CG.api("POST", "/api/codes/" + encodeURIComponent(batch.id) + "/disable");
      A.showStatus(A.byId("batches-status"), t("admin.codes.disabled_now", { count: result.disabled }), "success");
      load();
    } catch (error) {
      A.showStatus(A.byId("batches-status"), A.explain(error));
    }
  }

  async function load() {
    try {
      const data = await CG.api("GET", "/api/codes");
      A.fillTable(A.byId("batches-table"), data.batches, [
        (b) => A.el("span", {}, A.el("code", {}, b.id), b.note ? A.el("span", { class: "item-meta" }, " " + b.note) : null),
        gives,
        (b) => ({ value: b.used + " / " + b.count, class: "num" }),
        (b) => (b.expires_at ? A.date(b.expires_at) : "—"),
        (b) => A.date(b.created_at),
        (b) => (b.disabled ? A.badge(t("admin.codes.batch_disabled"), "muted") : A.badge(t("admin.codes.batch_live"))),
        (b) => A.el("div", { class: "row-actions" },
          A.el("button", { type: "button", class: "btn btn-secondary btn-small", onclick: () => openBatch(b) }, t("admin.codes.view")),
          b.disabled ? null : A.el("button", { type: "button", class: "btn btn-danger btn-small", onclick: () => disable(b) }, t("admin.codes.disable"))),
      ], t("admin.codes.none"));
    } catch (error) {
      A.showStatus(A.byId("batches-status"), A.explain(error));
    }
  }

  form.addEventListener("change", syncKind);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    CG.ui.clearErrors(form);
    const count = Number(A.byId("batch-count").value);
    if (!Number.isInteger(count) || count < 1 || count > 10000) {
      CG.ui.setFieldError(A.byId("batch-count"), t("admin.codes.count_range"));
      return;
    }
    const body = { count: count, note: A.byId("batch-note").value.trim() };
    if (A.byId("batch-expires").value) body.expires_at = A.byId("batch-expires").value;
    if (kind() === "plan") {
      body.plan = A.byId("batch-plan").value;
      body.days = Number(A.byId("batch-days").value);
    } else {
      body.reset_chances = Number(A.byId("batch-chances").value);
    }
    A.submit(form, async () => {
      const result = await CG.api("POST", "/api/codes", body);
      if (csvUrl) URL.revokeObjectURL(csvUrl);
      csvUrl = URL.createObjectURL(new Blob([csv(result.batch, result.codes)], { type: "text/csv" }));
      const link = A.byId("codes-csv");
      link.href = csvUrl;
      link.download = "codes-" + result.batch.id + ".csv";
      A.byId("code-list").replaceChildren(...result.codes.map((code) => A.el("li", {}, code)));
      A.byId("new-codes").hidden = false;
      A.showStatus(A.byId("batch-status"), t("admin.codes.generated", { count: result.codes.length }), "success");
      load();
    });
  });
  syncKind();
  loadPlans();
  load();
})();
