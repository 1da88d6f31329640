// Rule form: the timings a kind allows, and only the fields of the chosen timing.
(() => {
  "use strict";

  const TIMINGS = {
    reminder: ["days_before", "hours_before"],
    confirmation: ["days_before", "hours_before"],
    follow_up: ["hours_after"],
    status: ["on_status"],
  };

  function update(form) {
    const kind = form.querySelector("#kind").value;
    const timing = form.querySelector("#timing");
    const allowed = TIMINGS[kind] || [];
    for (const option of timing.options) option.hidden = !allowed.includes(option.value);
    if (!allowed.includes(timing.value)) timing.value = allowed[0];
    form.querySelectorAll("[data-timings]").forEach((el) => {
      el.hidden = !el.dataset.timings.split(" ").includes(timing.value);
    });
  }

  function init() {
    const form = document.getElementById("rule-form");
    if (!form) return;
    form.addEventListener("change", () => update(form));
    update(form);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
