// Wide screens: the category filters start open beside the grid; phones keep them folded away.
// Loaded (without defer) right after the filters, so they never jump open after the first paint.
(function () {
  var filters = document.getElementById("filters");
  if (filters && window.matchMedia("(min-width: 900px)").matches) filters.open = true;
})();
