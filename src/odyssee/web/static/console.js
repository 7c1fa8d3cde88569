// Drag a pooled job onto a technician's day: fill that job's plan form and send it.
// Everything works without this script (the form is the way to plan); it is a shortcut.
document.addEventListener("dragstart", (event) => {
  const card = event.target.closest && event.target.closest(".card[data-job]");
  if (card) event.dataTransfer.setData("text/plain", card.dataset.job);
});
document.addEventListener("dragover", (event) => {
  const slot = event.target.closest && event.target.closest("td.slot");
  if (slot) { event.preventDefault(); slot.classList.add("over"); }
});
document.addEventListener("dragleave", (event) => {
  const slot = event.target.closest && event.target.closest("td.slot");
  if (slot) slot.classList.remove("over");
});
document.addEventListener("drop", (event) => {
  const slot = event.target.closest && event.target.closest("td.slot");
  if (!slot) return;
  event.preventDefault();
  const form = document.querySelector(`#pool-${CSS.escape(event.dataTransfer.getData("text/plain"))} form.plan`);
  if (!form) return;
  form.elements.user_id.value = slot.dataset.user;
  form.elements.date.value = slot.dataset.date;
  form.requestSubmit();
});
