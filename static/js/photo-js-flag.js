// In the search page's head, before the first paint: the photo widget's controls take their
// room at once (no layout shift when photo-search.js runs); static/css/search.css .photo-js.
document.documentElement.classList.add("photo-js");
