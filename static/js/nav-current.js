// On a phone the category row scrolls sideways: bring the current department into view.
// Loaded (without defer) right after the row, so it runs before the first paint.
(function () {
  var link = document.querySelector(".site-nav__link[aria-current]");
  if (!link) return;
  var list = link.closest("ul");
  if (list.scrollWidth > list.clientWidth) {
    list.scrollLeft += link.getBoundingClientRect().left - list.getBoundingClientRect().left - (list.clientWidth - link.offsetWidth) / 2;
  }
})();
