// Simulator: keep each phone scrolled to its newest message (the bottom) when a thread appears,
// on page load and whenever a poll or a reply swaps new content in.
function scrollToNewest(thread) {
  thread.scrollTop = thread.scrollHeight;
}

document.addEventListener("htmx:load", (event) => {
  const element = event.detail.elt;
  if (!(element instanceof Element)) return;
  if (element.matches(".thread")) scrollToNewest(element);
  element.querySelectorAll(".thread").forEach(scrollToNewest);
});
