// Conversations: a visual cue (and, if switched on, a soft beep) when a new client text arrives.
// Loaded by the nav on every page; guarded so a second <script> tag does not bind twice.
(() => {
  if (window.tidingsConversations) return;
  window.tidingsConversations = true;
  const SOUND_KEY = "tidings-conversation-sound";
  let lastUnread = null;
  let audio = null;

  function soundOn() {
    return window.localStorage.getItem(SOUND_KEY) === "on";
  }

  function beep() {
    if (!soundOn()) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.08, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.25);
    } catch (err) {
      // No audio in this browser: the visual cue is enough.
    }
  }

  function cue(element) {
    element.classList.add("conv-new");
    window.setTimeout(() => element.classList.remove("conv-new"), 4000);
    beep();
  }

  function checkBadge() {
    const link = document.getElementById("nav-conversations");
    if (!link) return;
    const unread = Number(link.dataset.unread || 0);
    if (lastUnread !== null && unread > lastUnread) cue(link);
    lastUnread = unread;
  }

  function checkThread(element) {
    const last = Number(element.dataset.lastIn || 0);
    const before = Number(element.dataset.seen || 0);
    element.scrollTop = element.scrollHeight;
    if (before && last > before) cue(element);
  }

  const seenThreads = {};
  document.addEventListener("htmx:afterSettle", (event) => {
    checkBadge();
    const thread = event.detail.elt && event.detail.elt.closest
      ? document.querySelector(".thread-messages") : null;
    if (thread) {
      thread.dataset.seen = seenThreads[thread.id] || "";
      checkThread(thread);
      seenThreads[thread.id] = thread.dataset.lastIn;
    }
  });

  function paintSoundButton(button) {
    const on = soundOn();
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = `Sound on new message: ${on ? "on" : "off"}`;
  }

  document.addEventListener("DOMContentLoaded", () => {
    checkBadge();
    const thread = document.querySelector(".thread-messages");
    if (thread) {
      thread.scrollTop = thread.scrollHeight;
      seenThreads[thread.id] = thread.dataset.lastIn;
    }
    const button = document.getElementById("conv-sound");
    if (!button) return;
    paintSoundButton(button);
    button.addEventListener("click", () => {
      window.localStorage.setItem(SOUND_KEY, soundOn() ? "off" : "on");
      paintSoundButton(button);
      beep();
    });
  });
})();
