/* A one-time sign-in link from a bot: post it back at once (the page's button does the same without scripts). */
(function () {
  "use strict";
  const form = document.getElementById("link-form");
  if (form) form.requestSubmit();
})();
