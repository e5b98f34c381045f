/* Light, dark or the device's theme, chosen in the user menu and kept on the account (PATCH /api/preferences), so
   every device paints the same; the page is served with it already set (<html data-theme>), so there is no flash. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const root = document.documentElement;
  const MEDIA = { light: "(prefers-color-scheme: light)", dark: "(prefers-color-scheme: dark)" };

  /** Paint `theme` now: the page's tokens follow data-theme; the code colours follow their stylesheet's media. */
  function paint(theme) {
    root.dataset.theme = theme;
    for (const side of ["light", "dark"]) {
      const link = document.getElementById("hljs-" + side);
      if (link) link.media = theme === "system" ? MEDIA[side] : theme === side ? "all" : "not all";
    }
    document.querySelectorAll("[data-theme-choice]").forEach((item) => {
      item.setAttribute("aria-checked", item.dataset.themeChoice === theme ? "true" : "false");
    });
  }

  document.querySelectorAll("[data-theme-choice]").forEach((item) => {
    item.addEventListener("click", async () => {
      const before = root.dataset.theme || "system";
      const theme = item.dataset.themeChoice;
      paint(theme);
      try {
        await chat.api.preferences({ theme: theme });
      } catch (error) {
        paint(before);
        chat.toast(CG.errorMessage(error.code, error.message));
      }
    });
  });
  paint(root.dataset.theme || "system");

  chat.theme = { paint: paint };
})();
