/* A conversation's menu in the list: rename in place, share (export.js), export (the link downloads) and delete
   with a confirmation. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const t = CG.t;
  const { state, el, api } = chat;
  const list = chat.conversations;
  const groupsBox = list.groupsBox;
  const menu = list.menu;
  const render = () => list.render();
  const syncChrome = (push) => list.syncChrome(push);
  const startNew = () => list.startNew();

  function renameInPlace(conversation) {
    const item = groupsBox.querySelector('.conv-item[data-id="' + CSS.escape(conversation.id) + '"]');
    if (!item) return;
    const input = el("input", { type: "text", class: "conv-rename", maxlength: "100", "aria-label": t("chat.rename") });
    input.value = conversation.title || "";
    const link = item.querySelector(".conv-link");
    link.replaceWith(input);
    input.focus();
    input.select();
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      if (save && title && title !== conversation.title) {
        try {
          const updated = await api.rename(conversation.id, title);
          conversation.title = updated.title;
          if (state.current && state.current.id === conversation.id) state.current.title = updated.title;
        } catch (error) {
          chat.toast(CG.errorMessage(error.code, error.message));
        }
      }
      render();
      syncChrome(false);
      const again = groupsBox.querySelector('.conv-item[data-id="' + CSS.escape(conversation.id) + '"] .conv-link');
      if (again) again.focus();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        finish(true);
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        finish(false);
      }
    });
    input.addEventListener("blur", () => finish(true));
  }

  function confirmDelete(conversation) {
    const dialog = document.getElementById("confirm-dialog");
    document.getElementById("confirm-title").textContent = t("chat.delete_title");
    document.getElementById("confirm-text").textContent = t("chat.delete_text", { title: conversation.title || t("chat.untitled") });
    const ok = document.getElementById("confirm-ok");
    const fresh = ok.cloneNode(true); // drop the previous conversation's listener
    ok.replaceWith(fresh);
    fresh.addEventListener("click", async () => {
      dialog.close();
      try {
        await api.remove(conversation.id);
        state.conversations = state.conversations.filter((c) => c.id !== conversation.id);
        render();
        if (state.current && state.current.id === conversation.id) startNew();
        chat.toast(t("chat.deleted"));
      } catch (error) {
        chat.toast(CG.errorMessage(error.code, error.message));
      }
    });
    dialog.showModal();
    fresh.focus();
  }

  menu.addEventListener("click", (event) => {
    const action = event.target.closest("[data-conv-act]");
    const conversation = list.menuTarget();
    if (!action || !conversation) return;
    if (action.dataset.convAct === "export") return; // the link downloads
    event.preventDefault();
    chat.closePopover();
    if (action.dataset.convAct === "rename") renameInPlace(conversation);
    else if (action.dataset.convAct === "share") chat.exporter.share(conversation);
    else confirmDelete(conversation);
  });

})();
