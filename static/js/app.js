// Tidings page behaviour that htmx attributes cannot express; the CSP forbids inline script.
document.addEventListener("htmx:beforeSwap", (event) => {
  // Validation errors (422) come back as the re-rendered fragment: show them.
  if (event.detail.xhr.status === 422) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// The phone's menu button: the stylesheet folds the navigation away below 720 px until it is opened.
document.addEventListener("click", (event) => {
  const button = event.target.closest(".menu-toggle");
  if (!button) return;
  const open = button.getAttribute("aria-expanded") !== "true";
  button.setAttribute("aria-expanded", String(open));
  button.closest(".topbar").classList.toggle("nav-open", open);
});

// The client form's time-zone search: show only the zones whose name, city or country match,
// and pick the first match when the chosen zone is filtered away.
document.addEventListener("input", (event) => {
  const box = event.target.closest("[data-zone-search]");
  if (!box) return;
  const select = document.getElementById(box.dataset.zoneSearch);
  const words = box.value.toLowerCase().replace(/_/g, " ").split(/\s+/).filter(Boolean);
  let first = null;
  select.querySelectorAll("optgroup").forEach((group) => {
    let shown = 0;
    group.querySelectorAll("option").forEach((option) => {
      const text = `${option.value} ${option.textContent}`.toLowerCase().replace(/_/g, " ");
      const match = words.every((word) => text.includes(word));
      option.hidden = !match;
      if (match) {
        shown += 1;
        first = first || option;
      }
    });
    group.hidden = shown === 0;
  });
  const chosen = select.selectedOptions[0];
  if (first && words.length && (!chosen || chosen.hidden || !chosen.value)) first.selected = true;
  const none = box.closest(".zone-field").querySelector(".zone-none");
  if (none) none.hidden = Boolean(first) || !words.length;
});
