// Template editor: merge-field chips put `{{ field }}` at the cursor of the last text box used;
// the form then asks the server for a fresh preview (htmx listens for "insert-field").
(() => {
  "use strict";

  // Only an email has a subject.
  function showSubject(form) {
    const channel = form.querySelector("#channel").value;
    form.querySelectorAll("[data-channels]").forEach((el) => {
      el.hidden = !el.dataset.channels.split(" ").includes(channel);
    });
  }

  function init() {
    const form = document.getElementById("template-form");
    if (!form) return;
    form.addEventListener("change", () => showSubject(form));
    showSubject(form);
    let lastBox = null;
    form.addEventListener("focusin", (event) => {
      if (event.target.matches("#body, #subject")) lastBox = event.target;
    });
    form.addEventListener("click", (event) => {
      const button = event.target.closest("button.merge-field");
      if (!button) return;
      const box = lastBox || form.querySelector("#body");
      const start = box.selectionStart ?? box.value.length;
      const end = box.selectionEnd ?? start;
      box.setRangeText(`{{ ${button.dataset.field} }}`, start, end, "end");
      box.focus();
      form.dispatchEvent(new Event("insert-field"));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
