/* System prompts for the open chat: the composer's prompt button picks a built-in mask (GET /api/masks) or one of
   the user's presets (kept on the server: GET/POST/PUT/DELETE /api/presets) as the chat's system prompt (a chat
   setting, saved with the chat); the presets dialog creates, edits and deletes presets. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const t = CG.t;
  const { state, el, icon, api } = chat;

  const button = document.getElementById("preset-button");
  const label = document.getElementById("preset-label");
  const menu = document.getElementById("preset-menu");
  const dialog = document.getElementById("presets-dialog");
  const listBox = document.getElementById("preset-list");
  const form = document.getElementById("preset-form");
  const nameInput = document.getElementById("preset-name");
  const promptInput = document.getElementById("preset-prompt");
  const formTitle = document.getElementById("preset-form-title");
  const cancelEdit = document.getElementById("preset-cancel");
  let editing = null;

  /** The composer button shows where the chat's system prompt came from. */
  function syncLabel() {
    const s = state.settings;
    label.textContent = s.system ? s.system_name || t("chat.custom_prompt") : t("chat.preset_none");
    button.classList.toggle("is-active", Boolean(s.system));
  }

  /** Make `item` ({name, prompt, temperature?}) the chat's system prompt; null clears it. */
  async function pick(item) {
    const changes = item
      ? { system: item.prompt, system_name: item.name }
      : { system: "", system_name: "" };
    if (item && item.temperature !== null && item.temperature !== undefined) changes.temperature = item.temperature;
    try {
      await chat.settings.apply(Object.assign({}, state.settings, changes));
    } catch (error) {
      chat.toast(CG.errorMessage(error.code, error.message));
    }
    syncLabel();
  }

  function menuItem(kind, item) {
    const prompt = item ? item.prompt : "";
    const checked = (state.settings.system || "") === prompt && (!item || state.settings.system_name === item.name);
    return el("button", { type: "button", role: "menuitemradio", class: "menu-item", "aria-checked": checked ? "true" : "false",
      "data-pick": kind, "data-id": item ? item.id : "" },
    [icon(checked ? "check" : "book"), el("span", { class: "menu-item-text", text: item ? item.name : t("chat.preset_none") })]);
  }

  function renderMenu() {
    const items = [menuItem("none", null)];
    if (state.presets.length) {
      items.push(el("p", { class: "menu-caption", text: t("chat.my_presets") }), ...state.presets.map((p) => menuItem("preset", p)));
    }
    if (state.masks.length) {
      items.push(el("p", { class: "menu-caption", text: t("chat.masks") }), ...state.masks.map((m) => menuItem("mask", m)));
    }
    items.push(el("div", { class: "menu-sep", role: "separator" }));
    items.push(el("button", { type: "button", role: "menuitem", class: "menu-item", "data-chat-settings": true },
      [icon("sliders"), t("chat.settings")]));
    items.push(el("button", { type: "button", role: "menuitem", class: "menu-item", "data-manage-presets": true },
      [icon("edit"), t("chat.presets_manage")]));
    menu.replaceChildren(...items);
  }

  function renderList() {
    if (!state.presets.length) {
      listBox.replaceChildren(el("li", { class: "muted preset-empty", text: t("chat.presets_empty") }));
      return;
    }
    listBox.replaceChildren(...state.presets.map((preset) => el("li", { class: "preset-item" }, [
      el("div", { class: "preset-main" }, [
        el("p", { class: "preset-name", text: preset.name }),
        el("p", { class: "preset-prompt", text: preset.prompt }),
      ]),
      chat.iconButton("edit", t("chat.preset_edit", { name: preset.name }), { "data-edit-preset": preset.id }),
      chat.iconButton("trash", t("chat.preset_delete", { name: preset.name }), { "data-delete-preset": preset.id }),
    ])));
  }

  async function load() {
    const [presets, masks] = await Promise.all([api.presets(), api.masks().catch(() => ({ masks: [] }))]);
    state.presets = presets.presets || [];
    state.masks = masks.masks || [];
    syncLabel();
    renderList();
  }

  function clearFormErrors() {
    CG.ui.clearErrors(form);
    CG.ui.setFieldError(promptInput, "");
  }

  function resetForm() {
    editing = null;
    form.reset();
    formTitle.textContent = t("chat.preset_new");
    cancelEdit.hidden = true;
    clearFormErrors();
  }

  function openDialog() {
    chat.closePopover();
    resetForm();
    renderList();
    dialog.showModal();
  }

  chat.popover(button, menu, { onOpen: renderMenu });
  menu.addEventListener("click", (event) => {
    const item = event.target.closest("[data-pick], [data-manage-presets], [data-chat-settings]");
    if (!item) return;
    if (item.hasAttribute("data-manage-presets")) openDialog();
    else if (item.hasAttribute("data-chat-settings")) chat.settings.open();
    else {
      const pool = item.dataset.pick === "mask" ? state.masks : state.presets;
      pick(item.dataset.pick === "none" ? null : pool.find((p) => p.id === item.dataset.id) || null);
      chat.composer.focus();
    }
  });
  chat.on("settings", syncLabel);
  chat.on("chat", syncLabel);
  document.getElementById("open-presets").addEventListener("click", openDialog);
  cancelEdit.addEventListener("click", resetForm);

  listBox.addEventListener("click", async (event) => {
    const edit = event.target.closest("[data-edit-preset]");
    const remove = event.target.closest("[data-delete-preset]");
    if (edit) {
      editing = state.presets.find((p) => p.id === edit.dataset.editPreset) || null;
      if (!editing) return;
      nameInput.value = editing.name;
      promptInput.value = editing.prompt;
      formTitle.textContent = t("chat.preset_editing", { name: editing.name });
      cancelEdit.hidden = false;
      nameInput.focus();
    } else if (remove) {
      try {
        await api.deletePreset(remove.dataset.deletePreset);
        if (editing && editing.id === remove.dataset.deletePreset) resetForm();
        await load();
        chat.toast(t("chat.preset_deleted"));
        dialog.querySelector("[data-close-dialog]").focus();
      } catch (error) {
        chat.toast(CG.errorMessage(error.code, error.message));
      }
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormErrors();
    const name = nameInput.value.trim();
    const prompt = promptInput.value.trim();
    const missing = [nameInput, promptInput].filter((input) => !input.value.trim());
    missing.forEach((input) => CG.ui.setFieldError(input, t("validate.required")));
    if (missing.length) {
      missing[0].focus();
      return;
    }
    await CG.ui.submitting(form, async () => {
      const preset = editing ? await api.updatePreset(editing.id, name, prompt) : await api.createPreset(name, prompt);
      await load();
      await pick(preset);
      resetForm();
      chat.toast(t("chat.preset_saved"));
    });
  });

  chat.presets = { load, pick, syncLabel };
})();
