// Outbox and Inbox: keep the pushed URL short by leaving out filters the user left empty.
document.addEventListener("htmx:configRequest", (event) => {
  if (!event.detail.elt.closest("#mailbox-filters")) return;
  const data = event.detail.formData;
  for (const [name, value] of Array.from(data.entries())) {
    if (value === "") data.delete(name);
  }
});
