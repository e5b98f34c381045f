/* Moderation: the providers in order (only those whose credentials the environment sets can be chosen), what a
   provider outage does, the keyword list, and the log of blocked inputs and outputs. */
(function () {
  "use strict";
  const CG = window.CG;
  const A = CG.admin;
  const t = CG.t;
  const form = A.byId("policy-form");
  const list = A.byId("provider-list");
  let cursor = null;

  function move(item, step) {
    const sibling = step < 0 ? item.previousElementSibling : item.nextElementSibling;
    if (!sibling) return;
    if (step < 0) list.insertBefore(item, sibling);
    else list.insertBefore(sibling, item);
    item.querySelector("input").focus();
  }

  function renderProviders(policy) {
    const chosen = policy.providers;
    const order = [...chosen, ...policy.available.map((p) => p.name).filter((name) => !chosen.includes(name))];
    const byName = Object.fromEntries(policy.available.map((p) => [p.name, p]));
    list.replaceChildren(...order.map((name) => {
      const missing = byName[name].missing;
      const item = A.el("li", { class: "provider", dataset: { name: name } },
        A.el("label", { class: "check" }, A.el("input", { type: "checkbox", value: name, checked: chosen.includes(name), disabled: missing.length > 0 }),
          " " + t("admin.provider." + name)),
        missing.length ? A.el("span", { class: "item-meta" }, t("admin.moderation.missing", { names: missing.join(", ") })) : null,
        A.el("span", { class: "row-actions" },
          A.el("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": t("admin.moderation.up", { name: name }), onclick: () => move(item, -1) }, "↑"),
          A.el("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": t("admin.moderation.down", { name: name }), onclick: () => move(item, 1) }, "↓")));
      return item;
    }));
  }

  function show(policy) {
    renderProviders(policy);
    A.byId(policy.fail_open ? "fail-open" : "fail-closed").checked = true;
    A.byId("policy-words").value = policy.words.join("\n");
  }

  async function load() {
    try {
      show(await CG.api("GET", "/api/moderation"));
    } catch (error) {
      A.showStatus(A.byId("policy-status"), A.explain(error));
    }
  }

  async function loadLog(append) {
    try {
      const page = await CG.api("GET", "/api/moderation/log" + A.query({ cursor: append ? cursor : "" }));
      A.fillTable(A.byId("log-table"), page.entries, [
        (e) => A.time(e.time),
        (e) => (e.user_id ? A.el("a", { href: "/users/" + e.user_id }, "#" + e.user_id) : "—"),
        (e) => (e.channel ? t("admin.channel." + e.channel) : "—"),
        (e) => t("admin.moderation.dir." + e.direction),
        (e) => e.provider,
        (e) => e.label + (e.words.length ? " (" + e.words.join(", ") + ")" : ""),
        (e) => ({ value: e.excerpt, class: "cell-wrap" }),
      ], t("admin.moderation.no_blocks"), append);
      cursor = page.next_cursor;
      A.byId("log-more").hidden = !cursor;
    } catch (error) {
      A.showStatus(A.byId("log-status"), A.explain(error));
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    CG.ui.setFieldError(A.byId("policy-words"), "");
    const body = {
      providers: Array.from(list.querySelectorAll("input:checked")).map((box) => box.value),
      fail_open: A.byId("fail-open").checked,
      words: A.byId("policy-words").value.split("\n").map((word) => word.trim()).filter(Boolean),
    };
    const long = body.words.find((word) => word.length > 100);
    if (long) {
      CG.ui.setFieldError(A.byId("policy-words"), t("admin.moderation.word_long", { word: long.slice(0, 20) }));
      return;
    }
    A.submit(form, async () => {
      show(await CG.api("PUT", "/api/moderation", body));
      A.showStatus(A.byId("policy-status"), t("admin.saved"), "success");
    });
  });
  A.byId("log-more").addEventListener("click", () => loadLog(true));
  load();
  loadLog(false);
})();
