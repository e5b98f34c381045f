/* The announcement: edit the Markdown with a live preview (rendered as the web app's modal renders it: marked, then
   DOMPurify with a strict allow-list), publish it as a new version, or withdraw it. */
(function () {
  "use strict";
  const CG = window.CG;
  const A = CG.admin;
  const t = CG.t;
  const form = A.byId("notice-form");
  const input = A.byId("notice-markdown");
  const preview = A.byId("notice-preview");
  const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const PURIFY = {
    ALLOWED_TAGS: ["a", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
      "kbd", "li", "mark", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul"],
    ALLOWED_ATTR: ["href", "title", "align", "start"],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
    FORBID_ATTR: ["style"],
    RETURN_DOM_FRAGMENT: true,
  };
  window.marked.use({
    gfm: true,
    renderer: {
      html: (token) => escapeHtml(token.text || token.raw || ""),
      image: (token) => '<a href="' + escapeHtml(token.href) + '">' + escapeHtml(token.text || token.href) + "</a>",
    },
  });

  function render() {
    const text = input.value;
    if (!text.trim()) {
      preview.replaceChildren(A.el("p", { class: "muted" }, t("admin.notice.empty")));
      return;
    }
    preview.replaceChildren(window.DOMPurify.sanitize(window.marked.parse(text, { async: false }), PURIFY));
  }

  function show(notice) {
    A.byId("notice-version").textContent = notice
      ? t("admin.notice.version", { version: notice.version, time: A.time(notice.updated_at) })
      : t("admin.notice.none");
    A.byId("notice-withdraw").hidden = !notice;
  }

  async function load() {
    try {
      const data = await CG.api("GET", "/api/notice");
      input.value = data.notice ? data.notice.markdown : "";
      show(data.notice);
      render();
    } catch (error) {
      A.showStatus(A.byId("notice-status"), A.explain(error));
    }
  }

  input.addEventListener("input", render);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!input.value.trim()) {
      CG.ui.setFieldError(input, t("admin.notice.empty_error"));
      return;
    }
    CG.ui.setFieldError(input, "");
    A.submit(form, async () => {
      const data = await CG.api("PUT", "/api/notice", { markdown: input.value });
      show(data.notice);
      A.showStatus(A.byId("notice-status"), t("admin.notice.published", { version: data.notice.version }), "success");
    });
  });
  A.byId("notice-withdraw").addEventListener("click", async () => {
    if (!(await A.confirmAction(t("admin.notice.withdraw_confirm"), t("admin.notice.withdraw")))) return;
    try {
      await CG.api("DELETE", "/api/notice");
      show(null);
      A.showStatus(A.byId("notice-status"), t("admin.notice.withdrawn"), "success");
    } catch (error) {
      A.showStatus(A.byId("notice-status"), A.explain(error));
    }
  });
  load();
})();
