/* Menus and pickers that pop over the page: one open at a time, arrow keys move, Escape / outside click close and
   give the focus back to the button that opened it. */
(function () {
  "use strict";
  const chat = window.CG.chat;
  const ITEMS = '[role="menuitem"]:not([hidden]), [role="menuitemradio"], [role="option"]:not([aria-disabled="true"])';
  let open = null; // {button, panel, options}

  function items(panel) {
    return Array.from(panel.querySelectorAll(ITEMS)).filter((item) => !item.closest("[hidden]"));
  }

  function close(restoreFocus) {
    if (!open) return;
    const current = open;
    open = null;
    current.panel.hidden = true;
    current.button.setAttribute("aria-expanded", "false");
    if (current.options.onClose) current.options.onClose();
    if (restoreFocus) current.button.focus();
  }

  function show(button, panel, options) {
    close(false);
    if (options.onOpen) options.onOpen();
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    open = { button: button, panel: panel, options: options };
    const list = items(panel);
    const chosen = list.find((item) => item.getAttribute("aria-selected") === "true" || item.getAttribute("aria-checked") === "true");
    const first = chosen || list[0];
    if (first) first.focus();
  }

  function move(step) {
    const list = items(open.panel);
    if (!list.length) return;
    const index = list.indexOf(document.activeElement);
    const next = index < 0 ? 0 : (index + step + list.length) % list.length;
    list[next].focus();
  }

  /** Make `button` toggle `panel`; `options.onOpen` renders the content right before it shows. */
  function popover(button, panel, options) {
    options = options || {};
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      if (open && open.panel === panel) close(true);
      else show(button, panel, options);
    });
    button.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        show(button, panel, options);
      }
    });
    return { close: () => close(false), isOpen: () => Boolean(open && open.panel === panel) };
  }

  document.addEventListener("click", (event) => {
    if (!open) return;
    if (open.panel.contains(event.target) && !event.target.closest(ITEMS + ", a")) return;
    close(false);
  });
  document.addEventListener("keydown", (event) => {
    if (!open) return;
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close(true);
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      move(event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      const list = items(open.panel);
      if (list.length) list[event.key === "Home" ? 0 : list.length - 1].focus();
    } else if (event.key === "Tab") {
      close(false);
    }
  }, true);

  chat.popover = popover;
  chat.closePopover = () => close(false);
})();
