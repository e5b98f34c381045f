/* Math and diagrams in answers, each library fetched only when an answer needs it (the first load stays small).
   Math: KaTeX renders the TeX markdown.js set aside (it builds DOM and sets styles through the CSSOM, which the CSP
   allows). Diagrams: each ```mermaid block becomes a sandboxed frame (/frames/mermaid: its own origin-less
   document, scripts from us only) that renders the diagram and sends back its height and SVG; the SVG is kept for
   the PNG export. A diagram that does not parse falls back to its code. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const t = CG.t;
  const { el } = chat;
  const assets = chat.config.assets || {};
  const frames = new WeakMap(); // frame element -> {block, source}
  let katex = null;

  function typeset(node) {
    const tex = node.dataset.tex || node.textContent;
    node.dataset.tex = tex;
    try {
      window.katex.render(tex, node, { displayMode: node.classList.contains("math-display"), throwOnError: false });
      node.classList.add("is-typeset");
    } catch (_bad) {
      node.textContent = tex; // KaTeX refused it outright: the TeX stays readable
    }
  }

  /** Typeset the math in `target` now if KaTeX is here, else as soon as it has loaded. */
  function math(target) {
    const nodes = target.querySelectorAll(".math-inline:not(.is-typeset), .math-display:not(.is-typeset)");
    if (!nodes.length) return;
    if (window.katex) {
      nodes.forEach(typeset);
      return;
    }
    if (!katex) {
      katex = Promise.all([chat.load(assets.katex_css, "css"), chat.load(assets.katex_js)]).catch(() => {
        katex = null; // offline: try again with the next answer
      });
    }
    katex.then(() => {
      if (window.katex) document.querySelectorAll(".math-inline:not(.is-typeset), .math-display:not(.is-typeset)").forEach(typeset);
      repin();
    });
  }

  /** Content grew after it was painted (math, a diagram): keep the end in view if the reader was there. */
  function repin() {
    if (chat.thread) chat.thread.scrollToEnd(false);
  }

  function theme() {
    const chosen = document.documentElement.dataset.theme;
    if (chosen === "light" || chosen === "dark") return chosen;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  /** A diagram block: the rendered diagram, with its source one click away. */
  function diagram(source, copyLabel) {
    const frame = el("iframe", { class: "diagram-frame", sandbox: "allow-scripts", src: assets.mermaid_frame,
      title: t("chat.diagram"), "aria-busy": "true" });
    const code = el("pre", { class: "diagram-code", hidden: true }, [el("code", { class: "hljs", text: source })]);
    const toggle = el("button", { type: "button", class: "code-copy", "aria-pressed": "false", text: t("chat.diagram_code") });
    const block = el("div", { class: "code-block diagram-block" }, [
      el("div", { class: "code-head" }, [
        el("span", { class: "code-lang", text: "mermaid" }),
        el("span", { class: "code-tools" }, [toggle, el("button", { type: "button", class: "code-copy", "data-copy-code": true }, copyLabel())]),
      ]),
      frame, code,
    ]);
    toggle.addEventListener("click", () => {
      const showCode = code.hidden;
      code.hidden = !showCode;
      // Collapsed, not display:none: a diagram still being drawn must keep its layout (Mermaid measures text).
      frame.classList.toggle("is-collapsed", showCode);
      toggle.setAttribute("aria-pressed", String(showCode));
    });
    frames.set(frame, { block: block, source: source });
    return block;
  }

  window.addEventListener("message", (event) => {
    // Only our own frames' messages count; the frame is found by the window that sent the message.
    const frame = Array.from(document.querySelectorAll("iframe.diagram-frame")).find((f) => f.contentWindow === event.source);
    const entry = frame && frames.get(frame);
    const data = event.data || {};
    if (!entry || typeof data !== "object") return;
    if (data.type === "ready") {
      event.source.postMessage({ type: "render", source: entry.source, theme: theme() }, "*");
    } else if (data.type === "rendered") {
      frame.style.height = Math.min(2000, Math.max(40, Number(data.height) || 0)) + "px";
      frame.removeAttribute("aria-busy");
      entry.block.svg = typeof data.svg === "string" ? data.svg : "";
      repin();
    } else if (data.type === "error") {
      frames.delete(frame);
      frame.remove();
      entry.block.querySelector(".diagram-code").hidden = false;
      entry.block.append(el("p", { class: "diagram-error", text: t("chat.diagram_error") }));
    }
  });

  chat.rich = { math: math, diagram: diagram, theme: theme };
})();
