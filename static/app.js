// SafeCanvas studio: submit the prompt form in place, follow the job, show the images.
// Every piece of server data is written with textContent, never as HTML.
(function () {
  "use strict";

  const form = document.getElementById("prompt-form");
  if (!form || !window.fetch) return; // without fetch the form posts and the job page refreshes

  const FINAL = ["succeeded", "refused", "failed", "cancelled"];
  const POLL_MS = 1000;
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const statusBox = document.getElementById("status");
  const progress = document.getElementById("progress");
  const bar = document.getElementById("progress-bar");
  const barText = document.getElementById("progress-text");
  const images = document.getElementById("images");
  const generate = document.getElementById("generate");
  const cancelButton = document.getElementById("cancel");
  const feedbackTemplate = document.getElementById("feedback-template");
  let current = null; // {id, statusUrl, source, timer}

  // Seeds may exceed 2^53, which JSON.parse would round: read them as text instead.
  function parseJob(text) {
    return JSON.parse(text.replace(/"seed":\s*(\d+)/g, '"seed": "$1"'));
  }

  function el(tag, props, children) {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    (children || []).forEach((child) =>
      node.append(typeof child === "string" ? document.createTextNode(child) : child));
    return node;
  }

  function say(nodes) {
    statusBox.replaceChildren(...nodes);
  }

  function setProgress(fraction) {
    const pct = Math.max(0, Math.min(100, Math.round((fraction || 0) * 100)));
    progress.hidden = false;
    bar.style.width = pct + "%";
    bar.setAttribute("aria-valuenow", String(pct));
    barText.textContent = pct + "%";
  }

  function clearFieldErrors() {
    form.querySelectorAll("[aria-invalid]").forEach((f) => f.removeAttribute("aria-invalid"));
    form.querySelectorAll(".field-error").forEach((p) => { p.textContent = ""; });
  }

  function showFieldError(param, message) {
    const field = param && form.elements.namedItem(param);
    const slot = param && form.querySelector('[data-error-for="' + CSS.escape(param) + '"]');
    if (!field || !slot) return false;
    field.setAttribute("aria-invalid", "true");
    slot.textContent = message;
    field.focus();
    return true;
  }

  function categoryList(categories) {
    const named = categories.length ? categories : ["a policy category"];
    const list = [];
    named.forEach((category, i) => {
      if (i) list.push(", ");
      list.push(el("strong", { textContent: category }));
    });
    return list;
  }

  // The policy page, at the first category's section (ids as webapp.policy.anchor makes them).
  function policyLink(categories, url) {
    const base = (url || "/policy").split("#")[0];
    const section = categories.length
      ? "#" + categories[0].toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") : "";
    return el("a", { className: "policy-link", href: base + section,
      textContent: "Read the content policy" });
  }

  function refusalNotice(moderation, url) {
    const categories = (moderation && moderation.categories) || [];
    return el("div", { className: "notice notice-refusal" }, [
      el("p", { className: "notice-title", textContent: "This request was not generated." }),
      el("p", {}, ["It was flagged by our content policy for ", ...categoryList(categories),
        ". The request has been logged and may be reviewed by an administrator."]),
      el("p", { className: "muted" }, [
        "If you think this is a mistake, rephrase your prompt and try again. ",
        policyLink(categories, url), "."]),
    ]);
  }

  function guardedNotice(moderation) {
    const categories = moderation.categories || [];
    return el("div", { className: "notice notice-guarded" }, [
      el("p", { className: "notice-title", textContent: "Generated with safeguards." }),
      el("p", {}, ["This prompt may touch on ", ...categoryList(categories),
        ", so it was generated with a safety negative prompt and a stricter image check, " +
        "and kept for an administrator to review. ", policyLink(categories, moderation.policy_url),
        "."]),
    ]);
  }

  function errorNotice(message) {
    return el("p", { className: "notice notice-error", textContent: message });
  }

  // The image at its own aspect; crisp enlarged pixels only for tiny images (the built-in model).
  function imageCard(img, params) {
    const src = img.url || "/images/" + encodeURIComponent(img.id) + ".png";
    const width = (params && params.width) || 256;
    const height = (params && params.height) || 256;
    const pixelMax = Number(images.dataset.pixelMax || 0);
    const picture = el("img", { src: src, width: width, height: height,
      alt: "Generated image, seed " + img.seed });
    if (Math.max(width, height) <= pixelMax) picture.className = "pixel";
    const download = el("a", { href: src + "?download=1", textContent: "Download" });
    download.setAttribute("download", "safecanvas-" + img.id + ".png");
    const reuse = el("a", { className: "reuse", textContent: "Reuse these settings",
      href: "/?reuse=" + encodeURIComponent(img.id) });
    const caption = el("div", { className: "image-caption" }, [
      el("div", { className: "image-meta" }, [
        el("span", {}, ["Seed ", el("code", { textContent: String(img.seed) })]),
        el("span", { textContent: width + " × " + height })]),
      el("div", { className: "image-actions" }, [reuse, download])]);
    const feedback = feedbackForm(img.id);
    if (feedback) caption.append(feedback);
    const card = el("li", { className: "image-card" }, [picture, caption]);
    card.dataset.imageId = img.id;
    return card;
  }

  // The thumbs and report form of index.html's template, for this image (static/feedback.js).
  function feedbackForm(imageId) {
    if (!feedbackTemplate) return null;
    const form = feedbackTemplate.content.firstElementChild.cloneNode(true);
    const id = encodeURIComponent(imageId);
    form.action = form.getAttribute("action").replace("IMAGE_ID", id);
    form.querySelectorAll("[id], label[for]").forEach((node) => {
      if (node.id) node.id = node.id.replace("IMAGE_ID", id);
      if (node.htmlFor) node.htmlFor = node.htmlFor.replace("IMAGE_ID", id);
    });
    return form;
  }

  function finish(view) {
    stopFollowing();
    busy(false);
    if (view.status === "succeeded") {
      setProgress(1);
      const count = view.images.length;
      const done = [el("p", { textContent: "Done: " + count + (count === 1 ? " image." : " images.") })];
      if (view.moderation && view.moderation.action === "guard") done.push(guardedNotice(view.moderation));
      say(done);
      images.replaceChildren(...view.images.map((img) => imageCard(img, view.params)));
    } else if (view.status === "refused") {
      progress.hidden = true;
      say([refusalNotice(view.error && view.error.moderation, view.error && view.error.policy_url)]);
    } else if (view.status === "cancelled") {
      progress.hidden = true;
      say([el("p", { textContent: "Cancelled." })]);
    } else {
      progress.hidden = true;
      say([errorNotice((view.error && view.error.message) || "Generation failed.")]);
    }
  }

  function update(view) {
    if (!current || view.id && view.id !== current.id) return;
    if (FINAL.includes(view.status)) {
      // Events may be compact; the status URL always has the images.
      if (view.status === "succeeded" && !view.images) { poll(); return; }
      finish(view);
      return;
    }
    setProgress(view.progress);
    const text = view.status === "queued" ? "Waiting in the queue…" : "Generating…";
    if (statusBox.textContent.trim() !== text) say([el("p", { textContent: text })]);
  }

  async function poll() {
    if (!current) return;
    try {
      const response = await fetch(current.statusUrl, { headers: { Accept: "application/json" } });
      const body = parseJob(await response.text());
      if (!response.ok) { stopFollowing(); busy(false); say([errorNotice(body.error.message)]); return; }
      update(body);
    } catch (err) {
      // a dropped connection is retried on the next tick
    }
    if (current && !current.source) current.timer = setTimeout(poll, POLL_MS);
  }

  function follow(job) {
    current = { id: job.id, statusUrl: job.status_url, source: null, timer: null };
    if (!window.EventSource) { poll(); return; }
    const source = new EventSource(job.events_url);
    current.source = source;
    const onEvent = (event) => {
      let data;
      try { data = parseJob(event.data); } catch (err) { return; }
      update(data);
    };
    ["message", "status", "progress", "done", "job"].forEach((name) =>
      source.addEventListener(name, onEvent));
    source.onerror = () => {
      // The stream closed or never opened: fall back to polling.
      if (!current || current.source !== source) return;
      source.close();
      current.source = null;
      poll();
    };
  }

  function stopFollowing() {
    if (!current) return;
    if (current.source) current.source.close();
    clearTimeout(current.timer);
    current = null;
  }

  function busy(on) {
    generate.disabled = on;
    generate.textContent = on ? "Generating…" : "Generate";
    cancelButton.hidden = !on;
  }

  async function submit(event) {
    event.preventDefault();
    if (current) return;
    clearFieldErrors();
    images.replaceChildren();
    busy(true);
    setProgress(0);
    say([el("p", { textContent: "Sending…" })]);
    // On a phone the result sits below the form: bring the progress into view.
    statusBox.closest("section").scrollIntoView({ block: "nearest", behavior: "smooth" });
    let response, body;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
      });
      body = await response.json();
    } catch (err) {
      busy(false);
      progress.hidden = true;
      say([errorNotice("Could not reach the server. Check your connection and try again.")]);
      return;
    }
    if (response.ok) { follow(body); return; }
    busy(false);
    progress.hidden = true;
    const error = body.error || {};
    if (error.code === "content_policy_violation") {
      say([refusalNotice(error.moderation, error.policy_url)]);
    } else if (showFieldError(error.param, error.message)) {
      say([el("p", { textContent: "Please correct the highlighted field." })]);
    } else if (/CSRF/.test(error.message || "")) {
      say([errorNotice("Your session has expired. Reload the page and try again.")]);
    } else {
      const wait = response.headers.get("Retry-After");
      const suffix = wait ? " Try again in " + wait + " seconds." : "";
      say([errorNotice((error.message || "The request failed.") + suffix)]);
    }
  }

  async function cancel() {
    if (!current) return;
    const url = "/jobs/" + encodeURIComponent(current.id) + "/cancel";
    await fetch(url, { method: "POST", headers: { Accept: "application/json", "X-CSRFToken": csrfToken } });
    poll();
  }

  form.addEventListener("submit", submit);
  cancelButton.addEventListener("click", cancel);
  form.elements.namedItem("prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
})();
