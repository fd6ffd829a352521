// SafeCanvas feedback: thumbs up/down and "Report this image" on every image card, sent as
// JSON without leaving the page. The forms work without this script too (they post).
(function () {
  "use strict";

  if (!window.fetch) return;
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const THANKS = { up: "Thanks: you liked this image.", down: "Thanks: noted that you did not like it.",
    none: "Your vote was cleared." };

  function say(form, message, isError) {
    const box = form.querySelector(".feedback-status");
    box.textContent = message;
    box.classList.toggle("error", Boolean(isError));
  }

  // Show what the server now holds: the pressed thumb (pressing it again clears it), the report.
  function show(form, answer) {
    form.querySelectorAll('button[name="vote"]').forEach((button) => {
      const mine = button.dataset.vote === answer.vote;
      button.setAttribute("aria-pressed", String(mine));
      button.value = mine ? "none" : button.dataset.vote;
    });
    const details = form.querySelector("details.report");
    if (answer.reported && details) {
      const done = document.createElement("p");
      done.className = "reported muted";
      done.textContent = "Reported for review.";
      details.replaceWith(done);
    }
  }

  function body(form, button) {
    if (button && button.name === "vote") return { vote: button.value };
    const reason = form.elements.namedItem("reason").value.trim();
    if (!reason) return null;
    const report = { reason: reason };
    const category = form.elements.namedItem("category").value;
    if (category) report.category = category;
    return { report: report };
  }

  async function send(event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("feedback")) return;
    event.preventDefault();
    const button = event.submitter;
    const payload = body(form, button);
    if (!payload) {
      say(form, "Please say what is wrong with the image.", true);
      form.elements.namedItem("reason").focus();
      return;
    }
    let response, answer;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body: JSON.stringify(payload),
        headers: { "Content-Type": "application/json", Accept: "application/json",
          "X-CSRFToken": csrfToken },
      });
      answer = await response.json();
    } catch (err) {
      say(form, "Could not reach the server. Try again.", true);
      return;
    }
    if (!response.ok) {
      say(form, (answer.error && answer.error.message) || "That did not work.", true);
      return;
    }
    show(form, answer);
    say(form, payload.report ? "Reported for review. Thank you." : THANKS[answer.vote]);
  }

  document.addEventListener("submit", send);
})();
