/* Prompt presets: reusable system prompts kept on the server (GET/POST/PUT/DELETE /api/presets). The composer's
   preset button picks one for the next messages (remembered on this device); the dialog creates, edits, deletes. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const t = CG.t;
  const { state, el, icon, api, saved } = chat;

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

  function active() {
    return state.presets.find((preset) => preset.id === state.presetId) || null;
  }

  function pick(id) {
    state.presetId = id || "";
    saved.set("preset", state.presetId);
    const preset = active();
    label.textContent = preset ? preset.name : t("chat.preset_none");
    button.classList.toggle("is-active", Boolean(preset));
  }

  function menuItem(id, name) {
    const checked = (state.presetId || "") === id;
    return el("button", { type: "button", role: "menuitemradio", class: "menu-item", "aria-checked": checked ? "true" : "false",
      "data-preset": id }, [icon(checked ? "check" : "book"), el("span", { class: "menu-item-text", text: name })]);
  }

  function renderMenu() {
    const items = [menuItem("", t("chat.preset_none")), ...state.presets.map((p) => menuItem(p.id, p.name))];
    items.push(el("div", { class: "menu-sep", role: "separator" }));
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
    const data = await api.presets();
    state.presets = data.presets || [];
    pick(state.presetId || saved.get("preset"));
    if (!active()) pick("");
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
    const item = event.target.closest("[data-preset], [data-manage-presets]");
    if (!item) return;
    if (item.hasAttribute("data-manage-presets")) openDialog();
    else {
      pick(item.dataset.preset);
      chat.composer.focus();
    }
  });
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
      pick(preset.id);
      resetForm();
      chat.toast(t("chat.preset_saved"));
    });
  });

  chat.presets = { load, activePrompt: () => (active() ? active().prompt : ""), pick };
})();
