// Bellhop loader (placeholder until the real loader lands): defines `window.Bellhop` and
// draws nothing, so a page that embeds it is unchanged.
(function () {
  "use strict";
  if (window.Bellhop) return;
  var script = document.currentScript;
  window.Bellhop = { key: script ? script.getAttribute("data-key") : null };
})();
