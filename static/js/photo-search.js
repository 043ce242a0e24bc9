/* Photo search widget: progressive enhancement of the photo-search forms (without this script
   they post to /search/photo/ as plain multipart forms; see storefront/forms.py for the fields).

   What it adds
   - Every form marked [data-photo-search-form] (the header's #site-photo-search, the search
     page's #search-photo-form, the home page's form): choosing a file, dropping one on the form
     (or on the [data-photo-drop-zone] around it, as the home page's section) or pasting one
     opens the photo dialog (below). Submitting the form itself
     (its button, or form.requestSubmit()) uploads its file at once, with the dialog's crop box.
   - Paste (Ctrl/Cmd+V) anywhere while no text field has focus: the photo goes to the form that
     holds the focus, else to the header's form.
   - The photo dialog: preview, crop box, words, upload with progress, inline errors.
   - The results page (#search-query-photo): the query photo with its crop box, adjustable again;
     "Search this area" re-runs GET /search/ with the same token and the new crop.

   Hooks for tests (stable ids and attributes)
   - html.photo-search-ready: the script has set everything up.
   - Forms it enhanced: [data-photo-search-enhanced]; while files are dragged over the page:
     html.photo-drag-active and, on the zone under the pointer, .is-dragover.
   - A phone-camera input in each page form (search page, home): input[data-photo-camera-input]
     (accept="image/*" capture="environment"), offered as "Take a photo" on touch screens.
   - Dialog: dialog#photo-search-dialog (open attribute while shown; data-state = "empty" |
     "ready" | "nopreview" | "invalid" | "uploading" | "error" | "done").
       #photo-search-preview   the preview <img> (upright, as the browser renders it)
       #photo-search-stage     the box the crop box lives in; data-width/data-height = the
                               picture's upright pixel size (naturalWidth/Height); data-start
                               = "likely-item" (the box starts on it: likelyItemBox) | "whole"
       #photo-search-crop      the crop box (focusable, role="group"); data-crop = "l,t,r,b" in
                               the picture's upright pixels, the value sent as `crop` (not sent
                               when it covers the whole picture)
       #photo-search-file      a file input for another photo; #photo-search-camera the camera one
       #photo-search-choose, #photo-search-take, #photo-search-whole  (buttons)
       #photo-search-words     words sent as `q`
       #photo-search-submit    uploads; #photo-search-cancel closes (and aborts an upload)
       #photo-search-error     inline error (role="alert"): client checks and server messages
       #photo-search-status    role="status" aria-live="polite": progress and announcements
       #photo-search-progress  <progress> 0–100 while uploading
   - Results page: #search-query-stage (data-width/data-height: the stored photo's size),
     #search-query-crop (the crop box, data-crop in the stored photo's pixels),
     #search-crop-edit ("Adjust the crop": opens the editor, .query-photo--editing on the
     section, aria-expanded; a click on the thumbnail opens it too),
     #search-crop-apply ("Search this area", disabled until the box changes),
     #search-crop-status (role="status"), #search-refine-crop (kept in step with the box).
   - Crop boxes (both): pointer drag inside moves, corner handles ([data-handle]) resize,
     dragging elsewhere on the picture (or anywhere, while the box is the whole picture) draws
     a new box; keyboard: arrow keys move, Shift+arrow
     keys resize (right/bottom edges), Home = whole picture, Enter = search.
     Events: "photosearch:cropchange" (detail.crop "l,t,r,b") bubbles from the crop box.
   - The upload asks for JSON (Accept: application/json): 200 {"url"} -> location.assign(url);
     400 {"errors": [...]} -> shown in #photo-search-error. Dialog events on the dialog:
     "photosearch:open", "photosearch:error" (detail.message), "photosearch:uploaded" (detail.url).
   - The limit: [data-max-upload-bytes] on the page (the header's photo form carries it on every
     page, from settings.API_MAX_UPLOAD_BYTES); otherwise 10 MB, and the server still checks.
*/
(function () {
  "use strict";

  if (!window.FormData || !window.XMLHttpRequest || !window.URL || !URL.createObjectURL ||
      !document.querySelector || !window.HTMLDialogElement) return;

  var DEFAULT_LIMIT = 10 * 1024 * 1024;
  var ACCEPTED_TYPES = ["image/jpeg", "image/pjpeg", "image/png", "image/webp", "image/gif", "image/heic",
                        "image/heif", "image/heic-sequence", "image/heif-sequence", "image/avif", "image/mpo"];
  var ACCEPTED_EXTENSIONS = /\.(jpe?g|jpe|jfif|png|webp|gif|heic|heif|avif|mpo)$/i;
  var TYPES_TEXT = "JPEG, PNG, WebP, HEIC, GIF or AVIF";
  var root = document.documentElement;

  // ---- helpers ------------------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else if (attrs[name] === true) node.setAttribute(name, "");
      else if (attrs[name] !== false && attrs[name] != null) node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function uploadLimit() {
    var holder = document.querySelector("[data-max-upload-bytes]");
    var value = holder ? parseInt(holder.getAttribute("data-max-upload-bytes"), 10) : NaN;
    return value > 0 ? value : DEFAULT_LIMIT;
  }

  // As storefront.forms.size_text, so client and server say the same thing.
  function sizeText(size) {
    if (size >= 1024 * 1024) return (size / (1024 * 1024)).toFixed(1) + " MB";
    if (size >= 1024) return Math.ceil(size / 1024) + " KB";
    return size + " bytes";
  }

  function checkFile(file) {
    var type = (file.type || "").toLowerCase();
    var typeOk = type ? ACCEPTED_TYPES.indexOf(type) !== -1 : ACCEPTED_EXTENSIONS.test(file.name || "");
    if (!typeOk) {
      return "“" + (file.name || "That file") + "” is not a photo we can use. Choose a " + TYPES_TEXT + " picture.";
    }
    if (file.size === 0) return "That file is empty. Choose another photo.";
    var limit = uploadLimit();
    if (file.size > limit) {
      return "The photo is " + sizeText(file.size) + "; the limit is " + sizeText(limit) +
        ". Try a smaller photo or a screenshot.";
    }
    return "";
  }

  function isTextField(node) {
    if (!node || node === document.body) return false;
    if (node.isContentEditable) return true;
    if (node.tagName === "TEXTAREA") return true;
    if (node.tagName !== "INPUT") return false;
    return ["text", "search", "email", "url", "tel", "password", "number"].indexOf((node.type || "text").toLowerCase()) !== -1;
  }

  function hasFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }

  function firstImageFile(list) {
    for (var i = 0; list && i < list.length; i++) {
      var item = list[i];
      var file = item.getAsFile ? (item.kind === "file" ? item.getAsFile() : null) : item;
      if (file) return file;
    }
    return null;
  }

  function percent(part, whole) { return Math.round(part / whole * 100); }

  // ---- the crop box ---------------------------------------------------------------------------
  // A box over `stage` (which holds the picture and has the picture's shape), in the picture's
  // pixels: width x height. Positions are percentages, so the box follows any resize.

  function CropBox(stage, options) {
    this.stage = stage;
    this.options = options;
    this.width = 1;
    this.height = 1;
    this.box = {l: 0, t: 0, r: 1, b: 1};
    this.node = el("div", {
      "class": "crop-box", id: options.id, tabindex: "0", role: "group",
      "aria-roledescription": "crop box", "aria-label": options.label, "aria-describedby": options.describedBy,
    });
    var self = this;
    ["nw", "ne", "sw", "se"].forEach(function (corner) {
      self.node.appendChild(el("span", {"class": "crop-box__handle crop-box__handle--" + corner,
                                        "data-handle": corner, "aria-hidden": "true"}));
    });
    stage.appendChild(this.node);
    stage.classList.add("crop-stage--active");
    stage.addEventListener("pointerdown", this.onPointerDown.bind(this));
    this.node.addEventListener("keydown", this.onKeyDown.bind(this));
    this.announceTimer = 0;
  }

  CropBox.prototype.setPicture = function (width, height, crop) {
    this.width = width;
    this.height = height;
    this.stage.setAttribute("data-width", width);
    this.stage.setAttribute("data-height", height);
    this.stage.style.setProperty("--w", width);
    this.stage.style.setProperty("--h", height);
    this.set(crop || this.wholeBox(), true);
  };

  CropBox.prototype.wholeBox = function () { return {l: 0, t: 0, r: this.width, b: this.height}; };

  CropBox.prototype.minSide = function () {
    return Math.min(this.width, this.height, Math.max(this.options.minSide || 32, Math.round(Math.max(this.width, this.height) * 0.04)));
  };

  CropBox.prototype.isWhole = function () {
    var b = this.box;
    return b.l <= 0 && b.t <= 0 && b.r >= this.width && b.b >= this.height;
  };

  CropBox.prototype.value = function () {
    var b = this.box;
    return [b.l, b.t, b.r, b.b].map(Math.round).join(",");
  };

  CropBox.prototype.clamp = function (box, anchor) {
    var min = this.minSide();
    var l = Math.round(box.l), t = Math.round(box.t), r = Math.round(box.r), b = Math.round(box.b);
    if (anchor === "move") {
      var w = Math.min(r - l, this.width), h = Math.min(b - t, this.height);
      l = Math.max(0, Math.min(l, this.width - w)); t = Math.max(0, Math.min(t, this.height - h));
      return {l: l, t: t, r: l + w, b: t + h};
    }
    l = Math.max(0, Math.min(l, this.width)); r = Math.max(0, Math.min(r, this.width));
    t = Math.max(0, Math.min(t, this.height)); b = Math.max(0, Math.min(b, this.height));
    if (r - l < min) { if (anchor && anchor.indexOf("w") !== -1) l = Math.max(0, r - min); else r = Math.min(this.width, l + min); }
    if (r - l < min) { l = Math.max(0, r - min); }
    if (b - t < min) { if (anchor && anchor.indexOf("n") !== -1) t = Math.max(0, b - min); else b = Math.min(this.height, t + min); }
    if (b - t < min) { t = Math.max(0, b - min); }
    return {l: l, t: t, r: r, b: b};
  };

  CropBox.prototype.set = function (box, quiet, anchor) {
    this.box = this.clamp(box, anchor);
    var b = this.box, s = this.node.style;
    s.left = (b.l / this.width * 100) + "%";
    s.top = (b.t / this.height * 100) + "%";
    s.width = ((b.r - b.l) / this.width * 100) + "%";
    s.height = ((b.b - b.t) / this.height * 100) + "%";
    this.node.setAttribute("data-crop", this.value());
    this.node.classList.toggle("crop-box--whole", this.isWhole());
    if (!quiet) {
      this.node.dispatchEvent(new CustomEvent("photosearch:cropchange", {bubbles: true, detail: {crop: this.value()}}));
      if (this.options.onChange) this.options.onChange(this);
    }
  };

  CropBox.prototype.describe = function () {
    if (this.isWhole()) return "The box covers the whole photo.";
    var b = this.box;
    return "The box covers " + percent(b.r - b.l, this.width) + "% by " + percent(b.b - b.t, this.height) +
      "% of the photo, " + percent(b.l, this.width) + "% from the left and " + percent(b.t, this.height) + "% from the top.";
  };

  CropBox.prototype.announceSoon = function () {
    var self = this;
    clearTimeout(this.announceTimer);
    this.announceTimer = setTimeout(function () { if (self.options.announce) self.options.announce(self.describe()); }, 450);
  };

  CropBox.prototype.onKeyDown = function (event) {
    var b = this.box, stepX = Math.max(1, Math.round(this.width * 0.03)), stepY = Math.max(1, Math.round(this.height * 0.03));
    var dx = 0, dy = 0;
    switch (event.key) {
      case "ArrowLeft": dx = -stepX; break;
      case "ArrowRight": dx = stepX; break;
      case "ArrowUp": dy = -stepY; break;
      case "ArrowDown": dy = stepY; break;
      case "Home":
        event.preventDefault();
        this.set(this.wholeBox());
        this.announceSoon();
        return;
      case "Enter":
        if (this.options.onCommit) { event.preventDefault(); this.options.onCommit(); }
        return;
      default:
        return;
    }
    event.preventDefault();
    if (event.shiftKey) this.set({l: b.l, t: b.t, r: b.r + dx, b: b.b + dy}, false, "se");
    else this.set({l: b.l + dx, t: b.t + dy, r: b.r + dx, b: b.b + dy}, false, "move");
    this.announceSoon();
  };

  CropBox.prototype.toPicture = function (event) {
    var rect = this.stage.getBoundingClientRect();
    return {x: (event.clientX - rect.left) / rect.width * this.width, y: (event.clientY - rect.top) / rect.height * this.height,
            sx: this.width / rect.width, sy: this.height / rect.height};
  };

  CropBox.prototype.onPointerDown = function (event) {
    if (event.button !== 0 || this.stage.classList.contains("crop-stage--off")) return;
    if (this.options.canEdit && !this.options.canEdit()) return;  // the results strip: a click opens the editor
    event.preventDefault();
    var self = this, start = this.toPicture(event), from = this.box;
    var handle = event.target.getAttribute && event.target.getAttribute("data-handle");
    // Inside the box moves it, unless the box is the whole picture (nothing to move): then, as
    // anywhere outside it, a drag draws a new box.
    var mode = handle || (this.node.contains(event.target) && !this.isWhole() ? "move" : "draw");
    this.node.focus({preventScroll: true});
    this.stage.setPointerCapture(event.pointerId);
    function move(e) {
      var p = self.toPicture(e), dx = p.x - start.x, dy = p.y - start.y;
      if (mode === "move") {
        self.set({l: from.l + dx, t: from.t + dy, r: from.r + dx, b: from.b + dy}, false, "move");
      } else if (mode === "draw") {
        var min = self.minSide();
        if (Math.abs(dx) < 4 * p.sx && Math.abs(dy) < 4 * p.sy) return;  // a click is not a box
        var box = {l: Math.min(start.x, p.x), t: Math.min(start.y, p.y), r: Math.max(start.x, p.x), b: Math.max(start.y, p.y)};
        self.set(box, false, (p.y < start.y ? "n" : "s") + (p.x < start.x ? "w" : "e"));
        if (box.r - box.l < min || box.b - box.t < min) return;
      } else {
        var next = {l: from.l, t: from.t, r: from.r, b: from.b};
        if (mode.indexOf("w") !== -1) next.l = Math.min(from.l + dx, from.r - self.minSide());
        if (mode.indexOf("e") !== -1) next.r = Math.max(from.r + dx, from.l + self.minSide());
        if (mode.indexOf("n") !== -1) next.t = Math.min(from.t + dy, from.b - self.minSide());
        if (mode.indexOf("s") !== -1) next.b = Math.max(from.b + dy, from.t + self.minSide());
        self.set(next, false, mode);
      }
    }
    function end(e) {
      self.stage.removeEventListener("pointermove", move);
      self.stage.removeEventListener("pointerup", end);
      self.stage.removeEventListener("pointercancel", end);
      if (self.stage.hasPointerCapture(e.pointerId)) self.stage.releasePointerCapture(e.pointerId);
      self.announceSoon();
    }
    this.stage.addEventListener("pointermove", move);
    this.stage.addEventListener("pointerup", end);
    this.stage.addEventListener("pointercancel", end);
  };

  // ---- where the crop box starts: the likely item ------------------------------------------
  // The same idea as the pipeline's colour step (vision.colours: the backdrop is what covers the
  // picture's border; the product is what differs from it), on a 64 px copy in the browser: the
  // border's main colours (8 levels per channel, each bucket holding at least LIKELY.bucket of
  // the border, together at least LIKELY.backdrop) are the backdrop; the box holds the pixels
  // farther than LIKELY.distance from all of them (2nd to 98th percentile on each axis), plus a
  // margin. No clear backdrop, too little or too much foreground, or a box over LIKELY.maxArea
  // of the picture: null (the whole picture). Why 35%: bench/demo_catalogue.py ports this and
  // measured (2026-12-07) that cropping real garment photos to a box of 35-85% of the picture
  // finds the right kind first less often than the whole photo (0.857 -> 0.810, 0.816 -> 0.790):
  // the box is for a small item in a bigger scene (a street photo), not a garment filling it.
  var LIKELY = {side: 64, ring: 2, bucket: 0.1, backdrop: 0.5, distance: 48, minShare: 0.03, maxShare: 0.9,
                margin: 0.06, maxArea: 0.35};

  function likelyItemBox(image, width, height) {
    var scale = LIKELY.side / Math.max(width, height);
    var w = Math.max(1, Math.round(width * scale)), h = Math.max(1, Math.round(height * scale));
    var data;
    try {
      var canvas = document.createElement("canvas");
      canvas.width = w; canvas.height = h;
      var context = canvas.getContext("2d");
      context.drawImage(image, 0, 0, w, h);
      data = context.getImageData(0, 0, w, h).data;
    } catch (error) {
      return null;
    }
    var buckets = {}, border = 0, x, y, i;
    for (y = 0; y < h; y++) {
      for (x = 0; x < w; x++) {
        if (x >= LIKELY.ring && y >= LIKELY.ring && x < w - LIKELY.ring && y < h - LIKELY.ring) continue;
        i = (y * w + x) * 4;
        var key = (data[i] >> 5) + "," + (data[i + 1] >> 5) + "," + (data[i + 2] >> 5);
        var bucket = buckets[key] || (buckets[key] = {n: 0, r: 0, g: 0, b: 0});
        bucket.n++; bucket.r += data[i]; bucket.g += data[i + 1]; bucket.b += data[i + 2];
        border++;
      }
    }
    var backdrop = [], covered = 0;
    Object.keys(buckets).forEach(function (key) {
      var bucket = buckets[key];
      if (bucket.n >= LIKELY.bucket * border) {
        backdrop.push([bucket.r / bucket.n, bucket.g / bucket.n, bucket.b / bucket.n]);
        covered += bucket.n;
      }
    });
    if (covered < LIKELY.backdrop * border) return null;
    var xs = [], ys = [], limit = LIKELY.distance * LIKELY.distance;
    for (y = 0; y < h; y++) {
      for (x = 0; x < w; x++) {
        i = (y * w + x) * 4;
        var far = backdrop.every(function (c) {
          var dr = data[i] - c[0], dg = data[i + 1] - c[1], db = data[i + 2] - c[2];
          return dr * dr + dg * dg + db * db > limit;
        });
        if (far) { xs.push(x); ys.push(y); }
      }
    }
    var share = xs.length / (w * h);
    if (share < LIKELY.minShare || share > LIKELY.maxShare) return null;
    xs.sort(function (a, b) { return a - b; });
    ys.sort(function (a, b) { return a - b; });
    function at(list, q) { return list[Math.min(list.length - 1, Math.floor(q * list.length))]; }
    var l = Math.max(0, (at(xs, 0.02) / w - LIKELY.margin)), r = Math.min(1, ((at(xs, 0.98) + 1) / w + LIKELY.margin));
    var t = Math.max(0, (at(ys, 0.02) / h - LIKELY.margin)), b = Math.min(1, ((at(ys, 0.98) + 1) / h + LIKELY.margin));
    if ((r - l) * (b - t) > LIKELY.maxArea) return null;
    return {l: Math.round(l * width), t: Math.round(t * height), r: Math.round(r * width), b: Math.round(b * height)};
  }

  var CROP_HELP = "Drag the box or its corners to mark the part you want. Keys: arrows move the box, " +
    "Shift+arrows resize it, Home selects the whole photo, Enter searches.";

  // ---- the upload dialog ------------------------------------------------------------------------

  var dialog = null;   // the elements, once built
  var state = {file: null, url: "", form: null, xhr: null, previewOk: false};

  function buildDialog() {
    var d = {};
    d.root = el("dialog", {"class": "photo-dialog", id: "photo-search-dialog", "aria-labelledby": "photo-search-dialog-title",
                           "aria-describedby": "photo-search-dialog-intro", "data-state": "empty"});
    d.form = el("form", {"class": "photo-dialog__form", id: "photo-search-dialog-form", novalidate: true});
    d.title = el("h2", {"class": "photo-dialog__title", id: "photo-search-dialog-title", text: "Search with this photo"});
    d.close = el("button", {type: "button", "class": "photo-dialog__close", id: "photo-search-close", "aria-label": "Close"});
    d.close.innerHTML = '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false"><path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="2.2" stroke-linecap="round"/></svg>';
    d.intro = el("p", {"class": "photo-dialog__intro", id: "photo-search-dialog-intro",
                       text: "Mark the part of the photo you want to find, add words if you like, then search. " +
                             "To change the photo, drop or paste (Ctrl+V) another one here."});
    d.preview = el("img", {"class": "crop-stage__image", id: "photo-search-preview", alt: "", draggable: "false"});
    d.stage = el("div", {"class": "crop-stage", id: "photo-search-stage"}, [d.preview]);
    d.nopreview = el("p", {"class": "photo-dialog__nopreview", id: "photo-search-nopreview", hidden: true});
    d.area = el("div", {"class": "photo-dialog__preview", id: "photo-search-drop", "data-photo-drop-zone": true}, [d.stage, d.nopreview]);
    d.help = el("p", {"class": "photo-dialog__help", id: "photo-search-crop-help", text: CROP_HELP});
    d.file = el("input", {type: "file", accept: "image/*", id: "photo-search-file", "class": "visually-hidden", tabindex: "-1", "aria-hidden": "true"});
    d.camera = el("input", {type: "file", accept: "image/*", capture: "environment", id: "photo-search-camera",
                            "class": "visually-hidden", tabindex: "-1", "aria-hidden": "true", "data-photo-camera-input": true});
    d.choose = el("button", {type: "button", "class": "button photo-dialog__tool", id: "photo-search-choose", text: "Choose another photo"});
    d.take = el("button", {type: "button", "class": "button photo-dialog__tool photo-camera-only", id: "photo-search-take", text: "Take a photo"});
    d.whole = el("button", {type: "button", "class": "button photo-dialog__tool", id: "photo-search-whole", text: "Whole photo"});
    d.tools = el("div", {"class": "photo-dialog__tools"}, [d.choose, d.take, d.whole, d.file, d.camera]);
    d.wordsLabel = el("label", {"class": "photo-upload__label", "for": "photo-search-words"});
    d.wordsLabel.innerHTML = 'Words to go with it <span class="photo-upload__optional">(optional)</span>';
    d.words = el("input", {"class": "search-input", id: "photo-search-words", type: "search", maxlength: "200",
                           autocomplete: "off", placeholder: "e.g. linen, red, midi", enterkeyhint: "search"});
    d.error = el("div", {"class": "field-error photo-dialog__error", id: "photo-search-error", role: "alert"});
    d.progress = el("progress", {"class": "photo-dialog__progress", id: "photo-search-progress", max: "100", value: "0",
                                 "aria-label": "Upload progress", hidden: true});
    d.status = el("p", {"class": "photo-dialog__status", id: "photo-search-status", role: "status", "aria-live": "polite"});
    d.submit = el("button", {type: "submit", "class": "button button--primary", id: "photo-search-submit", text: "Find similar products"});
    d.cancel = el("button", {type: "button", "class": "button photo-dialog__cancel", id: "photo-search-cancel", text: "Cancel"});
    d.form.appendChild(el("div", {"class": "photo-dialog__head"}, [d.title, d.close]));
    [d.intro, d.area, d.help, d.tools, el("div", {"class": "photo-dialog__words"}, [d.wordsLabel, d.words]), d.error,
     el("div", {"class": "photo-dialog__feedback"}, [d.progress, d.status]),
     el("div", {"class": "photo-dialog__actions"}, [d.submit, d.cancel])].forEach(function (node) { d.form.appendChild(node); });
    d.root.appendChild(d.form);
    document.body.appendChild(d.root);

    d.crop = new CropBox(d.stage, {
      id: "photo-search-crop", label: "Crop box: the part of the photo to search with", describedBy: "photo-search-crop-help",
      minSide: 32, announce: function (text) { say(text); }, onCommit: function () { d.form.requestSubmit(); },
    });

    d.form.addEventListener("submit", function (event) { event.preventDefault(); upload(); });
    d.close.addEventListener("click", closeDialog);
    d.cancel.addEventListener("click", closeDialog);
    d.root.addEventListener("cancel", function (event) { event.preventDefault(); closeDialog(); });
    d.root.addEventListener("close", function () { stopUpload(); });
    d.choose.addEventListener("click", function () { d.file.click(); });
    d.take.addEventListener("click", function () { d.camera.click(); });
    d.whole.addEventListener("click", function () { d.crop.set(d.crop.wholeBox()); say(d.crop.describe()); });
    [d.file, d.camera].forEach(function (input) {
      input.addEventListener("change", function () {
        if (input.files && input.files[0]) openWith(input.files[0], state.form);
        input.value = "";
      });
    });
    d.preview.addEventListener("dragstart", function (event) { event.preventDefault(); });
    dropZone(d.area, function () { return state.form; });
    return d;
  }

  var sayTimer = 0;

  function say(text) {
    // Re-set even the same text so it is announced again.
    hush();
    sayTimer = setTimeout(function () { dialog.status.textContent = text; }, 30);
  }

  // Clear the status, and drop a message still on its way (else "Uploaded. Searching…" lands
  // after an error has cleared it).
  function hush() {
    clearTimeout(sayTimer);
    dialog.status.textContent = "";
  }

  function setState(name) {
    dialog.root.setAttribute("data-state", name);
    var busy = name === "uploading" || name === "done";
    dialog.submit.disabled = busy || !state.file || name === "invalid";
    [dialog.choose, dialog.take, dialog.whole, dialog.words].forEach(function (node) { node.disabled = busy; });
    dialog.whole.disabled = busy || !state.previewOk;
    dialog.stage.classList.toggle("crop-stage--off", busy || !state.previewOk);
    dialog.crop.node.tabIndex = busy || !state.previewOk ? -1 : 0;
    dialog.progress.hidden = !busy;
  }

  function showError(message) {
    dialog.error.textContent = "";
    if (message) dialog.error.appendChild(el("p", {text: message}));
    dialog.root.dispatchEvent(new CustomEvent("photosearch:error", {detail: {message: message}}));
  }

  function formWords(form) {
    var q = form && form.querySelector("input[name=q]");
    return q ? q.value : "";
  }

  // Show `file` in the dialog (opening it), as chosen in `form`. Returns a promise of the preview.
  function openWith(file, form, keepWords) {
    stopUpload();
    if (state.url) URL.revokeObjectURL(state.url);
    var previous = state.form;
    state.file = null; state.url = ""; state.form = form; state.previewOk = false;
    if (!keepWords && (previous !== form || !dialog.root.open)) dialog.words.value = formWords(form);
    showError("");
    hush();
    dialog.nopreview.hidden = true;
    dialog.stage.hidden = false;
    dialog.preview.removeAttribute("src");
    if (!dialog.root.open) {
      dialog.root.showModal();
      dialog.root.dispatchEvent(new CustomEvent("photosearch:open"));
    }
    var problem = checkFile(file);
    if (problem) {
      dialog.stage.hidden = true;
      dialog.nopreview.hidden = false;
      dialog.nopreview.textContent = "No photo chosen yet.";
      setState("invalid");
      showError(problem);
      dialog.choose.focus();
      return Promise.resolve(false);
    }
    state.file = file;
    state.url = URL.createObjectURL(file);
    setState("empty");
    say("Loading the preview…");
    var url = state.url;
    dialog.preview.src = url;
    var decoded = dialog.preview.decode ? dialog.preview.decode() : new Promise(function (resolve, reject) {
      dialog.preview.onload = resolve; dialog.preview.onerror = reject;
    });
    return decoded.then(function () {
      if (state.url !== url) return false;
      // <img> draws the picture upright (EXIF orientation applied) and naturalWidth/Height are
      // its upright size: the pixels the server crops in.
      state.previewOk = true;
      dialog.preview.alt = "Your photo: " + (file.name || "pasted picture");
      var width = dialog.preview.naturalWidth, height = dialog.preview.naturalHeight;
      var likely = likelyItemBox(dialog.preview, width, height);
      dialog.crop.setPicture(width, height, likely);
      dialog.stage.setAttribute("data-start", likely ? "likely-item" : "whole");
      setState("ready");
      say("Photo ready. " + (likely ? "The box starts on what looks like the item. " : "") + dialog.crop.describe() +
          " Adjust it or search.");
      if (dialog.root.contains(document.activeElement) || document.activeElement === document.body || !document.activeElement) {
        dialog.crop.node.focus();
      }
      return true;
    }, function () {
      if (state.url !== url) return false;
      dialog.stage.hidden = true;
      dialog.nopreview.hidden = false;
      dialog.nopreview.textContent = "Your browser cannot show this photo, so it cannot be cropped here; we search the whole photo.";
      setState("nopreview");
      say("No preview for this photo. You can still search with it.");
      dialog.submit.focus();
      return false;
    });
  }

  function closeDialog() {
    stopUpload();
    if (dialog.root.open) dialog.root.close();
  }

  function stopUpload() {
    if (state.xhr) { var xhr = state.xhr; state.xhr = null; xhr.abort(); }
    if (dialog.root.getAttribute("data-state") === "uploading") setState(state.previewOk ? "ready" : "nopreview");
  }

  function errorFromPage(text) {
    try {
      var doc = new DOMParser().parseFromString(text, "text/html");
      var node = doc.getElementById("search-photo-error") || doc.querySelector("[role=alert]");
      return node ? node.textContent.replace(/\s+/g, " ").trim() : "";
    } catch (e) { return ""; }
  }

  function upload() {
    if (!state.file || state.xhr) return;
    var form = state.form;
    var data = new FormData();
    var csrf = form && form.querySelector("input[name=csrfmiddlewaretoken]");
    if (csrf) data.append("csrfmiddlewaretoken", csrf.value);
    data.append("photo", state.file, state.file.name || "pasted-photo.png");
    data.append("q", dialog.words.value.trim());
    if (state.previewOk && !dialog.crop.isWhole()) data.append("crop", dialog.crop.value());
    var xhr = new XMLHttpRequest();
    state.xhr = xhr;
    xhr.open("POST", (form && form.getAttribute("action")) || "/search/photo/");
    xhr.setRequestHeader("Accept", "application/json");
    if (csrf) xhr.setRequestHeader("X-CSRFToken", csrf.value);
    showError("");
    setState("uploading");
    dialog.progress.value = 0;
    say("Uploading your photo…");
    xhr.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) return;
      var done = Math.round(event.loaded / event.total * 100);
      dialog.progress.value = done;
      clearTimeout(sayTimer);
      dialog.status.textContent = "Uploading your photo… " + done + "%";
    });
    xhr.upload.addEventListener("load", function () {
      dialog.progress.value = 100;
      if (state.xhr === xhr) say("Uploaded. Searching…");
    });
    xhr.addEventListener("load", function () {
      if (state.xhr !== xhr) return;
      state.xhr = null;
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      if (xhr.status >= 200 && xhr.status < 300 && body && body.url) {
        setState("done");
        say("Opening the results…");
        dialog.root.dispatchEvent(new CustomEvent("photosearch:uploaded", {detail: {url: body.url}}));
        window.location.assign(body.url);
        return;
      }
      var message = body && body.errors && body.errors.length ? body.errors.join(" ") : "";
      if (!message && xhr.status === 400) message = errorFromPage(xhr.responseText);
      if (!message && xhr.status === 403) message = "This page has expired. Reload it and try again.";
      if (!message && xhr.status === 413) message = "The photo is too large. Try a smaller photo or a screenshot.";
      if (!message && xhr.status === 429) message = "Too many searches at once. Wait a moment and try again.";
      if (!message) message = "Something went wrong on our side (" + xhr.status + "). Try again in a moment.";
      failed(message);
    });
    xhr.addEventListener("error", function () {
      if (state.xhr !== xhr) return;
      state.xhr = null;
      failed("The upload did not get through. Check your connection and try again.");
    });
    xhr.send(data);
  }

  function failed(message) {
    setState("error");
    dialog.submit.disabled = false;
    showError(message);
    hush();
    (state.previewOk ? dialog.crop.node : dialog.choose).focus();
  }

  // ---- drop zones, paste, the forms -------------------------------------------------------------

  var dragDepth = 0;

  function dropZone(zone, formFor) {
    zone.addEventListener("dragover", function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      zone.classList.add("is-dragover");
    });
    zone.addEventListener("dragleave", function (event) {
      if (!zone.contains(event.relatedTarget)) zone.classList.remove("is-dragover");
    });
    zone.addEventListener("drop", function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.stopPropagation();
      zone.classList.remove("is-dragover");
      root.classList.remove("photo-drag-active");
      dragDepth = 0;
      var file = firstImageFile(event.dataTransfer.files);
      if (file) openWith(file, formFor(), true);
    });
  }

  function enhanceForm(form) {
    if (form.hasAttribute("data-photo-search-enhanced")) return;
    form.setAttribute("data-photo-search-enhanced", "");
    var input = form.querySelector("input[type=file]");
    var zone = form.closest("[data-photo-drop-zone]") || form;
    zone.setAttribute("data-photo-drop-zone", "");
    dropZone(zone, function () { return form; });
    if (input) {
      input.addEventListener("change", function () {
        if (input.files && input.files[0]) openWith(input.files[0], form);
      });
    }
    form.addEventListener("submit", function (event) {
      var file = input && input.files && input.files[0];
      if (!file) return;  // the browser's own "required" check has spoken already
      event.preventDefault();
      if (dialog.root.open && state.form === form && state.file === file) { upload(); return; }
      openWith(file, form).then(function () { if (state.file === file) upload(); });
    });
    // "Take a photo" on the page's own forms (not the compact header): the search page renders
    // its button ([data-photo-take], shown from the start on touch screens, so nothing moves);
    // elsewhere (home) it is added on touch screens only.
    if (form.id !== "site-photo-search") {
      var camera = el("input", {type: "file", accept: "image/*", capture: "environment", "class": "visually-hidden",
                                tabindex: "-1", "aria-hidden": "true", "data-photo-camera-input": true,
                                id: (form.id || "home-photo-form") + "-camera"});
      camera.addEventListener("change", function () {
        if (camera.files && camera.files[0]) openWith(camera.files[0], form);
        camera.value = "";
      });
      var take = form.querySelector("[data-photo-take]");
      if (!take && window.matchMedia && matchMedia("(pointer: coarse)").matches && input) {
        take = el("button", {type: "button", "class": "button photo-take photo-camera-only", text: "Take a photo", "data-photo-take": true});
        input.insertAdjacentElement("afterend", take);
      }
      form.appendChild(camera);
      if (take) {
        take.hidden = false;
        take.addEventListener("click", function () { camera.click(); });
      }
      Array.prototype.forEach.call(form.querySelectorAll("[data-photo-js-only]"), function (node) { node.hidden = false; });
    }
  }

  function pageForms() {
    return Array.prototype.slice.call(document.querySelectorAll("form[data-photo-search-form]"));
  }

  function setUpUploads() {
    var forms = pageForms();
    if (!forms.length) return;
    dialog = buildDialog();
    forms.forEach(enhanceForm);

    // Dragging files anywhere shows where they can go; a drop outside a zone does nothing
    // (rather than the browser leaving the shop to show the file).
    document.addEventListener("dragenter", function (event) {
      if (!hasFiles(event)) return;
      dragDepth++;
      root.classList.add("photo-drag-active");
    });
    document.addEventListener("dragleave", function (event) {
      if (!hasFiles(event)) return;
      dragDepth = Math.max(0, dragDepth - 1);
      if (!dragDepth) root.classList.remove("photo-drag-active");
    });
    document.addEventListener("dragover", function (event) { if (hasFiles(event)) event.preventDefault(); });
    document.addEventListener("drop", function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      dragDepth = 0;
      root.classList.remove("photo-drag-active");
      Array.prototype.forEach.call(document.querySelectorAll(".is-dragover"), function (z) { z.classList.remove("is-dragover"); });
    });

    document.addEventListener("paste", function (event) {
      var data = event.clipboardData;
      if (!data) return;
      var active = document.activeElement;
      if (isTextField(active)) return;
      var file = firstImageFile(data.files && data.files.length ? data.files : data.items);
      if (!file) return;
      event.preventDefault();
      var form = null;
      if (dialog.root.open) form = state.form;
      if (!form && active) form = forms.filter(function (f) { return f.contains(active) || (f.closest("[data-photo-drop-zone]") || f).contains(active); })[0] || null;
      if (!form) form = document.getElementById("site-photo-search") || forms[0];
      openWith(file, form, dialog.root.open);
    });
  }

  // ---- the results page: the query photo's crop box, again ------------------------------------

  function setUpResults() {
    var section = document.getElementById("search-query-photo");
    var stage = document.getElementById("search-query-stage");
    var refine = document.getElementById("search-refine-form");
    var cropInput = document.getElementById("search-refine-crop");
    var apply = document.getElementById("search-crop-apply");
    var status = document.getElementById("search-crop-status");
    if (!section || !stage || !refine || !cropInput || !apply) return;
    var width = parseInt(section.getAttribute("data-photo-width"), 10);
    var height = parseInt(section.getAttribute("data-photo-height"), 10);
    if (!(width > 0 && height > 0)) return;
    var initial = null, match = /^(\d+),(\d+),(\d+),(\d+)$/.exec(section.getAttribute("data-crop") || "");
    if (match) initial = {l: +match[1], t: +match[2], r: +match[3], b: +match[4]};
    var mark = stage.querySelector("[data-crop-mark]");
    if (mark) mark.parentNode.removeChild(mark);
    var original = section.getAttribute("data-crop") || "";
    function announce(text) {
      if (!status) return;
      status.textContent = "";
      setTimeout(function () { status.textContent = text; }, 30);
    }
    var crop = new CropBox(stage, {
      id: "search-query-crop", label: "Crop box: the part of your photo searched for", describedBy: "search-crop-help",
      canEdit: function () { return section.classList.contains("query-photo--editing"); },
      minSide: 40, announce: function (text) {
        announce(text + (apply.disabled ? "" : " Press Search this area to see what matches it."));
      },
      onCommit: function () { if (!apply.disabled) apply.click(); },
      onChange: function (box) {
        var value = box.isWhole() ? "" : box.value();
        cropInput.value = value;
        apply.disabled = value === original;
      },
    });
    crop.setPicture(width, height, initial);
    apply.disabled = true;
    var help = document.getElementById("search-crop-help");
    var edit = document.getElementById("search-crop-edit");
    // A compact strip until the shopper asks for the crop editor (the first results stay on
    // screen); its box is a mark, out of the tab order, until then.
    function editing(on) {
      section.classList.toggle("query-photo--editing", on);
      apply.hidden = !on;
      if (help) help.hidden = !on;
      if (edit) {
        edit.setAttribute("aria-expanded", on ? "true" : "false");
        edit.textContent = on ? "Done adjusting" : "Adjust the crop";
      }
      crop.node.tabIndex = on ? 0 : -1;
      if (on) crop.node.focus({preventScroll: true});
    }
    if (edit) {
      edit.hidden = false;
      edit.addEventListener("click", function () { editing(!section.classList.contains("query-photo--editing")); });
    }
    stage.addEventListener("click", function () {
      if (!section.classList.contains("query-photo--editing")) editing(true);
    });
    editing(false);
    apply.addEventListener("click", function () {
      apply.disabled = true;
      announce("Searching the part you marked…");
      refine.requestSubmit ? refine.requestSubmit() : refine.submit();
    });
  }

  // Back to a page whose upload had finished (back/forward cache): the dialog starts afresh.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && dialog && dialog.root.open) {
      closeDialog();
      setState(state.previewOk ? "ready" : "empty");
    }
  });

  setUpUploads();
  setUpResults();
  root.classList.add("photo-search-ready");
})();
