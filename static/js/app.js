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
