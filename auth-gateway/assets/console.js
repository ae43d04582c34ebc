// The console without this script works the same; with it, a button copies a secret shown once
// (a new API key) to the clipboard. Buttons with `data-copy` name the element to copy.
"use strict";
for (const button of document.querySelectorAll("button[data-copy]")) {
  const source = document.getElementById(button.dataset.copy);
  const state = document.getElementById("copy-state");
  if (!source || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      if (state) state.textContent = "Copied.";
    } catch (err) {
      if (state) state.textContent = "The browser did not allow copying; select the key and copy it.";
    }
  });
}
