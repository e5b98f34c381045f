/* The site announcement (GET /api/notice: Markdown + version + seen): opens by itself once per new version (what
   the user has seen is kept on the account, POST /api/notice/seen, so it follows them across devices) and stays
   readable from the user menu. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const { api } = chat;

  const dialog = document.getElementById("notice-dialog");
  const body = document.getElementById("notice-body");
  const menuItem = document.getElementById("open-notice");
  let notice = null;

  function show() {
    if (!notice) return;
    chat.markdown.render(body, notice.markdown, true);
    if (!dialog.open) dialog.showModal();
    dialog.querySelector(".dialog-actions .btn").focus();
  }

  dialog.addEventListener("close", () => {
    if (notice && !notice.seen) {
      notice.seen = true;
      api.noticeSeen(notice.version).catch(() => {});
    }
  });
  menuItem.addEventListener("click", () => {
    chat.closePopover();
    show();
  });

  async function load() {
    const data = await api.notice();
    notice = data && data.version && data.markdown ? data : null;
    menuItem.hidden = !notice;
    if (notice && !notice.seen) show();
  }

  chat.notice = { load, show };
})();
