// Progressive enhancement only: the pages work without this file.
document.addEventListener("keydown", (event) => {
  const box = document.getElementById("q");
  if (!box || event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return;
  event.preventDefault();
  box.focus();
  box.select();
});
