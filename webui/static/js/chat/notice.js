/* The site announcement (GET /api/notice: Markdown + version): opens by itself once per new version (the last seen
   version is remembered on this device) and stays readable from the user menu. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const { api, saved } = chat;

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
    if (notice) saved.set("notice.seen", notice.version);
  });
  menuItem.addEventListener("click", () => {
    chat.closePopover();
    show();
  });

  async function load() {
    const data = await api.notice();
    notice = data && data.version && data.markdown ? data : null;
    menuItem.hidden = !notice;
    if (notice && Number(saved.get("notice.seen") || 0) < Number(notice.version)) show();
  }

  chat.notice = { load, show };
})();
