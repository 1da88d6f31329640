// Team page: Enter sends, heartbeat for presence, scroll to the newest message, and desktop
// notifications / sound for mentions and direct messages (never for the chat in a focused tab).
(function () {
  "use strict";
  let lastActivity = Date.now();
  const chatPane = () => document.getElementById("team-chat");
  const soundKey = "tidings-team-sound";
  ["keydown", "pointerdown", "scroll"].forEach((e) =>
    document.addEventListener(e, () => { lastActivity = Date.now(); }, { passive: true }));

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; }
    catch (e) { return ""; }
  }

  function heartbeat() {
    const body = new URLSearchParams({ idle: String((Date.now() - lastActivity) / 1000) });
    fetch("/team/presence", { method: "POST", body, headers: { "X-CSRFToken": csrf() } })
      .catch(() => {});
  }
  heartbeat();
  setInterval(heartbeat, 20000);

  // Enter sends, Shift+Enter is a new line.
  document.addEventListener("keydown", (e) => {
    if (e.target.id !== "team-body" || e.key !== "Enter" || e.shiftKey || e.isComposing) return;
    e.preventDefault();
    if (e.target.value.trim()) e.target.form.requestSubmit();
  });

  // Do not swap the pane while its user edits a message.
  document.addEventListener("htmx:beforeRequest", (e) => {
    const el = e.detail.elt;
    if (el.id === "team-messages" && el.querySelector("details.team-edit[open]")) e.preventDefault();
  });

  let seenLast = null, paneNotified = 0;
  function stickToBottom() {
    const pane = document.getElementById("team-messages");
    if (!pane) return;
    const last = Number(pane.dataset.last || 0);
    if (seenLast !== null && last > seenLast) notify(pane, seenLast);
    if (seenLast === null || last > seenLast) {
      pane.scrollTop = pane.scrollHeight;
      requestAnimationFrame(() => { pane.scrollTop = pane.scrollHeight; });
    }
    seenLast = last;
  }

  function notify(pane, after) {
    const chat = chatPane();
    if (!chat || document.hasFocus()) return;  // the tab is focused on this chat
    if (document.querySelector(".dnd-on")) return;
    pane.querySelectorAll("article.team-msg:not(.mine)").forEach((m) => {
      if (Number(m.dataset.id) <= after) return;
      if (chat.dataset.kind !== "direct" && m.dataset.mention !== "1") return;
      const text = (m.querySelector(".team-body") || {}).textContent || "";
      paneNotified = Date.now();
      if (window.Notification && Notification.permission === "granted") {
        new Notification(m.dataset.author || "Team", { body: text.slice(0, 140), tag: "team-" + m.dataset.id });
      }
      if (localStorage.getItem(soundKey) === "1") beep();
    });
  }

  function beep() {
    try {
      const ctx = new AudioContext(), osc = ctx.createOscillator();
      osc.connect(ctx.destination); osc.frequency.value = 880;
      osc.start(); osc.stop(ctx.currentTime + 0.15);
    } catch (e) { /* no audio */ }
  }

  function setup() {
    const button = document.querySelector(".team-notify");
    if (button && window.Notification && Notification.permission === "default") {
      button.hidden = false;
      button.onclick = () => Notification.requestPermission().then(() => { button.hidden = true; });
    }
    const sound = document.getElementById("team-sound");
    if (sound) {
      sound.checked = localStorage.getItem(soundKey) === "1";
      sound.onchange = () => localStorage.setItem(soundKey, sound.checked ? "1" : "0");
    }
    stickToBottom();
  }
  // Mentions and direct messages in other chats: the nav badge carries their unread count.
  let alerts = null;
  function badgeAlerts(badge) {
    const now = Number(badge.dataset.alerts || 0);
    if (alerts !== null && now > alerts && !document.querySelector(".dnd-on")) {
      if (!document.hasFocus() && Date.now() - paneNotified > 5000) {
        if (window.Notification && Notification.permission === "granted") {
          new Notification("Team", { body: "New direct message or mention", tag: "team-alert" });
        }
        if (localStorage.getItem(soundKey) === "1") beep();
      }
    }
    alerts = now;
  }
  document.addEventListener("htmx:afterSettle", (e) => {
    if (e.detail.elt.id === "nav-team") badgeAlerts(e.detail.elt);
  });
  document.addEventListener("DOMContentLoaded", () => {
    const badge = document.getElementById("nav-team");
    if (badge) badgeAlerts(badge);
  });
  document.addEventListener("DOMContentLoaded", setup);
  window.addEventListener("load", () => {
    const pane = document.getElementById("team-messages");
    if (pane) pane.scrollTop = pane.scrollHeight;
  });
  document.addEventListener("htmx:afterSettle", (e) => {
    if (e.detail.elt.id === "team-messages" || e.detail.elt.id === "team-composer") stickToBottom();
    if (e.detail.elt.id === "team-composer") {
      const box = document.getElementById("team-body");
      if (box) box.focus();
      htmx.trigger("#team-messages", "every 1s");
    }
  });
})();
