/* The model picker: every enabled model with what is left of its quota on the user's plan (GET /api/models),
   when an exhausted one frees again (the picker and pill refresh by themselves at that moment), and the models a
   better plan unlocks. The choice is remembered on this device and, for an open chat, with the chat. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const t = CG.t;
  const { state, el, icon, api, saved } = chat;

  const button = document.getElementById("model-button");
  const nameBox = document.getElementById("model-name");
  const pill = document.getElementById("model-quota");
  const listBox = document.getElementById("model-list");
  const panel = document.getElementById("model-popover");
  const planBox = document.getElementById("model-plan");
  const userPlan = document.getElementById("user-plan");
  const WINDOW = /^(\d+)([smhdw])$/;
  const MAX_TIMER_MS = 6 * 3600 * 1000; // a longer wait is re-read later (timers drift while a laptop sleeps)
  let freeTimer = 0;
  let loadedAt = 0;

  function find(id) {
    return state.models.find((model) => model.id === id);
  }

  function nameOf(id) {
    const model = find(id);
    return model ? model.name : id || "";
  }

  /** "per 3 hours" / "每 3 小时" from a canonical window such as "3h". */
  function windowText(window) {
    const match = WINDOW.exec(window || "");
    if (!match) return window || "";
    const n = Number(match[1]);
    return t("chat.window." + match[2] + (n === 1 ? ".one" : ""), { n: n });
  }

  function quotaText(model) {
    if (!model.allowed) return t("chat.quota_not_in_plan");
    if (model.remaining > 0) {
      return t("chat.quota_left", { remaining: model.remaining, limit: model.limit, window: windowText(model.window) });
    }
    return t("chat.quota_empty", { wait: chat.duration(model.resets_in) });
  }

  function usable(model) {
    return Boolean(model && model.allowed);
  }

  function hasQuota(model) {
    return usable(model) && model.remaining > 0;
  }

  /** Models of the plan with quota left, other than `exceptId`, most left first. */
  function alternatives(exceptId) {
    return state.models.filter((model) => model.id !== exceptId && hasQuota(model)).sort((a, b) => b.remaining - a.remaining);
  }

  /** Refresh when the first used-up model frees a slot (its `resets_in`), so nothing stays "used up" stale. */
  function scheduleRefresh() {
    clearTimeout(freeTimer);
    const waits = state.models.filter((m) => usable(m) && m.remaining === 0 && m.resets_in > 0).map((m) => m.resets_in);
    if (!waits.length) return;
    const delay = Math.min(MAX_TIMER_MS, Math.min(...waits) * 1000 + 500);
    freeTimer = setTimeout(() => load().catch(() => {}), delay);
  }

  function option(model) {
    const selected = model.id === state.model;
    const item = el("li", {
      role: "option", class: "model-option" + (model.allowed ? "" : " is-locked") + (model.allowed && model.remaining === 0 ? " is-empty" : ""),
      "aria-selected": selected ? "true" : "false", "aria-disabled": model.allowed ? false : "true",
      tabindex: "-1", "data-model": model.id,
    }, [
      el("span", { class: "model-option-main" }, [
        el("span", { class: "model-option-name", text: model.name }),
        el("span", { class: "model-option-quota", text: quotaText(model) }),
      ]),
      model.allowed ? icon("check", "model-check") : icon("lock", "model-check"),
    ]);
    return item;
  }

  function renderButton() {
    const model = find(state.model);
    nameBox.textContent = model ? model.name : t("chat.no_model");
    pill.hidden = !usable(model);
    if (usable(model)) {
      pill.textContent = model.remaining + "/" + model.limit;
      pill.classList.toggle("is-empty", model.remaining === 0);
      pill.title = quotaText(model);
    }
    const planTitle = state.plan ? state.plan.title || state.plan.name : "";
    planBox.textContent = planTitle ? t("chat.plan", { plan: planTitle }) : "";
    userPlan.textContent = planTitle ? t("chat.plan", { plan: planTitle }) : "\u00a0";
    chat.emit("model", model);
  }

  function renderList() {
    listBox.replaceChildren(...state.models.map(option));
  }

  /** Pick `id`; with a chat open, the chat keeps it too (every device opens it with this model). */
  function choose(id, persist) {
    const model = find(id);
    if (!usable(model)) return;
    const changed = state.model !== id;
    state.model = id;
    saved.set("model", id);
    chat.emit("model-note", null);
    renderButton();
    if (changed && persist !== false && state.current && state.current.model !== id && !state.loading) {
      state.current.model = id;
      api.change(state.current.id, { model: id }).catch(() => {});
    }
  }

  /** Opening a chat: take its model, unless it is used up now (say so instead of switching silently). */
  function prefer(id) {
    const model = find(id);
    if (!usable(model) || id === state.model) return;
    if (hasQuota(model) || !hasQuota(find(state.model))) {
      choose(id, false);
      return;
    }
    chat.emit("model-note", { model: model, kept: find(state.model) });
  }

  async function load() {
    const data = await api.models();
    loadedAt = Date.now();
    state.models = data.models || [];
    state.plan = data.plan || null;
    state.resetChances = Number(data.reset_chances) || 0;
    const current = find(state.model) || find(saved.get("model"));
    const fallback = state.models.find((m) => m.allowed && m.remaining > 0) || state.models.find(usable);
    state.model = usable(current) ? current.id : fallback ? fallback.id : "";
    renderButton();
    if (!panel.hidden) renderList();
    scheduleRefresh();
    chat.emit("models", state.models);
  }

  // Back to a tab that slept: timers may not have fired; re-read if the figures are older than a minute.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && Date.now() - loadedAt > 60000) load().catch(() => {});
  });

  const picker = chat.popover(button, panel, { onOpen: renderList });
  listBox.addEventListener("click", (event) => {
    const item = event.target.closest("[data-model]");
    if (!item || item.getAttribute("aria-disabled") === "true") return;
    choose(item.dataset.model);
    picker.close();
    button.focus();
  });
  listBox.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    const item = event.target.closest("[data-model]");
    if (!item) return;
    event.preventDefault();
    item.click();
  });

  chat.models = { load, prefer, choose, nameOf, find, quotaText, alternatives, hasQuota, current: () => find(state.model) };
})();
