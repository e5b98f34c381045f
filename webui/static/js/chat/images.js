/* Pictures for models that take images (the model's `input_types` include "image"): paste, drop or pick them; each
   is shrunk in the browser (longest side MAX_SIDE, JPEG) before it is sent inside the message, and the whole
   message must fit the server's body limit: past it, the box says by how much and Send waits. The history shows
   the pictures a question was sent with. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const t = CG.t;
  const { state, el, iconButton } = chat;

  const button = document.getElementById("image-button");
  const picker = document.getElementById("image-input");
  const box = document.getElementById("attachments");
  const composer = document.getElementById("composer");
  const MAX_IMAGES = 4;
  const MAX_SIDE = 1568; // what vision models look at anyway; a phone photo shrinks to ~300 KB
  const QUALITY = 0.85;
  const BODY_MARGIN = 4096; // the JSON around the pictures and the text
  const maxBody = Number(chat.config.max_body_bytes) || 1000000;
  let items = []; // [{data: "data:image/jpeg;base64,...", bytes}]
  let working = 0;

  function vision(model) {
    return Boolean(model && (model.input_types || []).includes("image"));
  }

  function bodyBytes() {
    const text = new TextEncoder().encode(chat.composer ? chat.composer.input.value : "").length;
    return items.reduce((sum, item) => sum + item.data.length, 0) + text + BODY_MARGIN;
  }

  /** Why the pictures cannot go as they are ("" when they can). */
  function problem() {
    if (!items.length) return "";
    const model = chat.models && chat.models.current();
    if (!vision(model)) return t("chat.image_not_supported", { model: model ? model.name : "" });
    const bytes = bodyBytes();
    if (bytes > maxBody) return t("chat.image_too_big", { size: megabytes(bytes), max: megabytes(maxBody) });
    return "";
  }

  const megabytes = (bytes) => (bytes / 1000000).toFixed(1) + " MB";

  function render() {
    box.hidden = items.length === 0;
    box.replaceChildren(...items.map((item, index) => el("div", { class: "attachment" }, [
      el("img", { src: item.data, alt: t("chat.image_n", { n: index + 1 }) }),
      iconButton("close", t("chat.image_remove", { n: index + 1 }), { class: "attachment-remove", "data-remove": index }),
    ])));
    const model = chat.models && chat.models.current();
    button.hidden = false;
    button.disabled = !vision(model) || items.length >= MAX_IMAGES;
    button.title = vision(model) ? t("chat.image_add") : t("chat.image_not_supported", { model: model ? model.name : "" });
    if (chat.composer) chat.composer.sync();
  }

  async function shrink(file) {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = el("canvas", { width: Math.max(1, Math.round(bitmap.width * scale)), height: Math.max(1, Math.round(bitmap.height * scale)) });
    const context = canvas.getContext("2d");
    context.fillStyle = "#ffffff"; // transparent areas would turn black in a JPEG
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    return canvas.toDataURL("image/jpeg", QUALITY);
  }

  async function add(files) {
    const model = chat.models && chat.models.current();
    const images = Array.from(files || []).filter((file) => /^image\//.test(file.type));
    if (!images.length) return;
    if (!vision(model)) {
      chat.toast(t("chat.image_not_supported", { model: model ? model.name : "" }));
      return;
    }
    const room = MAX_IMAGES - items.length;
    if (images.length > room) chat.toast(t("chat.image_max", { n: MAX_IMAGES }));
    working += 1;
    render();
    try {
      for (const file of images.slice(0, Math.max(0, room))) {
        items.push({ data: await shrink(file) });
      }
    } catch (_unreadable) {
      chat.toast(t("chat.image_unreadable"));
    } finally {
      working -= 1;
      render();
    }
  }

  button.addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    add(picker.files);
    picker.value = "";
  });
  box.addEventListener("click", (event) => {
    const remove = event.target.closest("[data-remove]");
    if (!remove) return;
    items.splice(Number(remove.dataset.remove), 1);
    render();
  });
  composer.addEventListener("paste", (event) => {
    const files = Array.from((event.clipboardData && event.clipboardData.files) || []);
    if (files.some((file) => /^image\//.test(file.type))) {
      event.preventDefault();
      add(files);
    }
  });
  composer.addEventListener("dragover", (event) => {
    if (Array.from(event.dataTransfer.types || []).includes("Files")) {
      event.preventDefault();
      composer.classList.add("is-dropping");
    }
  });
  composer.addEventListener("dragleave", () => composer.classList.remove("is-dropping"));
  composer.addEventListener("drop", (event) => {
    composer.classList.remove("is-dropping");
    if (!event.dataTransfer.files.length) return;
    event.preventDefault();
    add(event.dataTransfer.files);
  });
  chat.on("model", render);

  /** Show a question's pictures in its bubble: previews while it is sent, then the stored ones. */
  function decorate(bubble, message) {
    const sources = (message.images || []).map((image) => (image.startsWith("data:") ? image
      : "/api/conversations/" + encodeURIComponent(state.current ? state.current.id : "") + "/images/" + encodeURIComponent(image)));
    if (!sources.length) return;
    bubble.prepend(el("div", { class: "msg-images" }, sources.map((src, index) =>
      el("img", { src: src, alt: t("chat.image_n", { n: index + 1 }), loading: "lazy" }))));
  }

  chat.images = {
    decorate: decorate,
    problem: problem,
    busy: () => working > 0 || Boolean(problem()),
    count: () => items.length,
    payload: () => (items.length ? { images: items.map((item) => item.data) } : {}),
    clear() {
      items = [];
      render();
    },
    restore(payload) {
      if (payload.images && !items.length) items = payload.images.map((data) => ({ data: data }));
      render();
    },
  };
})();
