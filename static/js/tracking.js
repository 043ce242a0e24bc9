/* Impressions and clicks of search results, sent to the shop in batches (POST /t/events with
   navigator.sendBeacon; tracking/beacon.py says what a batch may hold).

   Only on a results list the server tied to a recorded search (<ol data-search-id>): a browser
   that may not be tracked (Do-Not-Track, Global Privacy Control, no consent) gets no search id,
   so this script does nothing there. An impression is a card at least half on screen for the
   first time; a click is sent with an id that is also put on the link (&cid=), so the product
   page, which records the click from the link for browsers without JavaScript, stores the same
   click once. */
(function () {
  "use strict";
  var list = document.querySelector("ol[data-search-id]");
  if (!list || !navigator.sendBeacon) return;
  var ENDPOINT = "/t/events";
  var MAX_BATCH = 50;
  var searchId = list.getAttribute("data-search-id");
  var page = parseInt(list.getAttribute("data-page") || "1", 10);
  var queue = [];
  var timer = null;

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function event(kind, card, id) {
    return {
      event_id: id || uuid4(),
      kind: kind,
      search_id: searchId,
      product_id: parseInt(card.getAttribute("data-product-id"), 10),
      position: parseInt(card.getAttribute("data-position"), 10),
      page: page,
      occurred_at: Date.now()
    };
  }

  function flush() {
    if (timer) { clearTimeout(timer); timer = null; }
    while (queue.length) {
      var batch = queue.splice(0, MAX_BATCH);
      var body = new Blob([JSON.stringify({ events: batch })], { type: "application/json" });
      navigator.sendBeacon(ENDPOINT, body);
    }
  }

  function push(item) {
    queue.push(item);
    if (queue.length >= MAX_BATCH) flush();
    else if (!timer) timer = setTimeout(flush, 2000);
  }

  var cards = list.querySelectorAll("article[data-product-id][data-position]");
  if ("IntersectionObserver" in window) {
    var seen = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) {
          seen.unobserve(entry.target);
          push(event("impression", entry.target));
        }
      });
    }, { threshold: 0.5 });
    Array.prototype.forEach.call(cards, function (card) { seen.observe(card); });
  }

  list.addEventListener("click", function (e) {
    var link = e.target.closest ? e.target.closest("a.product-card__link") : null;
    if (!link) return;
    var card = link.closest("article[data-product-id]");
    if (!card) return;
    var id = uuid4();
    if (/[?&]cid=/.test(link.href)) link.href = link.href.replace(/([?&])cid=[^&#]*/, "$1cid=" + id);
    else link.href += (link.href.indexOf("?") === -1 ? "?" : "&") + "cid=" + id;
    push(event("click", card, id));
    flush();
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush();
  });
  window.addEventListener("pagehide", flush);
})();
