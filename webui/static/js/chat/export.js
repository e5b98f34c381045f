/* Export and share the open chat: Markdown and JSON downloads (GET /api/conversations/<id>/export), a PNG image of
   the thread drawn in the browser (html-to-image, fetched on first use), and a read-only share link (/s/<id>:
   a snapshot without account data, revocable, not indexed) with its dialog. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const t = CG.t;
  const { state, el, api } = chat;
  const assets = chat.config.assets || {};

  const button = document.getElementById("export-button");
  const menu = document.getElementById("export-menu");
  const dialog = document.getElementById("share-dialog");
  const urlInput = document.getElementById("share-url");
  const statusBox = document.getElementById("share-status");
  const MAX_CANVAS_PX = 16000; // taller canvases fail in some browsers: scale down instead
  let sharing = null; // the conversation the dialog is about

  function syncMenu() {
    if (!state.current) return;
    menu.querySelector('[data-export="markdown"]').setAttribute("href", api.exportUrl(state.current.id, "markdown"));
    menu.querySelector('[data-export="json"]').setAttribute("href", api.exportUrl(state.current.id, "json"));
  }
  chat.popover(button, menu, { onOpen: syncMenu });

  /** A copy of the thread to draw: messages without their buttons, diagrams as their SVG images. */
  function sheet() {
    const title = state.current ? state.current.title || t("chat.untitled") : t("chat.new");
    const head = el("header", { class: "export-head" }, [
      el("p", { class: "export-site", text: document.title.split(" · ").pop() }),
      el("h1", { text: title }),
      el("p", { class: "export-date", text: new Intl.DateTimeFormat(CG.lang, { dateStyle: "long" }).format(new Date()) }),
    ]);
    const list = document.getElementById("messages").cloneNode(true);
    list.removeAttribute("id");
    list.querySelectorAll(".msg-actions, .msg-edit, .code-copy, .diagram-error").forEach((node) => node.remove());
    const originals = document.querySelectorAll("#messages .diagram-block");
    list.querySelectorAll(".diagram-block").forEach((block, i) => {
      const svg = originals[i] && originals[i].svg;
      const frame = block.querySelector("iframe");
      if (frame) frame.replaceWith(svg ? el("img", { class: "diagram-image", alt: "", src: "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg) }) : "");
    });
    return el("div", { class: "export-sheet markdown-sheet" }, [head, list]);
  }

  async function png() {
    chat.closePopover();
    if (!state.messages.length) return;
    chat.toast(t("chat.export_png_busy"));
    const node = sheet();
    document.body.append(node);
    try {
      await chat.load(assets.html_to_image);
      const height = node.scrollHeight;
      const ratio = Math.max(0.5, Math.min(2, window.devicePixelRatio || 1, MAX_CANVAS_PX / Math.max(1, height)));
      const background = getComputedStyle(document.getElementById("chat-pane")).backgroundColor;
      const url = await window.htmlToImage.toPng(node, { pixelRatio: ratio, backgroundColor: background, cacheBust: false });
      const title = (state.current && state.current.title) || "chat";
      const link = el("a", { href: url, download: title.replace(/[\\/:*?"<>|]+/g, "-").slice(0, 80) + ".png" });
      document.body.append(link);
      link.click();
      link.remove();
      chat.toast(t("chat.export_png_done"));
    } catch (_failed) {
      chat.toast(t("chat.export_png_failed"));
    } finally {
      node.remove();
    }
  }

  function showShared(shared) {
    document.getElementById("share-off").hidden = Boolean(shared);
    document.getElementById("share-on").hidden = !shared;
    if (shared) {
      urlInput.value = shared.url;
      document.getElementById("share-when").textContent = shared.shared_at ? t("chat.share_when", {
        time: new Intl.DateTimeFormat(CG.lang, { dateStyle: "medium", timeStyle: "short" }).format(new Date(shared.shared_at * 1000)),
      }) : t("chat.share_live");
    }
  }

  async function create(first) {
    CG.ui.showStatus(statusBox, "");
    try {
      const shared = await api.share(sharing.id);
      sharing.share_id = shared.id;
      showShared(shared);
      chat.toast(t(first ? "chat.share_created" : "chat.share_updated"));
      urlInput.select();
    } catch (error) {
      CG.ui.showStatus(statusBox, CG.errorMessage(error.code, error.message));
    }
  }

  /** Open the share dialog for `conversation` (the open chat by default). */
  function share(conversation) {
    chat.closePopover();
    sharing = conversation || state.current;
    if (!sharing) return;
    CG.ui.showStatus(statusBox, "");
    document.getElementById("share-title").textContent = t("chat.share_title", { title: sharing.title || t("chat.untitled") });
    showShared(sharing.share_id ? { url: window.location.origin + "/s/" + sharing.share_id } : null);
    dialog.showModal();
    document.getElementById(sharing.share_id ? "share-url" : "share-create").focus();
  }

  document.getElementById("share-create").addEventListener("click", () => create(true));
  document.getElementById("share-update").addEventListener("click", () => create(false));
  document.getElementById("share-revoke").addEventListener("click", async () => {
    try {
      await api.unshare(sharing.id);
      sharing.share_id = "";
      showShared(null);
      chat.toast(t("chat.share_revoked"));
    } catch (error) {
      CG.ui.showStatus(statusBox, CG.errorMessage(error.code, error.message));
    }
  });
  menu.addEventListener("click", (event) => {
    const item = event.target.closest("[data-export]");
    if (!item) return;
    if (item.dataset.export === "png") png();
    else if (item.dataset.export === "share") share(null);
    else chat.closePopover(); // the Markdown and JSON links download by themselves
  });

  chat.exporter = { share: share, png: png };
})();
