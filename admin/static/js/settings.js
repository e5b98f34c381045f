/* Site settings: title, WeChat account name, who may register, default language, invitation reward; and which
   secrets the environment sets (names only: their values never reach the browser). */
(function () {
  "use strict";
  const CG = window.CG;
  const A = CG.admin;
  const t = CG.t;
  const form = A.byId("settings-form");
  const FIELDS = { title: "set-title", wechat_oa: "set-oa", registration: "set-registration", default_language: "set-lang", invite_reset_chances: "set-reward" };

  function show(data) {
    for (const [name, id] of Object.entries(FIELDS)) A.byId(id).value = data.settings[name];
    A.byId("secret-list").replaceChildren(...data.secrets.map((secret) => A.el("li", {},
      A.el("code", {}, secret.name), " ", secret.set ? A.badge(t("admin.settings.set")) : A.badge(t("admin.settings.not_set"), "muted"))));
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
    const reward = Number(A.byId("set-reward").value);
    if (!Number.isInteger(reward) || reward < 0 || reward > 100) {
      CG.ui.setFieldError(A.byId("set-reward"), t("admin.settings.reward_range"));
      return;
    }
    if (!A.byId("set-title").value.trim()) {
      CG.ui.setFieldError(A.byId("set-title"), t("validate.required"));
      return;
    }
    const body = {
      title: A.byId("set-title").value.trim(), wechat_oa: A.byId("set-oa").value.trim(),
      registration: A.byId("set-registration").value, default_language: A.byId("set-lang").value, invite_reset_chances: reward,
    };
    A.submit(form, async () => {
      show(await CG.api("PUT", "/api/settings", body));
      A.showStatus(A.byId("settings-status"), t("admin.saved"), "success");
    });
  });
  load();
})();
