/* Start the chat page: load models, presets and the conversation list together, open the conversation named in
   the address (`?c=<id>`), then show the announcement if it is new. Also wires the dialogs' close buttons and the
   user menu. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;

  document.querySelectorAll("dialog").forEach((dialog) => {
    dialog.addEventListener("click", (event) => {
      // A click on the backdrop (the dialog box itself, outside its content) closes it.
      if (event.target === dialog || event.target.closest("[data-close-dialog]")) dialog.close();
    });
  });
  chat.popover(document.getElementById("user-menu-button"), document.getElementById("user-menu"));

  async function start() {
    const failures = [];
    const attempt = (promise) => promise.catch((error) => failures.push(error));
    await Promise.all([attempt(chat.models.load()), attempt(chat.presets.load()), attempt(chat.conversations.load())]);
    const id = new URLSearchParams(window.location.search).get("c");
    if (id) await chat.conversations.open(id, false);
    else {
      chat.thread.render();
      chat.conversations.syncChrome(false);
    }
    const failure = failures.find((error) => error.code !== "not_authenticated");
    if (failure) chat.alerts.show(failure, () => window.location.reload());
    chat.composer.sync();
    if (!chat.isNarrow()) chat.composer.focus();
    chat.notice.load().catch(() => {});
    document.body.classList.add("is-ready");
  }

  start();
})();
