/* Voice input where the browser offers speech recognition (SpeechRecognition / webkitSpeechRecognition): the mic
   button dictates into the message box in the page's language; it is not shown where there is none. */
(function () {
  "use strict";
  const CG = window.CG;
  const chat = CG.chat;
  const t = CG.t;
  const button = document.getElementById("voice-button");
  const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
  if (!Recognition) return; // the button stays hidden
  let recognition = null;

  function stop() {
    if (recognition) recognition.stop();
  }

  function listening(on) {
    button.classList.toggle("is-listening", on);
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.setAttribute("aria-label", t(on ? "chat.voice_stop" : "chat.voice"));
    button.title = t(on ? "chat.voice_stop" : "chat.voice");
  }

  function start() {
    recognition = new Recognition();
    recognition.lang = CG.lang === "zh-CN" ? "zh-CN" : "en-US";
    recognition.interimResults = false;
    recognition.continuous = true;
    recognition.addEventListener("result", (event) => {
      for (let i = event.resultIndex; i < event.results.length; i += 1) {
        if (event.results[i].isFinal) chat.composer.append(event.results[i][0].transcript.trim());
      }
    });
    recognition.addEventListener("error", (event) => {
      const denied = event.error === "not-allowed" || event.error === "service-not-allowed";
      chat.toast(t(denied ? "chat.voice_denied" : "chat.voice_failed"));
    });
    recognition.addEventListener("end", () => {
      recognition = null;
      listening(false);
    });
    recognition.start();
    listening(true);
  }

  button.hidden = false;
  button.addEventListener("click", () => {
    if (recognition) stop();
    else start();
    chat.composer.focus();
  });
  chat.on("streaming", (streaming) => {
    if (streaming) stop();
  });
})();
