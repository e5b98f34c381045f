/* Models and upstreams: upstreams with masked keys and live health (test one, enable / disable it), models with
   their input and output prices per million tokens (in yuan, sent as integer fen) and the upstreams that serve them. */
(function () {
  "use strict";
  const CG = window.CG;
  const A = CG.admin;
  const t = CG.t;
  const status = A.byId("catalogue-status");
  const upstreamForm = A.byId("upstream-form");
  const modelForm = A.byId("model-form");
  let upstreams = [];
  let editingUpstream = null;
  let editingModel = null;

  function health(up) {
    if (!up.enabled) return A.badge(t("admin.disabled"), "muted");
    if (up.benched_until * 1000 > Date.now()) return A.badge(t("admin.health.benched_until", { time: A.time(up.benched_until) }), "danger");
    if (up.fails) return A.badge(t("admin.health.failing", { count: up.fails }), "warning");
    return A.badge(t("admin.health.ok"));
  }

  const rate = (value) => (value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%");

  async function testUpstream(up, button) {
    const result = A.byId("test-result");
    CG.ui.setBusy(button, true);
    try {
      const answer = await CG.api("POST", "/api/upstreams/" + encodeURIComponent(up.id) + "/test", {});
      result.textContent = answer.ok ? t("admin.upstreams.test_ok", { name: up.name || up.id, ms: answer.latency_ms })
        : t("admin.upstreams.test_failed", { name: up.name || up.id, error: answer.error });
      result.className = "hint " + (answer.ok ? "hint-success" : "hint-warning");
    } catch (error) {
      result.textContent = A.explain(error);
    } finally {
      CG.ui.setBusy(button, false);
    }
  }

  async function toggle(up) {
    try {
      await CG.api("PUT", "/api/upstreams/" + encodeURIComponent(up.id), { enabled: !up.enabled });
      A.showStatus(status, t(up.enabled ? "admin.upstreams.disabled_now" : "admin.upstreams.enabled_now", { name: up.name || up.id }), "success");
      load();
    } catch (error) {
      A.showStatus(status, A.explain(error));
    }
  }

  async function removeUpstream(up) {
    if (!(await A.confirmAction(t("admin.upstreams.delete_confirm", { name: up.name || up.id }), t("common.delete")))) return;
    try {
      await CG.api("DELETE", "/api/upstreams/" + encodeURIComponent(up.id));
      load();
    } catch (error) {
      A.showStatus(status, A.explain(error));
    }
  }

  async function removeModel(model) {
    if (!(await A.confirmAction(t("admin.models.delete_confirm", { name: model.id }), t("common.delete")))) return;
    try {
      await CG.api("DELETE", "/api/models/" + encodeURIComponent(model.id));
      load();
    } catch (error) {
      A.showStatus(status, A.explain(error));
    }
  }

  const small = (label, onclick, kind) => A.el("button", { type: "button", class: "btn btn-small " + (kind || "btn-secondary"), onclick: onclick }, label);

  function renderUpstreams() {
    A.fillTable(A.byId("upstreams-table"), upstreams, [
      (u) => A.el("span", {}, A.el("strong", {}, u.name || u.id), A.el("br"), A.el("code", {}, u.id)),
      (u) => ({ value: u.base_url, class: "cell-wrap" }),
      (u) => (u.keys.length ? u.keys.map((key) => A.el("code", { class: "key" }, key)) : "—"),
      (u) => ({ value: u.priority + " / " + u.weight, class: "num" }),
      (u) => u.models.join(", ") || "—",
      (u) => ({ value: rate(u.last_24h.success_rate), class: "num" }),
      (u) => ({ value: u.last_24h.latency_ms === null ? "—" : u.last_24h.latency_ms + " ms", class: "num" }),
      (u) => A.el("span", {}, health(u), u.last_error ? A.el("span", { class: "item-meta cell-wrap", title: u.last_error }, " " + u.last_error.slice(0, 60)) : null),
      (u) => A.el("div", { class: "row-actions" },
        small(t("admin.upstreams.test"), (event) => testUpstream(u, event.currentTarget)),
        small(t(u.enabled ? "admin.upstreams.disable" : "admin.upstreams.enable"), () => toggle(u)),
        small(t("admin.edit"), () => openUpstream(u)),
        small(t("common.delete"), () => removeUpstream(u), "btn-danger")),
    ], t("admin.upstreams.none"));
  }

  function renderModels(models) {
    A.fillTable(A.byId("models-table"), models, [
      (m) => A.el("code", {}, m.id),
      (m) => m.name,
      (m) => ({ value: m.context_window.toLocaleString(CG.lang), class: "num" }),
      (m) => m.upstreams.join(", ") || A.badge(t("admin.models.no_upstream"), "danger"),
      (m) => ({ value: A.yuan(m.input_price), class: "num" }),
      (m) => ({ value: A.yuan(m.output_price), class: "num" }),
      (m) => (m.enabled ? A.badge(t("admin.models.on")) : A.badge(t("admin.disabled"), "muted")),
      (m) => A.el("div", { class: "row-actions" }, small(t("admin.edit"), () => openModel(m)), small(t("common.delete"), () => removeModel(m), "btn-danger")),
    ], t("admin.models.none"));
  }

  async function load() {
    try {
      const [ups, models] = await Promise.all([CG.api("GET", "/api/upstreams"), CG.api("GET", "/api/models")]);
      upstreams = ups.upstreams;
      renderUpstreams();
      renderModels(models.models);
    } catch (error) {
      A.showStatus(status, A.explain(error));
    }
  }

  function syncAzure() {
    const azure = A.byId("up-kind").value === "azure";
    document.querySelectorAll("[data-azure]").forEach((field) => { field.hidden = !azure; });
  }

  function openUpstream(up) {
    editingUpstream = up;
    CG.ui.clearErrors(upstreamForm);
    CG.ui.setFieldError(A.byId("up-keys"), "");
    A.byId("upstream-form-title").textContent = up ? t("admin.upstreams.edit", { name: up.name || up.id }) : t("admin.upstreams.new");
    A.byId("up-id").value = up ? up.id : "";
    A.byId("up-id").readOnly = Boolean(up);
    A.byId("up-name").value = up ? up.name : "";
    A.byId("up-base").value = up ? up.base_url : "";
    A.byId("up-kind").value = up ? up.kind : "openai";
    A.byId("up-deployment").value = up ? up.deployment : "";
    A.byId("up-version").value = up ? up.api_version : "";
    A.byId("up-priority").value = up ? up.priority : 0;
    A.byId("up-weight").value = up ? up.weight : 1;
    A.byId("up-keys").value = up ? up.keys.join("\n") : "";
    A.byId("up-enabled").checked = up ? up.enabled : true;
    syncAzure();
    A.byId("upstream-editor").hidden = false;
    A.byId(up ? "up-name" : "up-id").focus();
  }

  function openModel(model) {
    editingModel = model;
    CG.ui.clearErrors(modelForm);
    A.byId("model-form-title").textContent = model ? t("admin.models.edit", { name: model.id }) : t("admin.models.new");
    A.byId("model-id").value = model ? model.id : "";
    A.byId("model-id").readOnly = Boolean(model);
    A.byId("model-name").value = model ? model.name : "";
    A.byId("model-remote").value = model ? model.upstream_model : "";
    A.byId("model-context").value = model ? model.context_window : 128000;
    A.byId("model-input-price").value = model ? (model.input_price / 100).toFixed(2) : "0";
    A.byId("model-output-price").value = model ? (model.output_price / 100).toFixed(2) : "0";
    A.byId("model-position").value = model ? model.position : 0;
    A.byId("model-enabled").checked = model ? model.enabled : true;
    const serves = new Set(model ? model.serves : ["chat"]);
    A.byId("model-serves").querySelectorAll("input").forEach((box) => { box.checked = serves.has(box.value); });
    const inputs = new Set(model ? model.input_types : ["text"]);
    A.byId("model-inputs").querySelectorAll("input").forEach((box) => { box.checked = box.value === "text" || inputs.has(box.value); });
    const chosen = new Set(model ? model.upstreams : []);
    A.byId("model-upstreams").replaceChildren(...upstreams.map((up) => A.el("label", { class: "check" },
      A.el("input", { type: "checkbox", value: up.id, checked: chosen.has(up.id) }), " " + (up.name || up.id) + " (" + up.id + ")")));
    A.byId("model-editor").hidden = false;
    A.byId(model ? "model-name" : "model-id").focus();
  }

  upstreamForm.addEventListener("submit", (event) => {
    event.preventDefault();
    CG.ui.setFieldError(A.byId("up-keys"), "");
    const body = {
      name: A.byId("up-name").value.trim(), base_url: A.byId("up-base").value.trim(), kind: A.byId("up-kind").value,
      deployment: A.byId("up-deployment").value.trim(), api_version: A.byId("up-version").value.trim(),
      priority: Number(A.byId("up-priority").value || 0), weight: Number(A.byId("up-weight").value || 0),
      enabled: A.byId("up-enabled").checked,
      keys: A.byId("up-keys").value.split("\n").map((key) => key.trim()).filter(Boolean),
    };
    const bad = body.keys.find((key) => !key.includes("...") && !/^[\x21-\x7e]{8,512}$/.test(key));
    if (bad !== undefined) {
      CG.ui.setFieldError(A.byId("up-keys"), t("admin.upstreams.bad_key"));
      return;
    }
    if (!/^https?:\/\/\S+$/.test(body.base_url)) {
      CG.ui.setFieldError(A.byId("up-base"), t("admin.upstreams.bad_url"));
      return;
    }
    A.submit(upstreamForm, async () => {
      if (editingUpstream) await CG.api("PUT", "/api/upstreams/" + encodeURIComponent(editingUpstream.id), body);
      else await CG.api("POST", "/api/upstreams", Object.assign({ id: A.byId("up-id").value.trim() }, body));
      A.byId("upstream-editor").hidden = true;
      A.showStatus(status, t("admin.saved"), "success");
      load();
    });
  });

  modelForm.addEventListener("submit", (event) => {
    event.preventDefault();
    CG.ui.clearErrors(modelForm);
    const prices = ["input", "output"].map((kind) => [A.byId("model-" + kind + "-price"), A.fen(A.byId("model-" + kind + "-price").value)]);
    const badPrice = prices.find(([, value]) => Number.isNaN(value));
    if (badPrice) {
      CG.ui.setFieldError(badPrice[0], t("admin.plans.bad_price"));
      return;
    }
    const body = {
      name: A.byId("model-name").value.trim(), upstream_model: A.byId("model-remote").value.trim(),
      context_window: Number(A.byId("model-context").value), input_price: prices[0][1], output_price: prices[1][1],
      position: Number(A.byId("model-position").value || 0), enabled: A.byId("model-enabled").checked,
      upstreams: Array.from(A.byId("model-upstreams").querySelectorAll("input:checked")).map((box) => box.value),
      serves: Array.from(A.byId("model-serves").querySelectorAll("input:checked")).map((box) => box.value),
      input_types: Array.from(A.byId("model-inputs").querySelectorAll("input:checked")).map((box) => box.value),
    };
    if (!body.serves.length) {
      CG.ui.setFieldError(A.byId("model-serves-field"), t("admin.models.pick_serves"));
      return;
    }
    const kept = editingModel ? editingModel.upstreams.filter((id) => body.upstreams.includes(id)) : [];
    body.upstreams = [...kept, ...body.upstreams.filter((id) => !kept.includes(id))]; // the model's order first
    if (!body.upstreams.length) {
      CG.ui.setFieldError(A.byId("model-upstreams-field"), t("admin.models.pick_upstream"));
      return;
    }
    A.submit(modelForm, async () => {
      if (editingModel) await CG.api("PUT", "/api/models/" + encodeURIComponent(editingModel.id), body);
      else await CG.api("POST", "/api/models", Object.assign({ id: A.byId("model-id").value.trim() }, body));
      A.byId("model-editor").hidden = true;
      A.showStatus(status, t("admin.saved"), "success");
      load();
    });
  });

  document.querySelectorAll("[data-close]").forEach((button) => button.addEventListener("click", () => { A.byId(button.dataset.close).hidden = true; }));
  A.byId("up-kind").addEventListener("change", syncAzure);
  A.byId("upstream-new").addEventListener("click", () => openUpstream(null));
  A.byId("model-new").addEventListener("click", () => openModel(null));
  load();
})();
