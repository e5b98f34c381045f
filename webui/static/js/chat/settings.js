/* Per-chat settings, kept with the chat on the server (so every device opens it the same): model, system prompt
   (typed, or from a built-in mask or one of the user's presets), temperature, the longest answer and how many
   earlier messages go with each question. A new chat keeps them until its first message saves them with it. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const t = CG.t;
  const { state, el, api } = chat;

  const dialog = document.getElementById("settings-dialog");
  const form = document.getElementById("settings-form");
  const model = document.getElementById("settings-model");
  const system = document.getElementById("settings-system");
  const source = document.getElementById("settings-source");
  const masks = document.getElementById("settings-masks");
  const temperature = document.getElementById("settings-temperature");
  const temperatureValue = document.getElementById("settings-temperature-value");
  const temperatureDefault = document.getElementById("settings-temperature-default");
  const maxTokens = document.getElementById("settings-max-tokens");
  const context = document.getElementById("settings-context");
  const contextValue = document.getElementById("settings-context-value");
  const contextAll = document.getElementById("settings-context-all");
  const statusBox = document.getElementById("settings-status");
  let systemName = "";

  /** Save settings for the open chat (or keep them for a new one); `changes` may also carry `model`. */
  async function apply(settings, modelId) {
    state.settings = Object.assign({}, chat.DEFAULT_SETTINGS, settings);
    if (modelId && modelId !== state.model) chat.models.choose(modelId, false);
    if (state.current && !state.loading) {
      const body = { settings: state.settings };
      if (modelId) body.model = modelId;
      const changed = await api.change(state.current.id, body);
      state.current.settings = changed.settings;
      state.current.model = changed.model;
    }
    chat.emit("settings", state.settings);
  }

  function syncOutputs() {
    temperature.disabled = temperatureDefault.checked;
    temperatureValue.textContent = temperatureDefault.checked ? t("chat.settings_default") : Number(temperature.value).toFixed(1);
    context.disabled = contextAll.checked;
    contextValue.textContent = contextAll.checked ? t("chat.settings_all") : context.value;
    source.textContent = systemName ? t("chat.settings_from", { name: systemName }) : "";
  }

  function maskButton(item, kind) {
    return el("button", { type: "button", class: "mask-card", "data-mask-kind": kind, "data-mask-id": item.id }, [
      el("span", { class: "mask-name", text: item.name }),
      el("span", { class: "mask-prompt", text: item.prompt }),
    ]);
  }

  function renderMasks() {
    const groups = [[t("chat.masks"), state.masks, "mask"], [t("chat.my_presets"), state.presets, "preset"]];
    masks.replaceChildren(...groups.filter(([, items]) => items.length).map(([title, items, kind]) =>
      el("section", { class: "mask-group" }, [el("h3", { text: title }),
        el("div", { class: "mask-grid" }, items.map((item) => maskButton(item, kind)))])));
  }

  function fill() {
    const s = state.settings;
    const usable = state.models.filter((m) => m.allowed);
    model.replaceChildren(...usable.map((m) => el("option", { value: m.id, text: m.name + (m.remaining === 0 ? " · " + t("chat.used_up") : "") })));
    model.value = state.model;
    system.value = s.system || "";
    systemName = s.system_name || "";
    temperatureDefault.checked = s.temperature === null || s.temperature === undefined;
    temperature.value = temperatureDefault.checked ? "1" : String(s.temperature);
    maxTokens.value = s.max_tokens ? String(s.max_tokens) : "";
    contextAll.checked = s.context_messages === null || s.context_messages === undefined;
    context.value = contextAll.checked ? "10" : String(s.context_messages);
    document.getElementById("settings-scope").textContent = t(state.current ? "chat.settings_scope" : "chat.settings_scope_new");
    renderMasks();
    syncOutputs();
    CG.ui.showStatus(statusBox, "");
  }

  function read() {
    const tokens = maxTokens.value.trim();
    return {
      system: system.value.trim(),
      system_name: system.value.trim() ? systemName : "",
      temperature: temperatureDefault.checked ? null : Number(temperature.value),
      max_tokens: tokens ? Number(tokens) : null,
      context_messages: contextAll.checked ? null : Number(context.value),
    };
  }

  function open() {
    chat.closePopover();
    fill();
    dialog.showModal();
    system.focus();
  }

  masks.addEventListener("click", (event) => {
    const card = event.target.closest("[data-mask-id]");
    if (!card) return;
    const pool = card.dataset.maskKind === "mask" ? state.masks : state.presets;
    const item = pool.find((m) => m.id === card.dataset.maskId);
    if (!item) return;
    system.value = item.prompt;
    systemName = item.name;
    if (item.temperature !== null && item.temperature !== undefined) {
      temperatureDefault.checked = false;
      temperature.value = String(item.temperature);
    }
    syncOutputs();
    system.focus();
  });
  system.addEventListener("input", () => {
    systemName = ""; // typed by hand now
    syncOutputs();
  });
  [temperature, temperatureDefault, context, contextAll].forEach((input) => input.addEventListener("input", syncOutputs));
  document.getElementById("settings-reset").addEventListener("click", () => {
    state.settings = Object.assign({}, chat.DEFAULT_SETTINGS, { system: state.settings.system, system_name: state.settings.system_name });
    const keep = { system: system.value, name: systemName };
    fill();
    system.value = keep.system;
    systemName = keep.name;
    syncOutputs();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const tokens = maxTokens.value.trim();
    if (tokens && !(Number.isInteger(Number(tokens)) && Number(tokens) > 0)) {
      CG.ui.setFieldError(maxTokens, t("chat.settings_tokens_invalid"));
      maxTokens.focus();
      return;
    }
    CG.ui.setFieldError(maxTokens, "");
    await CG.ui.submitting(form, async () => {
      await apply(read(), model.value);
      dialog.close();
      chat.toast(t("chat.settings_saved"));
    });
  });
  document.getElementById("open-settings").addEventListener("click", open);

  chat.settings = { open, apply };
})();
