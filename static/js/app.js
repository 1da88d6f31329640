// Tidings page behaviour that htmx attributes cannot express; the CSP forbids inline script.
document.addEventListener("htmx:beforeSwap", (event) => {
  // Validation errors (422) come back as the re-rendered fragment: show them.
  if (event.detail.xhr.status === 422) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
