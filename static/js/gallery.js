// Product gallery: a thumbnail shows its photo in the large frame (without JavaScript it opens the photo).
(function () {
  "use strict";
  var main = document.getElementById("gallery-main");
  if (!main) return;
  var thumbs = document.querySelectorAll(".gallery__thumb");
  Array.prototype.forEach.call(thumbs, function (thumb) {
    thumb.addEventListener("click", function (event) {
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      // srcset wins over src, so both change together (a photo not yet processed has no srcset).
      var srcset = thumb.getAttribute("data-srcset");
      if (srcset) main.setAttribute("srcset", srcset); else main.removeAttribute("srcset");
      main.src = thumb.getAttribute("data-full");
      main.alt = thumb.getAttribute("data-alt");
      Array.prototype.forEach.call(thumbs, function (other) { other.removeAttribute("aria-current"); });
      thumb.setAttribute("aria-current", "true");
    });
  });
})();
