/* A shared conversation: render each answer's Markdown (with math and diagrams) as the chat does. */
(function () {
  "use strict";
  const chat = window.CG.chat;
  document.querySelectorAll("[data-markdown]").forEach((body) => {
    chat.markdown.render(body, body.textContent, true, false);
  });
  document.body.classList.add("is-ready");
})();
