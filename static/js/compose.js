// Compose page: merge-field buttons, the live SMS counter, and the fields of the chosen channel.
// The live counter counts with static/js/segments.js (the rules of core/messaging/segments.py);
// the server's figure (on the merged text of every recipient) comes from POST /compose/count
// and is the one that counts.
(() => {
  "use strict";

  const { count, MAX_SMS_CHARS } = window.TidingsSegments; // static/js/segments.js

  function plural(n, word) {
    return `${n.toLocaleString("en-US")} ${word}${n === 1 ? "" : "s"}`;
  }

  function showCount(form) {
    const body = form.querySelector("#body");
    const out = document.getElementById("live-count");
    if (!body || !out) return;
    const info = count(body.value);
    out.replaceChildren();
    const line = document.createElement("span");
    line.className = "live-figures";
    line.textContent =
      `As typed: ${plural(info.characters, "character")} · ${info.encoding} · ` +
      `${plural(info.segments, "segment")} (${info.perSegment} per segment)`;
    out.append(line);
    if (info.ucs2Chars.length) {
      const forces = document.createElement("span");
      forces.className = "forces-unicode";
      forces.append("Forces Unicode: ");
      for (const c of info.ucs2Chars) {
        const mark = document.createElement("mark");
        mark.textContent = c;
        forces.append(mark, " ");
      }
      out.append(forces);
    }
    if (info.characters > MAX_SMS_CHARS) {
      const over = document.createElement("span");
      over.className = "error";
      over.textContent = `Over the ${MAX_SMS_CHARS.toLocaleString("en-US")}-character limit.`;
      out.append(over);
    }
  }

  function checked(form, name) {
    const input = form.querySelector(`input[name="${name}"]:checked`);
    return input ? input.value : null;
  }

  // Show only what applies: the channel's fields, the person picker, the schedule inputs.
  function showSections(form) {
    const channel = checked(form, "channel") || form.dataset.channel || "sms";
    form.querySelectorAll("[data-channels]").forEach((el) => {
      el.hidden = !el.dataset.channels.split(" ").includes(channel);
    });
    // Files on a text only go with "Send securely" (they wait in the portal), and a secure
    // text is not measured as a text: only its short notice is texted.
    const box = form.querySelector('input[name="secure"]');
    const secure = !!(box && box.checked && !box.closest("[hidden]"));
    form.querySelectorAll("[data-secure-only]").forEach((el) => {
      if (el.dataset.secureOnly.split(" ").includes(channel) && !secure) el.hidden = true;
    });
    form.querySelectorAll("[data-unless-secure]").forEach((el) => {
      if (secure) el.hidden = true;
      else if (!el.dataset.channels) el.hidden = false;
    });
    form.querySelectorAll("[data-if-secure]").forEach((el) => {
      el.hidden = !(secure && el.dataset.ifSecure.split(" ").includes(channel));
    });
    // "Ask for a PIN": the PIN field and how the client gets it, only when asked; a hidden
    // PIN is not sent.
    const asks = form.querySelector('input[name="secure_require_pin"]');
    form.querySelectorAll("[data-if-pin]").forEach((el) => {
      el.hidden = !(secure && asks && asks.checked);
      el.querySelectorAll("input").forEach((input) => { input.disabled = el.hidden; });
    });
    const recipients = checked(form, "recipients");
    form.querySelectorAll("[data-recipients]").forEach((el) => {
      el.hidden = recipients !== null && el.dataset.recipients !== recipients;
    });
    const when = checked(form, "when");
    form.querySelectorAll("[data-when]").forEach((el) => {
      el.hidden = when !== null && el.dataset.when !== when;
    });
    const submit = form.querySelector("#compose-submit");
    if (submit) submit.textContent = when === "later" ? "Schedule" : "Send";
  }

  // Put `{{ field }}` where the cursor is in the last text box used (the message by default).
  function insertField(form, target, field) {
    const box = target || form.querySelector("#body");
    if (!box) return;
    const token = `{{ ${field} }}`;
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? start;
    box.setRangeText(token, start, end, "end");
    box.focus();
    // htmx listens for keyup on the message to refresh the server's counter.
    box.dispatchEvent(new KeyboardEvent("keyup", { bubbles: true }));
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // "Insert template": its channel, subject and body fill the form, still editable.
  function insertTemplate(form, picker) {
    const option = picker.selectedOptions[0];
    if (!option || !option.value) return;
    const radio = form.querySelector(`input[name="channel"][value="${option.dataset.channel}"]`);
    if (radio) radio.checked = true;
    const subject = form.querySelector("#subject");
    if (subject) subject.value = option.dataset.subject || "";
    const body = form.querySelector("#body");
    body.value = option.dataset.body || "";
    body.dispatchEvent(new KeyboardEvent("keyup", { bubbles: true }));
    body.dispatchEvent(new Event("input", { bubbles: true }));
    showSections(form);
  }

  function init() {
    const form = document.getElementById("compose-form");
    if (!form) return;
    let lastBox = null;
    form.addEventListener("focusin", (event) => {
      if (event.target.matches("#body, #subject")) lastBox = event.target;
    });
    form.addEventListener("click", (event) => {
      const button = event.target.closest("button.merge-field");
      if (button) insertField(form, lastBox, button.dataset.field);
    });
    form.addEventListener("input", (event) => {
      if (event.target.id === "body") showCount(form);
    });
    const picker = form.querySelector("#insert-template");
    if (picker) picker.addEventListener("change", () => insertTemplate(form, picker));
    form.addEventListener("change", () => showSections(form));
    showSections(form);
    showCount(form);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
