/* Inside the sandboxed diagram frame (no same-origin access, scripts from the app only): render the Mermaid source
   the chat page sends, then tell it the height and the SVG (kept for the PNG export), or why it failed. */
(function () {
  "use strict";
  let counter = 0;
  const box = document.getElementById("diagram");

  async function draw(source, theme) {
    // The same colour scheme as the page around the frame, or the browser paints the frame opaque.
    document.documentElement.style.colorScheme = theme === "dark" ? "dark" : "light";
    window.mermaid.initialize({
      startOnLoad: false, securityLevel: "strict", theme: theme === "dark" ? "dark" : "default",
      flowchart: { htmlLabels: false }, fontFamily: "system-ui, -apple-system, 'Segoe UI', 'PingFang SC', 'Microsoft YaHei', sans-serif",
    });
    counter += 1;
    const result = await window.mermaid.render("diagram-" + counter, source);
    box.innerHTML = result.svg; // Mermaid's own sanitised output, in a frame that can reach nothing
    const svg = box.querySelector("svg");
    const height = Math.ceil(box.getBoundingClientRect().height);
    return { height: height, svg: svg ? new XMLSerializer().serializeToString(svg) : "" };
  }

  window.addEventListener("message", async (event) => {
    const data = event.data || {};
    if (event.source !== window.parent || data.type !== "render") return;
    try {
      const drawn = await draw(String(data.source || ""), data.theme);
      window.parent.postMessage({ type: "rendered", height: drawn.height, svg: drawn.svg }, "*");
    } catch (error) {
      window.parent.postMessage({ type: "error", message: String((error && error.message) || error) }, "*");
    }
  });
  window.parent.postMessage({ type: "ready" }, "*");
})();
