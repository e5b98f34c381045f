/* Markdown -> safe DOM: marked (GFM) -> DOMPurify with a strict allow-list -> highlight.js, plus code-block headers
   with a copy button, scrollable tables and task-list checkboxes. Raw HTML in the Markdown is shown as text, never
   run or rendered (except a few attribute-free inline tags); links keep only http(s)/mailto targets and open in a
   new tab. Math ($...$, $$...$$, \(...\), \[...\]) is cut out before Markdown can eat its backslashes and left as
   TeX in marked elements; rich.js renders it (KaTeX) and ```mermaid blocks (a sandboxed frame), loading either
   library only when an answer has some. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const el = chat.el;

  const INLINE_TAG = /^<\/?(br|sup|sub|kbd|b|i|u|em|strong|s|del|mark)\s*\/?>$/i;
  const LANGUAGE_CLASS = /^language-[\w+#.-]{1,40}$/;
  const MATH_CLASS = /^math-(inline|display)$/;

  const escapeHtml = (text) =>
    String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  const PURIFY = {
    ALLOWED_TAGS: [
      "a", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "input",
      "kbd", "li", "mark", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead",
      "tr", "u", "ul", "span", "div",
    ],
    ALLOWED_ATTR: ["href", "title", "class", "align", "start", "type", "checked", "disabled"],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
    // Attributes whose values are never URLs: without this the strict URL rule above would drop `type="checkbox"`
    // (task lists lost their boxes), `align="center"` and `start="3"`.
    ADD_URI_SAFE_ATTR: ["type", "align", "start"],
    FORBID_ATTR: ["style"],
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  };

  window.DOMPurify.addHook("uponSanitizeAttribute", (node, data) => {
    // Only the language of a code block and our math markers may set a class: model output cannot borrow the
    // page's styles.
    const mathMark = (node.nodeName === "SPAN" || node.nodeName === "DIV") && MATH_CLASS.test(data.attrValue);
    if (data.attrName === "class" && !(node.nodeName === "CODE" && LANGUAGE_CLASS.test(data.attrValue)) && !mathMark) {
      data.keepAttr = false;
    }
    if (data.attrName === "type" && !(node.nodeName === "INPUT" && data.attrValue === "checkbox")) data.keepAttr = false;
  });
  window.DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.nodeName === "A" && node.hasAttribute("href")) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
    if (node.nodeName === "INPUT") {
      if (node.getAttribute("type") !== "checkbox") node.remove();
      else node.setAttribute("disabled", "");
    }
  });

  const renderer = {
    html(token) {
      const raw = token.text || token.raw || "";
      return INLINE_TAG.test(raw.trim()) ? raw.trim() : escapeHtml(raw);
    },
    image(token) {
      // Remote images would break the CSP (img-src 'self') and can track readers: show a link instead.
      const label = token.text || token.href;
      return '<a href="' + escapeHtml(token.href) + '">' + escapeHtml(label) + "</a>";
    },
  };
  // Math is tokenized before marked's own rules, so `\(` and `\\` reach KaTeX as written. `$5 and $10` is not math:
  // an inline $...$ must not start or end with a space, nor be followed by a digit.
  const INLINE_MATH = [
    [/^\$\$(?!\$)([\s\S]+?)\$\$/, true],
    [/^\\\[([\s\S]+?)\\\]/, true],
    [/^\\\(([\s\S]+?)\\\)/, false],
    [/^\$(?![\s$])((?:\\.|[^\\\n$])+?)(?<!\s)\$(?!\d)/, false],
  ];
  const BLOCK_MATH = [/^ {0,3}\$\$([\s\S]+?)\$\$[ \t]*(?:\n+|$)/, /^ {0,3}\\\[([\s\S]+?)\\\][ \t]*(?:\n+|$)/];
  const mathHtml = (text, display) => {
    const tag = display ? "div" : "span";
    return "<" + tag + ' class="math-' + (display ? "display" : "inline") + '">' + escapeHtml(text.trim()) + "</" + tag + ">";
  };
  const mathExtensions = [
    {
      name: "mathBlock", level: "block",
      start: (src) => { const at = src.search(/\$\$|\\\[/); return at < 0 ? undefined : at; },
      tokenizer(src) {
        for (const rule of BLOCK_MATH) {
          const match = rule.exec(src);
          if (match) return { type: "mathBlock", raw: match[0], text: match[1] };
        }
        return undefined;
      },
      renderer: (token) => mathHtml(token.text, true),
    },
    {
      name: "math", level: "inline",
      start: (src) => { const at = src.search(/\$|\\[([]/); return at < 0 ? undefined : at; },
      tokenizer(src) {
        for (const [rule, display] of INLINE_MATH) {
          const match = rule.exec(src);
          if (match) return { type: "math", raw: match[0], text: match[1], display: display };
        }
        return undefined;
      },
      renderer: (token) => mathHtml(token.text, token.display),
    },
  ];
  window.marked.use({ gfm: true, breaks: false, renderer: renderer, extensions: mathExtensions });

  function copyLabel() {
    return [chat.icon("copy", "icon-small"), el("span", { text: CG.t("common.copy") })];
  }

  function enhanceCode(pre, highlight, streaming) {
    const code = pre.querySelector("code");
    if (!code) return;
    const match = (code.className || "").match(/language-([\w+#.-]+)/);
    const language = match ? match[1].toLowerCase() : "";
    if (language === "mermaid" && !streaming && chat.rich) {
      pre.replaceWith(chat.rich.diagram(code.textContent, copyLabel));
      return;
    }
    if (highlight && window.hljs) {
      if (language && window.hljs.getLanguage(language)) window.hljs.highlightElement(code);
      else code.classList.add("hljs");
    }
    const head = el("div", { class: "code-head" }, [
      el("span", { class: "code-lang", text: language || "text" }),
      el("button", { type: "button", class: "code-copy", "data-copy-code": true }, copyLabel()),
    ]);
    const block = el("div", { class: "code-block" });
    pre.replaceWith(block);
    block.append(head, pre);
  }

  function enhance(fragment, highlight, streaming) {
    fragment.querySelectorAll("pre").forEach((pre) => enhanceCode(pre, highlight, streaming));
    fragment.querySelectorAll("table").forEach((table) => {
      const wrap = el("div", { class: "table-wrap", tabindex: "0" });
      table.replaceWith(wrap);
      wrap.append(table);
    });
    fragment.querySelectorAll('li > input[type="checkbox"]').forEach((box) => {
      box.parentElement.classList.add("task-item");
      box.parentElement.parentElement.classList.add("task-list");
    });
  }

  /** Render Markdown into `target` (replacing its content). `highlight: false` skips syntax colouring; `streaming`
      leaves diagrams as code until the answer is complete. */
  function render(target, markdown, highlight, streaming) {
    const html = window.marked.parse(String(markdown || ""), { async: false });
    const fragment = window.DOMPurify.sanitize(html, PURIFY);
    enhance(fragment, highlight !== false, Boolean(streaming));
    target.replaceChildren(fragment);
    if (chat.rich) chat.rich.math(target);
  }

  // One listener for every code block's copy button, now and later.
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy-code]");
    if (!button) return;
    const code = button.closest(".code-block").querySelector("code");
    const copied = await chat.copyText(code.textContent);
    button.replaceChildren(chat.icon(copied ? "check" : "copy", "icon-small"),
      el("span", { text: CG.t(copied ? "common.copied" : "common.copy_failed") }));
    setTimeout(() => button.replaceChildren(...copyLabel()), 1800);
  });

  chat.markdown = { render: render, escapeHtml: escapeHtml, PURIFY: PURIFY };
})();
